r"""Designs charging protocols and electrolytes: shortest dendrites at a fixed charge passed.

  python -m experiments.design --config configs/design/pulse.py --out reports/design_pulse \
      --checkpoint workdirs/cnn2
  python -m experiments.design --config configs/design/tiny.py --out /tmp/design_tiny

Runs, side by side and with the same budget of simulator calls over several seeds: projected
gradient descent and L-BFGS-B through the simulator, gradient descent through CNN-2 with every
candidate verified in the simulator, Bayesian optimisation and random search (`dendrax.design`).
Writes
`<out>/design.json`, `<out>/report.html` and `<out>/evaluations.jsonl`; rerunning a killed run
with the same config and `--out` resumes from its saved evaluations. Everything but paths is in
the config (`--config.budget_sim_calls=10` etc. override it).
"""

from absl import app
from absl import flags
from ml_collections import config_flags

from dendrax.design import study
from experiments import common

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Design config (configs/design/).',
                                          lock_config=True)
_OUT = flags.DEFINE_string('out', None, 'Output folder (also the resume state).')
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 workdir for the surrogate method '
                                  '(optional; without it that method is skipped).')
flags.mark_flags_as_required(['config', 'out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  design = study.run_design(_CONFIG.value, _OUT.value, _CHECKPOINT.value)
  for row in design['methods']:
    print(f"{row['method']:>20}: best {row['best_objective_min']:.5g} um, calls to target "
          f"{row['calls_to_target_median']}")
  print(f"every evaluation within {100 * design['objective_span']:.3g} % of the best; targets: "
        + ', '.join(f"{m} met={t['met']}" for m, t in design['targets'].items()
                    if isinstance(t, dict)))
  red = design['verification']['length_reduction']
  print(f"verified: baseline {red['baseline_length_um']:.4g} um -> optimum "
        f"{red['optimum_length_um']:.4g} um ({red['ratio_baseline_over_optimum']:.3g}x)")
  print(f'wrote {_OUT.value}/design.json and {_OUT.value}/report.html')


if __name__ == '__main__':
  app.run(main)
