"""The evaluation module on inputs whose values are known by hand: rollouts, metrics, intervals."""

import json
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skmetrics

from dendrax.train import evaluation


def test_regression_metrics_take_the_truth_first():
  true = np.array([1.0, 2.0, 3.0, 4.0])
  perfect = evaluation.regression_metrics(true, true)
  assert perfect['mse'] == 0.0 and perfect['r2'] == 1.0 and perfect['r'] == pytest.approx(1.0)
  assert set(perfect) == {'r', 'r2', 'mse', 'mae', 'n', 'n_dropped'}
  # A doubled prediction is perfectly correlated but has R^2 < 1; R^2 is not symmetric, and
  # the truth comes first as in scikit-learn.
  scaled = evaluation.regression_metrics(true, 2 * true)
  assert scaled['r'] == pytest.approx(1.0)
  assert scaled['mse'] == pytest.approx(np.mean(true ** 2))
  assert scaled['r2'] == pytest.approx(1 - np.sum(true ** 2) / 5.0)
  assert scaled['r2'] == pytest.approx(skmetrics.r2_score(true, 2 * true))
  assert evaluation.regression_metrics(2 * true, true)['r2'] != pytest.approx(scaled['r2'])
  mean_only = evaluation.regression_metrics(true, np.full(4, 2.5))
  assert mean_only['r2'] == pytest.approx(0.0) and math.isnan(mean_only['r'])
  with_nan = evaluation.regression_metrics([1.0, 2.0, np.nan, 4.0], [1.0, 2.5, 3.0, 3.0])
  assert (with_nan['n'], with_nan['n_dropped']) == (3, 1)
  assert math.isnan(evaluation.regression_metrics([3.0, 3.0], [1.0, 2.0])['r2'])


def test_vrmse_is_one_for_the_mean_and_zero_for_the_truth():
  rng = np.random.default_rng(0)
  true = rng.uniform(size=(3, 8, 8))
  vrmse, nrmse = evaluation.field_errors(np.broadcast_to(true.mean((-2, -1), keepdims=True),
                                                         true.shape), true)
  np.testing.assert_allclose(vrmse, 1.0, rtol=1e-5)
  assert np.all(nrmse < 1.0)
  vrmse, nrmse = evaluation.field_errors(true, true)
  assert np.all(vrmse == 0) and np.all(nrmse == 0)
  # RMSE / standard deviation, frame by frame.
  pred = true + 0.1
  np.testing.assert_allclose(evaluation.field_errors(pred, true)[0], 0.1 / true.std((-2, -1)),
                             rtol=1e-5)


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


def _rollouts(rng, n, t=8, h=16, w=12, noise=2.0, time_s=None):
  true = rng.uniform(size=(n, t, h, w)).astype(np.float32)
  pred = np.clip(true + rng.normal(0.0, 0.2, true.shape), 0, 1).astype(np.float32)
  true_len = rng.uniform(0, 20, (n, t))
  pred_len = true_len + rng.normal(0, noise, (n, t))
  time_s = np.arange(t, dtype=np.float32) * 30.0 if time_s is None else time_s
  # A charge record that the true frames obey up to noise (Faraday's law in cells).
  charge_px = true.sum(axis=(2, 3), dtype=np.float64) / w + rng.normal(0.0, 0.1, (n, t))
  return evaluation.Rollouts(
      trajectory_id=np.arange(n), time_s=np.tile(time_s, (n, 1)), stage=np.zeros((n, t)),
      pred_xi=pred, true_xi=true, pred_len=pred_len, true_len=true_len,
      pixel_size_um=rng.uniform(0.5, 1.0, n), electrode_height_um=rng.uniform(1.0, 4.0, n),
      params=np.zeros((n, 7)), charge_px=charge_px)


def test_scores_are_the_library_values_at_each_mark():
  rng = np.random.default_rng(0)
  r = _rollouts(rng, 6)
  r.true_len[:, 2] = 3.0                                   # constant truth at 60 s: no R, R^2
  out = evaluation.score([r], bootstrap_samples=0)
  assert list(out['marks']) == [f't{30 * k:03d}s' for k in range(1, 8)] + ['all']
  assert out['teacher_forcing'] is False and out['num_trajectories'] == 6
  at = lambda mark, name: out['marks'][mark][name]['value']
  ref = evaluation.regression_metrics(r.true_len[:, 1:], r.pred_len[:, 1:])
  assert at('all', 'length_r') == pytest.approx(stats.pearsonr(
      r.true_len[:, 1:].ravel(), r.pred_len[:, 1:].ravel()).statistic)
  assert at('all', 'length_r2') == pytest.approx(ref['r2'])
  assert at('all', 'length_mse_um2') == pytest.approx(ref['mse'])
  assert math.isnan(at('t060s', 'length_r')) and math.isnan(at('t060s', 'length_r2'))
  assert at('t090s', 'length_r') == pytest.approx(
      stats.pearsonr(r.true_len[:, 3], r.pred_len[:, 3]).statistic)
  vrmse, _ = evaluation.field_errors(r.pred_xi[:, 1:], r.true_xi[:, 1:])
  assert at('all', 'xi_vrmse') == pytest.approx(vrmse.mean())
  assert at('t030s', 'xi_vrmse') == pytest.approx(vrmse[:, 0].mean())
  # Deposit IoU: over the rows above each trajectory's electrode, pixels pooled.
  rows = evaluation.growth_rows(16, r.pixel_size_um, r.electrode_height_um)
  sel = np.broadcast_to(rows[:, None, :, None], r.pred_xi[:, 1:].shape)
  expect = evaluation.mask_metrics((r.pred_xi[:, 1:] > 0.5)[sel], (r.true_xi[:, 1:] > 0.5)[sel])
  assert at('all', 'deposit_iou') == pytest.approx(expect['iou'])
  assert at('all', 'deposit_f1') == pytest.approx(expect['f1'])
  # Faraday error: predicted jumps' deposit (cells) against the recorded charge's, pooled.
  deposit = np.diff(r.pred_xi.sum(axis=(2, 3), dtype=np.float64), axis=1) / 12
  charge = np.diff(r.charge_px, axis=1)
  assert at('all', 'faraday_error') == pytest.approx(
      np.sqrt(np.sum((deposit - charge) ** 2) / np.sum(charge ** 2)))
  assert at('t060s', 'faraday_error') == pytest.approx(
      abs(deposit[:, 1] - charge[:, 1]).dot(abs(deposit[:, 1] - charge[:, 1])) ** 0.5
      / np.linalg.norm(charge[:, 1]))
  assert out['marks']['all']['n'] == 6 * 7 and out['marks']['t030s']['n_trajectories'] == 6
  assert math.isnan(out['marks']['all']['length_r']['ci_low'])      # no resamples, no interval


def test_a_diverged_pair_is_counted_and_leaves_the_other_pairs_intervals_finite():
  rng = np.random.default_rng(3)
  r = _rollouts(rng, 6)
  r.pred_len[0, 2:4] = np.nan                              # trajectory 0 diverges at 60-90 s
  out = evaluation.score([r], bootstrap_samples=50)
  assert out['marks']['all']['n_dropped'] == 2 and out['marks']['t060s']['n_dropped'] == 1
  assert out['marks']['t030s']['n_dropped'] == 0
  ref = evaluation.regression_metrics(r.true_len[:, 1:], r.pred_len[:, 1:])
  assert out['marks']['all']['length_mse_um2']['value'] == pytest.approx(ref['mse'])
  # A non-finite true length (it was centred on a NaN mean) drops its pair and nothing else.
  r.true_len[1, 5] = np.nan
  entry = evaluation.score([r], bootstrap_samples=50)['marks']['all']
  assert entry['n_dropped'] == 3
  assert all(math.isfinite(entry['length_r'][k]) for k in ('value', 'ci_low', 'ci_high'))


def test_spurious_deposit_counts_predicted_deposit_in_the_simulated_electrolyte():
  rng = np.random.default_rng(1)
  r = _rollouts(rng, 2, t=3, h=8, w=4)
  true = np.zeros((2, 3, 8, 4), np.float32)
  true[..., :3, :] = 1.0                                  # a flat deposit, 3 rows
  pred = true.copy()
  pred[0, 1, 7, :2] = 0.1                                 # 2 px at the threshold: spurious
  pred[0, 2, 5:, :] = 0.3                                 # 12 px of haze
  pred[1, 2, 6, 0] = 0.099                                # below the threshold: not counted
  pred[1, 1, 2, 0] = 0.0                                  # a hole in the deposit: not counted
  r = r._replace(true_xi=true, pred_xi=pred)
  out = evaluation.score([r], bootstrap_samples=0)
  at = lambda mark: out['marks'][mark]['spurious_deposit']['value']
  assert at('t030s') == pytest.approx(2 / (2 * 20))       # 20 electrolyte px per frame
  assert at('t060s') == pytest.approx(12 / (2 * 20))
  assert at('all') == pytest.approx(14 / (4 * 20))
  # The simulated frames themselves score exactly 0.
  perfect = evaluation.score([r._replace(pred_xi=true)], bootstrap_samples=0)
  assert perfect['marks']['all']['spurious_deposit']['value'] == 0.0


def test_bootstrap_resamples_whole_trajectories():
  rng = np.random.default_rng(1)
  r = _rollouts(rng, 12)
  # The sums behind the intervals give the library values on all trajectories...
  rows, _ = evaluation._collect([r], 0.5)
  sums = evaluation._from_sums(rows['all'].sum(0))
  point = evaluation.score([r], bootstrap_samples=0)['marks']['all']
  for name in evaluation.METRICS:
    assert float(sums[name]) == pytest.approx(point[name]['value'], rel=1e-9), name
  # ... and, for one resample, the library values on the trajectories it drew.
  weights = evaluation.bootstrap_weights(12, 5, seed=3)
  assert weights.shape == (5, 12) and np.all(weights.sum(1) == 12)
  drawn = np.repeat(np.arange(12), weights[0].astype(int))
  resampled = r._replace(**{k: getattr(r, k)[drawn] for k in (
      'trajectory_id', 'time_s', 'stage', 'pred_xi', 'true_xi', 'pred_len', 'true_len',
      'pixel_size_um', 'electrode_height_um', 'params', 'charge_px')})
  by_hand = evaluation.score([resampled], bootstrap_samples=0)['marks']
  replicate = evaluation._from_sums(weights[0] @ rows['all'])
  for name in evaluation.METRICS:
    assert float(replicate[name]) == pytest.approx(by_hand['all'][name]['value'], rel=1e-9)
  # The interval holds the value, is reproducible, and narrows with more trajectories.
  a = evaluation.score([r], bootstrap_samples=300, seed=0)['marks']['all']['length_r']
  b = evaluation.score([r], bootstrap_samples=300, seed=0)['marks']['all']['length_r']
  assert a == b and a['ci_low'] < a['value'] < a['ci_high']
  wide = evaluation.score([_rollouts(rng, 8, noise=6.0)], bootstrap_samples=300)
  narrow = evaluation.score([_rollouts(rng, 200, noise=6.0)], bootstrap_samples=300)
  width = lambda s: s['marks']['all']['length_r']['ci_high'] - s['marks']['all']['length_r'][
      'ci_low']
  assert width(narrow) < 0.5 * width(wide)
  text = evaluation.format_ci(a)
  assert text.startswith(f'{a["value"]:.3f} [') and text.endswith(']')


def test_frame_marks_are_rounded_seconds_or_frame_indices():
  name = lambda t: [evaluation.mark_name(m) for m in evaluation.frame_marks(np.array(t))]
  assert name([0.0, 30.0, 60.2, 1200.0]) == ['t000s', 't030s', 't060s', 't1200s']
  # Femtosecond steps (VASP) round to 0 s; unknown times are NaN: frame indices instead.
  assert name([0.0, 1e-15, 2e-15]) == ['frame00', 'frame01', 'frame02']
  assert name([0.0, np.nan]) == ['frame00', 'frame01']
  assert name([0.0, 0.4, 1.0]) == ['frame00', 'frame01', 'frame02']


class _CopyChannel(nn.Module):
  """Predicts xi 30 s later as channel 1 of its input (plus a bias, so it has parameters)."""

  @nn.compact
  def __call__(self, x, cond):
    del cond
    return x[..., 1:2] + self.param('b', nn.initializers.zeros, ())


class _Shift(nn.Module):
  """Predicts every input channel: xi + 1 and the other channels + 10."""

  @nn.compact
  def __call__(self, x, cond):
    del cond
    return x + jnp.array([1.0] + [10.0] * (x.shape[-1] - 1)) + self.param(
        'b', nn.initializers.zeros, ())


def test_rollouts_are_autoregressive_in_every_field_unless_teacher_forced():
  fields = np.stack([np.zeros((4, 2, 2)), np.arange(4.0)[:, None, None] * np.ones((4, 2, 2))],
                    axis=-1).astype(np.float32)                 # [T, H, W, 2]; channel 1 = t
  cond = np.zeros((3, 5), np.float32)
  fns = evaluation.make_predict_fns(_CopyChannel())
  params = {'b': jnp.zeros(())}
  # Default: the channel the model does not predict stays at its first-frame value (0).
  held = fns.rollout(params, fields[0], cond)
  np.testing.assert_array_equal(held[:, 0, 0], [0, 0, 0, 0])
  # Teacher forcing feeds the true channel of every step: xi(t + 1) = channel 1 at t.
  forced = fns.rollout(params, fields[0], cond, fields[:-1, ..., 1:])
  np.testing.assert_array_equal(forced[:, 0, 0], [0, 0, 1, 2])
  # A model that predicts every channel gets all of them fed back.
  shift = evaluation.make_predict_fns(_Shift()).rollout(params, fields[0], cond)
  np.testing.assert_array_equal(shift[:, 0, 0], [0, 1, 2, 3])

  example = {'xi': fields[..., 0], 'fields': fields, 'cond': cond,
             'time_s': np.arange(4.0) * 30, 'pixel_size_um': 1.0, 'electrode_height_um': 0.0}
  length = lambda xi, p, e: jnp.sum(xi)
  default = evaluation.roll_out(jax.jit(fns.rollout), params, [example], batch_size=1,
                                length_fn=length)
  forced = evaluation.roll_out(jax.jit(fns.rollout), params, [example], batch_size=1,
                               length_fn=length, teacher_forcing=True)
  np.testing.assert_array_equal(default[0].pred_len[0], [0, 0, 0, 0])
  np.testing.assert_array_equal(forced[0].pred_len[0], [0, 0, 4, 8])
  assert evaluation.score(forced, bootstrap_samples=0, teacher_forcing=True)['teacher_forcing']


def _trajectory(rng, time_s, h=8, w=6):
  """A `rollout_examples` item whose channel 1 at step t holds a noisy copy of xi at t + 1, so a
  teacher-forced `_CopyChannel` predicts something close to, but not equal to, the truth."""
  t = len(time_s)
  xi = rng.uniform(size=(t, h, w)).astype(np.float32)
  hint = np.zeros_like(xi)
  hint[:-1] = np.clip(xi[1:] + rng.normal(0.0, 0.3, xi[1:].shape), 0.0, 1.0)
  return {'xi': xi, 'fields': np.stack([xi, hint], axis=-1),
          'cond': rng.normal(size=(t - 1, 3)).astype(np.float32),
          'time_s': np.asarray(time_s, np.float32), 'pixel_size_um': np.float32(0.5),
          'electrode_height_um': np.float32(rng.uniform(0.5, 1.5))}


def _length_um(xi, pixel_size_um, electrode_height_um):
  return jnp.sum(xi, axis=0).max() * pixel_size_um - electrode_height_um


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
  fns = evaluation.make_predict_fns(_CopyChannel())

  def rollout(params, first, cond, extra):
    shapes.append(cond.shape)
    return fns.rollout(params, first, cond, extra)

  params = {'b': jnp.zeros(())}
  rollouts = evaluation.roll_out(rollout, params, groups, batch_size=2, length_fn=_length_um,
                                 teacher_forcing=True)
  # Each group is rolled out in calls of one shape.
  assert sorted(set(shapes)) == [(2, 2, 3), (2, 3, 3)]
  out = evaluation.score(rollouts, bootstrap_samples=50)
  pairs = sum(len(t) - 1 for t in times)             # (trajectory, mark after t = 0)
  counts = {'t030s': 5, 't045s': 1, 't060s': 5, 't090s': 3, 't120s': 1, 'frame01': 1,
            'frame02': 1, 'all': pairs}
  assert {m: v['n'] for m, v in out['marks'].items()} == counts
  assert out['num_trajectories'] == 7
  assert 0.0 < out['marks']['all']['deposit_iou']['value'] < 1.0

  # A mark only the 4-frame group has: the metrics of that group alone.
  three, four = rollouts                             # fewest frames first
  alone = evaluation.score([four], bootstrap_samples=0)
  for name in evaluation.METRICS:
    assert out['marks']['t090s'][name]['value'] == pytest.approx(
        alone['marks']['t090s'][name]['value'], nan_ok=True)
  # A shared mark pools both groups: 30 s is frame 1 of the 4-frame trajectories and of the
  # first two 3-frame ones.
  at_30s = lambda key: np.concatenate([getattr(four, key)[:, 1].ravel(),
                                       getattr(three, key)[:2, 1].ravel()]) > 0.5
  assert out['marks']['t030s']['frame_iou']['value'] == pytest.approx(
      evaluation.mask_metrics(at_30s('pred_xi'), at_30s('true_xi'))['iou'])
  # Grouped or not, the same numbers.
  again = evaluation.score(evaluation.roll_out(rollout, params, examples, batch_size=2,
                                               length_fn=_length_um, teacher_forcing=True),
                           bootstrap_samples=50)
  assert json.dumps(again['marks']) == json.dumps(out['marks'])
