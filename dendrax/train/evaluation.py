"""Surrogate predictions and their evaluation: one 30 s step, autoregressive rollouts, metrics.

`make_predict_fns(model)` returns pure, jittable functions of the parameters, so analysis code
can differentiate a rollout with respect to `cond` (e.g. `jax.jvp` w.r.t. the normalised physical
parameters in `cond[..., :7]`).

Metrics of rollouts from each trajectory's first frame to its last, across the trajectories of a
split, which may differ in frame count (`group_trajectories` stacks each count apart; each group
is rolled out with one compiled shape). They are pooled over every (trajectory, frame after its
first) as 'all', and per mark (`frame_marks`): a frame's time rounded to whole seconds, 't030s'
(simulated trajectories: 't030s' ... 't210s'), or, in a trajectory whose rounded times repeat
(sub-second steps such as VASP's femtoseconds) or are unknown (NaN), its index, 'frame03'. A mark
pools only the trajectories that have such a frame.
  * dendrite length L (um, `dendrax.physics.observables.dendrite_length_um` on predicted and on
    true frames): MSE (um^2), R^2 = 1 - SS_res / SS_tot, Pearson R;
  * deposit mask xi > threshold: IoU, precision, recall, F1 from pixel counts, over the whole
    frame ('mask') and over the rows above the initial electrode surface ('growth_mask'), where
    the flat electrode that every frame shares cannot inflate the scores.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

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


def _mask_scores(tp: float, fp: float, fn: float) -> dict[str, float]:
  """IoU, precision, recall and F1 from pixel counts (NaN for 0/0)."""
  tp, fp, fn = float(tp), float(fp), float(fn)
  div = lambda a, b: a / b if b > 0 else float('nan')
  return {'iou': div(tp, tp + fp + fn), 'precision': div(tp, tp + fp),
          'recall': div(tp, tp + fn), 'f1': div(2 * tp, 2 * tp + fp + fn)}


def _mask_counts(pred_mask: np.ndarray, true_mask: np.ndarray, axis=None) -> np.ndarray:
  """[3, ...] int64 (tp, fp, fn) pixel counts of boolean masks, summed over `axis`."""
  return np.stack([np.sum(pred_mask & true_mask, axis), np.sum(pred_mask & ~true_mask, axis),
                   np.sum(~pred_mask & true_mask, axis)]).astype(np.int64)


def mask_metrics(pred_mask: np.ndarray, true_mask: np.ndarray) -> dict[str, float]:
  """IoU, precision, recall and F1 from pixel counts of boolean masks (NaN for 0/0)."""
  return _mask_scores(*_mask_counts(np.asarray(pred_mask, bool), np.asarray(true_mask, bool)))


def growth_rows(height: int, pixel_size_um: np.ndarray, electrode_height_um: np.ndarray
                ) -> np.ndarray:
  """[N, H] bool: rows y at or above the initial electrode surface of each trajectory."""
  first = np.ceil(np.asarray(electrode_height_um) / np.asarray(pixel_size_um)).astype(int)
  return np.arange(height)[None, :] >= first[:, None]


def frame_marks(time_s: np.ndarray) -> list[tuple[int, int]]:
  """Mark of each frame of one trajectory, time_s [T] (s): (0, seconds) or (1, frame index).

  Frames are marked by their time rounded to whole seconds when those are finite and distinct
  within the trajectory (simulated frames 30 s apart, literature images); otherwise, e.g. VASP's
  femtosecond ionic steps (all 0 s) or unknown times (NaN), by their index. `mark_name` spells
  them 't030s' and 'frame03'.
  """
  t = np.asarray(time_s, np.float64)
  if np.all(np.isfinite(t)):
    seconds = [int(round(float(x))) for x in t]
    if len(set(seconds)) == len(seconds):
      return [(0, s) for s in seconds]
  return [(1, k) for k in range(len(t))]


def mark_name(mark: tuple[int, int]) -> str:
  """'t030s' for (0, 30), 'frame03' for (1, 3)."""
  kind, value = mark
  return f't{value:03d}s' if kind == 0 else f'frame{value:02d}'


class Rollouts(NamedTuple):
  """Rollouts of N trajectories with T frames each (host arrays).

  pred_xi, true_xi [N, T, H, W]; pred_len, true_len [N, T] (um); time_s [N, T] or [T] (s);
  pixel_size_um, electrode_height_um [N].
  """
  pred_xi: np.ndarray
  true_xi: np.ndarray
  pred_len: np.ndarray
  true_len: np.ndarray
  time_s: np.ndarray
  pixel_size_um: np.ndarray
  electrode_height_um: np.ndarray


def _samples(group: Rollouts, threshold: float) -> dict[str, np.ndarray]:
  """One row per (trajectory, frame after t = 0), trajectory-major: marks [P, 2], lengths [P],
  mask and growth-mask (tp, fp, fn) counts [3, P]."""
  n, t, h, _ = group.pred_xi.shape
  time_s = np.broadcast_to(np.asarray(group.time_s), (n, t))
  pred_m, true_m = group.pred_xi[:, 1:] > threshold, group.true_xi[:, 1:] > threshold
  rows = growth_rows(h, group.pixel_size_um, group.electrode_height_um)[:, None, :, None]
  rows = np.broadcast_to(rows, pred_m.shape)                        # [N, T-1, H, W]
  return {
      'mark': np.array([m for i in range(n) for m in frame_marks(time_s[i])[1:]],
                       np.int64).reshape(-1, 2),
      'pred_len': np.asarray(group.pred_len)[:, 1:].reshape(-1),
      'true_len': np.asarray(group.true_len)[:, 1:].reshape(-1),
      'mask': _mask_counts(pred_m, true_m, (-2, -1)).reshape(3, -1),
      'growth_mask': _mask_counts(pred_m & rows, true_m & rows, (-2, -1)).reshape(3, -1)}


def grouped_rollout_metrics(groups: Sequence[Rollouts], threshold: float = 0.5
                            ) -> dict[str, Any]:
  """`rollout_metrics` over the union of groups, which may differ in frame count and times.

  Every (trajectory, frame after t = 0) is one sample: 'all' pools them all; each mark
  (`frame_marks`, from the sample's own trajectory) pools the samples that have it, so a mark
  appears only where some trajectory has that frame. Marks are ordered by time, then by index.
  """
  parts = [_samples(g, threshold) for g in groups]
  s = {k: np.concatenate([p[k] for p in parts], axis=-1 if k.endswith('mask') else 0)
       for k in parts[0]}
  marks = sorted({tuple(m) for m in s['mark'].tolist()})
  selections = [(mark_name(m), np.all(s['mark'] == m, axis=1)) for m in marks]
  selections.append(('all', np.ones(len(s['pred_len']), bool)))
  out = {'length': {}, 'mask': {}, 'growth_mask': {}}
  for name, sel in selections:
    out['length'][name] = regression_metrics(s['pred_len'][sel], s['true_len'][sel])
    for key in ('mask', 'growth_mask'):
      out[key][name] = _mask_scores(*s[key][:, sel].sum(axis=1))
  return out


def rollout_metrics(pred_xi: np.ndarray, true_xi: np.ndarray, pred_len: np.ndarray,
                    true_len: np.ndarray, time_s: np.ndarray, pixel_size_um: np.ndarray,
                    electrode_height_um: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
  """Metrics of N rollouts: xi [N, T, H, W], lengths [N, T] (um), time_s [T] or [N, T], scales [N].

  Returns {'length': {mark: regression_metrics}, 'mask': {mark: ...}, 'growth_mask': {...}}
  with marks 't030s', 't060s', ... (`frame_marks`) and 'all' (every mark after t = 0 pooled).
  """
  return grouped_rollout_metrics([Rollouts(pred_xi, true_xi, pred_len, true_len, time_s,
                                           pixel_size_um, electrode_height_um)], threshold)


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
    raise ValueError(f'stack_trajectories wants one number of frames; got {sorted(lengths)} '
                     '(group_trajectories stacks each frame count apart)')
  return {k: np.stack([np.asarray(e[k], np.float32) for e in examples]) for k in keys}


def group_trajectories(examples: Iterable[Mapping[str, Any]]) -> list[dict[str, np.ndarray]]:
  """`stack_trajectories` of each frame count among `examples`, fewest frames first.

  Trajectories keep their order within a group; one group when all have the same T.
  """
  by_frames: dict[int, list] = {}
  for e in examples:
    by_frames.setdefault(np.shape(e['xi'])[0], []).append(e)
  if not by_frames:
    raise ValueError('no trajectories to evaluate')
  return [stack_trajectories(by_frames[t]) for t in sorted(by_frames)]


def _roll_out(rollout_fn: Callable, params, trajectories: Mapping[str, np.ndarray],
              lengths: Callable, batch_size: int, use_true_fields: bool) -> Rollouts:
  """Rollouts of one stacked group, in calls of one shape [batch_size, T, ...]."""
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
  return Rollouts(np.concatenate(preds), trajectories['xi'], np.concatenate(pred_len),
                  np.concatenate(true_len), trajectories['time_s'],
                  trajectories['pixel_size_um'], trajectories['electrode_height_um'])


def evaluate_rollouts(rollout_fn: Callable, params,
                      trajectories: Mapping[str, np.ndarray] | Sequence[Mapping[str, np.ndarray]],
                      length_fn: Callable, *, batch_size: int, threshold: float = 0.5,
                      use_true_fields: bool = True) -> dict[str, Any]:
  """Rolls out every trajectory from its first frame and returns `grouped_rollout_metrics`.

  Args:
    rollout_fn: jitted `Predictor.rollout`.
    params: model parameters.
    trajectories: `group_trajectories` output (one stacked dict per frame count) or one
      `stack_trajectories` dict: xi [N, T, H, W], fields [N, T, H, W, C] (model inputs,
      channel 0 = xi), cond [N, T-1, K], time_s [N, T], pixel_size_um [N],
      electrode_height_um [N].
    length_fn: `dendrite_length_um(xi [H, W], pixel_size_um, electrode_height_um)`, jax-traceable.
    batch_size: trajectories per rollout call.
    threshold: deposit mask threshold on xi.
    use_true_fields: feed the true non-xi input channels at every step (if there are any).
  """
  groups = [trajectories] if isinstance(trajectories, Mapping) else list(trajectories)
  # [N, T, H, W], [N], [N] -> [N, T]
  lengths = jax.jit(jax.vmap(jax.vmap(length_fn, in_axes=(0, None, None))))
  return grouped_rollout_metrics(
      [_roll_out(rollout_fn, params, g, lengths, batch_size, use_true_fields) for g in groups],
      threshold)
