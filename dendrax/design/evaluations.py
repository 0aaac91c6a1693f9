"""Append-only store of every simulator evaluation, so a killed design run resumes where it was.

One JSON object per line in `<out>/evaluations.jsonl`. The first line is a header holding the
run's fingerprint (a hash of the config); a store written under another config refuses to open
(naming the file), so a resume never mixes problems. Each later line is one evaluation:

    {"method": "bayesian", "seed": 1, "index": 7, "kind": "forward", "u": [...],
     "values": {...}, "value": 3.2, "grad": null, "aux": {...}, "wall_s": 12.5,
     "surrogate_calls": 0}

`index` counts the simulator calls of one (method, seed) run; `wall_s` is that run's elapsed time
at the end of the call (summed across resumes). A line is written with a single `os.write` on a
file opened with O_APPEND and then fsynced, so a kill leaves either the whole line or a torn
tail; a torn tail is cut off when the store is next opened.

Resuming is replay: the methods are deterministic given their seed, and each call first asks the
store for the record of its (method, seed, index); a stored record is returned as is (its point
replaces the method's proposal), so the run continues exactly where it was killed.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

from dendrax.analysis import report as report_lib

FILENAME = 'evaluations.jsonl'


class StoreMismatch(ValueError):
  """The store on disk belongs to another config."""


class EvaluationStore:
  """Evaluations on disk, indexed by (method, seed, index)."""

  def __init__(self, out_dir: str, fingerprint: str):
    os.makedirs(out_dir, exist_ok=True)
    self.path = os.path.join(out_dir, FILENAME)
    self.fingerprint = fingerprint
    self._records: dict[tuple[str, int, int], dict[str, Any]] = {}
    if os.path.exists(self.path):
      self._load()
    else:
      self._append({'header': True, 'fingerprint': fingerprint})

  def _load(self) -> None:
    with open(self.path, 'rb') as f:
      data = f.read()
    good = data.rfind(b'\n') + 1
    if good < len(data):           # torn tail of a killed write: cut it off
      with open(self.path, 'r+b') as f:
        f.truncate(good)
    lines = [l for l in data[:good].decode().splitlines() if l.strip()]
    if not lines:
      self._append({'header': True, 'fingerprint': self.fingerprint})
      return
    header = json.loads(lines[0])
    if header.get('fingerprint') != self.fingerprint:
      raise StoreMismatch(
          f'{self.path} holds evaluations of another config (fingerprint '
          f"{header.get('fingerprint')} != {self.fingerprint}); use a new --out or delete it")
    for line in lines[1:]:
      rec = json.loads(line)
      self._records[(rec['method'], int(rec['seed']), int(rec['index']))] = rec

  def _append(self, record: Mapping[str, Any]) -> None:
    line = (json.dumps(report_lib.to_jsonable(record)) + '\n').encode()
    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
      os.write(fd, line)
      os.fsync(fd)
    finally:
      os.close(fd)

  def get(self, method: str, seed: int, index: int) -> dict[str, Any] | None:
    return self._records.get((method, int(seed), int(index)))

  def add(self, record: Mapping[str, Any]) -> None:
    """Appends `record` (needs method, seed, index) and indexes it."""
    key = (record['method'], int(record['seed']), int(record['index']))
    if key in self._records:
      raise ValueError(f'evaluation {key} is already stored in {self.path}')
    self._append(record)
    self._records[key] = json.loads(json.dumps(report_lib.to_jsonable(record)))

  def records(self, method: str | None = None, seed: int | None = None) -> list[dict[str, Any]]:
    """Stored evaluations, optionally of one method/seed, in index order."""
    out = [r for (m, s, _), r in self._records.items()
           if (method is None or m == method) and (seed is None or s == seed)]
    return sorted(out, key=lambda r: (r['method'], r['seed'], r['index']))
