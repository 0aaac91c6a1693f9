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


def test_launch_tiny_end_to_end_and_resume(tmp_path_factory, tmp_path):
  """Builds (or reuses) dendrite_sim/tiny, trains a few steps, evaluates; the rerun resumes."""
  data_dir = str(tmp_path_factory.getbasetemp() / 'tfds_tiny')   # shared with tests/data
  workdir = str(tmp_path / 'tiny')
  common = ('--workdir', workdir, '--config.model.features=(4, 4, 8, 8, 8)',
            '--config.train.num_steps=12', '--config.eval.every_steps=6',
            '--config.checkpoint.every_steps=6', '--config.train.log_every_steps=6',
            '--config.train.warmup_steps=2')
  env = {'DENDRAX_DATA_DIR': data_dir}
  first = launch(*common, env=env, timeout=900)
  assert first.returncode == 0, first.stderr[-3000:]
  assert 'Test dendrite-length R per 30 s mark' in first.stdout
  with open(os.path.join(workdir, 'metrics.json')) as f:
    metrics = json.load(f)
  assert set(metrics['splits']) == {'train', 'validation', 'test', 'ood'}
  second = launch(*common[:3], '--config.train.num_steps=18', *common[4:], env=env, timeout=900)
  assert second.returncode == 0, second.stderr[-3000:]
  assert 'Resuming from step 12' in second.stdout
