"""The electric potential: div(s grad phi) = q with a 10^3-10^7 conductivity contrast.

s = sigma / sigma_l = 1 + (rho - 1) h(xi) is 1 in the electrolyte and rho in the metal. Boundaries:
x periodic; phi = V on the electrode face y = 0; phi = 0 on the bulk face y = H ('grounded') or
zero current there ('insulated'). The operator is conservative (fluxes on faces, face conductivity
the mean of the two cells), so the current through any closed surface is exact to the solve.

Solver: preconditioned conjugate gradients on the SPD system -div(s grad .) with the exact inverse
of the constant-coefficient Laplacian (`spectral`) as preconditioner, warm-started from the
previous step's potential and run for a FIXED number of iterations per time step. Because the
deposit moves by a small fraction of a cell per step, the previous potential is already close and a
few iterations per step keep the error small (restarted CG keeps reducing the lagging error from
step to step); a fixed count keeps the step a static, differentiable, vmappable function (forward-
and reverse-mode derivatives go through the iterations). `residual_norm` lets tests and the
validation script measure how well the potential is converged.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from dendrax.physics import krylov
from dendrax.physics import spectral

TOP_BOUNDARIES = ('grounded', 'insulated')


@dataclasses.dataclass(frozen=True)
class PotentialProblem:
  """Static description of the potential equation on an `[ny, nx]` grid."""
  ny: int
  nx: int
  dx: float
  top: str = 'grounded'

  def preconditioner(self, dtype):
    """`r -> (-Lap)^{-1} r` with this problem's boundary rows (exact, `spectral`)."""
    solve = _helmholtz(self, jnp.dtype(dtype).name)
    return lambda r: solve(r, 0.0, 1.0)


def _helmholtz(problem: PotentialProblem, dtype: str):
  top = 'dirichlet' if problem.top == 'grounded' else 'neumann'
  return spectral.make_helmholtz_solver(problem.ny, problem.nx, problem.dx, ('dirichlet', top),
                                        dtype=jnp.dtype(dtype))


def make_problem(ny: int, nx: int, dx: float, top: str = 'grounded') -> PotentialProblem:
  if top not in TOP_BOUNDARIES:
    raise ValueError(f'potential top boundary {top!r}; expected one of {TOP_BOUNDARIES}')
  return PotentialProblem(ny, nx, float(dx), top)


def divergence_of_current(phi, s, v_bottom, problem: PotentialProblem):
  """div(s grad phi) `[ny, nx]` with phi = v_bottom on the electrode face (and 0 / no flux on top).

  Face conductivity: arithmetic mean of the two cells; on a Dirichlet face the boundary cell's s
  and the half-cell distance dx / 2.
  """
  dx = problem.dx
  s_xf = 0.5 * (s + jnp.roll(s, -1, axis=-1))                    # face i+1/2 in x
  j_x = s_xf * (jnp.roll(phi, -1, axis=-1) - phi) / dx          # [ny, nx], periodic
  s_yf = 0.5 * (s[1:] + s[:-1])
  j_inner = s_yf * (phi[1:] - phi[:-1]) / dx                   # [ny - 1, nx]
  j_bottom = s[:1] * (phi[:1] - v_bottom) / (0.5 * dx)
  if problem.top == 'grounded':
    j_top = s[-1:] * (0.0 - phi[-1:]) / (0.5 * dx)
  else:
    j_top = jnp.zeros_like(phi[-1:])
  j_y = jnp.concatenate([j_bottom, j_inner, j_top], axis=0)     # [ny + 1, nx]
  return (j_x - jnp.roll(j_x, 1, axis=-1) + j_y[1:] - j_y[:-1]) / dx


def top_current(phi, s, problem: PotentialProblem):
  """s dphi/dy on the bulk face, `[nx]` (V/um, in units of sigma_l); 0 when insulated."""
  if problem.top != 'grounded':
    return jnp.zeros_like(phi[-1])
  return s[-1] * (0.0 - phi[-1]) / (0.5 * problem.dx)


def residual_norm(phi, s, source, v_bottom, problem: PotentialProblem):
  """Relative residual |div(s grad phi) - q| / |div(s grad phi_lift)| of a potential."""
  r = divergence_of_current(phi, s, v_bottom, problem) - source
  ref = divergence_of_current(jnp.zeros_like(phi), s, v_bottom, problem)
  return jnp.sqrt(jnp.sum(r * r) / (jnp.sum(ref * ref) + jnp.finfo(phi.dtype).tiny))


def _negative_operator(s, problem: PotentialProblem):
  """p -> -div(s grad p) with homogeneous boundary values; face weights computed once."""
  inv_dx2 = 1.0 / problem.dx**2
  w_x = 0.5 * (s + jnp.roll(s, -1, axis=-1)) * inv_dx2          # face i+1/2 in x (periodic)
  w_y = 0.5 * (s[1:] + s[:-1]) * inv_dx2                        # interior y faces
  w_bottom = 2.0 * s[:1] * inv_dx2                              # Dirichlet, half a cell
  w_top = 2.0 * s[-1:] * inv_dx2 if problem.top == 'grounded' else jnp.zeros_like(s[-1:])

  def apply(p):
    f_x = w_x * (jnp.roll(p, -1, axis=-1) - p)
    f_y = w_y * (p[1:] - p[:-1])
    zero = jnp.zeros_like(p[:1])
    div_y = (jnp.concatenate([f_y, zero]) - jnp.concatenate([zero, f_y])
             - jnp.concatenate([w_bottom * p[:1], jnp.zeros_like(f_y)])
             - jnp.concatenate([jnp.zeros_like(f_y), w_top * p[-1:]]))
    return -(f_x - jnp.roll(f_x, 1, axis=-1) + div_y)

  return apply


def solve(phi0, s, source, v_bottom, problem: PotentialProblem, iterations: int):
  """`iterations` steps of preconditioned CG for div(s grad phi) = source, from `phi0`.

  Args:
    phi0: `[ny, nx]` initial guess (the previous step's potential), V.
    s: `[ny, nx]` conductivity in units of sigma_l (>= 1).
    source: `[ny, nx]` right-hand side, V/um^2.
    v_bottom: electrode potential, V (scalar).
    iterations: static number of CG iterations (0 returns phi0).
  Returns:
    (`[ny, nx]` potential in V, relative residual of the linear system).
  """
  # -L0 phi = L(0; V) - q, L0 the operator with homogeneous boundary values; L(0; V) is nonzero
  # only in the first row: the electrode face's flux s_0 (0 - V) / (dx / 2), divided by -dx.
  lift = 2.0 * s[:1] * v_bottom / problem.dx**2
  b = jnp.concatenate([lift, jnp.zeros_like(s[1:])]) - source
  return krylov.pcg(_negative_operator(s, problem), b, phi0, problem.preconditioner(phi0.dtype),
                    iterations)
