"""Shared pytest setup: a persistent XLA compilation cache so repeated test runs compile once,
and the small `dendrite_fixture` TFDS datasets (tests/data/fixture_datasets.py)."""
import os

import jax
import pytest

_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.jax_cache')
jax.config.update('jax_compilation_cache_dir', _CACHE)
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)


def init_params(model, *inputs):
  """`model`'s parameters from a jitted `init` drawn with the classic threefry: XLA compiles a
  small UNet's init in ~4 s on a CPU with it, against ~18 s with JAX's default partitionable
  threefry. For tests that check shapes and behaviour, not the weights' values."""
  with jax.threefry_partitionable(False):
    return jax.jit(model.init)(jax.random.key(0), *inputs)['params']


@pytest.fixture
def fixture_data_dir(monkeypatch, tmp_path_factory):
  """TFDS data dir in which `pipeline.load_source('dendrite_fixture/<a|b|wide>', ...)` builds
  (once per session, well under a second each) and reads the fixture datasets."""
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  monkeypatch.setitem(pipeline.BUILDER_MODULES, 'dendrite_fixture', 'tests.data.fixture_datasets')
  return str(tmp_path_factory.getbasetemp() / 'tfds_fixture')


def small_train_config(**sections):
  """configs/tiny.py shrunk for tests: a 2-level-wide UNet of 4-8 channels, batch 8, 40 steps,
  validation (and a checkpoint) every 10 steps, no early stopping, 200 bootstrap resamples.

  `sections` are nested overrides, e.g. `small_train_config(train={'num_steps': 4})`.
  """
  from configs import tiny  # pylint: disable=g-import-not-at-top
  config = tiny.get_config()
  config.model.features = (4, 4, 8, 8, 8)
  config.model.film_hidden = (8,)
  config.train.batch_size = 8
  config.train.num_steps = 40
  config.train.log_every_steps = 10
  config.eval.every_steps = 10
  config.eval.patience = 100
  config.eval.bootstrap_samples = 200
  for section, values in sections.items():
    if isinstance(values, dict):
      for k, v in values.items():
        config[section][k] = v
    else:
      config[section] = values
  return config


@pytest.fixture
def small_config():
  """Factory: `small_config(**sections)` -> `small_train_config(**sections)`."""
  return small_train_config


TINY = 'dendrite_sim/tiny'


@pytest.fixture(scope='session')
def tfds_tiny(tmp_path_factory):
  """The TFDS data dir holding `dendrite_sim/tiny`, built once per session (about 35 s) and
  shared by every test that needs real simulated data (the tests/data files use the same
  folder, `<basetemp>/tfds_tiny`)."""
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  path = str(tmp_path_factory.getbasetemp() / 'tfds_tiny')
  pipeline.load_source(TINY, 'train', path)
  return path
