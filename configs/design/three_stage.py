r"""(c) Three-stage schedule: the three stage currents and the two switch times.

  python -m experiments.design --config configs/design/three_stage.py --out reports/design_3s

Li, the dataset cell (electroneutral), 210 s limit, Q = 0.1 mAh/cm^2 (every corner reaches it:
currents >= 2 mA/cm^2 pass 0.117); baseline constant current 5 mA/cm^2. The surrogate method is
not applicable (CNN-2 has no input for stage currents or switch times within its frames).
"""

from configs.design import base


def get_config():
  config = base.get_config()
  config.problem.name = 'three-stage schedule'
  config.problem.protocol = 'three_stage'
  config.problem.variables.stage1_current_ma_cm2 = (2.0, 20.0, 'log')
  config.problem.variables.stage2_current_ma_cm2 = (2.0, 20.0, 'log')
  config.problem.variables.stage3_current_ma_cm2 = (2.0, 20.0, 'log')
  config.problem.variables.switch1_s = (10.0, 80.0, 'linear')
  config.problem.variables.switch2_s = (90.0, 180.0, 'linear')
  config.problem.fixed.n_defects = 3.0
  config.problem.charge_mah_cm2 = 0.1
  config.problem.max_time_s = 210.0
  config.problem.baseline = dict(current_ma_cm2=5.0)
  return config
