"""Atomic file writes: the one helper every writer of dendrax goes through.

`atomic_write(path)` yields a file in the destination folder under a temporary name
(`.tmp-<random><suffix>`) and renames it onto `path` when the block ends without an exception,
so a reader (or a run killed mid-write) never sees half a file; on an exception the temporary
file is removed. The file is made world-readable (0644; `tempfile.mkstemp` creates 0600),
because reports and metrics are meant to be shared.

    with files.atomic_write('out/metrics.json') as f:
      json.dump(result, f)
    files.atomic_path('out/video.gif')   # for writers that want a path, e.g. matplotlib
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator

TEMP_PREFIX = '.tmp-'


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path next to `path`; renames it onto `path` if the block succeeds.

  The temporary name keeps `path`'s extension (writers such as matplotlib choose the format
  by it). The folder is created if needed.
  """
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=os.path.splitext(path)[1])
  os.close(fd)
  try:
    yield tmp
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'w', **open_kwargs) -> Iterator[IO]:
  """`open(path, mode, **open_kwargs)` that appears at `path` only once the block has finished
  writing."""
  if not mode.startswith('w'):
    raise ValueError(f'atomic_write writes whole files; mode must start with "w", got {mode!r}')
  with atomic_path(path) as tmp:
    with open(tmp, mode, **open_kwargs) as f:
      yield f


def write_text(path: str, text: str) -> str:
  """Writes `text` to `path` atomically; returns `path`."""
  with atomic_write(path) as f:
    f.write(text)
  return path
