r"""Sensitivity fidelity: exact elasticities of the surrogate against the simulator's on a panel.

  python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint W --out D
  python -m experiments.sensitivity_fidelity --out D                  # simulator only (theory signs)
  python -m experiments.sensitivity_fidelity --config configs/fidelity.py:tiny --out D
  python -m experiments.sensitivity_fidelity --checkpoint W2 --out D2 --physics_from D  # reuse D's simulator side

Settings: `configs/fidelity.py` (`--config.num_points`, `--config.protocols`, ...); flags are
only for paths. The panel is a scrambled-Sobol design over the training box with its own seed
(held out), protocols dealt out in equal shares; at each point the simulator (the checkpoint's
dataset simulation, one stable dt per protocol) and the CNN-2 give exact d ln L / d ln P for the
six continuous parameters, L = dendrite length at the last frame (210 s) and its mean per
charging stage (dendrax.analysis.fidelity). Each point is written to `D/points/` as it finishes,
so a killed run resumes. Writes `D/fidelity.json`, `D/fidelity.html` (conclusion, scores against
issue 11's targets, parity plot, per parameter / protocol / stage, the simulator against
theory's signs) and `D/fidelity_entries.csv`.
"""

import os

from absl import app
from absl import flags
import jax
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'fidelity.py'), 'Panel settings.', lock_config=True)
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 workdir (optional: without it only '
                                  'the simulator side and its theory signs are reported).')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (the dataset settings).')
_PHYSICS_FROM = flags.DEFINE_string(
    'physics_from', None, 'Output folder of an earlier run on the same panel and simulation '
    '(e.g. of another checkpoint) whose simulator elasticities are reused (checked per point).')
flags.mark_flags_as_required(['out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.analysis import evaluation  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import fidelity  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  if c.float64:
    jax.config.update('jax_enable_x64', True)
  surrogate, dataset = None, c.dataset
  if _CHECKPOINT.value:
    surrogate = evaluation.load_surrogate(_CHECKPOINT.value, 'CNN-2')
    if surrogate.config.model_name == 'cnn1':
      raise app.UsageError(f'--checkpoint {_CHECKPOINT.value}: a CNN-1 does not see the '
                           'physical parameters; pass a CNN-2 (or concat) workdir')
    dataset = surrogate.config.data.name
  base = pipeline.load_builder(dataset, _DATA_DIR.value).simulation_settings()
  points = fidelity.panel(c.num_points, c.panel_seed, protocols=tuple(c.protocols),
                          chemistries=tuple(c.chemistries))
  configs = fidelity.group_configs(points, base, float64=c.float64,
                                   overrides=common.parse_overrides(c.sim_overrides))
  results = fidelity.run_panel(points, configs, _OUT.value, noise_seed=c.noise_seed,
                               float64=c.float64, surrogate=surrogate,
                               physics_from=_PHYSICS_FROM.value)
  summary = fidelity.summarize(results, relevant=c.relevant, spurious=c.spurious,
                               targets=c.targets.to_dict(),
                               bootstrap_samples=c.bootstrap_samples)
  settings = {**c.to_dict(), 'checkpoint': _CHECKPOINT.value,
              'checkpoint_step': getattr(surrogate, 'step', None), 'dataset': dataset,
              'simulation_per_group': {f'{k[0]}/{k[1]}': v.to_dict() for k, v in configs.items()},
              'devices': [str(d) for d in jax.devices()], 'jax': jax.__version__}
  paths = fidelity.write_report(_OUT.value, summary, settings)
  print('\n'.join(f'{k}: {v}' for k, v in paths.items()))
  if 'scores' in summary:
    s = summary['scores']['all_summaries']
    ci = lambda k: f"{s[k]:.3f} [{s[k + '_ci'][0]:.3f}, {s[k + '_ci'][1]:.3f}]"
    print(f"sign agreement {ci('sign_agreement')}, median |dS| {ci('median_abs_diff')}, "
          f"spurious {ci('spurious_rate')}, slope {ci('response_slope')}, Spearman "
          f"{ci('spearman_pooled')} ({s['entries']} entries; 95 % intervals over panel points); "
          f"targets met: {summary['targets_met']}")
  for row in summary['theory_signs']:
    expected = ('' if row['expected_sign'] is None else
                f"expected {row['expected_sign']:+d}, agree {row['agree_fraction']:.2f} of "
                f"{row['relevant_points']}, ")
    print(f"{row['parameter']} [{row['regime']}, {row['points']} points]: {expected}median S "
          f"{row['median']:.3g} [{row['min']:.3g}, {row['max']:.3g}], acts {row['acts']}")


if __name__ == '__main__':
  app.run(main)
