"""launch.py: bad config keys and values fail with a message naming the key; a real tiny run."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def launch(*args, env=None, timeout=120):
  return subprocess.run([sys.executable, 'launch.py', '--config', 'configs/tiny.py', *args],
                        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                        env=dict(os.environ, JAX_PLATFORMS='cpu', **(env or {})))


@pytest.mark.parametrize('override,message', [
    ('--config.train.bogus=1', "unknown config key 'bogus' in --config.train.bogus"),
    ('--config.modle.features=(4,4)', "unknown config key 'modle'"),
    ('--config.train.lr=fast', 'config.train.lr=fast'),
    ('--config.model_name=cnn3', "config.model_name: 'cnn3' is not one of"),
    ('--config.loss.morph=iou', "loss.morph='iou'"),
    ('--config.train.warmup_steps=100000', 'train.warmup_steps'),
])
def test_bad_config_fails_naming_the_key(tmp_path, override, message):
  proc = launch('--workdir', str(tmp_path / 'w'), override)
  assert proc.returncode != 0
  assert message in proc.stderr + proc.stdout, proc.stderr[-2000:]
  assert not os.path.exists(tmp_path / 'w' / 'checkpoints')   # failed before any training


def test_launch_tiny_end_to_end_and_resume(tfds_tiny, tmp_path):
  """On the session's dendrite_sim/tiny: trains a few steps, evaluates; the rerun resumes."""
  data_dir = tfds_tiny
  workdir = str(tmp_path / 'tiny')
  common = ('--workdir', workdir, '--config.model.features=(4, 4, 8, 8, 8)',
            '--config.train.num_steps=12', '--config.eval.every_steps=6',
            '--config.train.log_every_steps=6',
            '--config.train.warmup_steps=2')
  env = {'DENDRAX_DATA_DIR': data_dir}
  first = launch(*common, env=env, timeout=900)
  assert first.returncode == 0, first.stderr[-3000:]
  assert 'Test dendrite-length R per 30 s mark' in first.stdout
  with open(os.path.join(workdir, 'metrics.json')) as f:
    metrics = json.load(f)
  assert set(metrics['splits']) == {'train', 'validation', 'test', 'ood'}
  for split in metrics['splits'].values():         # length R with its interval, xi VRMSE
    for mark in [f't{30 * k:03d}s' for k in range(1, 8)] + ['all']:
      assert {'value', 'ci_low', 'ci_high'} <= set(split['marks'][mark]['length_r'])
      assert split['marks'][mark]['xi_vrmse']['value'] >= 0
  second = launch(*common[:3], '--config.train.num_steps=18', *common[4:], env=env, timeout=900)
  assert second.returncode == 0, second.stderr[-3000:]
  assert 'Resuming from step 12' in second.stdout


def test_one_prng_for_data_and_one_explicit_key_for_the_weights(tmp_path):
  """launch.py leaves JAX's default PRNG (threefry) alone, as the tests and load_source do, so
  the dataset it builds is the same; the model's initial weights use an explicit 'rbg' key,
  whatever the default, so they are the same in launch.py and in-process."""
  script = ('import jax, launch\n'
            'launch.configure_jax(0, 8)\n'
            'print(jax.config.jax_default_prng_impl)\n')
  out = subprocess.run([sys.executable, '-c', script], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, JAX_PLATFORMS='cpu', PYTHONPATH=ROOT))
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.strip().splitlines()[-1] == 'threefry2x32'

  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  from tests.conftest import small_train_config  # pylint: disable=g-import-not-at-top
  config = small_train_config(seed=3)
  assert jax.config.jax_default_prng_impl == 'threefry2x32'
  default = jax.tree.leaves(setup.initial_state(config).params)
  with jax.default_prng_impl('rbg'):
    other = jax.tree.leaves(setup.initial_state(config).params)
  for a, b in zip(default, other):
    np.testing.assert_array_equal(a, b)
  assert jax.random.key_impl(setup.init_key(3)) == jax.random.key_impl(
      jax.random.key(0, impl='rbg'))
