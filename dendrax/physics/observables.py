"""Observables of one frame: pure, jit/vmap-able functions of xi `[..., H, W]` (y = 0 electrode).

Used by the simulator on its frames and by model evaluation on predicted frames alike.
`dendrite_length_um`, `deposit_density` and `interface_length_um` are smooth in xi (derivatives
are taken through them); `count_branches` is an integer count (no derivative).

- length: per column x, the front height is the area under "the most deposit at or above y",
  s(y) = max_{y' >= y} S(xi(y')), S a smoothstep from 0.1 to 0.9 symmetric about 1/2: the height
  of the topmost deposit even in porous, branched columns, and for a resolved interface profile
  the position of its xi = 1/2 contour whatever the grid or the interface width (a product
  1 - prod(1 - S) over the cells above read 0.1 um more on a grid twice as fine); the length is the
  softmax-weighted mean of the front heights (temperature `softness_um`, <= the true max,
  equal for a flat front) minus electrode_height_um.
- density: deposit area fraction of the region above the initial electrode,
  sum of xi over the area above electrode_height / that area (cells cut by the electrode
  height count with the fraction of their area above it); linear in xi.
- branches: number of separate deposit segments (xi > 1/2, periodic in x) on the row at half
  the dendrite length above the electrode; 1 for a compact film.
- interface length: the integral of |grad xi| (coarea formula: the mean length of the level
  sets of xi), um; flat electrode = width, branched deposits >> width.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dendrax.physics import stencils

# "Deposit here" indicator: smoothstep of xi from 0.1 to 0.9, exactly 0 in the electrolyte (no
# leak from xi ~ 1e-3 summed over hundreds of cells) and symmetric about 1/2, so for a tanh
# profile the front sits at the xi = 1/2 contour and moves smoothly with it.
INDICATOR_LOW = 0.1


def _frame_scalar(v, dtype, trailing: int):
  """A scalar or per-frame `[...]` value, shaped to broadcast against `trailing` frame axes."""
  v = jnp.asarray(v, dtype)
  return v.reshape(v.shape + (1,) * trailing)


def front_height_um(xi, pixel_size_um):
  """`[..., W]` height of the topmost deposit in each column, um (smooth)."""
  xi = jnp.asarray(xi)
  pixel_size_um = _frame_scalar(pixel_size_um, xi.dtype, 1)
  t = jnp.clip((xi - INDICATOR_LOW) / (1.0 - 2.0 * INDICATOR_LOW), 0.0, 1.0)
  occupied = t * t * (3.0 - 2.0 * t)          # C1 smoothstep: exactly 0 below xi = 0.1
  # Max over y' >= y: a reverse cumulative max along the H axis (-2).
  above = jax.lax.cummax(occupied, axis=occupied.ndim - 2, reverse=True)
  return pixel_size_um * jnp.sum(above, axis=-2)


def dendrite_length_um(xi, pixel_size_um, electrode_height_um, softness_um=1.0):
  """Height of the deposit front above the initial electrode, um; shape `xi.shape[:-2]`."""
  front = front_height_um(xi, pixel_size_um)
  weights = jax.nn.softmax(front / softness_um, axis=-1)
  return jnp.sum(weights * front, axis=-1) - jnp.asarray(electrode_height_um, front.dtype)


def deposit_density(xi, pixel_size_um, electrode_height_um):
  """Area fraction of deposit above the initial electrode (0 empty, 1 full); `xi.shape[:-2]`."""
  xi = jnp.asarray(xi)
  p = _frame_scalar(pixel_size_um, xi.dtype, 2)
  e = _frame_scalar(electrode_height_um, xi.dtype, 2)
  y = (jnp.arange(xi.shape[-2], dtype=xi.dtype)[:, None] + 0.5) * p     # [..., H, 1]
  above = jnp.clip((y - e) / p + 0.5, 0.0, 1.0)       # fraction of each cell above the electrode
  return jnp.sum(xi * above, axis=(-2, -1)) / (jnp.sum(above, axis=(-2, -1)) * xi.shape[-1])


def count_branches(xi, pixel_size_um=1.0, electrode_height_um=0.0):
  """Deposit segments crossing the row at half the dendrite length; int32, `xi.shape[:-2]`.

  A row entirely inside the deposit counts 1; a row with no deposit counts 0.
  """
  xi = jnp.asarray(xi)
  length = dendrite_length_um(xi, pixel_size_um, electrode_height_um)
  y_mid = electrode_height_um + 0.5 * jnp.maximum(length, 0.0)
  # Row whose centre lies at or below y_mid (cell k spans [k, k + 1) pixels).
  row = jnp.clip(jnp.floor(y_mid / jnp.asarray(pixel_size_um, xi.dtype) - 0.5), 0, xi.shape[-2] - 1).astype(jnp.int32)
  solid = jnp.take_along_axis(xi, row[..., None, None], axis=-2)[..., 0, :] > 0.5   # [..., W]
  starts = jnp.sum(solid & ~jnp.roll(solid, 1, axis=-1), axis=-1)
  full = jnp.all(solid, axis=-1)
  return jnp.where(full, 1, starts).astype(jnp.int32)


def interface_length_um(xi, pixel_size_um):
  """Integral of |grad xi| over the frame, um (x periodic, y Neumann); `xi.shape[:-2]`."""
  xi = jnp.asarray(xi)
  flat = xi.reshape((-1,) + xi.shape[-2:])

  def one(f):   # gradient per pixel: |grad xi| dA = |grad_pixel xi| * pixel_size
    gy, gx = stencils.gradient(f, 1.0, ('neumann', 'periodic'))
    return jnp.sum(jnp.sqrt(gx**2 + gy**2 + 1e-12))

  per_pixel = jax.vmap(one)(flat).reshape(xi.shape[:-2])
  return per_pixel * jnp.asarray(pixel_size_um, xi.dtype)


def all_observables(xi, pixel_size_um, electrode_height_um, *, softness_um=1.0,
                    charge_c_per_m2=None):
  """Dict with the keys of `dendrax.data.schema.OBSERVABLE_KEYS` (charge NaN if not given)."""
  xi = jnp.asarray(xi)
  charge = (jnp.full(xi.shape[:-2], jnp.nan, xi.dtype) if charge_c_per_m2 is None
            else jnp.asarray(charge_c_per_m2, xi.dtype))
  return {
      'length_um': dendrite_length_um(xi, pixel_size_um, electrode_height_um, softness_um),
      'density': deposit_density(xi, pixel_size_um, electrode_height_um),
      'branches': count_branches(xi, pixel_size_um, electrode_height_um).astype(xi.dtype),
      'interface_length_um': interface_length_um(xi, pixel_size_um),
      'charge_c_per_m2': charge,
  }
