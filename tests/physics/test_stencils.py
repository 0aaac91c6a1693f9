"""Tests of dendrax.physics.stencils: exactness on polynomials, spectra, conservation, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.physics import stencils

BCS = [('periodic', 'periodic'), ('neumann', 'neumann'), ('neumann', 'periodic'),
       ('periodic', 'neumann')]


@pytest.fixture(autouse=True)
def x64():
  with jax.enable_x64(True):
    yield


def _random(shape, seed=0):
  return jax.random.normal(jax.random.key(seed), shape, jnp.float64)


@pytest.mark.parametrize('bc', [('dirichlet', 'neumann'), ('neumann', 'wall'), ('neumann',)])
def test_check_bc_names_bad_entry(bc):
  with pytest.raises(ValueError, match='bc'):
    stencils.check_bc(bc)


def test_pad_periodic_wraps_and_neumann_mirrors():
  f = jnp.arange(12.0).reshape(3, 4)
  p = stencils.pad(f, ('periodic', 'neumann'))
  assert p.shape == (5, 6)
  np.testing.assert_array_equal(p[0, 1:-1], f[-1])        # y periodic: wrap
  np.testing.assert_array_equal(p[-1, 1:-1], f[0])
  np.testing.assert_array_equal(p[1:-1, 0], f[:, 0])      # x Neumann: mirror (edge)
  np.testing.assert_array_equal(p[1:-1, -1], f[:, -1])


def test_laplacian_exact_on_quadratic_interior():
  dx = 0.3
  c = (np.arange(12) + 0.5) * dx
  x, y = np.meshgrid(c, c)
  f = jnp.asarray(x**2 + 2 * y**2 - x * y)
  lap = stencils.laplacian(f, dx, ('neumann', 'neumann'))
  np.testing.assert_allclose(lap[1:-1, 1:-1], 6.0, rtol=1e-10)


def test_laplacian_periodic_eigenvalue():
  n, dx, k = 32, 0.5, 3
  x = (np.arange(n) + 0.5) * dx
  kx = 2 * np.pi * k / (n * dx)
  f = jnp.asarray(np.cos(kx * x)[None, :] * np.ones((n, 1)))
  expected = -(4 / dx**2) * np.sin(kx * dx / 2)**2 * f
  np.testing.assert_allclose(stencils.laplacian(f, dx, ('periodic', 'periodic')), expected,
                             atol=1e-12)


@pytest.mark.parametrize('bc', BCS)
def test_laplacian_conserves_integral(bc):
  f = _random((17, 23))
  lap = stencils.laplacian(f, 0.7, bc)
  assert abs(float(jnp.sum(lap))) < 1e-11 * float(jnp.sum(jnp.abs(lap)))


def test_gradient_exact_on_linear_and_second_order_on_sine():
  dx = 0.25
  c = (np.arange(10) + 0.5) * dx
  x, y = np.meshgrid(c, c)
  gy, gx = stencils.gradient(jnp.asarray(3 * x - 2 * y), dx, ('neumann', 'neumann'))
  np.testing.assert_allclose(gx[1:-1, 1:-1], 3.0, rtol=1e-12)
  np.testing.assert_allclose(gy[1:-1, 1:-1], -2.0, rtol=1e-12)
  errors = []
  for n in (16, 32):
    h = 2 * np.pi / n
    xs = (np.arange(n) + 0.5) * h
    f = jnp.asarray(np.sin(xs)[None, :] * np.ones((n, 1)))
    _, gx = stencils.gradient(f, h, ('periodic', 'periodic'))
    errors.append(float(jnp.max(jnp.abs(gx - np.cos(xs)[None, :]))))
  assert 3.6 < errors[0] / errors[1] < 4.4      # second order: ratio 4


def test_face_gradients_shapes_and_linear_exactness():
  dx, ny, nx = 0.5, 6, 9
  yc, xc = (np.arange(ny) + 0.5) * dx, (np.arange(nx) + 0.5) * dx
  x, y = np.meshgrid(xc, yc)
  (xgx, xgy), (ygx, ygy) = stencils.face_gradients(jnp.asarray(2 * x + 5 * y), dx,
                                                   ('neumann', 'neumann'))
  assert xgx.shape == xgy.shape == (ny, nx + 1)
  assert ygx.shape == ygy.shape == (ny + 1, nx)
  # Interior faces (away from the mirrored ghost cells) see the exact gradient.
  np.testing.assert_allclose(xgx[1:-1, 1:-1], 2.0, rtol=1e-12)
  np.testing.assert_allclose(xgy[1:-1, 1:-1], 5.0, rtol=1e-12)
  np.testing.assert_allclose(ygx[1:-1, 1:-1], 2.0, rtol=1e-12)
  np.testing.assert_allclose(ygy[1:-1, 1:-1], 5.0, rtol=1e-12)


@pytest.mark.parametrize('bc', BCS)
def test_divergence_of_normal_face_gradients_is_laplacian(bc):
  f, dx = _random((11, 14), seed=1), 0.4
  (xgx, _), (_, ygy) = stencils.face_gradients(f, dx, bc)
  div = stencils.divergence_of_face_fluxes(xgx, ygy, dx, bc)
  np.testing.assert_allclose(div, stencils.laplacian(f, dx, bc), atol=1e-12)


def test_divergence_ignores_boundary_fluxes_on_neumann_axes():
  ny, nx = 5, 7
  jx, jy = _random((ny, nx + 1), 2), _random((ny + 1, nx), 3)
  div = stencils.divergence_of_face_fluxes(jx, jy, 1.0, ('neumann', 'neumann'))
  assert abs(float(jnp.sum(div))) < 1e-12
  # Periodic: the two boundary faces are the same face, so equal fluxes cancel.
  jx = jx.at[:, -1].set(jx[:, 0])
  jy = jy.at[-1, :].set(jy[0, :])
  div = stencils.divergence_of_face_fluxes(jx, jy, 1.0, ('periodic', 'periodic'))
  assert abs(float(jnp.sum(div))) < 1e-12
