r"""Evaluates CNN-2 (or concat, CNextU-Net, FNO; and optionally CNN-1) checkpoints: metrics with intervals, parity plots,
morphology maps, videos.

  python -m experiments.evaluate --checkpoint workdirs/cnn2 --cnn1_checkpoint workdirs/cnn1 \
      --out reports/eval
  python -m experiments.evaluate --checkpoint workdirs/tiny --out /tmp/eval \
      --config.max_trajectories=4 --config.figures.trajectory_id=3

Settings: `configs/evaluate.py` (the default `--config`), each overridable with
`--config.key=value`; flags are only for paths. `--checkpoint` is a CNN-2 (or concat, CNextU-Net, FNO) workdir of
`launch.py`, `--cnn1_checkpoint` an optional CNN-1 workdir; both are rolled out on the same
trajectories of the dataset they were trained on, with `dendrax.train.evaluation` (the module
training uses). Writes under `--out`:
  metrics.json     per model, split and 30 s mark (and 'all'): length R, R^2, MSE, xi VRMSE and
                   nRMSE, deposit IoU, each {'value', 'ci_low', 'ci_high'} (95 % bootstrap over
                   trajectories); top-level 'splits' is the --checkpoint model's;
  parity.png       predicted vs simulated dendrite length, every split, coloured by time;
  morphology.png   simulation, CNN-1 and CNN-2 at config.figures.morphology_times_s, lengths in
                   the titles, parameters above;
  rollout_<split>_<id>.gif (or .mp4)  the same trajectory from 0 s to 210 s, side by side;
  per_trajectory.csv  per model, split and trajectory (worst first): id, parameters, final
                   simulated and predicted length, squared length error and its share of the
                   split's total (which trajectories a poor R comes from), and the diffuse
                   share of the simulated deposit (`true_diffuse_fraction`: unresolved growth
                   past Sand's time above 0.05);
  summary.md       the table with intervals, R per mark, the settings.
"""

import os

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'evaluate.py'), 'Evaluation settings.', lock_config=True)
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 (or concat, CNextU-Net, FNO) workdir.')
_CNN1 = flags.DEFINE_string('cnn1_checkpoint', None, 'CNN-1 workdir (optional).')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (default: $DENDRAX_DATA_DIR '
                                'or ~/tensorflow_datasets).')
flags.mark_flags_as_required(['checkpoint', 'out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.analysis import evaluation  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import evaluation_report  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  surrogates = evaluation.load_pair(_CHECKPOINT.value, _CNN1.value, c.which)
  datasets = {s.config.data.name for s in surrogates}
  if len(datasets) != 1:
    raise app.UsageError(f'the checkpoints were trained on different datasets {datasets}')
  dataset = datasets.pop()
  fig = c.figures
  wanted = list(c.splits) + ([fig.morphology_split] if fig.enabled else [])
  dataset, sources, missing = common.load_splits(surrogates, dataset, wanted, _DATA_DIR.value,
                                                 build=c.build_data)
  if missing:
    print(f'{dataset} has no split(s) {", ".join(missing)}: skipped')
  results, rollouts = evaluation.evaluate(
      surrogates, sources, max_trajectories=c.max_trajectories, batch_size=c.batch_size,
      bootstrap_samples=c.bootstrap_samples, seed=c.bootstrap_seed,
      teacher_forcing=c.teacher_forcing)
  settings = {'dataset': dataset, 'splits': list(sources), 'skipped_splits': missing,
              'checkpoints': {s.name: f'{s.workdir} (step {s.step}, {c.which})'
                              for s in surrogates},
              'config': c.to_dict()}
  options = {}
  if fig.enabled:
    options = dict(parity_splits=[s for s in fig.parity_splits if s in sources],
                   morphology_split=fig.morphology_split,
                   morphology_times_s=[float(t) for t in fig.morphology_times_s],
                   trajectory_id=fig.trajectory_id, quantile=fig.quantile,
                   rank_by=fig.rank_by,
                   video_start_s=fig.video_start_s, video_format=fig.video_format)
  paths = evaluation_report.write_evaluation(_OUT.value, results, rollouts, settings, surrogates,
                                             figures_too=fig.enabled, **options)
  print(open(paths['summary']).read())


if __name__ == '__main__':
  app.run(main)
