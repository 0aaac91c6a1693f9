"""Stops training at the first non-finite loss, and never checkpoints a non-finite state.

A run that diverges (too high a learning rate, a bad batch) used to keep going on NaN to the
last step, overwrite its good checkpoints with NaN parameters and exit 0. `check_loss` is
called on every step's metrics: it raises `DivergenceError` naming the step, before anything
of that step is saved, so the newest checkpoint on disk is the last good one.
`check_state` guards each save: the loss of step s is computed with the parameters of step
s - 1, so an update that turns the parameters non-finite shows only one step later.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import jax
import numpy as np


class DivergenceError(FloatingPointError):
  """Training produced a non-finite loss or state; `.step` is the first bad step."""

  def __init__(self, message: str, step: int):
    super().__init__(message)
    self.step = step


def check_loss(step: int, metrics: Mapping[str, Any], last_checkpoint: int | None) -> None:
  """Raises DivergenceError if `metrics['loss']` of training step `step` is NaN or inf.

  Args:
    step: the 1-based training step the metrics belong to.
    metrics: the train step's metrics (device scalars); reading the loss waits for the step.
    last_checkpoint: the newest saved step (kept on disk), for the message; None if none.
  """
  loss = float(np.asarray(jax.device_get(metrics['loss'])))
  if not math.isfinite(loss):
    kept = (f'the last good checkpoint (step {last_checkpoint}) is kept'
            if last_checkpoint is not None else 'no checkpoint was written')
    raise DivergenceError(
        f'training diverged: loss={loss} at step {step}; {kept}. Lower config.train.lr, '
        'set config.train.grad_clip > 0, or check the data.', step)


def check_state(step: int, state: Any) -> None:
  """Raises DivergenceError if a parameter or optimiser-state array holds NaN or inf."""
  leaves = jax.tree_util.tree_leaves_with_path(jax.device_get(state))
  for path, leaf in leaves:
    arr = np.asarray(leaf)
    if arr.dtype.kind in 'fc' and not np.isfinite(arr).all():
      raise DivergenceError(f'training diverged: the state of step {step} has non-finite '
                            f'values in {jax.tree_util.keystr(path)}; it is not saved', step)
