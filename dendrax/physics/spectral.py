r"""Fast diagonalisation of the 5-point Laplacian: exact implicit solves of (a - b lap) u = r.

The stiff linear parts of the model (electrolyte diffusion, interface relaxation) and the
preconditioners of the iterative solves all need $(a - b\nabla^2)^{-1}$ on the cell-centred grid of
`stencils`. This module inverts exactly the *discrete* 5-point operator (not a continuum symbol), so
an implicit step and the explicit `stencils.laplacian` agree to round-off and conservation laws of
the finite-volume scheme survive the implicit solve.

Method (Lynch, Rice & Thomas 1964, "direct solution of partial difference equations by tensor
product methods"): the 1-D second-difference matrix of each axis, with its boundary rows, is
symmetric, $T = Q \Lambda Q^\top$ with $Q$ orthonormal (computed once, in float64, with numpy).
Then $(a - b(T_y \otimes I + I \otimes T_x)/dx^2)^{-1} r = Q_y [\hat r / (a - b(\lambda_i +
\mu_j)/dx^2)] Q_x^\top$, $\hat r = Q_y^\top r Q_x$: four dense matrix products of size n, i.e.
O(n^3) per solve. On a 64 x 64 grid that is faster on CPU than FFT-based transforms (and supports any
mix of boundary rows); above a few hundred cells per side FFTs would win.

Boundary rows of the 1-D matrices (cell-centred, one ghost cell):
  'neumann'   ghost = boundary cell (zero normal gradient, zero face flux): end diagonal -1;
  'dirichlet' value g prescribed on the boundary face, ghost = 2 g - boundary cell: end diagonal -3
              (the caller adds the 2 g / dx^2 contribution to the right-hand side);
  'periodic'  wrap-around (both ends must be periodic).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

AXIS_BOUNDARIES = ('neumann', 'dirichlet', 'periodic')


def second_difference_matrix(n: int, low: str, high: str) -> np.ndarray:
  """[n, n] float64 second-difference matrix (unit spacing) with the given end rows."""
  for name, b in (('low', low), ('high', high)):
    if b not in AXIS_BOUNDARIES:
      raise ValueError(f'{name} boundary {b!r}; expected one of {AXIS_BOUNDARIES}')
  if (low == 'periodic') != (high == 'periodic'):
    raise ValueError(f'periodic boundaries must be periodic at both ends; got ({low}, {high})')
  if n < 3:
    raise ValueError(f'need at least 3 cells per axis; got n={n}')
  t = np.diag(-2.0 * np.ones(n)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
  if low == 'periodic':
    t[0, -1] = t[-1, 0] = 1.0
    return t
  t[0, 0] = {'neumann': -1.0, 'dirichlet': -3.0}[low]
  t[-1, -1] = {'neumann': -1.0, 'dirichlet': -3.0}[high]
  return t


@dataclasses.dataclass(frozen=True)
class AxisBasis:
  """Eigen-decomposition of one axis' second-difference matrix: T = Q diag(lam) Q^T."""
  q: np.ndarray    # [n, n] orthonormal eigenvectors (columns)
  lam: np.ndarray  # [n] eigenvalues (<= 0), unit spacing


def axis_basis(n: int, low: str, high: str) -> AxisBasis:
  lam, q = np.linalg.eigh(second_difference_matrix(n, low, high))
  return AxisBasis(q=q, lam=lam)


def make_helmholtz_solver(ny: int, nx: int, dx: float, y_bc: tuple[str, str],
                          x_bc: tuple[str, str] = ('periodic', 'periodic'),
                          dtype=jnp.float32) -> Callable:
  """Returns `solve(r, a, b) -> u` with `(a - b lap) u = r` for `r[ny, nx]`.

  `a` and `b` are scalars (may be traced: they carry physical parameters); `a - b lap` must be
  positive definite (a > 0, b >= 0, or a = 0 with a Dirichlet row and b > 0). `dx` is the cell size
  in the length unit of `b` (um here). `y_bc = (bottom, top)`.
  """
  by, bx = axis_basis(ny, *y_bc), axis_basis(nx, *x_bc)
  qy, qx = jnp.asarray(by.q, dtype), jnp.asarray(bx.q, dtype)
  lam = jnp.asarray((by.lam[:, None] + bx.lam[None, :]) / dx**2, dtype)  # [ny, nx], <= 0

  def solve(r, a, b):
    r_hat = qy.T @ r @ qx
    return qy @ (r_hat / (a - b * lam)) @ qx.T

  return solve


def make_laplacian(dx: float, y_bc: tuple[str, str], x_bc=('periodic', 'periodic')) -> Callable:
  """The 5-point Laplacian with the same boundary rows as `make_helmholtz_solver` (homogeneous
  Dirichlet: the boundary value is 0), `lap(u[ny, nx]) -> [ny, nx]`. Used by tests and solvers."""

  def ghost(u, axis, low, high):
    first = jax.lax.slice_in_dim(u, 0, 1, axis=axis)
    last = jax.lax.slice_in_dim(u, -1, None, axis=axis)
    if low == 'periodic':
      return jnp.concatenate([last, u, first], axis=axis)
    lo = first if low == 'neumann' else -first
    hi = last if high == 'neumann' else -last
    return jnp.concatenate([lo, u, hi], axis=axis)

  def lap(u):
    py = ghost(u, 0, *y_bc)
    px = ghost(u, 1, *x_bc)
    return (py[2:] + py[:-2] + px[:, 2:] + px[:, :-2] - 4.0 * u) / dx**2

  return lap
