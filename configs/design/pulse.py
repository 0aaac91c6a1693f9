r"""(a) Pulse charging: on time, duty and amplitude that minimise the dendrite length at Q.

  python -m experiments.design --config configs/design/pulse.py --out reports/design_pulse

Li, the dataset cell (64 x 64 at 3.125 um, 200 um), 210 s limit. The box is chosen so that every
corner delivers Q in time (duty x amplitude >= Q / t_max); the baseline is constant current at
10 mA/cm^2 (Q after 72 s). CNN-2 of the current dataset has no input for the pulse variables, so
the surrogate method is reported as not applicable until it is retrained on pulse data.
"""

from configs.design import base


def get_config():
  config = base.get_config()
  config.problem.name = 'pulse protocol'
  config.problem.protocol = 'pulse'
  config.problem.variables.pulse_on_time_s = (1.0, 20.0, 'log')
  config.problem.variables.pulse_duty = (0.25, 1.0, 'linear')
  config.problem.variables.pulse_amplitude_ma_cm2 = (15.0, 40.0, 'linear')
  config.problem.fixed.n_defects = 3.0
  config.problem.charge_mah_cm2 = 0.2
  config.problem.max_time_s = 210.0
  config.problem.baseline = dict(current_ma_cm2=10.0)
  config.controller.max_voltage_v = 1.0
  return config
