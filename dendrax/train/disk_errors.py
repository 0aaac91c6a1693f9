"""A full disk reported in one message, instead of buried under library tracebacks.

When the disk fills during training, orbax's background save thread logs the failure with a
long asyncio traceback (one per array handler; about 50 for the full-size model),
tensorboardX's writer thread and its exit hook each print another, and the real cause
("No space left on device") is somewhere in the middle. `exit_cleanly_when_full` wraps a
command-line run: background tracebacks that are only the disk being full are shortened to
their first line, and the run ends with one message naming the folder, what was kept, and how
to continue (free space, run the same command: it resumes from the last complete checkpoint).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
from typing import Iterator

_MARKERS = ('No space left on device', "os_error_code='28'", 'Disk quota exceeded')


def is_disk_full(error: BaseException | None) -> bool:
  """Whether `error` or an exception in its cause/context chain is ENOSPC / EDQUOT."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
      return True
    if any(m in str(error) for m in _MARKERS):
      return True
    error = error.__cause__ or error.__context__
  return False


class _ShortenDiskFull(logging.Filter):
  """Keeps the first log record caused by a full disk, as one line; drops the repeats.

  Once the disk is full, asyncio callbacks of orbax's writer threads fail with
  'Event loop is closed' (printed through `sys.excepthook`); `excepthook` drops those too.
  """

  def __init__(self):
    super().__init__()
    self.seen = False

  def filter(self, record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    if not (is_disk_full(error) or any(m in str(record.msg) for m in _MARKERS) or
            any(m in record.getMessage() for m in _MARKERS)):
      return True
    if self.seen:
      return False
    self.seen = True
    if error is not None:
      record.msg = f'{record.getMessage()}: disk full ({error!s:.200})'
      record.args = ()
      record.exc_info = None
      record.exc_text = None
    return True

  def excepthook(self, previous):
    def hook(*args):
      exc = args[0].exc_value if len(args) == 1 else args[1]   # threading / sys hook
      if self.seen and isinstance(exc, RuntimeError) and 'Event loop is closed' in str(exc):
        return
      previous(*args)
    return hook


def _complete_steps(workdir: str) -> list[int]:
  folder = os.path.join(workdir, 'checkpoints', 'latest')
  if not os.path.isdir(folder):
    return []
  return sorted(int(n) for n in os.listdir(folder) if n.isdigit())


def message(workdir: str, error: BaseException) -> str:
  """The one message of a run stopped by a full disk."""
  steps = _complete_steps(workdir)
  kept = (f'the last complete checkpoint is step {steps[-1]}' if steps else
          'no checkpoint was completed')
  first = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
  return (f'error: the disk is full ({first}).\nWorkdir {workdir}: {kept}. Free space (or give '
          'a --workdir / DENDRAX_DATA_DIR on a larger disk) and run the same command again; it '
          'resumes from the last complete checkpoint.\n')


@contextlib.contextmanager
def exit_cleanly_when_full(workdir: str) -> Iterator[None]:
  """Runs the enclosed command; on a full disk prints `message` and exits with status 1.

  The exit skips interpreter shutdown hooks (`os._exit`), whose writer threads would fail on
  the same full disk and print their own tracebacks; everything already on disk stays, and
  orbax removes its unfinished temporary folders on the next start.
  """
  handler_filter = _ShortenDiskFull()
  loggers = [logging.getLogger(), logging.getLogger('absl')]
  targets = [h for lg in loggers for h in lg.handlers] + loggers
  for t in targets:
    t.addFilter(handler_filter)
  hooks = sys.excepthook, threading.excepthook
  sys.excepthook = handler_filter.excepthook(hooks[0])
  threading.excepthook = handler_filter.excepthook(hooks[1])
  try:
    yield
  except BaseException as e:  # pylint: disable=broad-except
    if not is_disk_full(e):
      raise
    sys.stdout.flush()
    sys.stderr.write(message(os.path.abspath(workdir), e))
    sys.stderr.flush()
    os._exit(1)  # pylint: disable=protected-access
  finally:
    for t in targets:
      t.removeFilter(handler_filter)
    sys.excepthook, threading.excepthook = hooks
