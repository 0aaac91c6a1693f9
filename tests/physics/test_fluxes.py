"""The implicit solver's two-level preconditioner (dendrax/physics/fluxes.py), checked against
dense linear algebra done independently with numpy: the coarse operator is the restriction of the
assembled matrix (and its inverse the inverse), the preconditioner is symmetric positive definite (what PCG and the symmetric
implicit tangent need), and PCG with it reaches numpy's solution and leaves a smaller residual
than the one-level preconditioner on a deposit-shaped coefficient field."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.physics import fluxes

NY, NX, DX = 12, 10, 1.0


def _weights(top):
  """A deposit: w = 1e-3 in the bottom rows and a bump, 1 in the electrolyte (float64)."""
  y, x = np.mgrid[0:NY, 0:NX]
  metal = (y < 3) | ((y < 7) & (np.abs(x - 4) < 2))
  w = np.where(metal, 1e-3, 1.0) * (1.0 + 0.1 * np.sin(x + 2 * y))
  return jnp.asarray(w), fluxes.face_weights(jnp.asarray(w), DX, top, outer_length_um=5.0,
                                             outer_weight=1.0)


def _dense(apply):
  """Matrix of a linear map on [NY, NX] fields (columns: images of the unit fields)."""
  eye = np.eye(NY * NX).reshape(-1, NY, NX)
  return np.stack([np.asarray(apply(jnp.asarray(e))).ravel() for e in eye], axis=1)


@pytest.mark.parametrize('top', ['dirichlet', 'robin', 'closed'])
@pytest.mark.parametrize('field_a', [False, True])
def test_row_operator_is_the_restriction_to_row_constant_functions(top, field_a):
  with jax.enable_x64(True):
    _, fw = _weights(top)
    a = (jnp.asarray(0.5 + np.random.default_rng(0).random((NY, NX))) if field_a
         else jnp.asarray(0.7))
    b = 0.3
    matrix = _dense(_operator(fw, a, b))
    z = np.kron(np.eye(NY), np.ones((NX, 1)))           # one indicator per row, [NY NX, NY]
    diag, off = fluxes.row_operator(fw, a, b, DX, NX)
    coarse = np.diag(diag) - np.diag(off, 1) - np.diag(off, -1)
    np.testing.assert_allclose(coarse, z.T @ matrix @ z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(fluxes.tridiagonal_inverse(diag, off)) @ coarse,
                               np.eye(NY), atol=1e-10)


def _operator(fw, a, b):
  return lambda u: a * u - b * fluxes.div_w_grad(u, fw, DX)


@pytest.mark.parametrize('top', ['dirichlet', 'robin'])
def test_balanced_preconditioner_is_symmetric_positive_definite(top):
  with jax.enable_x64(True):
    a, b = 1.0, 2.0
    _, fw = _weights(top)
    smoother = lambda r: r / 3.0                          # any SPD one-level preconditioner
    precond = fluxes.balanced_preconditioner(
        smoother, _operator(fw, a, b),
        fluxes.tridiagonal_inverse(*fluxes.row_operator(fw, a, b, DX, NX)))
    m = _dense(precond)
    np.testing.assert_allclose(m, m.T, atol=1e-10 * np.abs(m).max())
    assert np.linalg.eigvalsh(0.5 * (m + m.T)).min() > 0.0


@pytest.mark.parametrize('top', ['dirichlet', 'robin'])
def test_two_level_pcg_converges_and_beats_one_level_in_few_iterations(top):
  with jax.enable_x64(True):
    a, b = 1.0, 20.0                                      # backward Euler, D dt / dx^2 = 20
    _, fw = _weights(top)
    matrix = _dense(_operator(fw, a, b))
    rhs = np.cos(np.arange(NY * NX) * 0.37).reshape(NY, NX) + 1.0
    exact = np.linalg.solve(matrix, rhs.ravel()).reshape(NY, NX)
    residual = {}
    for two_level in (False, True):
      solve = fluxes.make_implicit_solver(NY, NX, DX, top, jnp.float64, two_level=two_level)
      u, _ = solve(jnp.asarray(rhs), jnp.zeros((NY, NX)), fw, a, b, 1.0, 0.0, 4 * NY * NX)
      np.testing.assert_allclose(np.asarray(u), exact, rtol=1e-8, atol=1e-10)
      u4, _ = solve(jnp.asarray(rhs), jnp.zeros((NY, NX)), fw, a, b, 1.0, 0.0, 4)
      residual[two_level] = np.linalg.norm(matrix @ np.asarray(u4).ravel() - rhs.ravel())
    assert residual[True] < 0.5 * residual[False], residual
