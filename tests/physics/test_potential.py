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


def test_warm_started_few_iterations_track_a_moving_deposit():
  """2 iterations per step from the previous solution stay close while the finger grows."""
  ny, nx, dx = 32, 16, 1.0
  pr = potential.make_problem(ny, nx, dx, 'grounded')
  y, x = np.mgrid[0:ny, 0:nx] + 0.5
  phi = jnp.zeros((ny, nx))
  for step in range(80):
    top = 4.0 + 12.0 * step / 80                          # finger grows 12 cells in 80 steps
    xi = 0.5 * (1 - np.tanh(np.maximum(np.abs(x - 8) - 2, y - top) / 1.0))
    xi = np.maximum(xi, 0.5 * (1 - np.tanh((y - 4) / 1.0)))
    s = jnp.asarray(1.0 + 999.0 * xi**3 * (6 * xi**2 - 15 * xi + 10))
    phi, _ = potential.solve(phi, s, jnp.zeros((ny, nx)), -0.45, pr, 2)
  exact, _ = potential.solve(phi, s, jnp.zeros((ny, nx)), -0.45, pr, 400)
  err = float(jnp.max(jnp.abs(phi - exact)) / 0.45)
  assert err < 0.05, err
