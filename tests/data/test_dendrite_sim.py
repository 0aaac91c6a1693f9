"""Tests of the `dendrite_sim` TFDS builder (real simulator, `tiny` config) and the Sobol design."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders.dendrite_sim as dendrite_sim
from data_builders.dendrite_sim import generation
from dendrax.data import pipeline
from dendrax.data import sampling
from dendrax.data import schema
from dendrax.physics import config as sim_config
from dendrax.physics import parameters

NAME = 'dendrite_sim/tiny'
SPLITS = generation.SPLITS


def _records(data_dir, split):
  src = pipeline.load_source(NAME, split, data_dir, build_if_missing=False)
  return {int(ex['trajectory_id']): ex for ex in (src[i] for i in range(len(src)))}


def _assert_same_records(a, b):
  assert sorted(a) == sorted(b)
  for tid, ex in a.items():
    for key, value in ex.items():
      np.testing.assert_array_equal(np.asarray(value), np.asarray(b[tid][key]),
                                    err_msg=f'trajectory {tid} field {key}')


def test_tiny_has_config_sizes_schema_shapes_and_physics_ranges(data_dir):
  config = tfds.builder(NAME, data_dir=data_dir).builder_config
  n = config.grid_size
  for split in SPLITS:
    records = _records(data_dir, split)
    assert len(records) == config.sizes[split]
    for ex in records.values():
      assert ex['xi'].shape == ex['concentration'].shape == ex['potential_v'].shape
      assert ex['xi'].shape == (schema.NUM_FRAMES, n, n)
      np.testing.assert_allclose(ex['time_s'], np.arange(schema.NUM_FRAMES) * 30.0)
      assert set(np.unique(ex['stage'])) <= set(range(len(parameters.STAGES)))
      assert np.isfinite(ex['xi']).all() and np.isfinite(ex['params']).all()
      assert not ex['params_missing'].any() and ex['has_fields']
      for key in schema.OBSERVABLE_KEYS:
        assert ex[key].shape == (schema.NUM_FRAMES,)


def test_records_round_trip_the_cached_simulation_exactly(data_dir):
  builder = tfds.builder(NAME, data_dir=data_dir)
  records = {s: _records(data_dir, s) for s in SPLITS}
  chunks = builder.chunks()
  assert chunks
  for chunk in chunks:
    arrays = generation.load_chunk(os.path.join(builder.cache_dir(), chunk.filename), chunk)
    for j, tid in enumerate(chunk.trajectory_ids):
      ex = records[chunk.splits[j]][int(tid)]
      assert ex['chemistry'] == chunk.chemistry and ex['protocol'] == chunk.protocol
      np.testing.assert_array_equal(ex['params'], chunk.params[j].astype(np.float32))
      for key in ('xi', 'concentration', 'potential_v', 'stage', 'time_s',
                  *schema.OBSERVABLE_KEYS):
        np.testing.assert_array_equal(ex[key], arrays[key][j], err_msg=key)


def test_splits_are_disjoint_by_trajectory_and_ood_is_outside_the_box(data_dir):
  records = {s: _records(data_dir, s) for s in SPLITS}
  ids = [tid for s in SPLITS for tid in records[s]]
  assert len(ids) == len(set(ids))
  rows = [tuple(ex['params']) for s in SPLITS for ex in records[s].values()]
  assert len(rows) == len(set(rows)), 'one parameter set appears twice'
  field = parameters.PARAMETER_NAMES.index('field_strength_kv_per_m')
  high = parameters.PARAMETER_SPECS[field].high
  for s in ('train', 'validation', 'test'):
    for ex in records[s].values():
      for spec, value in zip(parameters.PARAMETER_SPECS, ex['params']):
        assert spec.low <= value <= spec.high * (1 + 1e-6), (s, spec.name, value)
  assert all(ex['params'][field] > high for ex in records['ood'].values())


def _copy_from(cache_dir, calls):
  """A simulate_fn that returns chunks of an existing build's cache and counts calls."""
  def simulate_fn(chunk, simulation, seed):
    del simulation, seed
    calls.append(chunk.filename)
    return generation.load_chunk(os.path.join(cache_dir, chunk.filename), chunk)
  return simulate_fn


def test_killed_build_is_not_read_and_resumes_to_identical_records(data_dir, tmp_path,
                                                                   monkeypatch):
  fresh = str(tmp_path / 'tfds')
  real = generation.simulate_chunk
  calls = []

  def crash_after_two(chunk, simulation, seed):
    if len(calls) == 2:
      raise KeyboardInterrupt('simulated kill')
    calls.append(chunk.filename)
    return real(chunk, simulation, seed)

  monkeypatch.setattr(generation, 'simulate_chunk', crash_after_two)
  with pytest.raises(KeyboardInterrupt):
    pipeline.load_source(NAME, 'train', fresh)
  with pytest.raises(FileNotFoundError, match='not .*built'):
    pipeline.load_source(NAME, 'train', fresh, build_if_missing=False)
  builder = tfds.builder(NAME, data_dir=fresh)
  cached = sorted(f for f in os.listdir(builder.cache_dir()) if f.endswith('.npz'))
  assert cached == sorted(calls) and len(cached) == 2
  assert not any(f.startswith('.tmp') for f in os.listdir(builder.cache_dir()))

  # The resumed chunks come from the session's build (simulating them again would test what
  # the two simulated before the kill already test, at 2.5 x the cost).
  resumed = []
  monkeypatch.setattr(generation, 'simulate_chunk',
                      _copy_from(tfds.builder(NAME, data_dir=data_dir).cache_dir(), resumed))
  pipeline.load_source(NAME, 'train', fresh)       # rebuilds, skipping the finished chunks
  assert len(resumed) == len(builder.chunks()) - 2
  assert not set(resumed) & set(calls)
  for split in SPLITS:   # against a clean build in another folder (two chunks simulated apart)
    _assert_same_records(_records(fresh, split), _records(data_dir, split))


def test_generation_shared_by_workers_then_assembled(data_dir, tmp_path, monkeypatch):
  fresh = str(tmp_path / 'tfds')
  source_cache = tfds.builder(NAME, data_dir=data_dir).cache_dir()
  calls = []
  monkeypatch.setattr(generation, 'simulate_chunk', _copy_from(source_cache, calls))
  builder = tfds.builder(NAME, data_dir=fresh, file_format='array_record')
  chunks = builder.chunks()
  for worker in range(3):
    generation.fill_cache(chunks, builder.cache_dir(), builder.simulation_settings(),
                          builder.builder_config.seed, shard_index=worker, num_shards=3)
  assert sorted(calls) == sorted(c.filename for c in chunks)   # each chunk exactly once
  builder.download_and_prepare()
  assert len(calls) == len(chunks)                             # assembling simulated nothing
  for split in SPLITS:
    _assert_same_records(_records(fresh, split), _records(data_dir, split))


@pytest.mark.parametrize('fields, match', [
    ({'num_tarin': 4}, 'unknown dendrite_sim config field.*num_tarin'),
    ({'num_train': -1}, 'num_train must be a non-negative integer'),
    ({'num_test': 2.5}, 'num_test must be a non-negative integer'),
    ({'grid_size': 0}, 'grid_size must be a positive integer'),
    ({'ranges': {'temperature_k': (300.0, 300.0)}}, 'range of temperature_k is empty'),
    ({'ranges': {'temperature': (250.0, 300.0)}}, "unknown parameter 'temperature'"),
    ({'ood_ranges': {'field_strength_kv_per_m': (0.3, 0.8)}}, 'overlaps the training range'),
    ({'simulation': {'nx': 16}}, r"must not set \['nx'\]"),
    ({'build_splits': ('tset',)}, "build_splits names 'tset'"),
    ({'build_splits': ('ood',), 'num_ood': 0}, "build_splits names 'ood'"),
    ({'build_splits': ('test',), 'num_test': 2, 'tangent_chunks_per_group': 1},
     'build_splits and tangent_chunks_per_group cannot be combined'),
])
def test_bad_configs_fail_naming_the_field(fields, match):
  with pytest.raises(ValueError, match=match):
    dendrite_sim.make_config('bad', **{'num_train': 4, **fields})


def test_sobol_design_is_deterministic_stratified_and_log_uniform():
  a = sampling.sobol_design(256, seed=3)
  b = sampling.sobol_design(256, seed=3)
  c = sampling.sobol_design(256, seed=4)
  np.testing.assert_array_equal(a.params, b.params)
  assert not np.array_equal(a.params, c.params)
  for i, spec in enumerate(parameters.PARAMETER_SPECS):
    col = a.params[:, i]
    assert (col >= spec.low).all() and (col <= spec.high).all(), spec.name
    if spec.name in sampling.INTEGER_PARAMETERS:
      np.testing.assert_array_equal(col, np.round(col))
      assert set(col) == set(range(int(spec.low), int(spec.high) + 1))
      continue
    u = (np.log(col / spec.low) / np.log(spec.high / spec.low) if spec.log_scale
         else (col - spec.low) / (spec.high - spec.low))
    # A base-2 Sobol block puts exactly one point in each of its n equal 1-D strata.
    np.testing.assert_array_equal(np.bincount(np.floor(u * 256).astype(int), minlength=256),
                                  np.ones(256))
  np.testing.assert_array_equal(np.bincount(a.chemistry, minlength=2), [128, 128])
  n_proto = len(parameters.PROTOCOLS)
  pairs = np.bincount(a.chemistry * n_proto + a.protocol, minlength=2 * n_proto)   # +-1 rounding
  assert pairs.sum() == 256 and pairs.max() - pairs.min() <= 1
  assert not np.array_equal(a.protocol, c.protocol)   # the order is seeded too


def test_chunk_plan_covers_every_trajectory_once_in_full_static_batches():
  for name in ('small', 'medium', 'paper'):
    config = dendrite_sim.dendrite_sim.BUILDER_CONFIGS[
        [c.name for c in dendrite_sim.dendrite_sim.BUILDER_CONFIGS].index(name)]
    designs = generation.split_designs(
        config.sizes, config.seed, ranges=dict(config.ranges),
        ood_ranges=dict(config.ood_ranges), chemistry_weights=config.chemistry_weights,
        protocol_weights=config.protocol_weights)
    chunks = generation.plan_chunks(designs, config.batch_size)
    ids = np.concatenate([c.trajectory_ids for c in chunks])
    assert len(ids) == sum(config.sizes.values()) == len(set(ids.tolist()))
    for chunk in chunks:
      assert 1 <= len(chunk.trajectory_ids) <= chunk.pad_to == config.batch_size
      split_of = {int(t): s for s in SPLITS for t in designs[s][0]}
      assert all(split_of[int(t)] == s for t, s in zip(chunk.trajectory_ids, chunk.splits))
    groups = {(c.chemistry, c.protocol) for c in chunks}
    assert len(groups) == len(parameters.CHEMISTRIES) * len(parameters.PROTOCOLS)
    if name in ('small', 'medium'):   # sizes chosen so that no chunk needs padding
      assert all(len(c.trajectory_ids) == config.batch_size for c in chunks)


def test_small_long_holds_smalls_test_trajectories_with_their_time_steps():
  """`build_splits`: the same ids, parameters and per-group dt as `small`'s test split, re-chunked,
  and only the test split is written; 15 frames (to 420 s)."""
  small, long = (tfds.builder(f'dendrite_sim/{n}') for n in ('small', 'small_long'))
  full = [(int(t), c.params[i].tolist(), c.dt_s) for c in small.chunks()
          for i, (t, s) in enumerate(zip(c.trajectory_ids, c.splits)) if s == 'test']
  kept = [(int(t), c.params[i].tolist(), c.dt_s) for c in long.chunks()
          for i, t in enumerate(c.trajectory_ids)]
  assert sorted(kept) == sorted(full) and len(kept) == 28
  assert all(set(c.splits) == {'test'} and len(c.trajectory_ids) <= c.pad_to == 4
             for c in long.chunks())
  assert long.builder_config.splits_built == ('test',)
  assert small.builder_config.splits_built == SPLITS
  config = long.builder_config
  assert sim_config.SimulationConfig.from_dict(
      {**dict(config.simulation), 'nx': 64, 'ny': 64}).num_frames == 15


def test_nonfinite_simulation_fails_naming_the_trajectory_or_is_dropped():
  designs = generation.split_designs({'train': 3, 'validation': 0, 'test': 0, 'ood': 0}, 0,
                                     ranges={}, ood_ranges={'field_strength_kv_per_m': (0.5, 0.8)},
                                     chemistry_weights=(1, 0), protocol_weights=(1, 0, 0, 0))
  (chunk,) = generation.plan_chunks(designs, 4)
  n, t, h = 3, schema.NUM_FRAMES, 8
  arrays = {k: np.zeros((n, t, h, h), np.float32) for k in ('xi', 'concentration',
                                                           'potential_v')}
  arrays.update({k: np.zeros((n, t), np.float32) for k in schema.OBSERVABLE_KEYS})
  arrays.update(time_s=np.zeros((n, t), np.float32), stage=np.zeros((n, t), np.int32),
                pixel_size_um=np.ones(n, np.float32), electrode_height_um=np.ones(n, np.float32),
                trajectory_id=chunk.trajectory_ids)
  arrays['potential_v'][1, 3, 2, 2] = np.nan
  bad_id = int(chunk.trajectory_ids[1])
  with pytest.raises(ValueError, match=f'trajectory {bad_id} .*potential_v: NaN/inf'):
    list(generation.examples_of_chunk(chunk, arrays, 'train'))
  kept = [k for k, _ in generation.examples_of_chunk(chunk, arrays, 'train',
                                                     drop_nonfinite=True)]
  assert kept == [int(i) for i in chunk.trajectory_ids if i != bad_id]
