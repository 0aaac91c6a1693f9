"""Evaluation of the surrogates: the one module that rolls them out and scores them.

Training (`loop`: checkpoint selection and the final metrics), `experiments.evaluate`,
`experiments.baselines`, the sweeps, the Fig. 4 table and the sensitivity study all use it:

  * `make_predict_fns(model)`: `predict_next` and `rollout`, pure and jittable (`jax.jvp` /
    `jax.grad` go through a rollout);
  * `roll_out(rollout_fn, params, examples, ...)`: autoregressive rollouts of a split from each
    trajectory's first frame to its last, grouped by frame count -> `Rollouts` (frames and
    dendrite lengths of prediction and truth);
  * `score(rollouts, ...)`: every metric, per mark and pooled, each with a 95 % bootstrap
    confidence interval over trajectories;
  * `regression_metrics(y_true, y_pred)`: R (scipy), R^2 and MSE (scikit-learn), MAE.

**Rollouts.** Every field is autoregressive by default: the model's own prediction is fed back,
and input channels the model does not predict (concentration, potential of a model that
outputs xi only) are held at their value in the first frame, the only one a rollout may see.
`teacher_forcing=True` feeds the true non-xi channels of every step instead; it is an explicit,
labelled option (`teacher_forcing` in every result), never the default.

**Marks** (`frame_marks`): a frame's time rounded to whole seconds, 't030s' ... 't210s' for
simulated data; in a trajectory whose rounded times repeat (VASP's femtosecond steps) or are
unknown (NaN), the frame index, 'frame03'. A mark pools the trajectories that have such a frame;
'all' pools every (trajectory, frame after its first).

**Metrics** (`METRICS`; at every mark and in 'all'):

| name | what |
|---|---|
| `length_r` | Pearson R of dendrite length (`observables.dendrite_length_um` of predicted and true frames) |
| `length_r2` | R^2 = 1 - SS_res / SS_tot of the length (penalises bias and a wrong slope) |
| `length_mse_um2`, `length_mae_um` | mean squared / absolute length error |
| `xi_vrmse` | VRMSE of the xi field (The Well): RMSE / standard deviation of the true frame, per frame, averaged; predicting the frame's mean scores 1 |
| `xi_nrmse` | nRMSE of xi: RMSE / RMS of the true frame, per frame, averaged |
| `deposit_iou`, `deposit_f1` | IoU / F1 of the deposit mask (xi > threshold) over the rows above the initial electrode, from pixel counts |
| `frame_iou` | IoU of the deposit mask over the whole frame (the flat electrode inflates it) |
| `spurious_deposit` | share of the simulation's electrolyte (true xi < 0.01) where the rollout has xi >= 0.1, the level from which the length observable counts deposit: deposit that is not there (a far-field haze growing step after step makes the length jump; docs/training.md, "Divergent rollouts"); 0 for the simulated frames |
| `faraday_error` | Faraday consistency of the predicted 30 s jumps: sqrt(sum (d_pred - d_Q)^2 / sum d_Q^2) over the jumps into the mark's frames, d_pred the metal a jump deposits (sum of the xi change / n_x, cells) and d_Q the recorded charge passed / (z F c_s dx) (`train/physics_loss.py`); NaN without a recorded charge; the simulated frames score ~1e-5 |

Each is `{'value', 'ci_low', 'ci_high'}`: the value on every (trajectory, frame) pair whose true
and predicted lengths are finite (the others, from a diverged rollout, are counted in the mark's
`n_dropped`; selection on validation rollouts never picks a step that has any), and the 2.5
and 97.5 percentiles of the statistic over `bootstrap_samples` resamples of the split's
trajectories with replacement (a trajectory's frames stay together: they are not independent).
With `bootstrap_samples=0` the interval is NaN (written as null).
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats
from sklearn import metrics as skmetrics

METRICS = ('length_r', 'length_r2', 'length_mse_um2', 'length_mae_um', 'xi_vrmse', 'xi_nrmse',
           'deposit_iou', 'deposit_f1', 'frame_iou', 'spurious_deposit', 'faraday_error')
ALL = 'all'
VRMSE_EPS = 1e-7            # The Well's epsilon in VRMSE and nRMSE
ELECTROLYTE_XI = 0.01       # `spurious_deposit`: simulated xi below this is electrolyte


# ---------------------------------------------------------------------------------------------
# Predictions


class Predictor(NamedTuple):
  """Pure functions of (params, ...); see `make_predict_fns`."""
  predict_next: Callable[..., jax.Array]
  rollout: Callable[..., jax.Array]


def make_predict_fns(model: nn.Module) -> Predictor:
  """`predict_next(params, inputs, cond)` and `rollout(params, first_frame, cond_per_step)`.

  predict_next: inputs [B, H, W, C] (channel 0 = xi), cond [B, K] -> the frame 30 s later,
    [B, H, W, 1] (xi) or [B, H, W, C] for a model that predicts every input channel.
  rollout: first_frame [B, H, W, C] or [H, W, C], cond_per_step [B, T-1, K] or [T-1, K]
    -> xi [B, T, H, W] or [T, H, W], the first frame included. Each step's prediction is the
    next step's input (a `lax.scan`). Channels the model does not predict are held at their
    first-frame value, unless `extra_per_step` [B, T-1, H, W, C-1] gives them for every step
    (teacher forcing; `roll_out(..., teacher_forcing=True)`).
  """

  def predict_next(params, inputs, cond):
    return model.apply({'params': params}, inputs, cond)

  def rollout(params, first_frame, cond_per_step, extra_per_step=None):
    batched = first_frame.ndim == 4
    if not batched:
      first_frame, cond_per_step = first_frame[None], cond_per_step[None]
      extra_per_step = None if extra_per_step is None else extra_per_step[None]
    if first_frame.ndim != 4 or cond_per_step.ndim != 3:
      raise ValueError(f'rollout wants first_frame [B, H, W, C] and cond_per_step [B, T-1, K]; '
                       f'got {first_frame.shape} and {cond_per_step.shape}')
    steps_t = cond_per_step.shape[1]
    forced = (jnp.zeros((steps_t,) + first_frame.shape[:-1] + (0,), first_frame.dtype)
              if extra_per_step is None else jnp.moveaxis(extra_per_step, 1, 0))

    def step(frame, inp):
      cond, extra = inp
      if extra_per_step is not None:
        frame = jnp.concatenate([frame[..., :1], extra], axis=-1)
      nxt = predict_next(params, frame, cond)
      if nxt.shape[-1] != frame.shape[-1]:        # xi only: hold the other channels
        nxt = jnp.concatenate([nxt[..., :1], frame[..., 1:]], axis=-1)
      return nxt, nxt[..., 0]

    _, xs = jax.lax.scan(step, first_frame, (jnp.moveaxis(cond_per_step, 1, 0), forced))
    out = jnp.moveaxis(jnp.concatenate([first_frame[None, ..., 0], xs], axis=0), 0, 1)
    return out if batched else out[0]

  return Predictor(predict_next=predict_next, rollout=rollout)


# ---------------------------------------------------------------------------------------------
# Marks


def frame_marks(time_s: np.ndarray) -> list[tuple[int, int]]:
  """Mark of each frame of one trajectory, time_s [T] (s): (0, seconds) or (1, frame index)."""
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


def growth_rows(height: int, pixel_size_um: np.ndarray, electrode_height_um: np.ndarray
                ) -> np.ndarray:
  """[N, H] bool: the rows above the initial electrode surface (y >= electrode height)."""
  first = np.ceil(np.asarray(electrode_height_um) / np.asarray(pixel_size_um)).astype(int)
  return np.arange(height)[None, :] >= first[:, None]


# ---------------------------------------------------------------------------------------------
# Rolling out a split


class Rollouts(NamedTuple):
  """Rollouts of N trajectories with T frames each (host arrays).

  trajectory_id [N]; time_s, stage [N, T]; pred_xi, true_xi [N, T, H, W]; pred_len, true_len
  [N, T] (um); pixel_size_um, electrode_height_um [N]; params [N, 7] (physical units, NaN where
  missing); seconds: wall time of the rollout calls after compilation (NaN if not timed);
  charge_px [N, T]: charge passed since t = 0 as deposit thickness in cells (NaN or None where
  unknown; `pipeline.charge_thickness_px`).
  A model of the length alone (the RF / SVM baselines) has pred_xi = true_xi = None: `score`
  gives it the length metrics and NaN for the field and mask ones.
  """
  trajectory_id: np.ndarray
  time_s: np.ndarray
  stage: np.ndarray
  pred_xi: np.ndarray
  true_xi: np.ndarray
  pred_len: np.ndarray
  true_len: np.ndarray
  pixel_size_um: np.ndarray
  electrode_height_um: np.ndarray
  params: np.ndarray
  seconds: float = float('nan')
  charge_px: np.ndarray | None = None


_STACK_KEYS = ('xi', 'fields', 'cond', 'time_s', 'pixel_size_um', 'electrode_height_um')


def stack_trajectories(examples: Iterable[Mapping[str, Any]]) -> dict[str, np.ndarray]:
  """Stacks `pipeline.rollout_examples` items (same T) into arrays with a leading [N] axis."""
  examples = list(examples)
  if not examples:
    raise ValueError('no trajectories to evaluate')
  lengths = {np.shape(e['xi'])[0] for e in examples}
  if len(lengths) != 1:
    raise ValueError(f'stack_trajectories wants one number of frames; got {sorted(lengths)} '
                     '(group_trajectories stacks each frame count apart)')
  out = {k: np.stack([np.asarray(e[k], np.float32) for e in examples]) for k in _STACK_KEYS}
  n, t = out['xi'].shape[:2]
  out['trajectory_id'] = np.array([int(e.get('trajectory_id', i))
                                   for i, e in enumerate(examples)], np.int64)
  out['stage'] = np.stack([np.asarray(e.get('stage', np.zeros(t)), np.int32) for e in examples])
  params = []
  for e in examples:
    p = np.asarray(e.get('params', np.full(7, np.nan)), np.float64).copy()
    if 'params_missing' in e:
      p[np.asarray(e['params_missing'], bool)] = np.nan
    params.append(p)
  out['params'] = np.stack(params)
  out['charge_px'] = np.stack([np.asarray(e.get('charge_px', np.full(t, np.nan)), np.float64)
                               for e in examples])
  return out


def group_trajectories(examples: Iterable[Mapping[str, Any]]) -> list[dict[str, np.ndarray]]:
  """`stack_trajectories` of each frame count among `examples`, fewest frames first."""
  by_frames: dict[int, list] = {}
  for e in examples:
    by_frames.setdefault(np.shape(e['xi'])[0], []).append(e)
  if not by_frames:
    raise ValueError('no trajectories to evaluate')
  return [stack_trajectories(by_frames[t]) for t in sorted(by_frames)]


def default_length_fn():
  """`observables.dendrite_length_um`, the length every table reports."""
  from dendrax.physics import observables  # pylint: disable=g-import-not-at-top
  return observables.dendrite_length_um


def _roll_out_group(rollout_fn, params, g, lengths, batch_size, teacher_forcing, timed
                    ) -> Rollouts:
  n = g['xi'].shape[0]
  batch_size = min(batch_size, n)

  def chunk(key, start):
    """Rows start..start+batch_size, the last chunk padded by repeating its final row, so every
    call has one shape (one compilation)."""
    x = g[key][start:start + batch_size]
    pad = batch_size - x.shape[0]
    return np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]) if pad else x

  def call(start):
    fields = chunk('fields', start)
    extra = fields[:, :-1, ..., 1:] if teacher_forcing and fields.shape[-1] > 1 else None
    return np.asarray(rollout_fn(params, fields[:, 0], chunk('cond', start), extra))

  if timed:
    call(0)                                      # compile outside the timing
  preds, pred_len, true_len, seconds = [], [], [], 0.0
  for start in range(0, n, batch_size):
    keep = min(batch_size, n - start)
    t0 = time.perf_counter()
    xi = call(start)
    seconds += time.perf_counter() - t0
    ps, eh = chunk('pixel_size_um', start), chunk('electrode_height_um', start)
    preds.append(xi[:keep])
    pred_len.append(np.asarray(lengths(xi, ps, eh))[:keep])
    true_len.append(np.asarray(lengths(chunk('xi', start), ps, eh))[:keep])
  return Rollouts(
      trajectory_id=g['trajectory_id'], time_s=g['time_s'], stage=g['stage'],
      pred_xi=np.concatenate(preds), true_xi=g['xi'], pred_len=np.concatenate(pred_len),
      true_len=np.concatenate(true_len), pixel_size_um=g['pixel_size_um'],
      electrode_height_um=g['electrode_height_um'], params=g['params'],
      seconds=seconds if timed else float('nan'), charge_px=g.get('charge_px'))


def roll_out(rollout_fn: Callable, params,
             examples: Iterable[Mapping[str, Any]] | Sequence[Mapping[str, np.ndarray]], *,
             batch_size: int, length_fn: Callable | None = None, teacher_forcing: bool = False,
             timed: bool = False) -> list[Rollouts]:
  """Rolls every trajectory out from its first frame; one `Rollouts` per frame count.

  Args:
    rollout_fn: jitted `Predictor.rollout`.
    params: model parameters.
    examples: `pipeline.rollout_examples` items, or already grouped ones (`group_trajectories`:
      a list of stacked dicts with 'fields').
    batch_size: trajectories per rollout call.
    length_fn: `f(xi [H, W], pixel_size_um, electrode_height_um)`, jax-traceable; default
      `observables.dendrite_length_um`.
    teacher_forcing: feed the true non-xi input channels at every step (labelled option; the
      default rolls every field out autoregressively).
    timed: compile first, then time the rollout calls (`Rollouts.seconds`).
  """
  examples = list(examples)
  groups = examples if examples and 'fields' in examples[0] and np.ndim(
      examples[0]['xi']) == 4 else group_trajectories(examples)
  f = length_fn or default_length_fn()
  lengths = jax.jit(jax.vmap(jax.vmap(f, in_axes=(0, None, None))))     # [N, T, H, W] -> [N, T]
  return [_roll_out_group(rollout_fn, params, g, lengths, batch_size, teacher_forcing, timed)
          for g in groups]


# ---------------------------------------------------------------------------------------------
# Metrics of arrays


def regression_metrics(y_true, y_pred) -> dict[str, float]:
  """{'r', 'r2', 'mse', 'mae', 'n', 'n_dropped'} over the finite pairs of two equal-shape arrays.

  R: `scipy.stats.pearsonr`; R^2, MSE, MAE: scikit-learn. R and R^2 are NaN with fewer than two
  pairs or constant true values (R also for constant predictions). Argument order as in
  scikit-learn: truth first.
  """
  y_true = np.asarray(y_true, np.float64)
  y_pred = np.asarray(y_pred, np.float64)
  if y_true.shape != y_pred.shape:
    raise ValueError(f'y_true has shape {y_true.shape} but y_pred has {y_pred.shape}')
  ok = np.isfinite(y_true) & np.isfinite(y_pred)
  t, p = y_true[ok], y_pred[ok]
  out = {'n': int(t.size), 'n_dropped': int(y_true.size - t.size)}
  nan = float('nan')
  if t.size == 0:
    return {**out, 'r': nan, 'r2': nan, 'mse': nan, 'mae': nan}
  out['mse'] = float(skmetrics.mean_squared_error(t, p))
  out['mae'] = float(skmetrics.mean_absolute_error(t, p))
  constant_t = t.size < 2 or np.all(t == t[0])
  out['r2'] = nan if constant_t else float(skmetrics.r2_score(t, p))
  out['r'] = nan if constant_t or np.all(p == p[0]) else float(stats.pearsonr(t, p).statistic)
  return out


def field_errors(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(VRMSE, nRMSE) of fields [..., H, W] over their last two axes (The Well's definitions).

  VRMSE = sqrt(mean((p - t)^2) / (var(t) + eps)): 1 for a prediction of the true frame's mean.
  nRMSE = sqrt(mean((p - t)^2) / (mean(t^2) + eps)).
  """
  pred = np.asarray(pred, np.float64)
  true = np.asarray(true, np.float64)
  mse = np.mean(np.square(pred - true), axis=(-2, -1))
  vrmse = np.sqrt(mse / (np.var(true, axis=(-2, -1)) + VRMSE_EPS))
  nrmse = np.sqrt(mse / (np.mean(np.square(true), axis=(-2, -1)) + VRMSE_EPS))
  return vrmse, nrmse


def mask_counts(pred_mask: np.ndarray, true_mask: np.ndarray, axis=None) -> np.ndarray:
  """[3, ...] int64 (tp, fp, fn) pixel counts of boolean masks, summed over `axis`."""
  return np.stack([np.sum(pred_mask & true_mask, axis), np.sum(pred_mask & ~true_mask, axis),
                   np.sum(~pred_mask & true_mask, axis)]).astype(np.int64)


def mask_metrics(pred_mask: np.ndarray, true_mask: np.ndarray) -> dict[str, float]:
  """IoU, precision, recall and F1 of two boolean masks from pixel counts (NaN for 0/0)."""
  tp, fp, fn = (float(c) for c in mask_counts(np.asarray(pred_mask, bool),
                                              np.asarray(true_mask, bool)))
  div = lambda a, b: a / b if b > 0 else float('nan')
  return {'iou': div(tp, tp + fp + fn), 'precision': div(tp, tp + fp),
          'recall': div(tp, tp + fn), 'f1': div(2 * tp, 2 * tp + fp + fn)}


# ---------------------------------------------------------------------------------------------
# Scoring rollouts, with bootstrap intervals over trajectories
#
# Every metric is a function of sums over the (trajectory, frame) pairs of a mark, so each
# trajectory contributes one row of additive statistics (`_STATS`), and a bootstrap resample
# (trajectory i drawn w_i times) is the weighted sum w @ rows. The values themselves come from
# `regression_metrics` on the pooled pairs; `_from_sums` gives the same numbers from the sums
# (tested), for the resamples. Lengths are centred on the mark's mean true length first
# (R, R^2 and the errors do not change under a common shift), so a constant truth gives
# SS_tot = 0 exactly.

_STATS = ('n', 'x', 'y', 'xx', 'yy', 'xy', 'abs_err', 'vrmse', 'nrmse',
          'tp', 'fp', 'fn', 'frame_tp', 'frame_fp', 'frame_fn', 'faraday_sq', 'charge_sq',
          'spurious_px', 'electrolyte_px')
_COL = {k: i for i, k in enumerate(_STATS)}


def _from_sums(s: np.ndarray) -> dict[str, np.ndarray]:
  """Metrics from summed statistics s [..., len(_STATS)] (x = true, y = predicted length)."""
  c = lambda k: s[..., _COL[k]]
  with np.errstate(divide='ignore', invalid='ignore'):
    n = c('n')
    sst = c('xx') - c('x') ** 2 / n
    syy = c('yy') - c('y') ** 2 / n
    sxy = c('xy') - c('x') * c('y') / n
    sse = c('yy') - 2 * c('xy') + c('xx')
    sst = np.where(sst > 1e-12 * np.maximum(c('xx'), 1e-300), sst, np.nan)
    syy = np.where(syy > 1e-12 * np.maximum(c('yy'), 1e-300), syy, np.nan)
    tp, fp, fn = c('tp'), c('fp'), c('fn')
    ftp, ffp, ffn = c('frame_tp'), c('frame_fp'), c('frame_fn')
    return {
        'length_r': sxy / np.sqrt(sst * syy), 'length_r2': 1.0 - sse / sst,
        'length_mse_um2': sse / n, 'length_mae_um': c('abs_err') / n,
        'xi_vrmse': c('vrmse') / n, 'xi_nrmse': c('nrmse') / n,
        'deposit_iou': tp / (tp + fp + fn), 'deposit_f1': 2 * tp / (2 * tp + fp + fn),
        'frame_iou': ftp / (ftp + ffp + ffn),
        'spurious_deposit': c('spurious_px') / c('electrolyte_px'),
        'faraday_error': np.sqrt(c('faraday_sq') / c('charge_sq'))}


def _pairs(r: Rollouts, threshold: float) -> dict[str, np.ndarray]:
  """Per (trajectory, frame after the first) [N, T-1]: lengths, field errors, mask counts."""
  n, t = np.shape(r.true_len)
  time_s = np.broadcast_to(np.asarray(r.time_s), (n, t))
  out = {'mark': [[mark_name(m) for m in frame_marks(time_s[i])[1:]] for i in range(n)],
         'x': np.asarray(r.true_len, np.float64)[:, 1:],
         'y': np.asarray(r.pred_len, np.float64)[:, 1:]}
  if r.pred_xi is None:             # a model of the length alone (baselines): no field metrics
    out.update(vrmse=np.full((n, t - 1), np.nan), nrmse=np.full((n, t - 1), np.nan),
               growth=np.zeros((3, n, t - 1)), frame=np.zeros((3, n, t - 1)),
               faraday=np.zeros((2, n, t - 1)), spurious=np.zeros((2, n, t - 1)))
    return out
  h = r.pred_xi.shape[2]
  pred_m, true_m = r.pred_xi[:, 1:] > threshold, r.true_xi[:, 1:] > threshold
  rows = np.broadcast_to(growth_rows(h, r.pixel_size_um, r.electrode_height_um)[:, None, :, None],
                         pred_m.shape)
  out['vrmse'], out['nrmse'] = field_errors(r.pred_xi[:, 1:], r.true_xi[:, 1:])
  out['growth'] = mask_counts(pred_m & rows, true_m & rows, (-2, -1))
  out['frame'] = mask_counts(pred_m, true_m, (-2, -1))
  out['faraday'] = faraday_sums(r.pred_xi, r.charge_px)
  out['spurious'] = spurious_counts(r.pred_xi[:, 1:], r.true_xi[:, 1:])
  return out


def spurious_counts(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
  """[2, ...] per frame [..., H, W]: pixels of the simulation's electrolyte (true xi <
  `ELECTROLYTE_XI`) where the prediction reaches the level from which the length observable
  counts deposit (`observables.INDICATOR_LOW`), and the electrolyte pixels."""
  from dendrax.physics import observables  # pylint: disable=g-import-not-at-top
  electrolyte = np.asarray(true) < ELECTROLYTE_XI
  spurious = electrolyte & (np.asarray(pred) >= observables.INDICATOR_LOW)
  return np.stack([spurious.sum((-2, -1)), electrolyte.sum((-2, -1))]).astype(np.float64)


def faraday_sums(xi_NxTxHxW: np.ndarray, charge_px_NxT: np.ndarray | None) -> np.ndarray:
  """[2, N, T-1] per jump into each frame: (d_xi - d_Q)^2 and d_Q^2 (cells^2; `faraday_error`),
  0 where the charge is unknown."""
  n, t = np.shape(xi_NxTxHxW)[:2]
  if charge_px_NxT is None:
    return np.zeros((2, n, t - 1))
  deposit = np.diff(np.sum(xi_NxTxHxW, axis=(-2, -1), dtype=np.float64), axis=1)
  deposit /= np.shape(xi_NxTxHxW)[-1]
  charge = np.diff(np.asarray(charge_px_NxT, np.float64), axis=1)
  known = np.isfinite(charge)
  return np.where(known, np.stack([(deposit - charge) ** 2, charge ** 2]), 0.0)


def _mark_order(names: Iterable[str]) -> list[str]:
  """Marks by time ('t030s'), then by frame index ('frame03')."""
  key = lambda m: (1, int(m[5:])) if m.startswith('frame') else (0, int(m[1:-1]))
  return sorted(set(names), key=key)


def _collect(rollouts: Sequence[Rollouts], threshold: float):
  """({mark: stats rows [N, len(_STATS)]}, {mark: (true, pred) pooled}) over all groups."""
  parts = [_pairs(r, threshold) for r in rollouts]
  marks = _mark_order(m for p in parts for row in p['mark'] for m in row) + [ALL]
  n_total = sum(len(p['mark']) for p in parts)
  rows = {m: np.zeros((n_total, len(_STATS))) for m in marks}
  pooled = {m: ([], []) for m in marks}
  # Centre lengths per mark on the mean true length (see above).
  sel = {m: [] for m in marks}
  offset = 0
  for p in parts:
    for i, names in enumerate(p['mark']):
      for k, m in enumerate(names):
        for key in (m, ALL):
          sel[key].append((offset + i, p, i, k))
    offset += len(p['mark'])
  for m in marks:
    finite_x = [p['x'][i, k] for _, p, i, k in sel[m] if np.isfinite(p['x'][i, k])]
    centre = np.mean(finite_x) if finite_x else 0.0
    for row, p, i, k in sel[m]:
      x, y = p['x'][i, k], p['y'][i, k]
      pooled[m][0].append(x)
      pooled[m][1].append(y)
      if not (np.isfinite(x) and np.isfinite(y)):
        continue
      xc, yc = x - centre, y - centre
      g, f, q = p['growth'][:, i, k], p['frame'][:, i, k], p['faraday'][:, i, k]
      sp = p['spurious'][:, i, k]
      rows[m][row] += (1, xc, yc, xc * xc, yc * yc, xc * yc, abs(y - x), p['vrmse'][i, k],
                       p['nrmse'][i, k], g[0], g[1], g[2], f[0], f[1], f[2], q[0], q[1],
                       sp[0], sp[1])
  return rows, pooled


def bootstrap_weights(num_trajectories: int, samples: int, seed: int = 0) -> np.ndarray:
  """[samples, N] how often each trajectory is drawn in each resample (multinomial)."""
  if samples <= 0:
    return np.zeros((0, num_trajectories))
  rng = np.random.default_rng(seed)
  return rng.multinomial(num_trajectories, np.full(num_trajectories, 1 / num_trajectories),
                         size=samples).astype(np.float64)


def score(rollouts: Sequence[Rollouts], *, threshold: float = 0.5, bootstrap_samples: int = 1000,
          confidence: float = 0.95, seed: int = 0, teacher_forcing: bool = False,
          return_replicates: bool = False) -> dict[str, Any]:
  """Every metric of `METRICS` at every mark and pooled, with bootstrap intervals.

  Args:
    rollouts: `roll_out` output (groups of one split).
    threshold: deposit mask xi > threshold.
    bootstrap_samples: resamples of the trajectories (0: no intervals).
    confidence: of the percentile interval.
    seed: of the resampling; the same seed and trajectory count give the same resamples, so
      runs scored on one split share them (`experiments.fig4_table` averages them over seeds).
    teacher_forcing: recorded in the result (how the rollouts were made).
    return_replicates: also return {mark: {metric: [samples]}} under '_replicates'.

  Returns:
    {'num_trajectories', 'teacher_forcing', 'bootstrap': {...}, 'marks': {mark: {'n' (pairs),
    'n_trajectories', metric: {'value', 'ci_low', 'ci_high'}}}} (+ 'seconds_per_trajectory'
    when the rollouts were timed).
  """
  rows, pooled = _collect(rollouts, threshold)
  n = rows[ALL].shape[0]
  weights = bootstrap_weights(n, bootstrap_samples, seed)
  lo_q, hi_q = 50 * (1 - confidence), 50 * (1 + confidence)
  marks, replicates = {}, {}
  for mark, r in rows.items():
    point = _from_sums(r.sum(0))
    reg = regression_metrics(*pooled[mark])
    point.update(length_r=reg['r'], length_r2=reg['r2'], length_mse_um2=reg['mse'],
                 length_mae_um=reg['mae'])
    reps = _from_sums(weights @ r) if len(weights) else None
    # Pairs whose true or predicted length is not finite (a diverged rollout) count in no
    # metric; how many there were is reported beside them.
    entry = {'n': int(r[:, 0].sum()), 'n_trajectories': int(np.sum(r[:, 0] > 0)),
             'n_dropped': reg['n_dropped']}
    for name in METRICS:
      lo = hi = float('nan')
      if reps is not None and np.any(np.isfinite(reps[name])):
        with warnings.catch_warnings():
          warnings.simplefilter('ignore', RuntimeWarning)
          lo, hi = (float(v) for v in np.nanpercentile(reps[name], [lo_q, hi_q]))
      entry[name] = {'value': float(point[name]), 'ci_low': lo, 'ci_high': hi}
    marks[mark] = entry
    if return_replicates and reps is not None:
      replicates[mark] = reps
  out = {'num_trajectories': n, 'teacher_forcing': bool(teacher_forcing),
         'bootstrap': {'samples': int(bootstrap_samples), 'confidence': confidence,
                       'unit': 'trajectory', 'seed': seed},
         'marks': marks}
  seconds = [r.seconds for r in rollouts]
  if all(np.isfinite(s) for s in seconds):
    out['seconds_per_trajectory'] = float(sum(seconds) / max(n, 1))
  if return_replicates:
    out['_replicates'] = replicates
  return out


def evaluate(rollout_fn: Callable, params, examples, *, batch_size: int,
             threshold: float = 0.5, bootstrap_samples: int = 1000, seed: int = 0,
             teacher_forcing: bool = False, timed: bool = False, length_fn=None
             ) -> tuple[dict[str, Any], list[Rollouts]]:
  """`score(roll_out(...))`: (the split's scores, its rollouts)."""
  rollouts = roll_out(rollout_fn, params, examples, batch_size=batch_size, length_fn=length_fn,
                      teacher_forcing=teacher_forcing, timed=timed)
  return score(rollouts, threshold=threshold, bootstrap_samples=bootstrap_samples, seed=seed,
               teacher_forcing=teacher_forcing), rollouts


# ---------------------------------------------------------------------------------------------
# Text


def value(result: Mapping[str, Any], metric: str, mark: str = ALL) -> float:
  """The value of `metric` at `mark` of one split's `score` result."""
  return result['marks'][mark][metric]['value']


def format_ci(entry: Mapping[str, float] | None, digits: int = 3) -> str:
  """'0.966 [0.931, 0.985]' ('n/a' for a missing or NaN value)."""
  if not entry or entry.get('value') is None or not np.isfinite(entry['value']):
    return 'n/a'
  fmt = lambda v: f'{v:.{digits}g}' if abs(v) >= 1000 or abs(v) < 1e-3 and v != 0 else \
      f'{v:.{digits}f}'
  text = fmt(entry['value'])
  lo, hi = entry.get('ci_low'), entry.get('ci_high')
  if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
    text += f' [{fmt(lo)}, {fmt(hi)}]'
  return text


def summary_line(split: str, result: Mapping[str, Any]) -> str:
  """One line per split: pooled length R and R^2 with 95 % intervals, MSE, VRMSE, IoU and,
  where the data record the charge, the Faraday error."""
  m = result['marks'][ALL]
  forced = ' (teacher-forced fields)' if result.get('teacher_forcing') else ''
  faraday = m.get('faraday_error', {}).get('value', float('nan'))
  faraday = (f' | Faraday error={format_ci(m["faraday_error"])}' if np.isfinite(faraday)
             else '')
  return (f'{split:10s} n={result["num_trajectories"]:4d}  length R={format_ci(m["length_r"])} '
          f'R2={format_ci(m["length_r2"])} MSE={m["length_mse_um2"]["value"]:.3g} um^2 | '
          f'xi VRMSE={format_ci(m["xi_vrmse"])} | deposit IoU={format_ci(m["deposit_iou"])}'
          f'{faraday}{forced}')
