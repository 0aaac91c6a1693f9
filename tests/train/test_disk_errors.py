"""A full disk ends a run with one message naming the workdir and the last checkpoint."""

import errno
import os
import subprocess
import sys

from dendrax.train import disk_errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Fails the way a full disk does in training: orbax-style background errors logged with their
# tracebacks, an asyncio callback on a closed loop, then ENOSPC from a metrics write.
CHILD = r'''
import errno, logging, os, sys, threading
from absl import logging as absl_logging
from dendrax.train import disk_errors
workdir = sys.argv[1]
os.makedirs(os.path.join(workdir, 'checkpoints', 'latest', '5'))
with disk_errors.exit_cleanly_when_full(workdir):
  for _ in range(20):
    try:
      raise ValueError('RESOURCE_EXHAUSTED: Failed writing: "x": No space left on device')
    except ValueError:
      absl_logging.exception('Failed to run 6 Handler Commit operations')
  def callback():
    raise RuntimeError('Event loop is closed')
  t = threading.Thread(target=callback)
  t.start(); t.join()
  raise OSError(errno.ENOSPC, 'No space left on device', os.path.join(workdir, 'metrics.jsonl'))
'''


def test_disk_full_is_one_message_naming_the_last_checkpoint(tmp_path):
  env = dict(os.environ, PYTHONPATH=ROOT)
  out = subprocess.run([sys.executable, '-c', CHILD, str(tmp_path / 'run')], env=env,
                       capture_output=True, text=True, timeout=120)
  assert out.returncode == 1
  assert 'Traceback' not in out.stderr, out.stderr
  assert out.stderr.count('disk full') == 1, out.stderr
  assert 'the disk is full' in out.stderr and 'last complete checkpoint is step 5' in out.stderr


def test_is_disk_full_follows_the_cause_chain():
  try:
    try:
      raise OSError(errno.ENOSPC, 'No space left on device')
    except OSError as e:
      raise RuntimeError('save failed') from e
  except RuntimeError as e:
    assert disk_errors.is_disk_full(e)
  assert not disk_errors.is_disk_full(ValueError('bad value'))
  assert not disk_errors.is_disk_full(OSError(errno.EACCES, 'Permission denied'))
