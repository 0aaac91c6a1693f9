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
which keeps the iteration count low across the 10^3 contrast between electrolyte and deposit.
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


def make_implicit_solver(ny: int, nx: int, dx: float, top: str, dtype) -> Callable:
  """Returns `solve(rhs, u0, fw, a, b, w_ref, u_top, iterations) -> (u, rel_residual)`.

  Solves (a - b div(w grad)) u = rhs with boundary value u_top, from the guess u0, by
  `iterations` steps of PCG (static). `w_ref` is the electrolyte value of w (scalar), used by
  the preconditioner. `a >= 0` (a scalar or a `[ny, nx]` field); a = 0 needs a Dirichlet or
  Robin top. `rhs` and `u0` may carry leading batch axes (several right-hand sides, one operator).
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
    one = lambda r, u: krylov.pcg(matvec, r, u, precond, iterations)
    for _ in range(rhs.ndim - 2):
      one = jax.vmap(one)
    return one(rhs, u0)

  return solve
