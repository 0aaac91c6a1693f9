"""Metric logging (TensorBoard events + JSON lines + CSV) and the training progress line.

Every scalar goes three ways, so a run can be read without TensorBoard:
  * `<workdir>/tensorboard/` event files (tensorboardX),
  * `<workdir>/metrics.jsonl`, one JSON object per (step, group): {"step", "group", name: value},
  * `<workdir>/metrics.csv`, long format `step,group,name,value`.
Files are opened in append mode: a resumed run continues the same logs.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from typing import Mapping

import numpy as np
import tensorboardX

from dendrax import files


class MetricWriter:
  """Writes scalar metrics of a run; `close()` (or use as a context manager) flushes.

  With several processes only process 0 writes (`enabled=False` elsewhere makes it a no-op).
  """

  def __init__(self, workdir: str, enabled: bool = True):
    self._enabled = enabled
    if not enabled:
      return
    os.makedirs(workdir, exist_ok=True)
    self._tb = tensorboardX.SummaryWriter(os.path.join(workdir, 'tensorboard'))
    self._jsonl = open(os.path.join(workdir, 'metrics.jsonl'), 'a')
    csv_path = os.path.join(workdir, 'metrics.csv')
    new = not os.path.exists(csv_path) or os.path.getsize(csv_path) == 0
    self._csv_file = open(csv_path, 'a', newline='')
    self._csv = csv.writer(self._csv_file)
    if new:
      self._csv.writerow(['step', 'group', 'name', 'value'])

  def write(self, step: int, group: str, scalars: Mapping[str, float]) -> None:
    """Logs `scalars` under `group/name` at `step` (non-finite values are kept as NaN/inf)."""
    if not self._enabled:
      return
    values = {k: float(np.asarray(v)) for k, v in scalars.items()}
    for name, value in values.items():
      self._tb.add_scalar(f'{group}/{name}', value, step)
      self._csv.writerow([step, group, name, repr(value)])
    record = {'step': int(step), 'group': group}
    record.update({k: (v if math.isfinite(v) else str(v)) for k, v in values.items()})
    self._jsonl.write(json.dumps(record) + '\n')
    self._jsonl.flush()
    self._csv_file.flush()

  def close(self) -> None:
    if not self._enabled:
      return
    self._tb.close()
    self._jsonl.close()
    self._csv_file.close()

  def __enter__(self) -> 'MetricWriter':
    return self

  def __exit__(self, *exc) -> None:
    self.close()


def drop_rows_after(workdir: str, step: int) -> int:
  """Removes rows a resumed run will write again from metrics.jsonl / metrics.csv; returns
  how many.

  A run resumed from the checkpoint of `step` repeats the steps after it, and every run
  re-evaluates its rollouts at the end: rows with a larger step, `rollout_*` rows, and a last
  row cut short by a kill are dropped, so the logs hold each (step, group, name) once.
  Each file is rewritten atomically (`files.atomic_write`).
  """
  dropped = 0
  for name in ('metrics.jsonl', 'metrics.csv'):
    path = os.path.join(workdir, name)
    if not os.path.exists(path):
      continue
    with open(path, newline='') as f:
      lines = f.readlines()
    if name.endswith('.jsonl'):
      keep = [l if l.endswith('\n') else l + '\n' for l in lines if _keep_json(l, step)]
    else:
      keep = lines[:1] + [l for l in lines[1:] if _keep_csv(l, step)]
    dropped += len(lines) - len(keep)
    with files.atomic_write(path, newline='') as f:
      f.writelines(keep)
  return dropped


def _kept(step: object, group: object, resumed: int) -> bool:
  return int(step) <= resumed and not str(group).startswith('rollout_')


def _keep_json(line: str, resumed: int) -> bool:
  try:
    row = json.loads(line)
    return _kept(row['step'], row['group'], resumed)
  except (ValueError, KeyError, TypeError):
    return False     # a line cut short by a kill


def _keep_csv(line: str, resumed: int) -> bool:
  row = next(csv.reader([line]), [])
  try:
    return len(row) == 4 and line.endswith('\n') and _kept(row[0], row[1], resumed)
  except ValueError:
    return False


class Progress:
  """Formats one progress line: step, rate, time left and a few metrics."""

  def __init__(self, first_step: int, num_steps: int):
    self._t0 = time.perf_counter()
    self._first = first_step
    self._total = num_steps

  def line(self, step: int, scalars: Mapping[str, float]) -> str:
    elapsed = time.perf_counter() - self._t0
    done = max(step - self._first, 1)
    rate = done / max(elapsed, 1e-9)
    eta = (self._total - step) / rate
    parts = ' '.join(f'{k}={float(v):.4g}' for k, v in scalars.items())
    return (f'step {step}/{self._total} ({100.0 * step / self._total:.0f}%) '
            f'{rate:.2f} steps/s, eta {eta / 60:.1f} min | {parts}')
