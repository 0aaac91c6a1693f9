"""Rollout metrics on inputs whose values are known by hand."""

import math

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
