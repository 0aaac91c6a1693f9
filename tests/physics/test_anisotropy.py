"""Tests of dendrax.physics.anisotropy against the continuum operator, symmetries and invariants.

The continuum reference -dF/df = div(de/dg (grad f)), e(g) = 1/2 a(theta(g))^2 |g|^2, is evaluated
exactly (to round-off) by automatic differentiation of an analytic f, so the discrete flux-form
operator can be checked for second-order convergence without hand-derived formulas.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.physics import anisotropy, stencils

NEU = ('neumann', 'neumann')
PER = ('periodic', 'periodic')

# One compiled program per (shape, dx, bc, mode): eager dispatch of the many small ops is slow.
_op = jax.jit(anisotropy.anisotropic_gradient_term, static_argnums=(1, 2),
              static_argnames=('mode',))
_factor = jax.jit(anisotropy.anisotropy_factor, static_argnums=(1, 2), static_argnames=('mode',))


@pytest.fixture(autouse=True)
def x64():
  with jax.enable_x64(True):
    yield


def _random(shape, seed=0):
  return jax.random.normal(jax.random.key(seed), shape, jnp.float64)


def _interface_field(n=48, dx=1.0, radius=12.0, centre=(20.3, 25.7)):
  """A tanh disc: an interface with all orientations, flat (grad f ~ 0) bulk around it."""
  c = (np.arange(n) + 0.5) * dx
  x, y = np.meshgrid(c, c)
  r = np.hypot(x - centre[0], y - centre[1])
  return jnp.asarray(-np.tanh((r - radius) / np.sqrt(2.0)))


@pytest.mark.parametrize('bc', [NEU, PER, ('neumann', 'periodic')])
def test_eps_zero_is_laplacian(bc):
  f = _random((19, 21))
  out = _op(f, 0.6, bc, eps=0.0, mode=4)
  np.testing.assert_allclose(out, stencils.laplacian(f, 0.6, bc), atol=1e-12)


@pytest.mark.parametrize('eps,mode', [(0.05, 4), (0.1, 4), (0.04, 6)])
@pytest.mark.parametrize('bc', [NEU, PER])
def test_integral_conserved(eps, mode, bc):
  for f in (_random((24, 30), 1), _interface_field()):
    out = _op(f, 0.8, bc, eps=eps, mode=mode)
    assert abs(float(jnp.sum(out))) < 1e-12 * float(jnp.sum(jnp.abs(out)))


@pytest.mark.parametrize('bc', [NEU, PER])
def test_fourfold_operator_commutes_with_quarter_turns_and_mirror(bc):
  f = _random((32, 32), 2)
  op = lambda g: _op(g, 0.5, bc, eps=0.1, mode=4)
  np.testing.assert_allclose(op(jnp.rot90(f)), jnp.rot90(op(f)), atol=1e-12)
  np.testing.assert_allclose(op(f.T), op(f).T, atol=1e-12)


def test_sixfold_operator_does_not_commute_with_quarter_turns():
  """Control for the test above: a 6-fold a(theta) is not invariant under 90 degrees."""
  f = _interface_field()
  op = lambda g: _op(g, 1.0, NEU, eps=0.04, mode=6)
  diff = jnp.max(jnp.abs(op(jnp.rot90(f)) - jnp.rot90(op(f))))
  assert float(diff) > 1e-3 * float(jnp.max(jnp.abs(op(f))))


def _continuum_operator(f_fn, eps, mode, theta0):
  def density(gx, gy):
    a = 1.0 + eps * jnp.cos(mode * (jnp.arctan2(gy, gx) - theta0))
    return 0.5 * a * a * (gx * gx + gy * gy)

  def flux(x, y):
    gx, gy = jax.grad(f_fn, argnums=(0, 1))(x, y)
    return jax.grad(density, argnums=(0, 1))(gx, gy)

  def div(x, y):
    return (jax.grad(lambda s: flux(s, y)[0])(x) + jax.grad(lambda s: flux(x, s)[1])(y))

  return jax.vmap(jax.vmap(div))


@pytest.mark.parametrize('eps,mode,theta0', [(0.1, 4, 0.0), (0.1, 4, 0.3), (0.04, 6, 0.0)])
def test_second_order_convergence_to_continuum_variational_derivative(eps, mode, theta0):
  # No critical points (|grad f| >= 0.4), where the continuum operator is smooth.
  f_fn = lambda x, y: (0.7 * x + 0.4 * y + 0.2 * jnp.sin(x) * jnp.cos(2 * y)
                       + 0.1 * jnp.cos(x + y))
  exact_fn = _continuum_operator(f_fn, eps, mode, theta0)
  errors = []
  for n in (32, 64):
    dx = 2 * np.pi / n
    c = (np.arange(n) + 0.5) * dx
    x, y = np.meshgrid(c, c)
    num = _op(f_fn(x, y), dx, NEU, eps=eps, mode=mode, theta0=theta0)
    # Two cells away from the walls, where the mirror ghost cells do not reach.
    errors.append(float(jnp.max(jnp.abs(num - jax.jit(exact_fn)(x, y))[2:-2, 2:-2])))
  assert errors[1] < 0.02                          # relative to |operator| ~ 1
  assert 3.3 < errors[0] / errors[1] < 4.7         # second order: ratio 4


def test_eps_zero_is_minus_gradient_of_discrete_dirichlet_energy():
  """With eps = 0 the operator is exactly -(1/dx^2) dE/df, E = dx^2 sum_faces (df/dx)^2 / 2."""
  f, dx = _random((13, 16), 3), 0.7

  def energy(g):
    (gx, _), (_, gy) = stencils.face_gradients(g, dx, NEU)
    # Boundary faces of a no-flux wall carry no gradient (mirror ghost): sum interior faces.
    return 0.5 * dx**2 * (jnp.sum(gx[:, 1:-1]**2) + jnp.sum(gy[1:-1, :]**2))

  np.testing.assert_allclose(-jax.jit(jax.grad(energy))(f) / dx**2,
                             _op(f, dx, NEU, eps=0.0, mode=4),
                             atol=1e-11)


def test_anisotropic_operator_and_discrete_energy_gradient_agree_as_dx_shrinks():
  """-dE_h/df / dx^2 of the cell-centred discrete energy and the flux form are two consistent
  discretisations of -dF/df: their difference must shrink at second order."""
  eps, mode = 0.1, 4
  f_fn = lambda x, y: 0.7 * x + 0.4 * y + 0.2 * jnp.sin(x) * jnp.cos(2 * y)
  diffs = []
  for n in (32, 64):
    dx = 2 * np.pi / n
    c = (np.arange(n) + 0.5) * dx
    x, y = np.meshgrid(c, c)
    f = f_fn(x, y)

    def energy(g):
      gy, gx = stencils.gradient(g, dx, NEU)
      a = anisotropy.anisotropy_factor(g, dx, NEU, eps=eps, mode=mode)
      return 0.5 * dx**2 * jnp.sum(a * a * (gx * gx + gy * gy))

    from_energy = -jax.jit(jax.grad(energy))(f) / dx**2
    flux_form = _op(f, dx, NEU, eps=eps, mode=mode)
    diffs.append(float(jnp.max(jnp.abs(from_energy - flux_form)[3:-3, 3:-3])))
  assert 3.3 < diffs[0] / diffs[1] < 4.7


def test_derivatives_finite_where_gradient_vanishes():
  f = _interface_field()
  f = f.at[:, :8].set(-1.0)                 # an exactly flat region: grad f = 0 there
  w = _random(f.shape, 4)

  def loss(g, eps):
    return jnp.sum(w * anisotropy.anisotropic_gradient_term(g, 1.0, NEU, eps=eps, mode=4))

  val, (g_f, g_eps) = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(f, 0.05)
  assert np.isfinite(float(val)) and np.all(np.isfinite(g_f)) and np.isfinite(float(g_eps))
  _, tangent = jax.jit(lambda p, t: jax.jvp(lambda g: _op(g, 1.0, NEU, eps=0.05, mode=4),
                                            (p,), (t,)))(f, w)
  assert np.all(np.isfinite(tangent))
  # Fully flat field: the operator and its eps-derivative vanish.
  flat = jnp.full((8, 8), 0.3)
  assert float(jnp.max(jnp.abs(_op(flat, 1.0, NEU, eps=0.1, mode=4)))) == 0.0
  assert float(jax.jit(jax.grad(loss, argnums=1))(jnp.full(f.shape, 0.3), 0.1)) == 0.0


def test_anisotropy_factor_values():
  dx = 0.5
  c = (np.arange(10) + 0.5) * dx
  x, y = np.meshgrid(c, c)
  inner = (slice(1, -1), slice(1, -1))
  a = _factor(jnp.asarray(x), dx, NEU, eps=0.05, mode=4)
  np.testing.assert_allclose(a[inner], 1.05, rtol=1e-9)   # 1e-10 regularisation of |g|^2
  a = _factor(jnp.asarray(x + y), dx, NEU, eps=0.05, mode=4)
  np.testing.assert_allclose(a[inner], 0.95, rtol=1e-9)          # theta = 45 deg
  a = _factor(jnp.asarray(x), dx, NEU, eps=0.05, mode=4, theta0=np.pi / 4)
  np.testing.assert_allclose(a[inner], 0.95, rtol=1e-9)          # rotated crystal
  a = _factor(jnp.asarray(x + np.sqrt(3) * y), dx, NEU, eps=0.04, mode=6)
  np.testing.assert_allclose(a[inner], 1.04, rtol=1e-9)          # theta = 60 deg, 6-fold
  a = _factor(jnp.full((6, 6), 2.0), dx, NEU, eps=0.05, mode=4)
  np.testing.assert_allclose(a, 1.0)                              # flat: no orientation
  ang = anisotropy.interface_angle(jnp.asarray(x + y), dx, NEU)
  np.testing.assert_allclose(ang[inner], np.pi / 4, rtol=1e-12)


def test_float32_in_float32_out_and_jit():
  f = _interface_field().astype(jnp.float32)
  out = jax.jit(lambda g: anisotropy.anisotropic_gradient_term(g, 1.0, NEU, eps=0.05,
                                                               mode=4))(f)
  assert out.dtype == jnp.float32
  ref = _op(f.astype(jnp.float64), 1.0, NEU, eps=0.05, mode=4)
  np.testing.assert_allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize('mode', [-1, 4.0, True])
def test_bad_mode_rejected(mode):
  with pytest.raises(ValueError, match='mode'):
    anisotropy.anisotropic_gradient_term(jnp.zeros((4, 4)), 1.0, NEU, eps=0.1, mode=mode)
