"""Rollout metrics on inputs whose values are known by hand."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.train import evaluation


def test_mask_metrics_counts():
  pred = np.array([1, 1, 1, 0, 0, 0], bool)
  true = np.array([1, 1, 0, 1, 0, 0], bool)
  m = evaluation.mask_metrics(pred, true)        # tp 2, fp 1, fn 1
  assert m['iou'] == pytest.approx(2 / 4)
  assert m['precision'] == pytest.approx(2 / 3)
  assert m['recall'] == pytest.approx(2 / 3)
  assert m['f1'] == pytest.approx(4 / 6)
  empty = evaluation.mask_metrics(np.zeros(3, bool), np.zeros(3, bool))
  assert math.isnan(empty['iou']) and math.isnan(empty['precision'])


def test_regression_metrics():
  true = np.array([1.0, 2.0, 3.0, 4.0])
  perfect = evaluation.regression_metrics(true, true)
  assert perfect['mse'] == 0.0 and perfect['r2'] == 1.0
  assert perfect['pearson_r'] == pytest.approx(1.0)
  # A scaled prediction is perfectly correlated but has R^2 < 1.
  scaled = evaluation.regression_metrics(2 * true, true)
  assert scaled['pearson_r'] == pytest.approx(1.0)
  assert scaled['mse'] == pytest.approx(np.mean(true ** 2))
  assert scaled['r2'] == pytest.approx(1 - np.sum(true ** 2) / 5.0)
  mean_only = evaluation.regression_metrics(np.full(4, 2.5), true)
  assert mean_only['r2'] == pytest.approx(0.0) and math.isnan(mean_only['pearson_r'])


def test_rollout_metrics_marks_and_growth_region():
  n, t, h, w = 3, 3, 8, 4
  true = np.zeros((n, t, h, w), np.float32)
  true[:, :, :2] = 1.0                 # electrode: rows 0, 1
  true[:, 1:, 2:4, 0] = 1.0            # growth in column 0
  pred = true.copy()
  pred[:, 2, 4, 0] = 1.0               # one false-positive pixel per trajectory at 60 s
  lengths = np.array([[0, 1, 2], [0, 2, 4], [0, 3, 6]], np.float32)
  out = evaluation.rollout_metrics(pred, true, lengths, lengths, np.array([0.0, 30.0, 60.0]),
                                   np.ones(n), np.full(n, 2.0))
  assert list(out['length']) == ['t030s', 't060s', 'all']
  assert out['length']['all']['r2'] == 1.0
  assert out['growth_mask']['t030s']['iou'] == 1.0
  # 60 s: growth region has 2 true pixels, 1 extra predicted -> IoU 2/3; whole frame 10/11.
  assert out['growth_mask']['t060s']['iou'] == pytest.approx(2 / 3)
  assert out['mask']['t060s']['iou'] == pytest.approx(10 / 11)
  assert out['growth_mask']['t060s']['recall'] == 1.0


def _previous_rollout_metrics(pred_xi, true_xi, pred_len, true_len, time_s, pixel_size_um,
                              electrode_height_um, threshold=0.5):
  """`rollout_metrics` as it was before splits of several frame counts: the reference."""

  def masks(p, t):
    tp, fp, fn = (float(np.sum(p & t)), float(np.sum(p & ~t)), float(np.sum(~p & t)))
    div = lambda a, b: a / b if b > 0 else float('nan')
    return {'iou': div(tp, tp + fp + fn), 'precision': div(tp, tp + fp),
            'recall': div(tp, tp + fn), 'f1': div(2 * tp, 2 * tp + fp + fn)}

  n, t, h, _ = pred_xi.shape
  rows = evaluation.growth_rows(h, pixel_size_um, electrode_height_um)[:, None, :, None]
  pred_m, true_m = pred_xi > threshold, true_xi > threshold
  out = {'length': {}, 'mask': {}, 'growth_mask': {}}

  def add(mark, sl):
    out['length'][mark] = evaluation.regression_metrics(pred_len[:, sl], true_len[:, sl])
    out['mask'][mark] = masks(pred_m[:, sl], true_m[:, sl])
    sel = np.broadcast_to(rows, pred_m[:, sl].shape)
    out['growth_mask'][mark] = masks(pred_m[:, sl][sel], true_m[:, sl][sel])

  for k in range(1, t):
    add(f't{int(round(float(time_s[k]))):03d}s', slice(k, k + 1))
  add('all', slice(1, t))
  return out


def _trajectory(rng, time_s, h=8, w=6):
  """A `rollout_examples` item whose channel 1 at step t holds a noisy copy of xi at t + 1, so
  `_fake_rollout` predicts something close to, but not equal to, the truth."""
  t = len(time_s)
  xi = rng.uniform(size=(t, h, w)).astype(np.float32)
  hint = np.zeros_like(xi)
  hint[:-1] = np.clip(xi[1:] + rng.normal(0.0, 0.3, xi[1:].shape), 0.0, 1.0)
  return {'xi': xi, 'fields': np.stack([xi, hint], axis=-1),
          'cond': rng.normal(size=(t - 1, 3)).astype(np.float32),
          'time_s': np.asarray(time_s, np.float32), 'pixel_size_um': np.float32(0.5),
          'electrode_height_um': np.float32(rng.uniform(0.5, 1.5))}


def _fake_rollout(shapes):
  """A `Predictor.rollout` stand-in that records the shape of each call's `cond_per_step`."""

  def rollout(params, first_frame, cond_per_step, extra_per_step):
    del params
    shapes.append(cond_per_step.shape)
    return np.concatenate([first_frame[:, None, ..., 0], extra_per_step[..., 0]], axis=1)

  return rollout


def _length_um(xi, pixel_size_um, electrode_height_um):
  return jnp.sum(xi, axis=0).max() * pixel_size_um - electrode_height_um


def test_frame_marks_are_rounded_seconds_or_frame_indices():
  name = lambda t: [evaluation.mark_name(m) for m in evaluation.frame_marks(np.array(t))]
  assert name([0.0, 30.0, 60.2, 1200.0]) == ['t000s', 't030s', 't060s', 't1200s']
  # Femtosecond steps (VASP) round to 0 s; unknown times are NaN: frame indices instead.
  assert name([0.0, 1e-15, 2e-15]) == ['frame00', 'frame01', 'frame02']
  assert name([0.0, np.nan]) == ['frame00', 'frame01']
  assert name([0.0, 0.4, 1.0]) == ['frame00', 'frame01', 'frame02']


def test_equal_frame_counts_give_the_previous_numbers():
  rng = np.random.default_rng(0)
  n, t, h, w = 5, 8, 16, 12
  true = rng.uniform(size=(n, t, h, w)).astype(np.float32)
  pred = np.clip(true + rng.normal(0.0, 0.2, true.shape), 0, 1).astype(np.float32)
  true_len = rng.uniform(0, 20, (n, t)).astype(np.float32)
  pred_len = (true_len + rng.normal(0, 2, (n, t))).astype(np.float32)
  true_len[:, 2] = 3.0                                   # constant truth: R^2 and R are NaN
  time_s = np.arange(t, dtype=np.float32) * 30.0
  scales = (rng.uniform(0.5, 1.0, n), rng.uniform(1.0, 4.0, n))
  args = (pred, true, pred_len, true_len, time_s) + scales
  # json.dumps compares exactly, key order included, and spells NaN alike.
  assert json.dumps(evaluation.rollout_metrics(*args)) == json.dumps(
      _previous_rollout_metrics(*args))
  assert json.dumps(evaluation.rollout_metrics(*args[:4], np.tile(time_s, (n, 1)), *scales)) == (
      json.dumps(_previous_rollout_metrics(*args)))
  # Rolled out: one stacked split, or its single frame-count group, give the same metrics.
  examples = [_trajectory(rng, time_s) for _ in range(n)]
  shapes = []
  run = lambda trajectories: evaluation.evaluate_rollouts(
      _fake_rollout(shapes), None, trajectories, _length_um, batch_size=2)
  groups = evaluation.group_trajectories(examples)
  assert len(groups) == 1
  assert json.dumps(run(evaluation.stack_trajectories(examples))) == json.dumps(run(groups))


def test_a_split_of_two_frame_counts_is_evaluated_over_its_union():
  rng = np.random.default_rng(1)
  times = ([[0, 30, 60, 90]] * 3                     # simulated-like, 4 frames
           + [[0, 30, 60]] * 2                       # 3 frames at the same marks
           + [[0, 45, 120]]                          # a literature-like process, 3 frames
           + [[0, 1e-15, 2e-15]])                    # VASP-like femtosecond steps, 3 frames
  examples = [_trajectory(rng, t) for t in times]
  with pytest.raises(ValueError, match=r'one number of frames; got \[3, 4\]'):
    evaluation.stack_trajectories(examples)
  groups = evaluation.group_trajectories(examples)
  assert [g['xi'].shape[:2] for g in groups] == [(4, 3), (3, 4)]
  shapes = []
  out = evaluation.evaluate_rollouts(_fake_rollout(shapes), None, groups, _length_um,
                                     batch_size=2)
  # Each group is rolled out in calls of one shape.
  assert sorted(set(shapes)) == [(2, 2, 3), (2, 3, 3)]

  pairs = sum(len(t) - 1 for t in times)             # (trajectory, mark after t = 0)
  counts = {'t030s': 5, 't045s': 1, 't060s': 5, 't090s': 3, 't120s': 1, 'frame01': 1,
            'frame02': 1, 'all': pairs}
  for key in ('length', 'mask', 'growth_mask'):
    assert list(out[key]) == list(counts)
  assert {m: v['count'] for m, v in out['length'].items()} == counts
  assert out['length']['all']['count'] == 17
  for key in ('mask', 'growth_mask'):
    assert 0.0 < out[key]['all']['iou'] < 1.0

  # A mark only the 4-frame group has: the metrics of that group alone.
  three, four = groups                               # fewest frames first
  predicted = lambda g: np.concatenate([g['xi'][:, :1], g['fields'][:, :-1, ..., 1]], axis=1)
  lengths = jax.vmap(jax.vmap(_length_um, in_axes=(0, None, None)))
  scales = lambda g: (g['pixel_size_um'], g['electrode_height_um'])
  alone = evaluation.rollout_metrics(
      predicted(four), four['xi'], np.asarray(lengths(predicted(four), *scales(four))),
      np.asarray(lengths(four['xi'], *scales(four))), four['time_s'], *scales(four))
  for key in ('length', 'mask', 'growth_mask'):
    assert out[key]['t090s'] == pytest.approx(alone[key]['t090s'], nan_ok=True)
  # A shared mark pools both groups: 30 s is frame 1 of the 4-frame trajectories and of the
  # first two 3-frame ones.
  at_30s = lambda f: np.concatenate([f(four)[:, 1].ravel(), f(three)[:2, 1].ravel()]) > 0.5
  assert out['mask']['t030s'] == pytest.approx(
      evaluation.mask_metrics(at_30s(predicted), at_30s(lambda g: g['xi'])))
