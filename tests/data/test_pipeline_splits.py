"""`load_source` with TFDS split expressions and dataset mixes, and `mask_parameters`, on the
small `dendrite_fixture` array_record datasets (tests/data/fixture_datasets.py)."""

import numpy as np
import pytest

from dendrax.analysis import sweeps
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.data import sources
from dendrax.physics import parameters

A, B, WIDE = 'dendrite_fixture/a', 'dendrite_fixture/b', 'dendrite_fixture/wide'
P = parameters.NUM_PARAMETERS


def _ids(source):
  return [int(source[i]['trajectory_id']) for i in range(len(source))]


@pytest.mark.parametrize('num_folds', [2, 5])
def test_fold_expressions_split_the_pool_by_trajectory(fixture_data_dir, num_folds):
  pool = sorted(_ids(pipeline.load_source(A, 'train', fixture_data_dir))
                + _ids(pipeline.load_source(A, 'validation', fixture_data_dir)))
  assert len(pool) == 15
  held_out = []
  for fold in range(num_folds):
    train_expr, val_expr = sweeps.fold_split_expressions(fold, num_folds)
    train = _ids(pipeline.load_source(A, train_expr, fixture_data_dir))
    val = _ids(pipeline.load_source(A, val_expr, fixture_data_dir))
    assert len(set(train)) == len(train) and len(set(val)) == len(val)
    assert not set(train) & set(val)                       # disjoint ...
    assert sorted(train + val) == pool                     # ... and together the whole pool
    held_out += val
  assert sorted(held_out) == pool                          # each trajectory validates once


def test_mix_concatenates_datasets_with_distinct_ids(fixture_data_dir):
  a = pipeline.load_source(A, 'train', fixture_data_dir)
  b = pipeline.load_source(B, 'train', fixture_data_dir)
  mix = pipeline.load_source(f'{A}+{B}', 'train', fixture_data_dir)
  assert len(mix) == len(a) + len(b) == 14
  ids = _ids(mix)
  assert len(set(ids)) == 14                               # b reuses a's ids 0..3
  assert ids[:10] == _ids(a)                               # the first dataset keeps its ids
  assert [sources.unmix_trajectory_id(i) for i in ids[10:]] == [(1, i) for i in _ids(b)]
  np.testing.assert_array_equal(mix[11]['xi'], b[1]['xi'])
  np.testing.assert_array_equal(mix[-1]['params'], b[len(b) - 1]['params'])
  # A split only `a` has; expressions apply to each dataset of the mix.
  assert _ids(pipeline.load_source(f'{A}+{B}', 'validation', fixture_data_dir)) == _ids(
      pipeline.load_source(A, 'validation', fixture_data_dir))
  assert len(pipeline.load_source(f'{B}+{A}', 'train[:50%]+test', fixture_data_dir)) == 2 + 5 + 2
  # The normaliser of a mix sees both datasets; batches carry the mixed ids.
  norm = normalization.Normalizer.fit(mix)
  assert norm.num_trajectories == 14
  batch_ids = np.concatenate([bt['trajectory_id'] for bt in pipeline.next_state_batches(
      mix, norm, batch_size=7, seed=0, num_epochs=1, drop_remainder=False)])
  assert set(batch_ids.tolist()) == set(ids)


def test_mix_errors_name_datasets_and_sizes(fixture_data_dir):
  with pytest.raises(ValueError, match=r'equal size.*dendrite_fixture/a: \(16, 16\).*'
                                       r'dendrite_fixture/wide: \(32, 32\)'):
    pipeline.load_source(f'{A}+{WIDE}', 'train', fixture_data_dir)
  with pytest.raises(ValueError, match="no split 'validation'"):
    pipeline.load_source(B, 'train+validation', fixture_data_dir)
  with pytest.raises(ValueError, match="no split 'ood'"):
    pipeline.load_source(f'{A}+{B}', 'ood', fixture_data_dir)
  with pytest.raises(ValueError, match='distinct datasets'):
    pipeline.load_source(f'{A}+{A}', 'train', fixture_data_dir)
  with pytest.raises(ValueError, match='parsing split'):
    pipeline.load_source(A, 'train[::2]', fixture_data_dir)
  with pytest.raises(ValueError, match=r'outside \[0, 2\*\*60\)'):
    sources.mix_trajectory_id(1, 2 ** 60)


def test_masked_parameters_are_missing_in_pairs_and_rollouts(fixture_data_dir):
  train = pipeline.load_source(A, 'train', fixture_data_dir)
  names = ('temperature_k', 'n_defects')
  k = [parameters.PARAMETER_NAMES.index(n) for n in names]
  masked = sources.mask_parameters(train, names)
  norm = normalization.Normalizer.fit(train)
  kw = dict(batch_size=8, seed=3, augment=True, num_epochs=1)
  for plain, hidden in zip(pipeline.next_state_batches(train, norm, **kw),
                           pipeline.next_state_batches(masked, norm, **kw)):
    assert np.all(hidden['cond'][:, k] == 0) and np.all(hidden['cond'][:, [P + j for j in k]] == 1)
    assert np.any(plain['cond'][:, k] != 0) and np.all(plain['cond'][:, P:2 * P] == 0)
    keep = [j for j in range(pipeline.COND_SIZE) if j not in k + [P + j for j in k]]
    np.testing.assert_array_equal(hidden['cond'][:, keep], plain['cond'][:, keep])
    np.testing.assert_array_equal(hidden['inputs'], plain['inputs'])
  roll = pipeline.rollout_examples(masked, norm)[0]
  assert np.all(roll['cond'][:, k] == 0) and np.all(roll['cond'][:, [P + j for j in k]] == 1)
  np.testing.assert_array_equal(roll['params'], train[0]['params'])   # values kept for reports
  # Fitting on the masked source leaves the masked parameters out (mean 0, std 1).
  fitted = normalization.Normalizer.fit(masked)
  assert [fitted.param_mean[j] for j in k] == [0.0, 0.0] and fitted.param_std[k[0]] == 1.0
  assert sources.mask_parameters(train, ()) is train
  with pytest.raises(ValueError, match='viscosity'):
    sources.mask_parameters(train, ('viscosity',))
