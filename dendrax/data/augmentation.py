"""Augmentations that respect the physics of electrodeposition on a flat electrode.

Frames are [..., H, W, C] = [..., y, x, channels] with the electrode at y = 0. The simulator is
periodic in x and the electrode is translation- and mirror-invariant along x, so

  * mirror in x (x -> W-1-x) and
  * periodic shift in x (x -> (x + s) mod W)

map one valid growth process onto another. Nothing ever flips or shifts y (the electrode must
stay at the bottom, growth upwards), and rotations are excluded: the field has a preferred
direction. The same transform is applied to the inputs and the target of an example, so the
dendrite length and every other observable are unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

_X_AXIS = -2   # [..., H, W, C]


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  """Which augmentations run; each is applied to an example with probability 1/2 (mirror) or
  always with a uniform random offset in [0, W) cells (shift)."""
  mirror_x: bool = True
  shift_x: bool = True

  @classmethod
  def from_any(cls, value: Any) -> 'AugmentConfig':
    """From a bool (all on / all off), None (off), an AugmentConfig or a mapping of its fields."""
    if value is None or value is False:
      return cls(mirror_x=False, shift_x=False)
    if value is True:
      return cls()
    if isinstance(value, cls):
      return value
    if isinstance(value, Mapping) or hasattr(value, 'to_dict'):
      d = dict(value.to_dict() if hasattr(value, 'to_dict') else value)
      known = {f.name for f in dataclasses.fields(cls)}
      unknown = sorted(set(d) - known)
      if unknown:
        raise ValueError(f'unknown augmentation(s) {unknown}; known: {sorted(known)}')
      return cls(**{k: bool(v) for k, v in d.items()})
    raise TypeError(f'augment must be a bool, a mapping or AugmentConfig; got {value!r}')

  @property
  def enabled(self) -> bool:
    return self.mirror_x or self.shift_x


def mirror_x(frames: np.ndarray) -> np.ndarray:
  """Reverses x of [..., H, W, C] frames."""
  return np.flip(frames, axis=_X_AXIS)


def shift_x(frames: np.ndarray, offset: int) -> np.ndarray:
  """Periodic shift of [..., H, W, C] frames by `offset` cells along x."""
  return np.roll(frames, int(offset), axis=_X_AXIS)


def sample_transform(config: AugmentConfig, width: int, rng: np.random.Generator
                     ) -> tuple[bool, int]:
  """Draws (mirror?, offset) for one example."""
  mirror = bool(rng.integers(2)) if config.mirror_x else False
  offset = int(rng.integers(width)) if config.shift_x else 0
  return mirror, offset


def apply_transform(frames: np.ndarray, mirror: bool, offset: int) -> np.ndarray:
  """Applies a drawn (mirror, offset) to [..., H, W, C] frames (mirror first, then shift)."""
  out = mirror_x(frames) if mirror else frames
  return shift_x(out, offset) if offset else np.asarray(out)
