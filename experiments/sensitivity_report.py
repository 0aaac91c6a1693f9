r"""Gradient sensitivity report: exact d ln O / d ln P through the simulator and through CNN-2.

  python -m experiments.sensitivity_report --checkpoint workdirs/cnn2 --out reports/sensitivity
  python -m experiments.sensitivity_report --out reports/sens_physics   # simulator only

Settings: `configs/sensitivity_report.py` (the default `--config`), overridable with
`--config.key=value`; flags are only for paths. `--checkpoint` is a CNN-2 workdir of `launch.py`
(the model must see the physical parameters; CNN-1's elasticities are zero by construction).
The simulation is the one that generated the checkpoint's dataset (`SimulationConfig` from the
dataset builder, with the config's protocol and chemistry), so both sides answer the same
question. Without `--checkpoint` the simulation is `SimulationConfig.for_dataset()` and only the
physics side is reported.

Writes `<out>/sensitivity.html` (self-contained: the conclusion first, bar charts per parameter
and stage, physics vs model, sorted ranking table, Spearman agreement, finite-difference check,
cost at equal accuracy, settings with the checkpoint and its step), `<out>/sensitivities.csv`
(long format) and `<out>/sensitivities.json`. About 7 minutes on a 2-core CPU (2.4.0,
README "Sensitivities").
"""

import os

from absl import app
from absl import flags
import jax
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'sensitivity_report.py'), 'Study settings.',
    lock_config=True)
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 workdir (optional).')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (for the dataset settings).')
flags.mark_flags_as_required(['out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.analysis import sensitivity_study  # pylint: disable=g-import-not-at-top
  from dendrax.physics import parameters  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  if c.float64:
    jax.config.update('jax_enable_x64', True)
  values = [float(v) for v in c.params]
  if len(values) != parameters.NUM_PARAMETERS:
    raise app.UsageError(f'config.params needs {parameters.NUM_PARAMETERS} values '
                         f'({", ".join(parameters.PARAMETER_NAMES)}); got {len(values)}')
  parameters.validate_physical(dict(zip(parameters.PARAMETER_NAMES, values)))
  settings = sensitivity_study.StudySettings(
      params=tuple(values), chemistry=c.chemistry, protocol=c.protocol, seed=c.seed,
      fd_rel_step=c.fd_rel_step, fd_scheme=c.fd_scheme,
      accuracy_steps=tuple(float(s) for s in c.accuracy_steps),
      sim_overrides=common.parse_overrides(c.sim_overrides), float64=c.float64,
      time_reverse=c.time_reverse)
  results, used = sensitivity_study.run_study(settings, checkpoint=_CHECKPOINT.value,
                                              data_dir=_DATA_DIR.value)
  paths = sensitivity_study.write_report(_OUT.value, results, used)
  print('\n'.join(f'{k}: {v}' for k, v in paths.items()))
  for source, r in results.items():
    t = r['timing']
    print(f'{source}: one run {t["one_run_s"]:.3g} s, exact (6 params) {t["exact_all_params_s"]:.3g}'
          f' s, finite differences ({t["fd_runs"]} runs) {t["fd_all_params_s"]:.3g} s')


if __name__ == '__main__':
  app.run(main)
