"""Multi-step training windows: k consecutive 30 s steps of one trajectory, for unrolled training.

A model trained only on one-step pairs (true frame t -> frame t+1) sees its own, slightly
different predictions as inputs during a rollout and drifts (it under-grows the deposit step
after step). Training through k autoregressive steps (`train.unroll_steps` = k, loss averaged
over the k predicted frames, gradients through all of them) removes that train/test mismatch.

A window starting at frame t0 (dict of numpy arrays, unbatched):
  `inputs` [H, W, C] (normalised input channels of frame t0, channel 0 = xi),
  `cond` [k, K] (conditioning of steps t0 -> t0+1, ..., t0+k-1 -> t0+k),
  `target` [k, H, W, 1] (xi of frames t0+1 .. t0+k),
  `extra` [k, H, W, C-1] (non-xi input channels of frames t0 .. t0+k-1, teacher-forced),
  `pixel_size_um`, `electrode_height_um` (scalars).
Built on `pipeline.rollout_example`, so normalisation and `cond` are exactly the pipeline's; the
same x-mirror / x-shift augmentation (`dendrax.data.augmentation`) is applied to every frame of
a window. Batch i is a pure function of (seed, i), as for `pipeline.next_state_dataset`.
"""

from __future__ import annotations

from typing import Any, Sequence

import grain
import numpy as np

from dendrax.data import augmentation
from dendrax.data import normalization
from dendrax.data import pipeline


def window_index(source: Any, unroll_steps: int) -> np.ndarray:
  """[N, 2] int64 rows (trajectory index, first frame t0) of every k-step window."""
  if unroll_steps < 1:
    raise ValueError(f'train.unroll_steps must be >= 1; got {unroll_steps}')
  rows = [(i, t0) for i in range(len(source))
          for t0 in range(len(source[i]['time_s']) - unroll_steps)]
  if not rows:
    raise ValueError(f'no trajectory has more than train.unroll_steps={unroll_steps} steps')
  return np.asarray(rows, np.int64)


def make_window(example: dict, t0: int, unroll_steps: int,
                normalizer: normalization.Normalizer, input_fields: Sequence[str]
                ) -> dict[str, np.ndarray]:
  """The window of `unroll_steps` steps of one schema trajectory starting at frame t0."""
  ex = pipeline.rollout_example(example, normalizer, input_fields)
  k = unroll_steps
  fields = ex['fields'][t0:t0 + k + 1]                           # [k+1, H, W, C]
  return {
      'inputs': fields[0],
      'cond': ex['cond'][t0:t0 + k],
      'target': ex['xi'][t0 + 1:t0 + k + 1, ..., None],
      'extra': fields[:k, ..., 1:],
      'pixel_size_um': np.float32(ex['pixel_size_um']),
      'electrode_height_um': np.float32(ex['electrode_height_um']),
  }


def window_dataset(source: Any, normalizer: normalization.Normalizer, *, unroll_steps: int,
                   batch_size: int, seed: int, input_fields: Sequence[str],
                   augment: Any = False) -> grain.MapDataset:
  """Shuffled, endlessly repeated, batched k-step windows (random access: ds[i] = batch i)."""
  aug = augmentation.AugmentConfig.from_any(augment)
  fields = tuple(input_fields)

  def load(row, rng: np.random.Generator):
    i, t0 = (int(v) for v in row)
    win = make_window(source[i], t0, unroll_steps, normalizer, fields)
    if aug.enabled:
      mirror, offset = augmentation.sample_transform(aug, win['inputs'].shape[-2], rng)
      for key in ('inputs', 'target', 'extra'):
        win[key] = augmentation.apply_transform(win[key], mirror, offset)
    return win

  ds = grain.MapDataset.source(window_index(source, unroll_steps)).shuffle(seed=seed)
  return ds.repeat(None).random_map(load, seed=seed + 1).batch(batch_size, drop_remainder=True)
