"""Second-order finite differences on a uniform cell-centred grid, with per-axis boundaries.

Arrays are `[ny, nx]` (`[y, x]`), spacing `dx` in both directions. Boundary conditions are given
per axis as `bc = (bc_y, bc_x)`, each `'periodic'` or `'neumann'` (zero normal gradient: the ghost
cell mirrors the boundary cell, so the face flux of a plain Laplacian is exactly zero).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

BOUNDARY_CONDITIONS = ('periodic', 'neumann')
_PAD_MODE = {'periodic': 'wrap', 'neumann': 'edge'}


def check_bc(bc: Sequence[str]) -> tuple[str, str]:
  """Validates `bc = (bc_y, bc_x)`; raises ValueError naming the bad entry."""
  bc = tuple(bc)
  if len(bc) != 2:
    raise ValueError(f'bc must be (bc_y, bc_x); got {bc!r}')
  for axis, b in zip(('bc_y', 'bc_x'), bc):
    if b not in BOUNDARY_CONDITIONS:
      raise ValueError(f'{axis}={b!r}; expected one of {BOUNDARY_CONDITIONS}')
  return bc


def pad(f: jax.Array, bc: Sequence[str]) -> jax.Array:
  """`f[ny, nx]` -> `[ny + 2, nx + 2]` with one ghost cell per side (corners consistent)."""
  bc_y, bc_x = check_bc(bc)
  f = jnp.pad(f, ((1, 1), (0, 0)), mode=_PAD_MODE[bc_y])
  return jnp.pad(f, ((0, 0), (1, 1)), mode=_PAD_MODE[bc_x])


def laplacian(f: jax.Array, dx: float, bc: Sequence[str]) -> jax.Array:
  """5-point Laplacian of `f[ny, nx]`."""
  p = pad(f, bc)
  return (p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4.0 * f) / dx**2


def gradient(f: jax.Array, dx: float, bc: Sequence[str]) -> tuple[jax.Array, jax.Array]:
  """Central differences `(df/dy, df/dx)` at cell centres, each `[ny, nx]`."""
  p = pad(f, bc)
  return (p[2:, 1:-1] - p[:-2, 1:-1]) / (2 * dx), (p[1:-1, 2:] - p[1:-1, :-2]) / (2 * dx)


def face_gradients(f: jax.Array, dx: float, bc: Sequence[str]):
  """Gradients on the cell faces, for flux-form (conservative) operators.

  Returns `(x_faces, y_faces)`:
    x_faces = (df/dx, df/dy) on the nx + 1 faces normal to x, each `[ny, nx + 1]`;
    y_faces = (df/dx, df/dy) on the ny + 1 faces normal to y, each `[ny + 1, nx]`.
  The normal component is a two-point difference; the tangential one averages the central
  differences of the two cells that share the face.
  """
  p = pad(f, bc)
  cy = (p[2:, :] - p[:-2, :]) / (2 * dx)          # [ny, nx + 2]
  cx = (p[:, 2:] - p[:, :-2]) / (2 * dx)          # [ny + 2, nx]
  x_faces = ((p[1:-1, 1:] - p[1:-1, :-1]) / dx, 0.5 * (cy[:, 1:] + cy[:, :-1]))
  y_faces = (0.5 * (cx[1:, :] + cx[:-1, :]), (p[1:, 1:-1] - p[:-1, 1:-1]) / dx)
  return x_faces, y_faces


def divergence_of_face_fluxes(jx: jax.Array, jy: jax.Array, dx: float,
                              bc: Sequence[str]) -> jax.Array:
  """Divergence at cell centres of fluxes on faces (`jx[ny, nx+1]`, `jy[ny+1, nx]`).

  On a Neumann axis the boundary-face flux is set to zero, so the operator conserves the
  integral of the field exactly (no-flux walls).
  """
  bc_y, bc_x = check_bc(bc)
  if bc_x == 'neumann':
    jx = jx.at[:, 0].set(0.0).at[:, -1].set(0.0)
  if bc_y == 'neumann':
    jy = jy.at[0, :].set(0.0).at[-1, :].set(0.0)
  return (jx[:, 1:] - jx[:, :-1] + jy[1:, :] - jy[:-1, :]) / dx


def corner_gradients(f: jax.Array, dx: float, bc: Sequence[str]) -> tuple[jax.Array, jax.Array]:
  """Gradients `(df/dx, df/dy)` at the cell corners, each `[ny + 1, nx + 1]`.

  Each is the two-point difference averaged over the two cell pairs that share the corner (the
  bilinear-element gradient at its centre). Corner `[j, i]` lies between cells `j-1, j` and
  `i-1, i`; the outermost corners lie on the walls and use the ghost cells.
  """
  p = pad(f, bc)
  gx = (p[1:, 1:] + p[:-1, 1:] - p[1:, :-1] - p[:-1, :-1]) / (2 * dx)
  gy = (p[1:, 1:] + p[1:, :-1] - p[:-1, 1:] - p[:-1, :-1]) / (2 * dx)
  return gx, gy


def divergence_of_corner_fluxes(jx: jax.Array, jy: jax.Array, dx: float,
                                bc: Sequence[str]) -> jax.Array:
  """Divergence at cell centres of fluxes given at the corners (`jx`, `jy` each `[ny+1, nx+1]`).

  d(jx)/dx is the difference of the corner values across the cell, averaged over its two rows of
  corners (likewise for y). On a Neumann axis the wall-corner normal flux is set to zero, so the
  integral of the result over the domain vanishes (no-flux walls).
  """
  bc_y, bc_x = check_bc(bc)
  if bc_x == 'neumann':
    jx = jx.at[:, 0].set(0.0).at[:, -1].set(0.0)
  if bc_y == 'neumann':
    jy = jy.at[0, :].set(0.0).at[-1, :].set(0.0)
  ddx = (jx[1:, 1:] + jx[:-1, 1:] - jx[1:, :-1] - jx[:-1, :-1]) / (2 * dx)
  ddy = (jy[1:, 1:] + jy[1:, :-1] - jy[:-1, 1:] - jy[:-1, :-1]) / (2 * dx)
  return ddx + ddy
