"""Finding the newest intact checkpoint, and restore errors that name the step and the file.

orbax writes each step to a temporary folder and renames it when complete, so a kill mid-save
cannot leave a half-written step. Damage after the fact can: a truncated array file, a missing
or empty `_METADATA`, an empty JSON item (disk errors, a full disk, a partial copy between
machines, a user's `rm`). orbax then raises errors such as `JSONDecodeError: Expecting value`
that name neither the step nor the file, and resuming from the latest step is impossible.

`newest_intact_step` restores every item of each step, newest first; a step that fails is
moved to `<workdir>/checkpoints/corrupt/` with a warning naming the step and the file, and the
newest step that reads back completely is the one to resume from. `naming_errors` wraps any
restore so its error names the step and the most likely damaged file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from typing import Iterator

from absl import logging
from etils import epath
import jax
import orbax.checkpoint as ocp

# Files orbax writes as JSON in a step folder or an item folder.
_JSON_FILES = ('_CHECKPOINT_METADATA', '_METADATA', 'metadata')
_QUOTED_PATH = re.compile(r'"(/[^"]+)"')


class CorruptCheckpointError(RuntimeError):
  """A checkpoint step that cannot be restored; `.step` and `.path` (the damaged file)."""

  def __init__(self, step: int, path: str, cause: BaseException):
    detail = str(cause).splitlines()[0][:300] if str(cause) else ''
    super().__init__(f'checkpoint step {step} is corrupt or incomplete: {path} '
                     f'({type(cause).__name__}: {detail})')
    self.step = step
    self.path = path


def _bad_json(path: str) -> bool:
  try:
    with open(path) as f:
      json.load(f)
    return False
  except (OSError, ValueError):
    return True


def damaged_file(step_dir: str, error: BaseException) -> str:
  """The file most likely behind `error` in the step folder `step_dir`.

  In order: a missing or unreadable/invalid JSON metadata file of an item; a file the error
  message quotes (tensorstore names the array file it could not read); the step folder.
  """
  if not os.path.isdir(step_dir):
    return step_dir
  for item in sorted(os.listdir(step_dir)):
    item_dir = os.path.join(step_dir, item)
    if not os.path.isdir(item_dir):
      continue
    names = os.listdir(item_dir)
    if 'manifest.ocdbt' in names or '_sharding' in names:     # a PyTree (array) item
      meta = os.path.join(item_dir, '_METADATA')
      if not os.path.exists(meta) or _bad_json(meta):
        return meta
      manifest = os.path.join(item_dir, 'manifest.ocdbt')
      if os.path.exists(manifest) and os.path.getsize(manifest) == 0:
        return manifest
    elif 'metadata' in names or not names:                    # a JSON item
      meta = os.path.join(item_dir, 'metadata')
      if not os.path.exists(meta) or _bad_json(meta):
        return meta
  quoted = [p for p in _QUOTED_PATH.findall(str(error)) if p.startswith(step_dir)]
  files = [p for p in quoted if os.path.isfile(p)]
  if files:
    return files[-1]
  if isinstance(error, FileNotFoundError) and getattr(error, 'filename', None):
    return str(error.filename)
  return step_dir


def step_dir(manager: ocp.CheckpointManager, step: int) -> str:
  return os.path.join(str(manager.directory), str(step))


@contextlib.contextmanager
def naming_errors(manager: ocp.CheckpointManager, step: int) -> Iterator[None]:
  """Re-raises any error of the enclosed restore as CorruptCheckpointError(step, file)."""
  try:
    yield
  except CorruptCheckpointError:
    raise
  except Exception as e:  # pylint: disable=broad-except  (orbax/tensorstore raise many kinds)
    raise CorruptCheckpointError(step, damaged_file(step_dir(manager, step), e), e) from e


def _local_target(item_dir: str):
  """Abstract arrays of the tree saved in `item_dir`, each on this process's first device.

  Without a target orbax rebuilds the saved sharding, which fails ('Topology mismatch') when
  the run was saved on other devices (2 host devices here, 8 GPUs elsewhere): a step that is
  intact but was written on another mesh must not count as corrupt.
  """
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  handler = ocp.StandardCheckpointHandler()
  try:
    tree = handler.metadata(epath.Path(item_dir)).tree
  finally:
    handler.close()
  return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=device), tree)


def verify_step(manager: ocp.CheckpointManager, step: int) -> None:
  """Restores every item of `step` (arrays onto one local device, whatever mesh wrote them) or
  raises CorruptCheckpointError.

  Reading the arrays is what finds a truncated file; for dendrax's models it takes well under
  a second.
  """
  folder = step_dir(manager, step)
  items = sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)))
  with naming_errors(manager, step):
    args = {}
    for name in items:
      inner = os.listdir(os.path.join(folder, name))
      is_tree = 'manifest.ocdbt' in inner or '_sharding' in inner or '_METADATA' in inner
      args[name] = (ocp.args.StandardRestore(_local_target(os.path.join(folder, name)))
                    if is_tree else ocp.args.JsonRestore())
    if not args:
      raise FileNotFoundError(f'no items in {folder}')
    manager.restore(step, args=ocp.args.Composite(**args))


def quarantine(manager: ocp.CheckpointManager, step: int, corrupt_root: str) -> str:
  """Moves step folder `step` out of the manager's folder into `corrupt_root`; returns it."""
  os.makedirs(corrupt_root, exist_ok=True)
  name = f'{os.path.basename(str(manager.directory))}-{step}-{time.strftime("%Y%m%d-%H%M%S")}'
  target = os.path.join(corrupt_root, name)
  shutil.move(step_dir(manager, step), target)
  manager.reload()
  return target


def newest_intact_step(manager: ocp.CheckpointManager, workdir: str) -> int | None:
  """The newest step of `manager` that restores completely; None if it has no steps.

  Corrupt newer steps are moved to `<workdir>/checkpoints/corrupt/` (kept for inspection, and
  out of the way of the manager's step list and garbage collection), each with a warning
  naming the step and the file. Raises CorruptCheckpointError if every step is corrupt: that
  is never silently turned into a fresh start.
  """
  corrupt_root = os.path.join(os.path.abspath(workdir), 'checkpoints', 'corrupt')
  failures = []
  for step in sorted(manager.all_steps(), reverse=True):
    try:
      verify_step(manager, step)
    except CorruptCheckpointError as e:
      failures.append(e)
      moved = quarantine(manager, step, corrupt_root)
      message = f'WARNING: {e}; moved to {moved}; falling back to an older checkpoint'
      logging.warning(message)
      print(message, flush=True)
      continue
    return step
  if failures:
    raise CorruptCheckpointError(failures[-1].step, failures[-1].path, RuntimeError(
        f'no intact checkpoint in {manager.directory}: ' + '; '.join(map(str, failures)) +
        f'. The damaged steps are in {corrupt_root}; use a new --workdir or remove them to '
        'start over.'))
  return None
