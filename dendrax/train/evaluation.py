"""Surrogate predictions and their evaluation: one 30 s step, autoregressive rollouts, metrics.

`make_predict_fns(model)` returns pure, jittable functions of the parameters, so analysis code
can differentiate a rollout with respect to `cond` (e.g. `jax.jvp` w.r.t. the normalised physical
parameters in `cond[..., :7]`).

Metrics of a rollout from the first frame (t = 0) to the last (210 s), per 30 s mark and pooled
over all marks after t = 0, across the trajectories of a split:
  * dendrite length L (um, `dendrax.physics.observables.dendrite_length_um` on predicted and on
    true frames): MSE (um^2), R^2 = 1 - SS_res / SS_tot, Pearson R;
  * deposit mask xi > threshold: IoU, precision, recall, F1 from pixel counts, over the whole
    frame ('mask') and over the rows above the initial electrode surface ('growth_mask'), where
    the flat electrode that every frame shares cannot inflate the scores.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class Predictor(NamedTuple):
  """Pure functions of (params, ...); see `make_predict_fns`."""
  predict_next: Callable[..., jax.Array]
  rollout: Callable[..., jax.Array]


def make_predict_fns(model: nn.Module) -> Predictor:
  """`predict_next(params, inputs, cond)` and `rollout(params, first_frame, cond_per_step)`.

  predict_next: inputs [B, H, W, C] (channel 0 = xi), cond [B, K] -> xi 30 s later [B, H, W, 1].
  rollout: first_frame [B, H, W, C] or [H, W, C], cond_per_step [B, T-1, K] or [T-1, K]
    (conditioning of each 30 s step) -> xi [B, T, H, W] or [T, H, W] including the first frame.
    Optional `extra_per_step` [B, T-1, H, W, C-1]: the non-xi input channels at each step
    (e.g. true concentration / potential); without it they are held at their first-frame value.
    A `lax.scan`, so `jax.jvp` / `jax.grad` go through all steps.
  """

  def predict_next(params, inputs, cond):
    return model.apply({'params': params}, inputs, cond)

  def rollout(params, first_frame, cond_per_step, extra_per_step=None):
    batched = first_frame.ndim == 4
    if not batched:
      first_frame = first_frame[None]
      cond_per_step = cond_per_step[None]
      extra_per_step = None if extra_per_step is None else extra_per_step[None]
    if first_frame.ndim != 4 or cond_per_step.ndim != 3:
      raise ValueError(f'rollout wants first_frame [B, H, W, C] and cond_per_step [B, T-1, K]; '
                       f'got {first_frame.shape} and {cond_per_step.shape}')
    extra0 = first_frame[..., 1:]
    if extra_per_step is None:
      extra_seq = jnp.broadcast_to(extra0[None], (cond_per_step.shape[1],) + extra0.shape)
    else:
      extra_seq = jnp.moveaxis(extra_per_step, 1, 0)

    def step(xi, inp):
      cond, extra = inp
      nxt = predict_next(params, jnp.concatenate([xi, extra], axis=-1), cond)
      return nxt, nxt[..., 0]

    _, xs = jax.lax.scan(step, first_frame[..., :1],
                         (jnp.moveaxis(cond_per_step, 1, 0), extra_seq))
    out = jnp.concatenate([first_frame[None, ..., 0], xs], axis=0)   # [T, B, H, W]
    out = jnp.moveaxis(out, 0, 1)
    return out if batched else out[0]

  return Predictor(predict_next=predict_next, rollout=rollout)


# ---------------------------------------------------------------------------------------------
# Metrics (numpy, on host)


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
  """MSE, R^2 and Pearson R of 1-D arrays (NaN where undefined, e.g. constant `true`)."""
  pred = np.asarray(pred, np.float64).ravel()
  true = np.asarray(true, np.float64).ravel()
  mse = float(np.mean(np.square(pred - true)))
  ss_tot = float(np.sum(np.square(true - true.mean())))
  r2 = 1.0 - float(np.sum(np.square(pred - true))) / ss_tot if ss_tot > 0 else float('nan')
  if pred.size > 1 and np.std(pred) > 0 and np.std(true) > 0:
    r = float(np.corrcoef(pred, true)[0, 1])
  else:
    r = float('nan')
  return {'mse': mse, 'r2': r2, 'pearson_r': r, 'count': int(pred.size)}


def mask_metrics(pred_mask: np.ndarray, true_mask: np.ndarray) -> dict[str, float]:
  """IoU, precision, recall and F1 from pixel counts of boolean masks (NaN for 0/0)."""
  pred_mask = np.asarray(pred_mask, bool)
  true_mask = np.asarray(true_mask, bool)
  tp = float(np.sum(pred_mask & true_mask))
  fp = float(np.sum(pred_mask & ~true_mask))
  fn = float(np.sum(~pred_mask & true_mask))
  div = lambda a, b: a / b if b > 0 else float('nan')
  precision, recall = div(tp, tp + fp), div(tp, tp + fn)
  return {'iou': div(tp, tp + fp + fn), 'precision': precision, 'recall': recall,
          'f1': div(2 * tp, 2 * tp + fp + fn)}


def growth_rows(height: int, pixel_size_um: np.ndarray, electrode_height_um: np.ndarray
                ) -> np.ndarray:
  """[N, H] bool: rows y at or above the initial electrode surface of each trajectory."""
  first = np.ceil(np.asarray(electrode_height_um) / np.asarray(pixel_size_um)).astype(int)
  return np.arange(height)[None, :] >= first[:, None]


def rollout_metrics(pred_xi: np.ndarray, true_xi: np.ndarray, pred_len: np.ndarray,
                    true_len: np.ndarray, time_s: np.ndarray, pixel_size_um: np.ndarray,
                    electrode_height_um: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
  """Metrics of N rollouts: xi [N, T, H, W], lengths [N, T] (um), time_s [T], scales [N].

  Returns {'length': {mark: regression_metrics}, 'mask': {mark: ...}, 'growth_mask': {...}}
  with marks 't030s', 't060s', ... and 'all' (every mark after t = 0 pooled).
  """
  n, t, h, _ = pred_xi.shape
  rows = growth_rows(h, pixel_size_um, electrode_height_um)[:, None, :, None]   # [N,1,H,1]
  pred_m, true_m = pred_xi > threshold, true_xi > threshold
  out = {'length': {}, 'mask': {}, 'growth_mask': {}}

  def add(mark, sl):
    out['length'][mark] = regression_metrics(pred_len[:, sl], true_len[:, sl])
    out['mask'][mark] = mask_metrics(pred_m[:, sl], true_m[:, sl])
    sel = np.broadcast_to(rows, pred_m[:, sl].shape)
    out['growth_mask'][mark] = mask_metrics(pred_m[:, sl][sel], true_m[:, sl][sel])

  for k in range(1, t):
    add(f't{int(round(float(time_s[k]))):03d}s', slice(k, k + 1))
  add('all', slice(1, t))
  return out


# ---------------------------------------------------------------------------------------------
# Evaluating a split


def stack_trajectories(examples: Iterable[Mapping[str, Any]]) -> dict[str, np.ndarray]:
  """Stacks `pipeline.rollout_examples` dicts (same T) into arrays with a leading [N] axis."""
  keys = ('xi', 'fields', 'cond', 'time_s', 'pixel_size_um', 'electrode_height_um')
  examples = list(examples)
  if not examples:
    raise ValueError('no trajectories to evaluate')
  lengths = {np.shape(e['xi'])[0] for e in examples}
  if len(lengths) != 1:
    raise ValueError(f'trajectories of one split must have the same number of frames; '
                     f'got {sorted(lengths)}')
  return {k: np.stack([np.asarray(e[k], np.float32) for e in examples]) for k in keys}


def evaluate_rollouts(rollout_fn: Callable, params, trajectories: Mapping[str, np.ndarray],
                      length_fn: Callable, *, batch_size: int, threshold: float = 0.5,
                      use_true_fields: bool = True) -> dict[str, Any]:
  """Rolls out every trajectory from its first frame and returns `rollout_metrics`.

  Args:
    rollout_fn: jitted `Predictor.rollout`.
    params: model parameters.
    trajectories: `stack_trajectories` output: xi [N, T, H, W], fields [N, T, H, W, C] (model
      inputs, channel 0 = xi), cond [N, T-1, K], time_s [N, T], pixel_size_um [N],
      electrode_height_um [N].
    length_fn: `dendrite_length_um(xi [H, W], pixel_size_um, electrode_height_um)`, jax-traceable.
    batch_size: trajectories per rollout call.
    threshold: deposit mask threshold on xi.
    use_true_fields: feed the true non-xi input channels at every step (if there are any).
  """
  # [N, T, H, W], [N], [N] -> [N, T]
  lengths = jax.jit(jax.vmap(jax.vmap(length_fn, in_axes=(0, None, None))))
  n = trajectories['xi'].shape[0]
  batch_size = min(batch_size, n)

  def chunk(key, start):
    """Rows start..start+batch_size, the last chunk padded by repeating its final row so every
    call has one shape (one compilation)."""
    x = trajectories[key][start:start + batch_size]
    pad = batch_size - x.shape[0]
    return np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]) if pad else x

  preds, pred_len, true_len = [], [], []
  for start in range(0, n, batch_size):
    keep = min(batch_size, n - start)
    fields = chunk('fields', start)
    extra = fields[:, :-1, ..., 1:] if (use_true_fields and fields.shape[-1] > 1) else None
    xi = np.asarray(rollout_fn(params, fields[:, 0], chunk('cond', start), extra))
    ps, eh = chunk('pixel_size_um', start), chunk('electrode_height_um', start)
    preds.append(xi[:keep])
    pred_len.append(np.asarray(lengths(xi, ps, eh))[:keep])
    true_len.append(np.asarray(lengths(chunk('xi', start), ps, eh))[:keep])
  return rollout_metrics(np.concatenate(preds), trajectories['xi'], np.concatenate(pred_len),
                         np.concatenate(true_len), trajectories['time_s'][0],
                         trajectories['pixel_size_um'], trajectories['electrode_height_um'],
                         threshold)
