r"""(c) Three-stage schedule: the three stage currents and the two switch times.

  python -m experiments.design --config configs/design/three_stage.py --out reports/design_3s

Li, the dataset cell, 210 s limit, Q = 0.25 mAh/cm^2 (every corner reaches it: currents
>= 5 mA/cm^2); baseline constant current 10 mA/cm^2. The surrogate method is not applicable
(CNN-2 of the current dataset has no input for stage currents or switch times).
"""

from configs.design import base


def get_config():
  config = base.get_config()
  config.problem.name = 'three-stage schedule'
  config.problem.protocol = 'three_stage'
  config.problem.variables.stage1_current_ma_cm2 = (5.0, 30.0, 'log')
  config.problem.variables.stage2_current_ma_cm2 = (5.0, 30.0, 'log')
  config.problem.variables.stage3_current_ma_cm2 = (5.0, 30.0, 'log')
  config.problem.variables.switch1_s = (10.0, 80.0, 'linear')
  config.problem.variables.switch2_s = (90.0, 180.0, 'linear')
  config.problem.fixed.n_defects = 3.0
  config.problem.charge_mah_cm2 = 0.25
  config.problem.max_time_s = 210.0
  config.problem.baseline = dict(current_ma_cm2=10.0)
  config.controller.max_voltage_v = 1.0
  return config
