r"""Conservative variable-coefficient operators div(w grad u) on the cell-centred grid.

Both equations of the electroneutral model that need an implicit solve have this form: the salt
diffusion (w = eps D) and the charge balance (w = eps sigma c). Fluxes live on faces (face weight
the arithmetic mean of the two cells), x is periodic, the bottom face (current collector) carries
no flux, and the top face (bulk side) exchanges with a boundary value u_b through a conductance g:

    flux_top = g (u_b - u_last)         g = w_last / (dx / 2)              'dirichlet'
                                        g = 1 / (dx / (2 w_last) + L / D)  'robin' (a layer of
                                                                            thickness L beyond)
                                        g = 0                              'closed'

Because every flux is a difference of face values, sum(div(w grad u)) dx^2 equals the top-face
flux times the width exactly: the schemes built on it conserve what they transport to round-off
(a regression property, tested; not a validation).

`implicit_solve` solves (a - b div(w grad)) u = r by preconditioned CG with the exact inverse of
the constant-coefficient operator (`spectral`) as preconditioner, symmetrically scaled by the
local weight (M^-1 = S^-1/2 L0^-1 S^-1/2, S = a + b w / dx^2 relative to its electrolyte value),
which keeps the iteration count low across the 10^3 contrast between electrolyte and deposit,
and (since dendrite_sim 2.4.0) a coarse correction on functions constant along x, which removes
the smooth error that this one-level preconditioner leaves (`balanced_preconditioner`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from dendrax.physics import krylov
from dendrax.physics import spectral

TOP_KINDS = ('dirichlet', 'robin', 'closed')


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FaceWeights:
  """Face weights of div(w grad .): x faces `[ny, nx]` (face i+1/2), interior y faces
  `[ny - 1, nx]`, and the top-face conductance `[1, nx]` (0 when closed)."""
  x: jax.Array
  y: jax.Array
  top: jax.Array


def face_weights(w, dx: float, top: str, *, outer_length_um=None, outer_weight=None):
  """`FaceWeights` of the cell weights `w[ny, nx]`; see the module docstring for `top`."""
  if top not in TOP_KINDS:
    raise ValueError(f'top boundary {top!r}; expected one of {TOP_KINDS}')
  wx = 0.5 * (w + jnp.roll(w, -1, axis=-1))
  wy = 0.5 * (w[1:] + w[:-1])
  if top == 'dirichlet':
    g = w[-1:] / (0.5 * dx)
  elif top == 'robin':
    g = 1.0 / (0.5 * dx / w[-1:] + outer_length_um / outer_weight)
  else:
    g = jnp.zeros_like(w[-1:])
  return FaceWeights(wx, wy, g)


def face_fluxes(u, fw: FaceWeights, dx: float, u_top=0.0):
  """(x-face flux `[ny, nx]`, y-face flux `[ny + 1, nx]`) of w grad u (bottom face 0)."""
  fx = fw.x * (jnp.roll(u, -1, axis=-1) - u) / dx
  fin = fw.y * (u[1:] - u[:-1]) / dx
  ftop = fw.top * (u_top - u[-1:])
  return fx, jnp.concatenate([jnp.zeros_like(ftop), fin, ftop], axis=0)


def divergence(fx, fy, dx: float):
  """Cell divergence of face fluxes (per unit area)."""
  return (fx - jnp.roll(fx, 1, axis=-1) + fy[1:] - fy[:-1]) / dx


def div_w_grad(u, fw: FaceWeights, dx: float, u_top=0.0):
  """div(w grad u) with boundary value `u_top` on the top face."""
  return divergence(*face_fluxes(u, fw, dx, u_top), dx)


def row_operator(fw: FaceWeights, a, b, dx: float, nx: int):
  """(diagonal [ny], off-diagonal [ny - 1]) of the symmetric tridiagonal Z^T A Z, A = a - b
  div(w grad) on functions constant along x (Z: one indicator per row; the off-diagonal entries
  are -off). x fluxes vanish on them, so it is the 1-D operator of the x-summed weights, and A's
  exact restriction to that space however w varies."""
  off = b * jnp.sum(fw.y, axis=-1) / dx**2                                 # [ny - 1]
  a_rows = a * nx if jnp.ndim(a) == 0 else jnp.sum(a, axis=-1)
  zero = jnp.zeros_like(off[:1])
  diag = a_rows + jnp.concatenate([off, zero]) + jnp.concatenate([zero, off])
  return diag.at[-1].add(b * jnp.sum(fw.top) / dx), off


def tridiagonal_inverse(diag, off):
  """Dense inverse of the SPD tridiagonal matrix diag(diag) - diag(off, 1) - diag(off, -1), by
  the Thomas algorithm on the identity (two `lax.scan` sweeps). Written out because LAPACK
  custom calls (cholesky, inv) inside the vmapped rollout deadlocked XLA:CPU (jaxlib 0.10.2:
  every thread idle, measured with gdb); without pivoting this is LDL^T, stable for SPD."""
  n = diag.shape[0]
  sub = jnp.concatenate([jnp.zeros_like(off[:1]), -off])                 # a_i, row i - 1
  sup = jnp.concatenate([-off, jnp.zeros_like(off[:1])])                 # c_i, row i + 1
  eye = jnp.eye(n, dtype=diag.dtype)

  def forward(carry, row):
    c_prev, d_prev = carry
    a_i, b_i, c_i, e_i = row
    pivot = b_i - a_i * c_prev
    c_new, d_new = c_i / pivot, (e_i - a_i * d_prev) / pivot
    return (c_new, d_new), (c_new, d_new)

  init = (jnp.zeros((), diag.dtype), jnp.zeros((n,), diag.dtype))
  _, (c, d) = jax.lax.scan(forward, init, (sub, diag, sup, eye))

  def backward(x_next, row):
    c_i, d_i = row
    x = d_i - c_i * x_next
    return x, x

  _, x = jax.lax.scan(backward, jnp.zeros((n,), diag.dtype), (c, d), reverse=True)
  return x


def balanced_preconditioner(smoother: Callable, matvec: Callable, coarse_inverse) -> Callable:
  """Two-level balancing (BNN) preconditioner M = (I - Q A) M1 (I - A Q) + Q, Q = Z A_c^-1 Z^T
  with the row coarse space of `row_operator` (`coarse_inverse` = A_c^-1, [ny, ny]; Mandel 1993;
  Tang, Nabben, Vuik & Erlangga, J. Sci. Comput. 39 (2009) 340). Symmetric positive definite
  when M1 is, so PCG and the implicit (symmetric) tangent solve keep working.

  Why: the spectral smoother M1 inverts a uniform operator, but the deposit makes the
  electrolyte a shorter column than the grid, so the error a few PCG steps leave is smooth and
  nearly constant along x, the space Q solves exactly. Measured on the dataset preset's hardest
  corner, 4 iterations each (`benchmarks/solver_preconditioner.py`): the salt overshot the bulk
  value by 1.5 % and the current was 6 % off the converged one with M1 alone; with M, 0 and 0.04 %.
  Cost: two more matvecs and coarse solves per iteration, 1.5x the step's time (same benchmark).
  (A-DEF2, M1 (I - A Q) + Q, saves one matvec but is not symmetric: with it PCG left the salt
  3 % above the bulk value.)
  """
  def q(r):
    rows = coarse_inverse @ jnp.sum(r, axis=-1)
    return jnp.broadcast_to(rows[:, None], r.shape)

  def precond(r):
    q_r = q(r)
    y = smoother(r - matvec(q_r))
    return y - q(matvec(y)) + q_r

  return precond


def make_implicit_solver(ny: int, nx: int, dx: float, top: str, dtype,
                         two_level: bool = True) -> Callable:
  """Returns `solve(rhs, u0, fw, a, b, w_ref, u_top, iterations) -> (u, rel_residual)`.

  Solves (a - b div(w grad)) u = rhs with boundary value u_top, from the guess u0, by
  `iterations` steps of PCG (static). `w_ref` is the electrolyte value of w (scalar), used by
  the preconditioner. `a >= 0` (a scalar or a `[ny, nx]` field); a = 0 needs a Dirichlet or
  Robin top. `rhs` and `u0` may carry leading batch axes (several right-hand sides, one operator).
  `two_level` adds the row coarse space to the spectral preconditioner
  (`balanced_preconditioner`); False is the one-level preconditioner alone (kept for benchmarks).
  """
  y_top = 'neumann' if top == 'closed' else 'dirichlet'
  helmholtz = spectral.make_helmholtz_solver(ny, nx, dx, ('neumann', y_top), dtype=dtype)

  def solve(rhs, u0, fw: FaceWeights, a, b, w_ref, u_top, iterations: int):
    matvec = lambda u: a * u - b * div_w_grad(u, fw, dx, 0.0)
    # The boundary value enters as a known flux into the top row.
    rhs = rhs.at[..., -1, :].add(b * fw.top[0] * u_top / dx)
    # Local diagonal of the operator relative to the electrolyte's: symmetric scaling.
    diag = a + b * (fw.x + jnp.roll(fw.x, 1, axis=-1)
                    + jnp.concatenate([fw.y, jnp.zeros_like(fw.y[:1])])
                    + jnp.concatenate([jnp.zeros_like(fw.y[:1]), fw.y])) / dx**2
    diag = diag.at[-1].add(b * fw.top[0] / dx)
    a_ref = a if jnp.ndim(a) == 0 else jnp.min(a)
    diag_ref = a_ref + 4.0 * b * w_ref / dx**2
    scale = jax.lax.rsqrt(diag / diag_ref)
    precond = lambda r: scale * helmholtz(scale * r, a_ref, b * w_ref)
    if two_level:
      precond = balanced_preconditioner(
          precond, matvec, tridiagonal_inverse(*row_operator(fw, a, b, dx, nx)))
    one = lambda r, u: krylov.pcg(matvec, r, u, precond, iterations)
    for _ in range(rhs.ndim - 2):
      one = jax.vmap(one)
    return one(rhs, u0)

  return solve
