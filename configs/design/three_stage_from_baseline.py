r"""`three_stage_resolved`, every method starting from the 20 mA/cm^2 baseline.

  python -m experiments.design --config configs/design/three_stage_from_baseline.py --out D

As `multistep_from_baseline`: every method's and seed's first point is the constant-current
protocol in use, the three stage currents at the baseline's 20 mA/cm^2; the switch times start
at the middle of their ranges (45 s, 135 s), where, between equal currents, they change nothing.
Chosen after `three_stage_resolved`'s uniform-start runs (docs/design.md, "Multistep charging
from the baseline").
"""

from configs.design import three_stage_resolved


def get_config():
  config = three_stage_resolved.get_config()
  config.problem.name = ('three-stage schedule past the limiting current, '
                         'from the constant-current baseline')
  current = config.problem.baseline['current_ma_cm2']
  config.start = {'stage1_current_ma_cm2': current, 'stage2_current_ma_cm2': current,
                  'stage3_current_ma_cm2': current}
  for name in ('switch1_s', 'switch2_s'):
    low, high, _ = config.problem.variables[name]
    config.start[name] = 0.5 * (low + high)
  return config
