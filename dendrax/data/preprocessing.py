"""The paper's preprocessing of real data, as small pure numpy functions.

Zhao et al. clean their literature / VASP data before training: duplicate images are removed,
missing values handled, outliers of the scalar targets filtered by the interquartile range, images
denoised (Gaussian or median filter), resized to the network's frame size and the deposit
segmented into a mask; `measure_frames` then measures the masks with the simulator's observables
and `group_split` splits by growth process. Each step is one function here so that the dataset builders
(`data_builders/dendrite_lit`, `data_builders/dendrite_vasp`) and users' own scripts share them.

Conventions: images are float arrays `[H, W]` (grey levels, any range unless a function says
otherwise); masks are float32 `{0., 1.}` arrays (1 = deposit / metal), so they can stand in for the
phase-field order parameter `xi`. Nothing here flips rows: image files have row 0 at the top, the
dataset schema has y = 0 at the electrode; the builders flip (`np.flipud`) after segmentation.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import jax
import numpy as np
from scipy import ndimage

from dendrax.physics import observables

MISSING_POLICIES: tuple[str, ...] = ('drop', 'impute_median')
DENOISE_METHODS: tuple[str, ...] = ('none', 'gaussian', 'median')
RESIZE_METHODS: tuple[str, ...] = ('area', 'bilinear')
SEGMENT_METHODS: tuple[str, ...] = ('otsu', 'fixed')


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
  if value not in allowed:
    raise ValueError(f'{name}={value!r} is not one of {", ".join(map(repr, allowed))}')


def _as_image(image, name: str = 'image') -> np.ndarray:
  arr = np.asarray(image, dtype=np.float64)
  if arr.ndim != 2:
    raise ValueError(f'{name} must be a 2-D [H, W] array; got shape {arr.shape}')
  if arr.size == 0:
    raise ValueError(f'{name} is empty (shape {arr.shape})')
  if not np.all(np.isfinite(arr)):
    raise ValueError(f'{name} contains NaN or inf')
  return arr


# ---------------------------------------------------------------------------------------------
# Duplicates


def image_fingerprint(image, *, levels: int = 64) -> str:
  """Hex SHA-1 of the image content after min-max scaling and quantisation to `levels` grey levels.

  Two images with the same content (e.g. the same figure saved twice, or re-encoded with small
  compression noise below one grey level step) get the same fingerprint; the shape is part of the
  hash so a crop never collides with the original. A constant image maps to all zeros.
  """
  if levels < 2:
    raise ValueError(f'levels must be >= 2; got {levels}')
  arr = _as_image(image)
  lo, hi = float(arr.min()), float(arr.max())
  scaled = np.zeros_like(arr) if hi == lo else (arr - lo) / (hi - lo)
  quantised = np.round(scaled * (levels - 1)).astype(np.uint16)
  h = hashlib.sha1(np.asarray(arr.shape, np.int64).tobytes())
  h.update(quantised.tobytes())
  return h.hexdigest()


def duplicate_keep_mask(images: Sequence[np.ndarray], *, levels: int = 64) -> np.ndarray:
  """[N] bool: True for the first occurrence of each image content, False for later duplicates.

  Content equality is `image_fingerprint(..., levels=levels)` equality; order is preserved, so
  the kept set is deterministic given the input order.
  """
  seen: set[str] = set()
  keep = np.zeros(len(images), dtype=bool)
  for i, image in enumerate(images):
    fp = image_fingerprint(image, levels=levels)
    keep[i] = fp not in seen
    seen.add(fp)
  return keep


# ---------------------------------------------------------------------------------------------
# Missing values


def fit_medians(values_NxK, train_mask_N=None) -> np.ndarray:
  """[K] column medians of `values_NxK` over the training rows, ignoring NaN.

  Fitting on the training rows only keeps validation/test statistics out of the imputation.
  A column with no finite training value gets NaN (imputation then leaves it missing).
  """
  v = np.asarray(values_NxK, dtype=np.float64)
  if v.ndim != 2:
    raise ValueError(f'values must be [N, K]; got shape {v.shape}')
  if train_mask_N is not None:
    m = np.asarray(train_mask_N, dtype=bool)
    if m.shape != (v.shape[0],):
      raise ValueError(f'train_mask must have shape ({v.shape[0]},); got {m.shape}')
    v = v[m]
  out = np.full(v.shape[1], np.nan)
  for k in range(v.shape[1]):
    col = v[:, k][np.isfinite(v[:, k])]
    if col.size:
      out[k] = np.median(col)
  return out


def apply_missing_policy(values_NxK, policy: str, *, medians_K=None,
                         columns: Sequence[int] | None = None):
  """Handles NaN entries of `values_NxK` by an explicit policy.

  Args:
    values_NxK: [N, K] floats, NaN = missing.
    policy: 'drop' removes every row with a NaN in `columns`; 'impute_median' replaces NaN in
      `columns` by `medians_K` (from `fit_medians` on the training rows).
    medians_K: [K] medians, required for 'impute_median'.
    columns: column indices the policy looks at (default all). Other columns keep their NaN,
      e.g. parameters a source never reports, which the schema flags as missing instead.

  Returns:
    (values [M, K], keep [N] bool): the processed rows and which input rows they came from
    (all True for 'impute_median').
  """
  _check_choice('policy', policy, MISSING_POLICIES)
  v = np.array(values_NxK, dtype=np.float64)
  if v.ndim != 2:
    raise ValueError(f'values must be [N, K]; got shape {v.shape}')
  cols = np.arange(v.shape[1]) if columns is None else np.asarray(columns, dtype=int)
  if policy == 'drop':
    keep = ~np.any(np.isnan(v[:, cols]), axis=1)
    return v[keep], keep
  if medians_K is None:
    raise ValueError("policy='impute_median' needs medians_K (use fit_medians on the train rows)")
  med = np.asarray(medians_K, dtype=np.float64)
  if med.shape != (v.shape[1],):
    raise ValueError(f'medians_K must have shape ({v.shape[1]},); got {med.shape}')
  for k in cols:
    nan = np.isnan(v[:, k])
    v[nan, k] = med[k]
  return v, np.ones(v.shape[0], dtype=bool)


# ---------------------------------------------------------------------------------------------
# Outliers


def iqr_inlier_mask(values_N, *, k: float = 1.5) -> np.ndarray:
  """[N] bool: True where `values_N` lies within [Q1 - k IQR, Q3 + k IQR] (Tukey's fences).

  Quartiles are computed over the finite values. NaN counts as an inlier: a missing target is
  handled by the missing-value policy, not by the outlier filter. With fewer than 4 finite
  values the quartiles mean nothing and every row is kept.
  """
  if k < 0:
    raise ValueError(f'k must be >= 0; got {k}')
  v = np.asarray(values_N, dtype=np.float64)
  if v.ndim != 1:
    raise ValueError(f'values must be 1-D [N]; got shape {v.shape}')
  finite = np.isfinite(v)
  if finite.sum() < 4:
    return np.ones(v.shape, dtype=bool)
  q1, q3 = np.percentile(v[finite], [25.0, 75.0])
  iqr = q3 - q1
  inside = (v >= q1 - k * iqr) & (v <= q3 + k * iqr)
  return inside | ~finite


# ---------------------------------------------------------------------------------------------
# Denoising


def denoise(image, method: str = 'gaussian', *, sigma_px: float = 1.0,
            size_px: int = 3) -> np.ndarray:
  """Denoised float64 copy of an [H, W] image.

  'gaussian': `scipy.ndimage.gaussian_filter` with standard deviation `sigma_px` pixels
  (smooths sensor noise, blurs edges by about sigma). 'median': `scipy.ndimage.median_filter`
  over a `size_px` x `size_px` window (removes salt-and-pepper noise, keeps edges).
  'none': returns the image. Borders use reflection, so a flat electrode band stays flat.
  """
  _check_choice('method', method, DENOISE_METHODS)
  arr = _as_image(image)
  if method == 'gaussian':
    if sigma_px < 0:
      raise ValueError(f'sigma_px must be >= 0; got {sigma_px}')
    return ndimage.gaussian_filter(arr, sigma=sigma_px, mode='reflect')
  if method == 'median':
    if size_px < 1:
      raise ValueError(f'size_px must be >= 1; got {size_px}')
    return ndimage.median_filter(arr, size=size_px, mode='reflect')
  return arr.copy()


# ---------------------------------------------------------------------------------------------
# Resizing


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
  """[n_out, n_in] weights: output cell i averages input cells by their overlap with it."""
  edges_in = np.arange(n_in + 1, dtype=np.float64)
  edges_out = np.linspace(0.0, n_in, n_out + 1)
  lo = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
  hi = np.minimum(edges_out[1:, None], edges_in[None, 1:])
  w = np.clip(hi - lo, 0.0, None)
  return w / w.sum(axis=1, keepdims=True)


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
  """[n_out, n_in] linear-interpolation weights with pixel centres aligned (half-pixel offset)."""
  pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
  pos = np.clip(pos, 0.0, n_in - 1)
  i0 = np.floor(pos).astype(int)
  i1 = np.minimum(i0 + 1, n_in - 1)
  f = pos - i0
  w = np.zeros((n_out, n_in))
  w[np.arange(n_out), i0] += 1.0 - f
  w[np.arange(n_out), i1] += f
  return w


def resize(image, size: int | tuple[int, int], method: str = 'area') -> np.ndarray:
  """[H, W] image resampled to `size` (int -> square) as float64.

  'area': every output pixel is the overlap-weighted mean of the input pixels it covers (exact for
  any ratio, preserves the mean intensity, so the deposit area fraction survives downsampling;
  the right choice for shrinking micrographs). 'bilinear': linear interpolation between pixel
  centres (`align_corners=False` convention; the choice for enlarging). Both are separable:
  `A_h @ image @ A_w.T`.

  Physical scale: the pixel size becomes `pixel_size * H / H_out` along y and `* W / W_out`
  along x; `resized_pixel_size` computes it.
  """
  _check_choice('method', method, RESIZE_METHODS)
  arr = _as_image(image)
  h_out, w_out = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
  if h_out < 1 or w_out < 1:
    raise ValueError(f'size must be positive; got {size}')
  make = _area_matrix if method == 'area' else _bilinear_matrix
  return make(arr.shape[0], h_out) @ arr @ make(arr.shape[1], w_out).T


def resized_pixel_size(pixel_size: float, n_in: int, n_out: int) -> float:
  """Pixel size (same unit as `pixel_size`) after resizing an axis of `n_in` pixels to `n_out`."""
  return float(pixel_size) * n_in / n_out


# ---------------------------------------------------------------------------------------------
# Segmentation


def otsu_threshold(image, *, bins: int = 256) -> float:
  """Otsu's threshold of an [H, W] image: the grey level maximising the between-class variance.

  N. Otsu, IEEE Trans. SMC 9 (1979) 62. Histogram of `bins` bins over [min, max]; returns the
  upper edge of the best split bin, so `image >= t` is the bright class (numpy's histogram
  bins are half-open: a value on an edge belongs to the upper bin). A constant image returns its
  value (no split exists).
  """
  arr = _as_image(image)
  lo, hi = float(arr.min()), float(arr.max())
  if hi == lo:
    return lo
  counts, edges = np.histogram(arr, bins=bins, range=(lo, hi))
  p = counts / counts.sum()
  centres = 0.5 * (edges[:-1] + edges[1:])
  w0 = np.cumsum(p)
  mu = np.cumsum(p * centres)
  w1 = 1.0 - w0
  with np.errstate(divide='ignore', invalid='ignore'):
    between = (mu[-1] * w0 - mu) ** 2 / (w0 * w1)
  between[~np.isfinite(between)] = -1.0
  return float(edges[int(np.argmax(between)) + 1])


def segment_deposit(image, method: str = 'otsu', *, threshold: float = 0.5,
                    deposit_is_bright: bool = True) -> np.ndarray:
  """[H, W] float32 mask, 1 where the pixel belongs to the metal (electrode + deposit).

  'otsu': the threshold is `otsu_threshold(image)`, i.e. chosen per image (robust to exposure
  changes between papers). 'fixed': pixels are compared with `threshold` after min-max scaling of
  the image to [0, 1] (adjust it when the deposit has low contrast). `deposit_is_bright=False`
  for micrographs where the metal is dark (e.g. optical cross-sections on a light electrolyte).
  """
  _check_choice('method', method, SEGMENT_METHODS)
  arr = _as_image(image)
  if method == 'otsu':
    t = otsu_threshold(arr)
    mask = arr >= t if deposit_is_bright else arr < t
    return mask.astype(np.float32)
  if not 0.0 <= threshold <= 1.0:
    raise ValueError(f'threshold must be in [0, 1] (fraction of the grey range); got {threshold}')
  lo, hi = float(arr.min()), float(arr.max())
  scaled = np.zeros_like(arr) if hi == lo else (arr - lo) / (hi - lo)
  mask = scaled > threshold if deposit_is_bright else scaled <= threshold
  return mask.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Measuring the deposit

# One compile per frame size (jit of the whole dict), reused for every frame of every dataset;
# eager JAX takes seconds per call here.
_frame_observables = jax.jit(observables.all_observables)


def measure_frames(xi_TxHxW, pixel_size_um: float, electrode_height_um: float, *,
                   softness_um: float) -> dict[str, np.ndarray]:
  """`dendrax.physics.observables.all_observables` of each frame, as [T] float32 numpy arrays.

  The same functions measure simulated frames and model predictions, so the real-data targets
  (`length_um`, `density`, ...) mean the same thing. `charge_c_per_m2` is NaN (not in images).
  """
  xi = np.asarray(xi_TxHxW, np.float32)
  if xi.ndim != 3:
    raise ValueError(f'xi must be [T, H, W]; got shape {xi.shape}')
  per_frame = [_frame_observables(f, pixel_size_um, electrode_height_um, softness_um=softness_um)
               for f in xi]
  return {k: np.array([float(d[k]) for d in per_frame], np.float32) for k in per_frame[0]}


# ---------------------------------------------------------------------------------------------
# Splitting by growth process

SPLITS: tuple[str, ...] = ('train', 'validation', 'test')


def stable_id(group_id: str) -> int:
  """Non-negative int64 from the SHA-1 of `group_id`: the same on every machine and build."""
  return int(hashlib.sha1(group_id.encode('utf-8')).hexdigest()[:15], 16)


def group_split(group_id: str, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> str:
  """'train' | 'validation' | 'test' for a growth process, from a hash of its group id.

  All images / frames of one process share the group id, so they land in one split (no leak of
  a process between train and test); adding processes never moves existing ones. `fractions`
  are the expected shares of (train, validation, test); with few groups the realised shares vary.
  """
  f = np.asarray(fractions, dtype=np.float64)
  if f.shape != (3,) or np.any(f < 0) or not np.isclose(f.sum(), 1.0):
    raise ValueError(f'split fractions must be 3 non-negative numbers summing to 1 '
                     f'(train, validation, test); got {tuple(fractions)}')
  u = int(hashlib.sha1(('split:' + group_id).encode('utf-8')).hexdigest()[:12], 16) / 16 ** 12
  return SPLITS[int(np.searchsorted(np.cumsum(f)[:2], u, side='right'))]
