r"""One command for the like-for-like Fig. 4 table: trains CNN-1, CNN-2 and concat with several
seeds on one build with one selection rule, evaluates what each run selected, writes the table.

  python -m experiments.fig4_table --config configs/fig4.py
  python -m experiments.fig4_table --config configs/fig4.py:tiny --config.workdir /tmp/fig4
  python -m experiments.fig4_table --config configs/fig4.py --config.seeds='(0,1,2,3,4)'

Settings: `configs/fig4.py` (overridable with `--config.key=value`); `--data_dir` is the TFDS
folder of the build. Re-running skips finished runs and resumes an interrupted one; several
workers split the runs with `--shard_index i --num_shards n` (then one `--table_only`). Writes
`<workdir>/fig4.md` (the table, labelled), `fig4.csv` and `fig4.json` (every seed's value, the
intervals, the runs and their selected steps, the build's fingerprint).
"""

import os

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments import common

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CONFIG = config_flags.DEFINE_config_file('config', os.path.join(ROOT, 'configs', 'fig4.py'),
                                          'Fig. 4 table settings.', lock_config=True)
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir of the build (default: '
                                '$DENDRAX_DATA_DIR or ~/tensorflow_datasets).')
_SHARD_INDEX = flags.DEFINE_integer('shard_index', 0, 'This worker, in [0, num_shards).')
_NUM_SHARDS = flags.DEFINE_integer('num_shards', 1, 'Number of workers sharing the runs.')
_TABLE_ONLY = flags.DEFINE_bool('table_only', False, 'Only write the table from finished runs.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.analysis import fig4  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import sweeps  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  from dendrax.train import loop  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  runs = fig4.plan(c, base_dir=ROOT, data_dir=_DATA_DIR.value)
  if not _TABLE_ONLY.value:
    counts = sweeps.execute(sweeps.shard(runs, _SHARD_INDEX.value, _NUM_SHARDS.value),
                            loop.train_and_evaluate)
    print(f'fig4 worker {_SHARD_INDEX.value}/{_NUM_SHARDS.value}: {counts}', flush=True)
  unfinished = [r.setting for r in runs if not sweeps.is_done(r)]
  if unfinished:
    print(f'not finished yet: {", ".join(unfinished)}; the table waits for every run')
    return
  _, sources, missing = common.load_splits([], c.dataset, c.splits, _DATA_DIR.value, build=True)
  per_run = fig4.evaluate_runs(runs, sources, which=c.which, batch_size=c.batch_size,
                               bootstrap_samples=c.bootstrap_samples, seed=c.bootstrap_seed)
  table = fig4.aggregate(per_run, list(c.models), list(sources))
  version = None
  try:
    version = str(pipeline.load_builder(c.dataset, _DATA_DIR.value).info.version)
  except Exception:  # pylint: disable=broad-except
    pass                                   # a mix of datasets has no single version
  first = runs[0].config
  meta = {'dataset': c.dataset, 'version': version, 'fingerprint': fig4.fingerprint(sources),
          'base_config': c.base_config, 'select_metric': first.eval.select_metric,
          'selection_rule': loop.SELECT_METRICS[first.eval.select_metric],
          'teacher_forcing': bool(first.eval.teacher_forcing), 'seeds': list(c.seeds),
          'bootstrap_samples': c.bootstrap_samples, 'skipped_splits': missing,
          'config': c.to_dict(),
          'runs': {k: {kk: v[kk] for kk in ('model', 'seed', 'step', 'workdir')}
                   for k, v in per_run.items()}}
  paths = fig4.write(c.workdir, table, meta, list(sources))
  print(open(paths['md']).read())
  print('written: ' + ', '.join(paths.values()))


if __name__ == '__main__':
  app.run(main)
