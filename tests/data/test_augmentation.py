"""Tests of the physics-respecting augmentations (dendrax.data.augmentation) and their use."""

import numpy as np
import pytest

from dendrax.data import augmentation as aug
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.physics import parameters


def _deposit(n=16, seed=0):
  """[H, W, 1] deposit: electrode rows y < 3 plus random columns growing up from it."""
  rng = np.random.default_rng(seed)
  heights = 3 + rng.integers(0, n - 4, size=n)
  y = np.arange(n)[:, None]
  return (y < heights[None, :]).astype(np.float32)[..., None], heights


def test_every_transform_keeps_the_electrode_at_the_bottom():
  frame, heights = _deposit()
  rng = np.random.default_rng(1)
  config = aug.AugmentConfig(mirror_x=True, shift_x=True)
  seen = set()
  for _ in range(40):
    mirror, offset = aug.sample_transform(config, frame.shape[1], rng)
    seen.add(mirror)
    out = aug.apply_transform(frame, mirror, offset)
    assert out.shape == frame.shape
    assert (out[:3] == 1).all()                                 # electrode rows stay at y = 0..2
    np.testing.assert_array_equal(out.sum(axis=(1, 2)), frame.sum(axis=(1, 2)))  # y profile
    col_heights = out[..., 0].sum(0)                            # columns grow from y = 0 upwards
    for x in range(out.shape[1]):
      assert (out[:int(col_heights[x]), x] == 1).all()
    np.testing.assert_array_equal(np.sort(col_heights), np.sort(heights))
  assert seen == {True, False}


def test_mirror_and_shift_algebra():
  frame, _ = _deposit()
  w = frame.shape[1]
  np.testing.assert_array_equal(aug.mirror_x(aug.mirror_x(frame)), frame)
  np.testing.assert_array_equal(aug.shift_x(frame, w), frame)
  np.testing.assert_array_equal(aug.shift_x(aug.shift_x(frame, 3), 5), aug.shift_x(frame, 8))
  np.testing.assert_array_equal(aug.mirror_x(frame)[:, 0], frame[:, -1])
  np.testing.assert_array_equal(aug.shift_x(frame, 1)[:, 1], frame[:, 0])


def test_config_switches():
  assert not aug.AugmentConfig.from_any(False).enabled
  assert not aug.AugmentConfig.from_any(None).enabled
  assert aug.AugmentConfig.from_any(True) == aug.AugmentConfig(True, True)
  assert aug.AugmentConfig.from_any({'shift_x': False}) == aug.AugmentConfig(True, False)
  with pytest.raises(ValueError, match='flip_y'):
    aug.AugmentConfig.from_any({'flip_y': True})
  frame, _ = _deposit()
  mirror, offset = aug.sample_transform(aug.AugmentConfig(False, False), 16,
                                        np.random.default_rng(0))
  np.testing.assert_array_equal(aug.apply_transform(frame, mirror, offset), frame)


def _source(n=16, num_frames=3):
  out = []
  for i in range(4):
    xi = np.stack([_deposit(n, seed=10 * i + t)[0][..., 0] for t in range(num_frames)])
    out.append({'trajectory_id': i, 'chemistry': 0,
                'params': np.array([s.low for s in parameters.PARAMETER_SPECS], np.float32),
                'params_missing': np.zeros(7, bool), 'has_fields': True,
                'time_s': np.arange(num_frames, dtype=np.float32) * 30, 'stage': np.zeros(3),
                'xi': xi, 'concentration': xi * 0.5, 'potential_v': xi - 1,
                'length_um': np.zeros(num_frames, np.float32), 'pixel_size_um': 1.0,
                'electrode_height_um': 3.0})
  return out


def test_pipeline_applies_one_transform_to_inputs_and_target():
  source = _source()
  norm = normalization.Normalizer.fit(source)
  kw = dict(batch_size=8, seed=3, input_fields=('xi', 'concentration'))
  plain = next(pipeline.next_state_batches(source, norm, augment=False, **kw))
  augmented = next(pipeline.next_state_batches(source, norm, augment=True, **kw))
  np.testing.assert_array_equal(plain['trajectory_id'], augmented['trajectory_id'])
  w = plain['inputs'].shape[2]
  changed = 0
  for j in range(8):
    matches = [(m, s) for m in (False, True) for s in range(w)
               if np.array_equal(aug.apply_transform(plain['inputs'][j], m, s),
                                 augmented['inputs'][j])]
    assert matches, 'augmented inputs are not a mirror/shift in x of the originals'
    assert any(np.array_equal(aug.apply_transform(plain['target'][j], m, s),
                              augmented['target'][j]) for m, s in matches)
    changed += not np.array_equal(plain['inputs'][j], augmented['inputs'][j])
  assert changed > 0
