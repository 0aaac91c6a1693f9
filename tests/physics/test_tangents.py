"""The stored tangents d xi / d ln P_k (`simulate.rollout_with_tangents`) against central
differences of the frames, and their batch form.

Verification (the derivative of our own scheme, not physics): float64, 16 x 16 cells, 40 steps,
the electroneutral constant-current case of test_derivatives.py (solves converged, so central
differences of the simulator are the same derivative). For every continuous parameter the
tangent of the last frame must match the central difference (relative step 1e-3) to 1e-3 in
the relative L2 norm over the frame, where the parameter moves xi at all.
"""

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import parameters
from dendrax.physics import simulate

CASE = dict(model='electroneutral', protocol='constant_current',
            concentration_top='diffusion_layer', noise_amplitude=0.05,
            potential_iterations=25, transport_iterations=25)


def test_xi_tangents_match_central_differences(tiny_config, mid_params):
  with jax.enable_x64(True):
    cfg = tiny_config(dtype='float64', **CASE)
    key = jax.random.key(2)
    p0 = mid_params(field_strength_kv_per_m=0.3, concentration_gradient_mol_m3_per_um=2.0)
    vec = jnp.asarray(p0.to_vector(), jnp.float64)
    simulate.validate(p0, cfg)
    traj, d_xi = jax.jit(lambda v: simulate.rollout_with_tangents(
        parameters.PhysicalParams.from_vector(v), cfg, key))(vec)
    assert d_xi.shape == (6,) + traj.xi.shape
    xi_of = jax.jit(lambda v: simulate.rollout(parameters.PhysicalParams.from_vector(v), cfg,
                                               key).xi[-1])
    np.testing.assert_allclose(traj.xi[-1], xi_of(vec), rtol=0, atol=1e-12)
    moved = 0
    for i, name in enumerate(parameters.CONTINUOUS_PARAMETERS):
      step = 1e-3 * abs(float(vec[i]))
      fd = (np.asarray(xi_of(vec.at[i].add(step))) - np.asarray(xi_of(vec.at[i].add(-step)))
            ) / (2 * step) * float(vec[i])              # d xi / d ln P by central differences
      exact = np.asarray(d_xi[i, -1])
      if np.linalg.norm(fd) < 1e-9:                     # this parameter does not move xi here
        assert np.linalg.norm(exact) < 1e-8, name
        continue
      moved += 1
      rel = np.linalg.norm(exact - fd) / np.linalg.norm(fd)
      assert rel <= 1e-3, (name, rel)
    assert moved >= 4, moved


def test_batch_form_matches_one_rollout(tiny_config, mid_params):
  cfg = tiny_config(**CASE)
  p0 = mid_params(field_strength_kv_per_m=0.3)
  params = jax.tree.map(lambda x: jnp.stack([x, x]), p0)
  params = params.__class__(**{**{n: getattr(params, n) for n in parameters.PARAMETER_NAMES},
                               'temperature_k': params.temperature_k * jnp.array([1.0, 1.01])})
  keys = jnp.stack([jax.random.key_data(jax.random.key(k)) for k in (0, 1)])
  traj, d_xi = simulate.run_batch_with_tangents(params, cfg, keys)
  assert d_xi.shape == (2, 6) + traj.xi.shape[1:]
  one, d_one = jax.jit(lambda p, k: simulate.rollout_with_tangents(p, cfg, k))(
      jax.tree.map(lambda x: x[1], params), keys[1])
  np.testing.assert_allclose(d_xi[1], d_one, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(traj.xi[1], one.xi, rtol=0, atol=1e-5)
