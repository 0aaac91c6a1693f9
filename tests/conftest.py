"""Shared pytest setup: a persistent XLA compilation cache so repeated test runs compile once,
and the small `dendrite_fixture` TFDS datasets (tests/data/fixture_datasets.py)."""
import os

import jax
import pytest

_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.jax_cache')
jax.config.update('jax_compilation_cache_dir', _CACHE)
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)


@pytest.fixture
def fixture_data_dir(monkeypatch, tmp_path_factory):
  """TFDS data dir in which `pipeline.load_source('dendrite_fixture/<a|b|wide>', ...)` builds
  (once per session, well under a second each) and reads the fixture datasets."""
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  monkeypatch.setitem(pipeline.BUILDER_MODULES, 'dendrite_fixture', 'tests.data.fixture_datasets')
  return str(tmp_path_factory.getbasetemp() / 'tfds_fixture')
