r"""Evaluates CNN-2 (and optionally CNN-1) checkpoints: parity plots, morphology maps, videos.

  python -m experiments.evaluate --checkpoint workdirs/cnn2 --cnn1_checkpoint workdirs/cnn1 \
      --out reports/eval
  python -m experiments.evaluate --checkpoint workdirs/tiny --out /tmp/eval --max_trajectories 4

`--checkpoint` is a CNN-2 (or concat) workdir of `launch.py`, `--cnn1_checkpoint` an optional
CNN-1 workdir; both are rolled out on the same trajectories of the dataset they were trained on.
Writes under `--out`:
  parity.png       predicted vs simulated dendrite length at the 30 s marks, train and test,
                   with R, R^2, MSE, per model (paper, Fig. 4);
  morphology.png   simulation, CNN-1 and CNN-2 at 30 s and 180 s (Fig. 6), deposit red,
                   electrolyte blue;
  rollout_<split>_<id>.gif (or .mp4)  the same trajectory from 30 s to 210 s, side by side;
  metrics.json     all length metrics (pooled and per mark, per model and split);
  summary.md       a short table and the settings.
"""

from absl import app
from absl import flags

from dendrax.analysis import checkpoint_data
from dendrax.analysis import evaluation
from dendrax.analysis import evaluation_report
from dendrax.data import pipeline

_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 (or concat) workdir.')
_CNN1 = flags.DEFINE_string('cnn1_checkpoint', None, 'CNN-1 workdir (optional).')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir.')
_SPLITS = flags.DEFINE_list('splits', ['train', 'test', 'ood'], 'Splits to evaluate.')
_MAX = flags.DEFINE_integer('max_trajectories', 0, 'Per split; 0 = all.')
_BATCH = flags.DEFINE_integer('batch_size', 16, 'Trajectories per rollout call.')
_MORPH_SPLIT = flags.DEFINE_string('morphology_split', 'test', 'Split of the Fig. 6 trajectory.')
_MORPH_TIMES = flags.DEFINE_list('morphology_times_s', ['30', '180'], 'Frames of Fig. 6 (s).')
_VIDEO_START = flags.DEFINE_float('video_start_s', 30.0, 'First frame of the video (s).')
_VIDEO_FORMAT = flags.DEFINE_enum('video_format', 'gif', ['gif', 'mp4'], 'Video container.')
_BUILD = flags.DEFINE_bool('build_data', False, 'Build the dataset if no folder holds it.')
_WHICH = flags.DEFINE_enum('which', 'best', ['best', 'latest'], 'Checkpoint to load.')
flags.mark_flags_as_required(['checkpoint', 'out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  surrogates = evaluation.load_pair(_CHECKPOINT.value, _CNN1.value, _WHICH.value)
  datasets = {s.config.data.name for s in surrogates}
  if len(datasets) != 1:
    raise app.UsageError(f'the checkpoints were trained on different datasets {datasets}')
  dataset = datasets.pop()
  splits = list(dict.fromkeys(_SPLITS.value + [_MORPH_SPLIT.value]))
  dataset, _, sources = checkpoint_data.load_sources(  # the checkpoints' own build, never silently built
      surrogates, splits, data_dir=_DATA_DIR.value, build=_BUILD.value)
  results, preds = evaluation.evaluate(surrogates, sources, max_trajectories=_MAX.value,
                                       batch_size=_BATCH.value)
  settings = {'dataset': dataset, 'splits': splits, 'max_trajectories': _MAX.value,
              'checkpoints': {s.name: s.workdir for s in surrogates}, 'which': _WHICH.value,
              'morphology_times_s': [float(t) for t in _MORPH_TIMES.value]}
  paths = evaluation_report.write_evaluation(
      _OUT.value, results, preds, settings, parity_splits=[s for s in ('train', 'test')
                                                           if s in splits],
      morphology_split=_MORPH_SPLIT.value,
      morphology_times_s=[float(t) for t in _MORPH_TIMES.value],
      video_start_s=_VIDEO_START.value, video_format=_VIDEO_FORMAT.value)
  print(open(paths['summary']).read())


if __name__ == '__main__':
  app.run(main)
