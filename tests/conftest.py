"""Shared pytest setup: how the tests compile, the small TFDS datasets (`dendrite_sim/tiny`,
and `dendrite_fixture`: tests/data/fixture_datasets.py) and a small training config.

Compilation, which is most of the suite's time on a CPU, is set here through the environment,
so that the commands the tests run as subprocesses inherit it:
- a persistent XLA compilation cache (`.jax_cache`), so a program compiled by one test, one
  subprocess or one earlier run is not compiled again;
- `TEST_XLA_FLAGS`: LLVM at optimisation level 0 without its expensive passes. XLA's own
  graph optimisations still run; the machine code is faster to compile and slower to run, and
  it rounds differently: results agree with an optimised build to rounding, not bit for bit
  (a float32 tiny build's charge after 210 s differs by 2e-5 relative). Bit-for-bit checks in
  the suite therefore compare runs made under the same flags. Measured on this 2-core machine
  (2026-12-03, the suite of then), one run each: 22.6 min against 26.6 min; compile-bound tests
  take ~40 % less time, simulation-bound ones (dataset builds) up to 2.5x more. The commands
  themselves keep XLA's defaults;
- `run_optimised` / `optimised_xla_flags`: a long, simulation-bound computation whose result no
  in-process run is compared with bit for bit runs as a subprocess at XLA's defaults instead
  (alone on this machine: the 20 mA/cm^2 Sand column 80 s against 174 s under the test flags,
  the MMS space order 16 s against 39 s, the two-device generation check 19 s against 25 s).
"""
import contextlib
import fcntl
import json
import os
import subprocess
import sys

TEST_XLA_FLAGS = '--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CACHE = os.path.join(ROOT, '.jax_cache')
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', _CACHE)
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0.5')
if 'xla_backend_optimization_level' not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = f"{os.environ.get('XLA_FLAGS', '')} {TEST_XLA_FLAGS}".strip()

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

jax.config.update('jax_compilation_cache_dir', os.environ['JAX_COMPILATION_CACHE_DIR'])
jax.config.update('jax_persistent_cache_min_compile_time_secs',
                  float(os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS']))


def run_optimised(code: str, timeout: float = 1200):
  """Runs Python `code` in a subprocess under XLA's default optimisation (the suite's
  `TEST_XLA_FLAGS` removed; the compile cache shared, its keys include the flags) and returns
  the JSON object the code prints on its last line of stdout."""
  env = dict(os.environ, XLA_FLAGS=optimised_xla_flags(), JAX_PLATFORMS='cpu', PYTHONPATH=ROOT)
  proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=timeout)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads(proc.stdout.strip().splitlines()[-1])


def optimised_xla_flags(*flags: str) -> str:
  """XLA_FLAGS for a subprocess at XLA's default optimisation: the environment's without
  `TEST_XLA_FLAGS`, and `flags`."""
  kept = [f for f in os.environ.get('XLA_FLAGS', '').split() if f not in TEST_XLA_FLAGS.split()]
  return ' '.join((*kept, *flags))


def xla_flags(*flags: str) -> str:
  """XLA_FLAGS for a subprocess: the suite's (`TEST_XLA_FLAGS`) and `flags`."""
  return ' '.join((os.environ.get('XLA_FLAGS', ''), *flags)).strip()


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


@contextlib.contextmanager
def _file_lock(path: str):
  with open(path, 'w') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope='session')
def tfds_tiny(tmp_path_factory):
  """The TFDS data dir holding `dendrite_sim/tiny`, built once per test run (about 35 s) and
  shared by every test that needs real simulated data. Under pytest-xdist the workers share
  one build: the first to take the lock builds it, the others wait and read it."""
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.getbasetemp()
  if os.environ.get('PYTEST_XDIST_WORKER'):
    root = root.parent                       # the run's folder, above every worker's own
  path = str(root / 'tfds_tiny')
  with _file_lock(str(root / 'tfds_tiny.lock')):
    pipeline.load_source(TINY, 'train', path)
  return path
