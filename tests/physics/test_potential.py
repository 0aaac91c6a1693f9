"""The potential equation: exact linear solution, charge balance, warm-started PCG convergence."""

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import potential


def test_uniform_conductivity_gives_the_linear_profile():
  with jax.enable_x64(True):
    pr = potential.make_problem(20, 6, 2.0, 'grounded')
    phi, rel = potential.solve(jnp.zeros((20, 6)), jnp.ones((20, 6)), jnp.zeros((20, 6)), -0.45,
                               pr, 60)
    y = (np.arange(20) + 0.5) * 2.0
    np.testing.assert_allclose(phi, np.broadcast_to((-0.45 * (1 - y / 40.0))[:, None], (20, 6)),
                               atol=1e-12)
    assert float(rel) < 1e-12


def test_high_contrast_solution_balances_charge():
  with jax.enable_x64(True):
    ny, nx, dx = 24, 16, 1.5
    pr = potential.make_problem(ny, nx, dx, 'grounded')
    y, x = np.mgrid[0:ny, 0:nx] + 0.5
    metal = ((y < 4) | ((np.abs(x - 8) < 2) & (y < 14))).astype(np.float64)   # electrode + finger
    s = jnp.asarray(1.0 + 999.0 * metal)
    src = jnp.asarray(1e-3 * np.exp(-((x - 8)**2 + (y - 14)**2) / 4.0))
    phi, _ = potential.solve(jnp.zeros((ny, nx)), s, src, -0.3, pr, 600)
    assert float(potential.residual_norm(phi, s, src, -0.3, pr)) < 1e-9
    # Gauss: current out of the bulk face - current in at the electrode face = integral of source.
    j_top = float(jnp.sum(potential.top_current(phi, s, pr))) * dx
    j_bottom = float(jnp.sum(s[0] * (phi[0] + 0.3) / (0.5 * dx))) * dx
    np.testing.assert_allclose(j_top - j_bottom, float(jnp.sum(src)) * dx**2, rtol=1e-8)
    # The finger is nearly equipotential with the electrode (rho = 1000).
    assert float(jnp.max(jnp.abs(phi[metal > 0] + 0.3))) < 0.01 * 0.3


def _finger_conductivity(top, x, y):
  xi = 0.5 * (1 - jnp.tanh(jnp.maximum(jnp.abs(x - 8) - 2, y - top) / 1.0))
  xi = jnp.maximum(xi, 0.5 * (1 - jnp.tanh((y - 4) / 1.0)))
  return 1.0 + 999.0 * xi**3 * (6 * xi**2 - 15 * xi + 10)


def test_warm_started_few_iterations_track_a_moving_deposit():
  """Warm-started PCG, 2 iterations per step, while a finger grows 0.01 cells per step (about
  twice the tip speed of the dataset preset): the lag error stays a few % of V and shrinks with
  more iterations (measured max error / |V|: 0.01 cells/step 2.3 / 1.4 / 1.1 % for 1 / 2 / 3
  iterations; 0.005 cells/step 1.8 / 1.2 / 0.8 %)."""
  ny, nx, n_steps = 32, 16, 400
  pr = potential.make_problem(ny, nx, 1.0, 'grounded')
  y, x = (jnp.asarray(a, jnp.float32) + 0.5 for a in np.mgrid[0:ny, 0:nx])
  tops = 4.0 + 4.0 * jnp.arange(n_steps) / n_steps
  zero = jnp.zeros((ny, nx))

  def track(iterations):
    def step(phi, top):
      s = _finger_conductivity(top, x, y)
      return potential.solve(phi, s, zero, -0.45, pr, iterations)[0], None
    phi = jax.lax.scan(step, zero, tops)[0]
    exact, _ = potential.solve(phi, _finger_conductivity(tops[-1], x, y), zero, -0.45, pr, 600)
    return float(jnp.max(jnp.abs(phi - exact)) / 0.45)

  err2, err6 = track(2), track(6)
  assert err2 < 0.03, err2
  assert err6 < 0.5 * err2, (err2, err6)


def _dense(op, shape):
  n = int(np.prod(shape))
  columns = jax.jit(jax.vmap(op))(jnp.eye(n).reshape((n,) + shape))
  return np.asarray(columns).reshape(n, n).T


def test_conductivity_of_an_undershooting_front_keeps_the_operator_definite():
  """Regression (issue 9): s = 1 + (rho - 1) h(xi) at an unclipped xi = -0.08 (a fast front
  undershoots by a few per cent) is negative, the operator -div(s grad) indefinite and the
  potential leaves [V, 0]; `electrodeposition.conductivity` clips xi before h."""
  from dendrax.physics import electrodeposition
  with jax.enable_x64(True):
    ny, nx, v = 16, 6, -0.3
    pr = potential.make_problem(ny, nx, 1.0, 'grounded')
    y = (np.arange(ny) + 0.5)[:, None] * np.ones((1, nx))
    xi = 0.5 * (1 - np.tanh((y - 5.0)))
    xi[6:8] -= 0.08                                            # undershoot ahead of the front
    xi = jnp.asarray(xi)
    # The scenario does break the unclipped form (else this test would prove nothing).
    s_raw = 1.0 + 999.0 * electrodeposition.interpolation(xi)
    assert float(s_raw.min()) < 0
    s = electrodeposition.conductivity(xi, 1e3)
    assert float(s.min()) >= 1.0 and float(s.max()) <= 1e3
    a = _dense(potential._negative_operator(s, pr), (ny, nx))
    np.testing.assert_allclose(a, a.T, atol=1e-9)
    assert np.linalg.eigvalsh(a).min() > 0                     # SPD: PCG is well posed
    phi, _ = potential.solve(jnp.zeros((ny, nx)), s, jnp.zeros((ny, nx)), v, pr, 200)
    assert float(potential.residual_norm(phi, s, jnp.zeros((ny, nx)), v, pr)) < 1e-10
    # Maximum principle (no source): the potential stays between the electrode's and the bulk's.
    assert v - 1e-12 <= float(phi.min()) and float(phi.max()) <= 1e-12
