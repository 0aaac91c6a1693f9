"""Tests of the paper's preprocessing functions (dendrax.data.preprocessing)."""

import numpy as np
import pytest
from scipy import ndimage

from dendrax.data import preprocessing as pp


def _rng():
  return np.random.default_rng(0)


# --- duplicates ---------------------------------------------------------------------------------

def test_duplicates_found_despite_small_noise_and_rescaling():
  # 64 grey levels 0, 4, ..., 252; the fingerprint quantises to 64 levels, so noise below half a
  # step (2 units) leaves it unchanged, as does a change of intensity unit.
  level = _rng().integers(0, 64, size=(20, 30))
  level[0, 0], level[0, 1] = 0, 63
  base = 4.0 * level
  noisy = np.clip(base + _rng().uniform(-1.9, 1.9, base.shape), 0.0, 252.0)
  noisy[0, 0], noisy[0, 1] = 0.0, 252.0           # keep the min-max range of the original
  other = base.copy()
  other[5:10, 5:10] = 252.0 - other[5:10, 5:10]
  keep = pp.duplicate_keep_mask([base, other, base / 252.0, noisy, base.T, base])
  np.testing.assert_array_equal(keep, [True, True, False, False, True, False])
  # Noise of a full step changes the content.
  assert pp.image_fingerprint(base + 4.0 * (level % 2)) != pp.image_fingerprint(base)


def test_fingerprint_depends_on_shape():
  a = np.zeros((4, 6))
  assert pp.image_fingerprint(a) != pp.image_fingerprint(a.reshape(6, 4))


def test_fingerprint_rejects_bad_input():
  with pytest.raises(ValueError, match='2-D'):
    pp.image_fingerprint(np.zeros((2, 2, 3)))
  with pytest.raises(ValueError, match='NaN'):
    pp.image_fingerprint(np.array([[0.0, np.nan]]))


# --- missing values -----------------------------------------------------------------------------

def test_missing_drop_and_impute_with_train_median():
  v = np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, np.nan], [100.0, 40.0]])
  train = np.array([True, True, True, False])     # the 100 must not leak into the median
  med = pp.fit_medians(v, train)
  np.testing.assert_allclose(med, [2.0, 15.0])
  dropped, keep = pp.apply_missing_policy(v, 'drop')
  np.testing.assert_array_equal(keep, [True, False, False, True])
  np.testing.assert_allclose(dropped, v[[0, 3]])
  imputed, keep = pp.apply_missing_policy(v, 'impute_median', medians_K=med)
  assert keep.all()
  np.testing.assert_allclose(imputed, [[1, 10], [2, 20], [3, 15], [100, 40]])
  # Restricting the policy to column 0 leaves column 1's NaN alone (a flagged missing value).
  only0, keep = pp.apply_missing_policy(v, 'drop', columns=[0])
  np.testing.assert_array_equal(keep, [True, False, True, True])
  assert np.isnan(only0[1, 1])


def test_missing_policy_errors_name_the_problem():
  v = np.ones((3, 2))
  with pytest.raises(ValueError, match="policy='mean'"):
    pp.apply_missing_policy(v, 'mean')
  with pytest.raises(ValueError, match='medians_K'):
    pp.apply_missing_policy(v, 'impute_median')


# --- outliers -----------------------------------------------------------------------------------

def test_iqr_filter_removes_only_far_values_and_keeps_nan():
  v = np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0, np.nan, 60.0, -40.0])
  keep = pp.iqr_inlier_mask(v)
  # Q1 = 11, Q3 = 14 over the 8 finite values -> fences [6.5, 18.5].
  np.testing.assert_array_equal(keep, [1, 1, 1, 1, 1, 1, 1, 0, 0])
  # A wider fence keeps 60 only when k makes Q3 + k*IQR >= 60.
  q1, q3 = np.nanpercentile(v, [25, 75])
  k = (60.0 - q3) / (q3 - q1)
  assert pp.iqr_inlier_mask(v, k=k + 1e-9)[7]
  assert not pp.iqr_inlier_mask(v, k=k - 1e-3)[7]


def test_iqr_keeps_everything_when_too_few_values():
  assert pp.iqr_inlier_mask(np.array([1.0, 1000.0, np.nan])).all()


# --- denoising ----------------------------------------------------------------------------------

def test_median_removes_salt_and_pepper_gaussian_reduces_noise():
  clean = np.zeros((32, 32))
  clean[:10] = 1.0                                  # electrode band
  salty = clean.copy()
  idx = _rng().choice(clean.size, 30, replace=False)
  salty.flat[idx] = 1.0 - salty.flat[idx]
  med = pp.denoise(salty, 'median', size_px=3)
  assert np.abs(med - clean).sum() < 0.1 * np.abs(salty - clean).sum()
  noisy = clean + _rng().normal(0, 0.2, clean.shape)
  smooth = pp.denoise(noisy, 'gaussian', sigma_px=1.0)
  assert np.std(smooth[15:] - clean[15:]) < 0.5 * np.std(noisy[15:] - clean[15:])
  np.testing.assert_allclose(pp.denoise(noisy, 'none'), noisy)
  with pytest.raises(ValueError, match="method='wiener'"):
    pp.denoise(noisy, 'wiener')


# --- resizing -----------------------------------------------------------------------------------

def test_area_resize_integer_factor_is_block_mean():
  img = _rng().uniform(size=(12, 8))
  out = pp.resize(img, (3, 2), 'area')
  expected = img.reshape(3, 4, 2, 4).mean(axis=(1, 3))
  np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_area_resize_preserves_mean_for_any_ratio():
  img = _rng().uniform(size=(37, 53))
  for size in [(10, 10), (64, 64), (7, 19)]:
    out = pp.resize(img, size, 'area')
    assert out.shape == size
    np.testing.assert_allclose(out.mean(), img.mean(), rtol=1e-10)


def test_bilinear_resize_reproduces_linear_ramp():
  # Half-pixel-centred linear interpolation is exact for a linear function of the centre position.
  n_in, n_out = 10, 25
  x_in = np.arange(n_in) + 0.5
  img = np.tile(2.0 * x_in, (4, 1))
  out = pp.resize(img, (4, n_out), 'bilinear')
  x_out = (np.arange(n_out) + 0.5) * n_in / n_out
  interior = (x_out >= 0.5) & (x_out <= n_in - 0.5)       # outside: edge values are held
  np.testing.assert_allclose(out[0, interior], 2.0 * x_out[interior], rtol=1e-12)
  assert pp.resized_pixel_size(2.0, 100, 25) == 8.0


# --- segmentation -------------------------------------------------------------------------------

def test_otsu_separates_two_populations():
  rng = _rng()
  img = np.where(np.arange(40)[:, None] < 15, 0.8, 0.2) + rng.normal(0, 0.05, (40, 40))
  t = pp.otsu_threshold(img)
  assert 0.2 < t < 0.8                              # between the two class means
  mask = pp.segment_deposit(img, 'otsu')
  assert mask.dtype == np.float32
  assert mask[:15].mean() > 0.99 and mask[15:].mean() < 0.01
  dark = pp.segment_deposit(1.0 - img, 'otsu', deposit_is_bright=False)
  np.testing.assert_array_equal(dark, mask)


def test_otsu_matches_brute_force_between_class_variance():
  img = _rng().gamma(2.0, size=(30, 30))
  t = pp.otsu_threshold(img, bins=64)
  def between(thr):
    a, b = img[img < thr], img[img >= thr]
    return a.size * b.size * (a.mean() - b.mean()) ** 2 if a.size and b.size else -1
  edges = np.linspace(img.min(), img.max(), 65)[1:-1]
  best = max(edges, key=between)
  assert between(t) >= between(best) * (1 - 1e-9)


def test_fixed_threshold_is_adjustable_fraction_of_range():
  img = np.array([[0.0, 25.0, 50.0, 75.0, 100.0]])
  np.testing.assert_array_equal(pp.segment_deposit(img, 'fixed', threshold=0.5), [[0, 0, 0, 1, 1]])
  np.testing.assert_array_equal(pp.segment_deposit(img, 'fixed', threshold=0.2), [[0, 1, 1, 1, 1]])
  with pytest.raises(ValueError, match='threshold must be in'):
    pp.segment_deposit(img, 'fixed', threshold=50.0)


def test_pipeline_of_steps_recovers_band_height():
  # A 200 x 120 'micrograph': bright electrode band of 30 rows at the bottom (image row 0 = top),
  # noise, then denoise -> area resize to 50 x 30 -> Otsu: the band is 30 / 4 = 7.5 rows.
  img = np.full((200, 120), 0.1)
  img[-30:] = 0.9
  img = img + _rng().normal(0, 0.05, img.shape)
  mask = pp.segment_deposit(pp.resize(pp.denoise(img, 'median'), (50, 30)), 'otsu')
  rows = np.flipud(mask).mean(axis=1)              # y = 0 at the electrode
  height_rows = int(np.sum(rows > 0.5))
  assert abs(height_rows - 7.5) <= 1.0
  assert ndimage.label(mask)[1] == 1


# --- measuring and splitting --------------------------------------------------------------------

def test_measure_frames_flat_band_and_column():
  xi = np.zeros((2, 32, 32), np.float32)
  xi[:, :8] = 1.0                                   # electrode band, 8 rows of 2 um
  xi[1, 8:20, 10:22] = 1.0                          # a 12-row, 12-column wide deposit
  out = pp.measure_frames(xi, 2.0, 16.0, softness_um=2.0)
  assert set(out) == {'length_um', 'density', 'branches', 'interface_length_um',
                      'charge_c_per_m2'}
  assert abs(out['length_um'][0]) < 1.0 and abs(out['length_um'][1] - 24.0) < 2.0
  assert out['density'][1] > out['density'][0] and np.isnan(out['charge_c_per_m2']).all()
  with pytest.raises(ValueError, match=r'\[T, H, W\]'):
    pp.measure_frames(xi[0], 2.0, 16.0, softness_um=2.0)


def test_group_split_is_deterministic_and_follows_fractions():
  names = [f'process-{i}' for i in range(2000)]
  splits = [pp.group_split(n) for n in names]
  assert splits == [pp.group_split(n) for n in names]
  share = {s: splits.count(s) / len(names) for s in pp.SPLITS}
  assert abs(share['train'] - 0.8) < 0.03 and abs(share['test'] - 0.1) < 0.03
  assert {pp.group_split(n, (0.0, 0.0, 1.0)) for n in names[:50]} == {'test'}
  assert len({pp.stable_id(n) for n in names}) == len(names)
  with pytest.raises(ValueError, match='split fractions'):
    pp.group_split('x', (0.5, 0.5, 0.5))
