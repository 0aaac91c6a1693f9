r"""Fixed-iteration Krylov solvers: jit-, vmap- and autodiff-friendly.

The simulator solves linear systems every time step whose solutions change slowly from step to
step (the potential around a slowly growing deposit, the implicit electrolyte transport). Each is
warm-started from the previous step's solution and given a *fixed* number of iterations, so that
the trip count is static (`vmap` does not wait for the slowest member, `lax.scan` carries no
data-dependent loop) and the cost per step is known in advance (the dataset budget depends on it).

`pcg` is differentiated implicitly (`jax.lax.custom_linear_solve`): the tangent of x = A^-1 b is
A^-1 (db - dA x), solved by the same iterations, and reverse mode uses the transposed solve.
Differentiating *through* the iterations instead gives the derivative of a truncated iteration,
whose step lengths are ratios of residual norms: once the residual is small those ratios carry
tangents that grow without bound (measured: d length / d log T = 14.3 through 20 iterations
against 0.22 by central differences; the implicit tangent gives 0.193-0.195 at 3 to 30 iterations, and
central differences of the simulator agree with it to 1e-5 once its solves are converged). The
solve is written for the correction from the warm start, A dx = b - A x0 from dx = 0, so that in a
rollout the tangent solve is warm-started by the previous step's tangent just as the value is.

The accuracy this buys is measured, not assumed: both functions also return the final residual
norm relative to the right-hand side, which the simulator records and the validation script reports.

`pcg`: preconditioned conjugate gradients (Hestenes & Stiefel 1952) for symmetric positive definite
operators. `gmres`: m steps of GMRES (Saad & Schultz 1986) with modified Gram-Schmidt, right
preconditioning and no restart, for the non-symmetric drift-diffusion operator (differentiated
through its iterations; no model uses it at present).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

# Guards divisions by norms that vanish when an iteration has already converged exactly; far below
# any residual that matters, so it never changes a result that is not already exact.
_TINY = 1e-30


def _dot(a, b):
  return jnp.sum(a * b)


def _pcg_iterations(matvec, rhs, x0, precond, iterations):
  """(x, residual) after `iterations` steps of preconditioned CG from x0."""
  r = rhs - matvec(x0)
  z = precond(r)
  p = z
  rz = _dot(r, z)

  def body(_, carry):
    x, r, p, rz = carry
    ap = matvec(p)
    alpha = rz / (_dot(p, ap) + _TINY)
    x = x + alpha * p
    r = r - alpha * ap
    z = precond(r)
    rz_new = _dot(r, z)
    p = z + (rz_new / (rz + _TINY)) * p
    return x, r, p, rz_new

  x, r, _, _ = jax.lax.fori_loop(0, iterations, body, (x0, r, p, rz))
  return x, r


def pcg(matvec: Callable, rhs: jax.Array, x0: jax.Array, precond: Callable,
        iterations: int) -> tuple[jax.Array, jax.Array]:
  """`iterations` steps of preconditioned CG for `matvec(x) = rhs` from `x0`.

  Returns `(x, relative_residual)` with `relative_residual = |rhs - A x| / |rhs|`. Differentiated
  implicitly (module docstring); `precond` must be symmetric positive definite as well.
  """
  def solve(mv, b):
    return _pcg_iterations(mv, b, jnp.zeros_like(b), precond, iterations)

  # Symmetric operator: reverse mode solves the transposed system with the same iterations.
  correction, r = jax.lax.custom_linear_solve(matvec, rhs - matvec(x0), solve, symmetric=True,
                                              has_aux=True)
  rel = jnp.sqrt(_dot(r, r) / (_dot(rhs, rhs) + _TINY))
  return x0 + correction, rel


def gmres(matvec: Callable, rhs: jax.Array, x0: jax.Array, precond: Callable,
          iterations: int) -> tuple[jax.Array, jax.Array]:
  """`iterations` steps of right-preconditioned GMRES for `matvec(x) = rhs` from `x0`.

  Minimises |rhs - A x| over x0 + M K_m(A M, r0), M = `precond`. Returns `(x, relative_residual)`
  (the true residual of the returned x, recomputed).
  """
  r0 = rhs - matvec(x0)
  beta = jnp.sqrt(_dot(r0, r0))
  vs = [r0 / (beta + _TINY)]
  zs = []
  h = jnp.zeros((iterations + 1, iterations), rhs.dtype)
  for j in range(iterations):
    z = precond(vs[j])
    w = matvec(z)
    for i in range(j + 1):          # modified Gram-Schmidt
      hij = _dot(w, vs[i])
      h = h.at[i, j].set(hij)
      w = w - hij * vs[i]
    hn = jnp.sqrt(_dot(w, w))
    h = h.at[j + 1, j].set(hn)
    vs.append(w / (hn + _TINY))
    zs.append(z)
  # Small least-squares problem min |beta e1 - H y| by QR (differentiable, well conditioned).
  e1 = jnp.zeros((iterations + 1,), rhs.dtype).at[0].set(beta)
  q, rr = jnp.linalg.qr(h)
  diag = jnp.diagonal(rr)
  rr = rr + jnp.diag(jnp.where(jnp.abs(diag) < _TINY, _TINY, 0.0).astype(rr.dtype))
  y = jax.scipy.linalg.solve_triangular(rr, q.T @ e1, lower=False)
  x = x0 + sum(y[j] * zs[j] for j in range(iterations))
  r = rhs - matvec(x)
  rel = jnp.sqrt(_dot(r, r) / (_dot(rhs, rhs) + _TINY))
  return x, rel
