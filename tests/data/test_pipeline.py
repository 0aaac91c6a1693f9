"""Tests of the grain input pipeline (dendrax.data.pipeline) on the real `tiny` dataset."""

import numpy as np
import pytest

from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.physics import parameters

NAME = 'dendrite_sim/tiny'
P = parameters.NUM_PARAMETERS


@pytest.fixture(scope='module')
def train(data_dir):
  return pipeline.load_source(NAME, 'train', data_dir, build_if_missing=False)


@pytest.fixture(scope='module')
def normalizer(train):
  return normalization.Normalizer.fit(train)


def _by_id(source):
  return {int(source[i]['trajectory_id']): source[i] for i in range(len(source))}


def test_load_source_errors_name_the_problem(data_dir, tmp_path, monkeypatch):
  with pytest.raises(ValueError, match="unknown dataset 'dendrite_foo/tiny'"):
    pipeline.load_source('dendrite_foo/tiny', 'train', data_dir)
  with pytest.raises(ValueError, match="no split 'training'.*ood"):
    pipeline.load_source(NAME, 'training', data_dir)
  with pytest.raises(FileNotFoundError, match='dendrite_sim/tiny'):
    pipeline.load_source(NAME, 'train', str(tmp_path), build_if_missing=False)
  monkeypatch.setenv(pipeline.DATA_DIR_ENV, data_dir)
  assert pipeline.default_data_dir() == data_dir
  assert len(pipeline.load_source(NAME, 'validation', None, build_if_missing=False)) > 0


def test_next_state_batches_pair_each_frame_with_the_next(train, normalizer):
  records = _by_id(train)
  batches = list(pipeline.next_state_batches(
      train, normalizer, batch_size=4, seed=0, input_fields=('xi', 'concentration'),
      num_epochs=1, drop_remainder=False))
  pairs = [(int(b['trajectory_id'][j]), int(b['t_index'][j]))
           for b in batches for j in range(len(b['trajectory_id']))]
  expected = {(tid, t) for tid, ex in records.items() for t in range(len(ex['time_s']) - 1)}
  assert len(pairs) == len(expected) and set(pairs) == expected   # one epoch = every pair once
  b = batches[0]
  n = train[0]['xi'].shape[-1]
  assert b['inputs'].shape == (4, n, n, 2) and b['inputs'].dtype == np.float32
  assert b['target'].shape == (4, n, n, 1) and b['cond'].shape == (4, pipeline.COND_SIZE)
  for j in range(4):
    ex = records[int(b['trajectory_id'][j])]
    t = int(b['t_index'][j])
    np.testing.assert_array_equal(b['inputs'][j, ..., 0], ex['xi'][t])
    np.testing.assert_allclose(b['inputs'][j, ..., 1],
                               normalizer.normalize_field('concentration', ex['concentration'][t]))
    np.testing.assert_array_equal(b['target'][j, ..., 0], ex['xi'][t + 1])
    assert b['target_length_um'][j] == ex['length_um'][t + 1]
    z, missing = normalizer.normalize_params(ex['params'], ex['params_missing'])
    cond = b['cond'][j]
    np.testing.assert_allclose(cond[:P], z, rtol=1e-6)
    np.testing.assert_array_equal(cond[P:2 * P], missing)
    np.testing.assert_array_equal(cond[2 * P:2 * P + 2], np.eye(2)[ex['chemistry']])
    np.testing.assert_array_equal(cond[2 * P + 2:2 * P + 5], np.eye(3)[ex['stage'][t + 1]])
    assert cond[-1] == 1.0


def test_order_and_augmentation_are_a_function_of_the_seed(train, normalizer):
  def run(seed):
    return list(pipeline.next_state_batches(train, normalizer, batch_size=8, seed=seed,
                                            augment=True, num_epochs=2))
  a, b, c = run(0), run(0), run(1)
  assert len(a) == len(b) == len(c)
  for x, y in zip(a, b):
    for key in x:
      np.testing.assert_array_equal(x[key], y[key], err_msg=key)
  key = lambda batches: np.concatenate([bt['trajectory_id'] * 100 + bt['t_index']
                                        for bt in batches])
  assert not np.array_equal(key(a), key(c))
  half = len(a) // 2   # the second epoch is another permutation of the same pairs
  assert sorted(key(a[:half])) == sorted(key(a[half:]))
  assert not np.array_equal(key(a[:half]), key(a[half:]))


def test_rollout_examples_match_next_state_conditioning(train, normalizer):
  rollouts = pipeline.rollout_examples(train, normalizer, ('xi', 'potential_v'))
  assert len(rollouts) == len(train)
  r = rollouts[0]
  ex = train[0]
  num_frames, n = ex['xi'].shape[:2]
  assert r['xi'].shape == (num_frames, n, n) and r['fields'].shape == (num_frames, n, n, 2)
  assert r['cond'].shape == (num_frames - 1, pipeline.COND_SIZE)
  np.testing.assert_array_equal(r['params'], ex['params'])
  for t in range(num_frames - 1):
    pair = pipeline.make_pair(ex, t, 1, normalizer, ('xi', 'potential_v'))
    np.testing.assert_array_equal(r['cond'][t], pair['cond'])
    np.testing.assert_array_equal(r['fields'][t], pair['inputs'])


def test_rollout_charge_is_what_the_simulated_frames_deposit(train, normalizer):
  """`charge_px` (the recorded charge / (z F c_s dx)) against the deposit of the simulated
  frames: Faraday's law, so the evaluator's `faraday_error` of the truth is ~0 (units check)."""
  from dendrax.train import evaluation  # pylint: disable=g-import-not-at-top
  r = pipeline.rollout_examples(train, normalizer)[0]
  assert r['charge_px'].shape == r['time_s'].shape and r['charge_px'][-1] > r['charge_px'][0]
  deposit, charge_sq = evaluation.faraday_sums(r['xi'][None], r['charge_px'][None])
  assert np.sqrt(deposit.sum() / charge_sq.sum()) < 1e-3
  no_charge = {k: v for k, v in train[0].items() if k != 'charge_c_per_m2'}
  assert np.isnan(pipeline.charge_thickness_px(no_charge)).all()


def _synthetic(missing=False, has_fields=True, num_frames=3, n=8):
  rng = np.random.default_rng(0)
  params = np.array([s.low for s in parameters.PARAMETER_SPECS], np.float32)
  flags = np.zeros(P, bool)
  if missing:
    params[1] = np.nan
    flags[4] = True
  return {'trajectory_id': 7, 'chemistry': 1, 'params': params, 'params_missing': flags,
          'time_s': np.arange(num_frames, dtype=np.float32) * 30, 'stage': -np.ones(num_frames),
          'xi': rng.random((num_frames, n, n)).astype(np.float32), 'has_fields': has_fields,
          'concentration': np.zeros((num_frames, n, n), np.float32),
          'potential_v': np.zeros((num_frames, n, n), np.float32),
          'length_um': np.arange(num_frames, dtype=np.float32),
          'pixel_size_um': 1.0, 'electrode_height_um': 2.0}


def test_missing_params_stage_and_fields_become_zero_with_flags(normalizer):
  source = [_synthetic(missing=True, has_fields=False)]
  b = next(pipeline.next_state_batches(source, normalizer, batch_size=2, seed=0,
                                       input_fields=('xi', 'potential_v')))
  cond = b['cond'][0]
  assert cond[1] == 0 and cond[4] == 0 and cond[P + 1] == 1 and cond[P + 4] == 1
  assert cond[P:2 * P].sum() == 2
  np.testing.assert_array_equal(cond[2 * P:2 * P + 2], [0, 1])
  np.testing.assert_array_equal(cond[2 * P + 2:2 * P + 5], [0, 0, 0])   # stage unknown
  assert (b['inputs'][..., 1] == 0).all()                            # no potential map
  assert np.isfinite(b['cond']).all()


def test_horizons_and_bad_arguments(normalizer):
  source = [_synthetic(num_frames=4)]
  b = next(pipeline.next_state_batches(source, normalizer, batch_size=6, seed=0, max_horizon=3,
                                       shuffle=False))
  np.testing.assert_array_equal(b['horizon'], [1, 1, 1, 2, 2, 3])
  np.testing.assert_array_equal(b['cond'][:, -1], b['horizon'])
  for j in range(6):
    np.testing.assert_array_equal(b['target'][j, ..., 0],
                                  source[0]['xi'][b['t_index'][j] + b['horizon'][j]])
  with pytest.raises(ValueError, match='input_fields'):
    pipeline.next_state_batches(source, normalizer, batch_size=2, seed=0, input_fields=('phi',))
  with pytest.raises(ValueError, match='batch_size'):
    pipeline.next_state_batches(source, normalizer, batch_size=0, seed=0)
  with pytest.raises(ValueError, match='no next-state pairs'):
    pipeline.next_state_batches([_synthetic(num_frames=1)], normalizer, batch_size=1, seed=0)


def test_in_memory_source_gives_the_same_batches(train, normalizer):
  memory = pipeline.in_memory(train)
  assert len(memory) == len(train)
  kw = dict(batch_size=8, seed=5, augment=True, input_fields=('xi', 'potential_v'))
  for a, b in zip(pipeline.next_state_batches(train, normalizer, **kw),
                  pipeline.next_state_batches(memory, normalizer, **kw)):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)
  slim = pipeline.in_memory(train, keys=('xi', 'trajectory_id'))
  assert set(slim[0]) == {'xi', 'trajectory_id'}
