"""`dendrite_sim` on Apache Beam (DirectRunner) gives the plain build's records; a corrupt
cached chunk is named and simulated again (issue 13)."""

import logging
import os
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders.dendrite_sim  # pylint: disable=unused-import
from data_builders.dendrite_sim import generation
from dendrax.data import pipeline

NAME = 'dendrite_sim/tiny'


def _assert_same_build(a_dir, b_dir):
  for split in generation.SPLITS:
    a = pipeline.load_source(NAME, split, a_dir, build_if_missing=False)
    b = pipeline.load_source(NAME, split, b_dir, build_if_missing=False)
    assert len(a) == len(b) > 0
    for i in range(len(a)):            # same examples in the same order
      for key, value in a[i].items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(b[i][key]),
                                      err_msg=f'{split} record {i} field {key}')


def _seed_cache(data_dir, fresh, keep):
  """Copies `keep` of the plain build's cached chunks into the cache of a build in `fresh`."""
  source = tfds.builder(NAME, data_dir=data_dir).cache_dir()
  target = tfds.builder(NAME, data_dir=fresh).cache_dir()
  os.makedirs(target)
  names = sorted(n for n in os.listdir(source) if n.endswith('.npz'))[:keep]
  for n in names:
    shutil.copy(os.path.join(source, n), target)
  return target, names


def test_beam_direct_runner_build_is_identical_to_the_plain_build(data_dir, tmp_path,
                                                                  monkeypatch):
  pytest.importorskip('apache_beam', reason='apache-beam (requirements.txt) not installed')
  from absl import flags  # pylint: disable=g-import-not-at-top
  # Command modules define absl flags at import; one imported earlier in this pytest process
  # (experiments.simulate) may hold the same names.
  for name in ('config', 'data_dir'):
    if name in flags.FLAGS and 'fill_cache' not in str(flags.FLAGS.find_module_defining_flag(name)):
      delattr(flags.FLAGS, name)
  from data_builders.dendrite_sim import fill_cache  # pylint: disable=g-import-not-at-top
  fresh = str(tmp_path / 'beam')
  _, cached = _seed_cache(data_dir, fresh, keep=5)    # 2 of the 7 chunks are simulated by Beam
  real, simulated = generation.simulate_chunk, []

  def counting(chunk, simulation, seed):
    simulated.append(chunk.filename)
    return real(chunk, simulation, seed)

  monkeypatch.setattr(generation, 'simulate_chunk', counting)
  builder = fill_cache.build('tiny', fresh, [])
  assert sorted(simulated) == sorted({c.filename for c in builder.chunks()} - set(cached))
  _assert_same_build(data_dir, fresh)


def test_a_corrupt_cached_chunk_is_named_and_simulated_again(data_dir, tmp_path, caplog):
  fresh = str(tmp_path / 'plain')
  cache, names = _seed_cache(data_dir, fresh, keep=7)
  bad = os.path.join(cache, names[3])
  with open(bad, 'r+b') as f:
    f.truncate(os.path.getsize(bad) // 3)
  chunk = next(c for c in tfds.builder(NAME, data_dir=fresh).chunks() if c.filename == names[3])
  with pytest.raises(generation.CorruptChunkError, match=names[3]):
    generation.load_chunk(bad, chunk)
  with caplog.at_level(logging.WARNING):
    pipeline.load_source(NAME, 'train', fresh)
  assert any(bad in r.getMessage() for r in caplog.records)
  assert os.path.exists(bad + '.corrupt')
  _assert_same_build(data_dir, fresh)
