"""Rollouts beyond the training horizon (`experiments.long_horizon`): the check that a longer
dataset holds the checkpoint dataset's own held-out trajectories, and the per-mark table."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


def matched_trajectories(long_source, short_source) -> float:
  """Checks that `long_source` holds trajectories of `short_source` (same ids and parameters) and
  returns the largest |length difference| (um) over the frames they share."""
  short = {int(short_source[i]['trajectory_id']): short_source[i]
           for i in range(len(short_source))}
  worst = 0.0
  for i in range(len(long_source)):
    ex = long_source[i]
    tid = int(ex['trajectory_id'])
    if tid not in short:
      raise ValueError(f'trajectory {tid} of the long-horizon split is not in the checkpoint '
                       "dataset's split: they are not the same held-out trajectories")
    ref = short[tid]
    if not np.array_equal(np.asarray(ex['params']), np.asarray(ref['params'])):
      raise ValueError(f'trajectory {tid}: parameters {np.asarray(ex["params"])} differ from the '
                       f"checkpoint dataset's {np.asarray(ref['params'])}")
    n = len(ref['length_um'])
    worst = max(worst, float(np.max(np.abs(np.asarray(ex['length_um'][:n], np.float64)
                                           - np.asarray(ref['length_um'], np.float64)))))
  return worst


def horizon_rows(result: Mapping[str, Any], threshold: float
                 ) -> tuple[list[dict], str | None]:
  """Per mark: time, R, VRMSE, MSE with intervals; and the first mark with R < threshold."""
  rows, first_below = [], None
  for mark, m in result['marks'].items():
    if mark == 'all':
      continue
    row = {'mark': mark, 'time_s': int(mark[1:-1]), 'trajectories': m['n_trajectories']}
    for key in ('length_r', 'length_mse_um2', 'xi_vrmse', 'deposit_iou', 'faraday_error'):
      row.update({key: m[key]['value'], f'{key}_ci': [m[key]['ci_low'], m[key]['ci_high']]})
    if first_below is None and row['length_r'] < threshold:
      first_below = mark
    rows.append(row)
  return rows, first_below
