"""Synthetic trajectories in the dataset schema, for training tests that must not wait for the
simulator: a flat electrode with Gaussian-shaped dendrites whose growth speed depends on the
field strength and temperature (so conditioning on the parameters helps), smoothed into a
phase-field-like xi with a tanh interface."""

import numpy as np

from dendrax.data import schema
from dendrax.physics import parameters

PIXEL_UM = 1.0
ELECTRODE_PX = 4.0


def trajectory(i: int, size: int = 32, num_frames: int = schema.NUM_FRAMES, field_scale=1.0):
  rng = np.random.default_rng(1000 + i)
  lo = np.array([s.low for s in parameters.PARAMETER_SPECS])
  hi = np.array([s.high for s in parameters.PARAMETER_SPECS])
  params = lo + rng.uniform(size=lo.shape) * (hi - lo)
  params[2] *= field_scale
  params[6] = np.floor(params[6])
  speed_px = 0.6 * params[2] * (params[0] / 300.0)           # px per 30 s frame
  n_tips = int(params[6]) + 1
  x0 = rng.uniform(0, size, n_tips)
  width = rng.uniform(1.5, 3.0, n_tips)
  y, x = np.mgrid[0:size, 0:size].astype(np.float64)
  xi, length, time_s = [], [], []
  for t in range(num_frames):
    dist = np.minimum(np.abs(x[0] - x0[:, None]), size - np.abs(x[0] - x0[:, None]))
    bumps = (speed_px * t) * np.exp(-np.square(dist / width[:, None]))
    front = ELECTRODE_PX + bumps.max(0)                       # [W]
    xi.append(0.5 * (1 - np.tanh((y - front[None, :]) / 1.0)))
    length.append((front.max() - ELECTRODE_PX) * PIXEL_UM)
    time_s.append(30.0 * t)
  xi = np.asarray(xi, np.float32)
  nan = np.full(num_frames, np.nan, np.float32)
  return {
      'trajectory_id': np.int64(i), 'source': 'synthetic', 'chemistry': i % 2,
      'protocol': 0, 'params': params.astype(np.float32),
      'params_missing': np.zeros(parameters.NUM_PARAMETERS, bool),
      'pixel_size_um': np.float32(PIXEL_UM), 'electrode_height_um': np.float32(ELECTRODE_PX),
      'time_s': np.asarray(time_s, np.float32), 'stage': np.full(num_frames, 1, np.int32),
      'xi': xi, 'has_fields': True, 'concentration': 1.0 - xi,
      'potential_v': (0.1 * xi).astype(np.float32),
      'length_um': np.asarray(length, np.float32), 'density': nan, 'branches': nan,
      'interface_length_um': nan, 'charge_c_per_m2': nan,
  }


def source(split: str, size: int = 32, n: int | None = None):
  """A list of trajectories (random access, len) standing in for `pipeline.load_source`."""
  offset, count, scale = {'train': (0, 24, 1.0), 'validation': (100, 6, 1.0),
                          'test': (200, 6, 1.0), 'ood': (300, 4, 1.25)}[split]
  return [trajectory(offset + k, size, field_scale=scale) for k in range(n or count)]


def length_um(xi, pixel_size_um, electrode_height_um):
  """Front height above the electrode (max over columns of the xi > 1/2 extent), jax-traceable."""
  import jax.numpy as jnp
  ys = jnp.arange(xi.shape[0], dtype=xi.dtype)[:, None]
  front = jnp.max(jnp.where(xi > 0.5, ys + 0.5, 0.0))
  return jnp.maximum(front * pixel_size_um - electrode_height_um, 0.0)
