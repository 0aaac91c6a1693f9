"""Implicit differentiation of the fixed-iteration PCG (dendrax/physics/krylov.py).

Verification against linear algebra done independently (numpy's dense solve): the derivative of
x = A(p)^-1 b(p) is A^-1 (db/dp - dA/dp x), whatever the iteration count once PCG has converged,
in forward and reverse mode, and it stays that when PCG iterates far past convergence (where the
derivative of the iterations themselves is round-off divided by round-off).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.physics import krylov

N = 24


def _system(p):
  """SPD tridiagonal A(p) = diag(2 + p d) - offdiag, b(p) = sin(p y); both depend on p."""
  y = jnp.linspace(0.0, 1.0, N)
  d = 1.0 + y
  b = jnp.sin(p * (1.0 + 3.0 * y))

  def matvec(x):
    return (2.0 + p * d) * x - jnp.roll(x, 1).at[0].set(0.0) - jnp.roll(x, -1).at[-1].set(0.0)
  return matvec, b, d


def _solve(p, iterations, x0_scale=0.3):
  matvec, b, _ = _system(p)
  x0 = x0_scale * (1.0 + b)                # a warm start that is not the solution, and moves with p
  x, _ = krylov.pcg(matvec, b, x0, lambda r: r / (2.0 + p), iterations)
  return x


def _dense(p):
  y = np.linspace(0.0, 1.0, N)
  a = np.diag(2.0 + p * (1.0 + y)) - np.eye(N, k=1) - np.eye(N, k=-1)
  b = np.sin(p * (1.0 + 3.0 * y))
  x = np.linalg.solve(a, b)
  dx = np.linalg.solve(a, (1.0 + 3.0 * y) * np.cos(p * (1.0 + 3.0 * y)) - (1.0 + y) * x)
  return x, dx


@pytest.mark.parametrize('iterations', [N, 4 * N])
def test_tangent_and_gradient_are_those_of_the_solved_system(iterations):
  with jax.enable_x64(True):
    p = 0.7
    x_ref, dx_ref = _dense(p)
    x, dx = jax.jvp(lambda q: _solve(q, iterations), (p,), (1.0,))
    np.testing.assert_allclose(x, x_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-8, atol=1e-10)
    w = np.linspace(-1.0, 2.0, N)
    g = jax.grad(lambda q: jnp.dot(jnp.asarray(w), _solve(q, iterations)))(p)
    np.testing.assert_allclose(g, np.dot(w, dx_ref), rtol=1e-8)


def test_warm_start_does_not_enter_the_derivative():
  """x0 (here a function of p) only sets where the iterations start: converged, same tangent."""
  with jax.enable_x64(True):
    t = [jax.jvp(lambda q: _solve(q, 2 * N, s), (0.7,), (1.0,))[1] for s in (0.0, 0.3, -5.0)]
    np.testing.assert_allclose(t[1], t[0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(t[2], t[0], rtol=1e-8, atol=1e-10)
