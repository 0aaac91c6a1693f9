"""Parity metrics of predicted against simulated values: R, R^2 and MSE (paper, Fig. 4).

R is Pearson's correlation coefficient (what Zhao et al. quote: 0.93 train, 0.80 test);
R^2 is the coefficient of determination 1 - SS_res / SS_tot, which, unlike R squared, also
penalises a bias or a wrong slope; MSE is in the squared unit of the values (um^2 for lengths).
Non-finite pairs (a missing observable is NaN) are left out and counted.
"""

from __future__ import annotations

import numpy as np


def regression_metrics(y_true, y_pred) -> dict[str, float]:
  """{'r', 'r2', 'mse', 'mae', 'n', 'n_dropped'} over the finite pairs of two equal-shape arrays.

  R and R^2 are NaN when fewer than two pairs remain or the true values are constant.
  """
  y_true = np.asarray(y_true, np.float64)
  y_pred = np.asarray(y_pred, np.float64)
  if y_true.shape != y_pred.shape:
    raise ValueError(f'y_true has shape {y_true.shape} but y_pred has {y_pred.shape}')
  ok = np.isfinite(y_true) & np.isfinite(y_pred)
  t, p = y_true[ok], y_pred[ok]
  n = int(t.size)
  out = {'n': n, 'n_dropped': int(y_true.size - n)}
  if n == 0:
    return {**out, 'r': float('nan'), 'r2': float('nan'), 'mse': float('nan'),
            'mae': float('nan')}
  err = p - t
  out['mse'] = float(np.mean(err ** 2))
  out['mae'] = float(np.mean(np.abs(err)))
  ss_tot = float(np.sum((t - t.mean()) ** 2))
  if n < 2 or ss_tot == 0.0:
    out['r'] = out['r2'] = float('nan')
    return out
  out['r2'] = 1.0 - float(np.sum(err ** 2)) / ss_tot
  sp = float(np.std(p))
  out['r'] = float(np.corrcoef(t, p)[0, 1]) if sp > 0 else float('nan')
  return out


def per_mark_metrics(y_true_NxT, y_pred_NxT, time_s_T) -> dict[str, dict[str, float]]:
  """`regression_metrics` at each time mark (column), keyed by the mark in whole seconds."""
  y_true_NxT = np.asarray(y_true_NxT)
  y_pred_NxT = np.asarray(y_pred_NxT)
  if y_true_NxT.shape != y_pred_NxT.shape or y_true_NxT.shape[-1] != len(time_s_T):
    raise ValueError(f'shapes disagree: true {y_true_NxT.shape}, pred {y_pred_NxT.shape}, '
                     f'{len(time_s_T)} time marks')
  return {f'{float(t):g}s': regression_metrics(y_true_NxT[:, i], y_pred_NxT[:, i])
          for i, t in enumerate(time_s_T)}
