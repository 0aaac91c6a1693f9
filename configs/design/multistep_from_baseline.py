r"""`multistep_resolved`, every method starting from the 20 mA/cm^2 baseline.

  python -m experiments.design --config configs/design/multistep_from_baseline.py --out D

The question a cell designer asks: starting from the constant-current protocol in use, how many
simulator calls does each method need to find a better one? Every method's and seed's first
point is that protocol, eight steps at the baseline's 20 mA/cm^2 (`config.start`), so Bayesian
optimisation and random search see it as well; their later points still vary with the seed, a
local method's do not (it is deterministic from a given start but for its restarts).
Chosen after `multistep_resolved`'s runs, which started each seed at a uniform point: most of
those lie on the cutoff's plateau (a step above ~22 mA/cm^2 changes nothing), the baseline does
not. So this is a second question, not a rerun of the first (docs/design.md, "Multistep
charging from the baseline").
"""

from configs.design import multistep_resolved


def get_config():
  config = multistep_resolved.get_config()
  config.problem.name = ('multistep charging past the limiting current (8 steps), '
                         'from the constant-current baseline')
  current = config.problem.baseline['current_ma_cm2']
  config.start = {f'step{k}_current_ma_cm2': current
                  for k in range(1, multistep_resolved.NUM_STEPS + 1)}
  return config
