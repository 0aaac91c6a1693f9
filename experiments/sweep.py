r"""Runs an ablation sweep with k-fold cross-validation, resumably, and writes its results table.

  python -m experiments.sweep --config configs/sweeps/ablation.py
  python -m experiments.sweep --config configs/sweeps/tiny.py --config.workdir /tmp/sweep_tiny

Every (setting, fold) run trains in `<config.workdir>/<setting>/fold<k>/` with
`dendrax.train.loop.train_and_evaluate`; re-running the same command skips finished runs and
resumes an interrupted one from its checkpoints. Several workers (one per GPU or machine, all
seeing the sweep folder) split the runs round-robin:

  CUDA_VISIBLE_DEVICES=0 python -m experiments.sweep --config ... --shard_index 0 --num_shards 2 &
  CUDA_VISIBLE_DEVICES=1 python -m experiments.sweep --config ... --shard_index 1 --num_shards 2 &
  wait; python -m experiments.sweep --config ... --aggregate_only

Writes `results.csv` (one row per run), `summary.{csv,md,json}` (mean, std, min, max over folds
per setting, and the 95 % interval of the mean over the held-out trajectories, from each run's
bootstrap intervals: `sweeps.fold_mean_interval`) and `summary_<metric>.png` under
`config.workdir`.
"""

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from dendrax.analysis import sweeps

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Sweep config file.',
                                          lock_config=True)
_SHARD_INDEX = flags.DEFINE_integer('shard_index', 0, 'This worker, in [0, num_shards).')
_NUM_SHARDS = flags.DEFINE_integer('num_shards', 1, 'Number of workers sharing the sweep.')
_AGGREGATE_ONLY = flags.DEFINE_bool('aggregate_only', False,
                                    'Only write the tables/plots from finished runs.')
_DRY_RUN = flags.DEFINE_bool('dry_run', False, 'List the runs and their status; train nothing.')
_KEEP_GOING = flags.DEFINE_bool('keep_going', False,
                                'Record a failing run (sweep_error.txt) and go on.')
flags.mark_flags_as_required(['config'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  sweep = _CONFIG.value
  runs = sweeps.plan(sweep)
  mine = sweeps.shard(runs, _SHARD_INDEX.value, _NUM_SHARDS.value)
  if _DRY_RUN.value:
    mine_idx = {r.index for r in mine}
    for r in runs:
      state = 'done' if sweeps.is_done(r) else (
          'this worker' if r.index in mine_idx else 'other worker')
      print(f'{r.index:4d}  {r.setting:28s} fold {r.fold:2d}  {state:12s} {r.workdir}')
    return
  if not _AGGREGATE_ONLY.value:
    from dendrax.train import loop  # pylint: disable=g-import-not-at-top
    counts = sweeps.execute(mine, loop.train_and_evaluate, keep_going=_KEEP_GOING.value)
    logging.info('sweep worker %d/%d: %s', _SHARD_INDEX.value, _NUM_SHARDS.value, counts)
    print(f'worker {_SHARD_INDEX.value}/{_NUM_SHARDS.value}: {counts}', flush=True)
  paths = sweeps.write_outputs(sweep, runs)
  print(open(paths['summary_md']).read())
  print('written: ' + ', '.join(paths.values()))


if __name__ == '__main__':
  app.run(main)
