"""Sweep planning, fold assignment, sharding and resume, with a stand-in training function.

The real training run is exercised in `test_sweep_tiny.py`; here a fast `train_fn` that records
its calls shows that a sweep completes, that a second call re-runs nothing, and that a run
interrupted by an exception is retried on the next call.
"""

import json
import os
import textwrap

import ml_collections
import numpy as np
import pytest

from dendrax.analysis import sweeps

BASE = textwrap.dedent('''
    import ml_collections
    def get_config():
      c = ml_collections.ConfigDict()
      c.model_name = 'cnn2'
      c.width = 8
      c.data = ml_collections.ConfigDict({'fold_index': -1, 'num_folds': 0, 'fold_seed': 0})
      return c
''')


def make_sweep(tmp_path, num_folds=3):
  (tmp_path / 'base.py').write_text(BASE)
  s = ml_collections.ConfigDict()
  s.base_config = str(tmp_path / 'base.py')
  s.workdir = str(tmp_path / 'sweep')
  s.num_folds = num_folds
  s.fold_seed = 0
  s.fold_fields = {'index': 'data.fold_index', 'count': 'data.num_folds', 'seed': 'data.fold_seed'}
  s.metrics = ('val_loss',)
  s.settings = {'narrow': {'overrides': {'width': 4}}, 'cnn1': {'overrides': {'model_name': 'cnn1'}}}
  s.order = ('narrow', 'cnn1')
  return s


def fake_train(calls, fail_on=None):
  def train_fn(config, workdir):
    calls.append((config.model_name, config.width, config.data.fold_index, workdir))
    if fail_on is not None and (config.model_name, config.data.fold_index) == fail_on:
      raise RuntimeError('interrupted')
    return {'val_loss': 0.1 * config.width + 0.01 * config.data.fold_index,
            'nested': {'r2': 0.5}, 'curve': np.arange(3)}
  return train_fn


def test_sweep_completes_resumes_and_summarises(tmp_path):
  sweep = make_sweep(tmp_path)
  runs = sweeps.plan(sweep)
  assert [(r.setting, r.fold) for r in runs] == [('narrow', 0), ('narrow', 1), ('narrow', 2),
                                                 ('cnn1', 0), ('cnn1', 1), ('cnn1', 2)]
  calls = []
  with pytest.raises(RuntimeError):
    sweeps.execute(runs, fake_train(calls, fail_on=('cnn1', 1)))
  assert len(calls) == 5
  counts = sweeps.execute(runs, fake_train(calls))          # resume: only the unfinished runs
  assert counts == {'done': 2, 'skipped': 4, 'failed': 0}
  assert [c[2] for c in calls[5:]] == [1, 2] and all(c[0] == 'cnn1' for c in calls[5:])
  assert sweeps.execute(runs, fake_train(calls))['skipped'] == 6
  paths = sweeps.write_outputs(sweep, runs)
  summary = json.load(open(paths['summary_json']))['summary']
  narrow = next(r for r in summary if r['setting'] == 'narrow')
  assert narrow['folds'] == 3
  assert narrow['val_loss_mean'] == pytest.approx(0.4 + 0.01)
  assert narrow['val_loss_std'] == pytest.approx(0.01)
  result = json.load(open(os.path.join(runs[0].workdir, sweeps.RESULT_FILE)))
  assert result['metrics'] == {'val_loss': pytest.approx(0.4), 'nested/r2': 0.5}
  assert os.path.isfile(paths['plot_val_loss']) and 'narrow' in open(paths['summary_md']).read()
  assert narrow['val_loss_ci_low'] is None     # stored without an interval (NaN -> JSON null)


R = 'splits/heldout/marks/all/length_r/value'


def test_summary_gives_the_fold_mean_a_95_percent_interval_from_the_folds_intervals(tmp_path):
  """Fold k scores R = 0.8 + 0.05 k with bootstrap interval +-0.0392 (se 0.02): the mean of 3
  folds has se sqrt(3 x 0.02^2) / 3, so its interval is 0.85 +- 1.96 x 0.02 / sqrt(3); one fold
  keeps its own (asymmetric) percentile interval; a fold without one gives no interval."""
  def train_fn(config, workdir):
    k = config.data.fold_index
    r = {'value': 0.8 + 0.05 * k, 'ci_low': 0.8 + 0.05 * k - 0.0392,
         'ci_high': 0.8 + 0.05 * k + 0.0392}
    return {'splits': {'heldout': {'marks': {'all': {'length_r': r}}}},
            'val_loss': 0.1 * config.width}
  sweep = make_sweep(tmp_path)
  sweep.metrics = (R, 'val_loss')
  runs = sweeps.plan(sweep)
  sweeps.execute(runs, train_fn)
  paths = sweeps.write_outputs(sweep, runs)
  narrow = json.load(open(paths['summary_json']))['summary'][0]
  half = 1.959964 * 0.02 / np.sqrt(3)
  assert narrow[f'{R}_mean'] == pytest.approx(0.85)
  assert (narrow[f'{R}_ci_low'], narrow[f'{R}_ci_high']) == (
      pytest.approx(0.85 - half, abs=1e-5), pytest.approx(0.85 + half, abs=1e-5))
  md = open(paths['summary_md']).read()
  assert f'0.850 ± 0.050 [{0.85 - half:.3f}, {0.85 + half:.3f}]' in md and '95 % interval' in md
  assert '| narrow | 3 |' in md
  assert sweeps.fold_mean_interval([0.9], [0.7], [0.95]) == (0.7, 0.95)
  assert np.isnan(sweeps.fold_mean_interval([0.9, 0.8], [0.7, np.nan], [0.95, 0.9])[0])
  assert sweeps.interval_keys('val_loss') is None


def test_folds_scored_on_one_shared_split_do_not_narrow_the_interval(tmp_path):
  """Every fold scores the same test trajectories: their errors are not independent, so the fold
  mean keeps the folds' own standard error (0.02 here), not 0.02 / sqrt(3)."""
  test_r = 'splits/test/marks/all/length_r/value'
  def train_fn(config, workdir):
    k = config.data.fold_index
    r = {'value': 0.8 + 0.05 * k, 'ci_low': 0.8 + 0.05 * k - 0.0392,
         'ci_high': 0.8 + 0.05 * k + 0.0392}
    return {'splits': {'heldout': {'marks': {'all': {'length_r': r}}},
                       'test': {'marks': {'all': {'length_r': dict(r)}}}}}
  sweep = make_sweep(tmp_path)
  sweep.metrics = (R, test_r)
  runs = sweeps.plan(sweep)
  sweeps.execute(runs, train_fn)
  row = json.load(open(sweeps.write_outputs(sweep, runs)['summary_json']))['summary'][0]
  half = 0.0392                                # z x the folds' common se
  assert (row[f'{test_r}_ci_low'], row[f'{test_r}_ci_high']) == (
      pytest.approx(0.85 - half, abs=1e-5), pytest.approx(0.85 + half, abs=1e-5))
  held = row[f'{R}_ci_high'] - row[f'{R}_ci_low']
  assert held == pytest.approx(2 * half / np.sqrt(3), abs=1e-5)


def test_changed_config_under_the_same_workdir_is_refused(tmp_path):
  sweep = make_sweep(tmp_path, num_folds=2)
  sweeps.execute(sweeps.plan(sweep), fake_train([]))
  sweep.settings.narrow.overrides.width = 5
  with pytest.raises(ValueError, match='narrow fold 0 .* different config'):
    sweeps.execute(sweeps.plan(sweep), fake_train([]))


def test_keep_going_records_the_error_and_retries_later(tmp_path):
  runs = sweeps.plan(make_sweep(tmp_path, num_folds=2))
  calls = []
  counts = sweeps.execute(runs, fake_train(calls, fail_on=('cnn1', 0)), keep_going=True)
  assert counts == {'done': 3, 'skipped': 0, 'failed': 1}
  failed = next(r for r in runs if r.setting == 'cnn1' and r.fold == 0)
  assert 'interrupted' in open(os.path.join(failed.workdir, 'sweep_error.txt')).read()
  counts = sweeps.execute(runs, fake_train(calls), keep_going=True)
  assert counts == {'done': 1, 'skipped': 3, 'failed': 0}


def test_shards_cover_every_run_once(tmp_path):
  runs = sweeps.plan(make_sweep(tmp_path))
  parts = [sweeps.shard(runs, i, 4) for i in range(4)]
  assert sorted(r.index for p in parts for r in p) == list(range(len(runs)))


def test_folds_partition_trajectories_independent_of_order():
  ids = np.arange(100, 153)
  folds = sweeps.assign_folds(ids, 5, seed=3)
  assert folds == sweeps.assign_folds(ids[::-1], 5, seed=3)
  sizes = np.bincount(list(folds.values()))
  assert sizes.tolist() in ([11, 11, 11, 10, 10], sorted(sizes.tolist(), reverse=True))
  assert sizes.max() - sizes.min() <= 1
  train, val = sweeps.fold_ids(folds, 2)
  assert not set(train) & set(val) and len(train) + len(val) == 53


def test_fold_split_expressions_partition_the_pool():
  assert sweeps.fold_split_expressions(1, 5) == (
      'train[:20%]+train[40%:]+validation[:20%]+validation[40%:]',
      'train[20%:40%]+validation[20%:40%]')
  assert sweeps.fold_split_expressions(0, 3, pool=('train',)) == ('train[33%:]', 'train[0%:33%]')
  overrides = sweeps.fold_overrides(2, 3, 0, {'train_split': 'data.train_split',
                                              'index': 'data.fold_index'})
  assert overrides == {'data': {'train_split': 'train[:67%]+validation[:67%]',
                                'fold_index': 2}}
  # Without an inner split the held-out fold would select the checkpoint: refused.
  with pytest.raises(ValueError, match='inner_validation_percent is 0'):
    sweeps.fold_overrides(0, 3, 0, {'heldout_split': 'data.heldout_split'})


@pytest.mark.parametrize('num_folds,inner', [(2, 15), (3, 20), (5, 20)])
def test_nested_folds_keep_the_held_out_part_out_of_training_and_selection(num_folds, inner):
  covered = lambda expr: sorted(p for part in expr.split('+')
                                for p in range(*map(int, part[len('train['):-2].split('%:'))))
  heldout_all = []
  for fold in range(num_folds):
    train, val, heldout = sweeps.nested_fold_split_expressions(fold, num_folds, inner,
                                                               pool=('train',))
    t, v, h = covered(train), covered(val), covered(heldout)
    assert not set(t) & set(v) and not set(t) & set(h) and not set(v) & set(h)
    assert sorted(t + v + h) == list(range(100))            # a partition of the pool
    assert len(v) == inner
    heldout_all += h
  assert sorted(heldout_all) == list(range(100))            # every part is held out once
  assert sweeps.nested_fold_split_expressions(1, 5, 20) == (
      'train[0%:20%]+train[60%:100%]+validation[0%:20%]+validation[60%:100%]',
      'train[40%:60%]+validation[40%:60%]', 'train[20%:40%]+validation[20%:40%]')
  with pytest.raises(ValueError, match='inner_validation_percent=60'):
    sweeps.nested_fold_split_expressions(0, 2, 60)


def test_unknown_override_names_the_field(tmp_path):
  sweep = make_sweep(tmp_path)
  sweep.settings = {'bad': {'overrides': {'data': {'fold_idx': 1}}}}
  sweep.order = ()
  with pytest.raises(ValueError, match=r"sweep.settings.bad: unknown config field 'data.fold_idx'"):
    sweeps.plan(sweep)


def test_ablation_sweep_plans_valid_training_configs():
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  runs = sweeps.plan(sweeps.load_config_file(os.path.join(root, 'configs/sweeps/ablation.py')),
                     base_dir=root)
  assert len(runs) == 18 * 5
  for run in runs:
    setup.validate_config(run.config)
  loo = [r for r in runs if r.setting == 'loo_n_defects' and r.fold == 1][0]
  assert tuple(loo.config.data.masked_parameters) == ('n_defects',)
  # Nested: fold 1 is held out, fold 2 selects, the other three train.
  assert loo.config.data.heldout_split == 'train[20%:40%]+validation[20%:40%]'
  assert loo.config.data.validation_split == 'train[40%:60%]+validation[40%:60%]'
  assert 'heldout' in loo.config.eval.rollout_splits


def test_a_fold_without_a_finite_value_is_named_in_its_cell():
  rows = [{'setting': 'a', 'val_loss': 0.3}, {'setting': 'a', 'val_loss': float('nan')},
          {'setting': 'a', 'val_loss': 0.5}]
  row = sweeps.summarize(rows, ['val_loss'])[0]
  assert (row['folds'], row['val_loss_folds'], row['val_loss_mean']) == (3, 2, pytest.approx(0.4))
  assert sweeps.summary_cells([row], ['val_loss'])[0]['val_loss'].endswith('(2 of 3 folds)')
