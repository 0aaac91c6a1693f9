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


def _import_fill_cache():
  from absl import flags  # pylint: disable=g-import-not-at-top
  # Command modules define absl flags at import; one imported earlier in this pytest process
  # (experiments.simulate) may hold the same names.
  for name in ('config', 'data_dir'):
    if name in flags.FLAGS and 'fill_cache' not in str(flags.FLAGS.find_module_defining_flag(name)):
      delattr(flags.FLAGS, name)
  from data_builders.dendrite_sim import fill_cache  # pylint: disable=g-import-not-at-top
  return fill_cache


def test_beam_direct_runner_build_is_identical_to_the_plain_build(data_dir, tmp_path,
                                                                  monkeypatch):
  pytest.importorskip('apache_beam', reason='apache-beam (requirements.txt) not installed')
  fill_cache = _import_fill_cache()
  fresh = str(tmp_path / 'beam')
  _, cached = _seed_cache(data_dir, fresh, keep=5)    # 2 of the 7 chunks are simulated by Beam
  real, simulated = generation.simulate_chunk, []

  def counting(chunk, simulation, seed):
    simulated.append(chunk.filename)
    return real(chunk, simulation, seed)

  monkeypatch.setattr(generation, 'simulate_chunk', counting)
  builder = fill_cache.build('tiny', fresh, [])    # also checks the record counts
  assert sorted(simulated) == sorted({c.filename for c in builder.chunks()} - set(cached))
  _assert_same_build(data_dir, fresh)
  # The local runner's timed flush (which dropped records of `medium`) is off for the build.
  from apache_beam.runners.portability.fn_api_runner import worker_handlers  # pylint: disable=g-import-not-at-top
  assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 0


def test_record_counts_that_differ_from_the_chunk_cache_fail_naming_the_split(data_dir,
                                                                             monkeypatch):
  """The check after a Beam build: a build that lacks records the cache holds is refused."""
  pytest.importorskip('apache_beam', reason='apache-beam (requirements.txt) not installed')
  fill_cache = _import_fill_cache()
  builder = tfds.builder(NAME, data_dir=data_dir)
  fill_cache.check_record_counts(builder)               # the plain build: counts agree
  sizes = builder.expected_split_sizes()
  assert sizes == {s: builder.info.splits[s].num_examples for s in generation.SPLITS}
  # Had the simulator flagged the first trajectory of every chunk, the build would hold more
  # records than the cache allows: named, with both numbers.
  monkeypatch.setattr(generation, 'bound_violations', lambda arrays: {0: 'c: out of bounds'})
  with pytest.raises(RuntimeError, match=r'train: 8 records where the chunk cache holds \d'):
    fill_cache.check_record_counts(builder)


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


def test_without_tensorflow_a_large_split_is_shuffled_in_memory(monkeypatch):
  """TFDS spills a split over 1 GB to disk through tf.io.gfile; without TensorFlow (this
  project's install) the builders raise the in-memory limit instead (`medium_tangents`' train
  split failed at 1 GB), and leave it alone when TensorFlow is there."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  from tensorflow_datasets.core import shuffle  # pylint: disable=g-import-not-at-top
  from data_builders import base  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(shuffle, 'MAX_MEM_BUFFER_SIZE', 1000 << 20)
  monkeypatch.setattr(importlib.util, 'find_spec', lambda name: object())
  base.allow_large_in_memory_shuffle()
  assert shuffle.MAX_MEM_BUFFER_SIZE == 1000 << 20
  monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)
  base.allow_large_in_memory_shuffle()
  assert shuffle.MAX_MEM_BUFFER_SIZE == base.IN_MEMORY_SHUFFLE_BYTES > 1000 << 20
