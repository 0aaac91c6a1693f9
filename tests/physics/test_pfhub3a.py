"""Tests of dendrax.physics.pfhub3a: invariants, symmetry, grid convergence and the PFHub reference.

Short/coarse versions of the benchmark; the full run is experiments/pfhub3a.py (docs/benchmarks.md
gives the measured errors and the convergence study that justifies the tolerances used here).
"""

import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.physics import pfhub3a

REFERENCE_CSV = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'data',
                             'pfhub_bm3a_chimad3_moose.csv')


def reference_tip(t):
  data = np.genfromtxt(REFERENCE_CSV, delimiter=',', names=True)
  return np.interp(t, data['time'], data['tip_position_x'])


def _run(numerics, t_end, save_every, params=pfhub3a.PFHub3aParams()):
  init_fn, step_fn = pfhub3a.pfhub3a(numerics)
  sps, ns = pfhub3a.steps_for(numerics, t_end, save_every)
  run = jax.jit(lambda s, p: pfhub3a.rollout(step_fn, s, p, numerics, steps_per_save=sps,
                                             num_saves=ns))
  return run(init_fn(params), params)


def test_coupling_constant():
  assert math.isclose(pfhub3a.PFHub3aParams().coupling, 10.0 / 0.6267, rel_tol=1e-12)


@pytest.mark.parametrize('field,value', [('dx', -1.0), ('dt', 0.0), ('dtype', 'float16'),
                                         ('domain_size', 0.0), ('diffusion_substeps', -2)])
def test_numerics_validation_names_field(field, value):
  with pytest.raises(ValueError, match=field):
    pfhub3a.PFHub3aNumerics(**{field: value})


def test_steps_for_rejects_non_multiples():
  num = pfhub3a.PFHub3aNumerics(dt=0.3)
  with pytest.raises(ValueError, match='save_every'):
    pfhub3a.steps_for(num, 100.0, 10.0)
  assert pfhub3a.steps_for(pfhub3a.PFHub3aNumerics(dt=0.125), 500.0, 100.0) == (800, 5)


def test_seed_tip_and_area():
  num = pfhub3a.PFHub3aNumerics(domain_size=40.0, dx=0.5)
  params = pfhub3a.PFHub3aParams()
  phi = pfhub3a.seed_profile(num, params)
  assert abs(float(pfhub3a.tip_position(phi, num.dx)) - 8.0) < 0.02
  # Continuum quarter-plane integral of (1 - tanh((r - 8)/sqrt 2))/2, by 1-D quadrature.
  r = np.linspace(0.0, 60.0, 600001)
  exact = np.trapezoid(0.5 * (1 - np.tanh((r - 8.0) / np.sqrt(2))) * r, r) * np.pi / 2
  assert abs(float(pfhub3a.solid_area(phi, num.dx)) / exact - 1) < 2e-3


def test_tip_position_interpolates_outermost_crossing():
  x = (np.arange(40) + 0.5) * 1.0
  line = np.where(x < 5, 1.0, -1.0)
  line[20:23] = 1.0                                 # a detached solid island further out
  phi = jnp.asarray(np.tile(line, (3, 1)))
  assert float(pfhub3a.tip_position(phi, 1.0)) == pytest.approx(23.0)
  phi = jnp.asarray(np.tile(0.3 - 0.1 * x, (3, 1)))  # linear: zero at x = 3
  assert float(pfhub3a.tip_position(phi, 1.0)) == pytest.approx(3.0, abs=1e-5)
  assert float(pfhub3a.tip_position(-jnp.ones((3, 10)), 1.0)) == 0.0


def test_enthalpy_conserved_and_symmetry_kept():
  """int (U - phi/2) dA is conserved to round-off (no-flux walls, exact source splitting), and
  the quarter dendrite stays symmetric under x <-> y (the model and seed are)."""
  with jax.enable_x64(True):
    num = pfhub3a.PFHub3aNumerics(domain_size=48.0, dx=1.0, dt=0.125, dtype='float64')
    params = pfhub3a.PFHub3aParams()
    init_fn, step_fn = pfhub3a.pfhub3a(num)
    s0 = init_fn(params)
    s1 = jax.jit(lambda s, p: jax.lax.fori_loop(0, 400, lambda _, x: step_fn(x, p), s))(
        s0, params)
    e0, e1 = pfhub3a.enthalpy(s0, num.dx), pfhub3a.enthalpy(s1, num.dx)
    assert abs(float(e1 - e0)) < 1e-12 * float(jnp.sum(jnp.abs(s1.u))) * num.dx**2
    assert float(pfhub3a.solid_area(s1.phi, num.dx)) > 2 * float(
        pfhub3a.solid_area(s0.phi, num.dx))                   # it did grow
    np.testing.assert_allclose(s1.phi, s1.phi.T, atol=1e-10)
    assert int(s1.step) == 400


def test_planar_front_at_melting_temperature_is_stationary():
  """U = 0, flat interface (zero curvature): Gibbs-Thomson gives zero velocity."""
  with jax.enable_x64(True):
    num = pfhub3a.PFHub3aNumerics(domain_size=40.0, dx=0.8, dt=0.08, dtype='float64')
    params = pfhub3a.PFHub3aParams(undercooling=0.0)
    _, step_fn = pfhub3a.pfhub3a(num)
    x = pfhub3a.cell_centres(num)
    phi = jnp.broadcast_to(-jnp.tanh((x - 20.0) / (math.sqrt(2) * 1.05)), (num.n, num.n))
    s = pfhub3a.PFHub3aState(phi=phi, u=jnp.zeros_like(phi), step=jnp.zeros((), jnp.int32))
    s = jax.jit(lambda s, p: jax.lax.fori_loop(0, 625, lambda _, y: step_fn(y, p), s))(s, params)
    assert abs(float(pfhub3a.tip_position(s.phi, num.dx)) - 20.0) < 1e-3
    # A sub-cooled melt (U < 0) pushes the same front forward.
    s = pfhub3a.PFHub3aState(phi=phi, u=jnp.full_like(phi, -0.1), step=s.step)
    s = jax.jit(lambda s, p: jax.lax.fori_loop(0, 625, lambda _, y: step_fn(y, p), s))(s, params)
    assert float(pfhub3a.tip_position(s.phi, num.dx)) > 21.0


def test_tip_converges_at_second_order_in_dx():
  """Tip at t = 100 for dx = 1, 0.8, 0.64 with dt = 0.125 dx^2 (Euler error O(dt) = O(dx^2)):
  the ratio of successive differences is 0.8^-p; p must be close to 2."""
  tips = []
  for dx in (1.0, 0.8, 0.64):
    dt = 100.0 / math.ceil(100.0 / (0.125 * dx**2))        # whole number of steps to t = 100
    num = pfhub3a.PFHub3aNumerics(domain_size=128.0, dx=dx, dt=dt)
    _, rec = _run(num, 100.0, 100.0)
    tips.append(float(rec.tip_position[-1]))
  order = math.log((tips[1] - tips[0]) / (tips[2] - tips[1])) / math.log(1 / 0.8)
  assert tips[0] < tips[1] < tips[2]
  assert 1.6 < order < 2.4, (tips, order)


def test_tip_matches_pfhub_reference_at_t500():
  """The production resolution (dx = 1 W0, configs/pfhub3a.py) on a 240^2 corner of the domain.

  The benchmark's target is 3% at t = 500; the 240^2 corner gives the same tip as the full 960^2
  domain to < 0.1% up to t = 500 (docs/benchmarks.md), so the target is not loosened here.
  """
  num = pfhub3a.PFHub3aNumerics(domain_size=240.0, dx=1.0, dt=0.125)
  _, rec = _run(num, 500.0, 100.0)
  t, tip = np.asarray(rec.time), np.asarray(rec.tip_position)
  np.testing.assert_allclose(t, [0, 100, 200, 300, 400, 500], atol=1e-3)
  assert abs(tip[-1] / reference_tip(500.0) - 1) < 0.03
  assert np.all(np.diff(tip) > 0)
  assert np.all(np.isfinite(np.asarray(rec.free_energy)))
