"""hong2018: forward- and reverse-mode derivatives through a whole rollout vs central finite
differences (the electroneutral model's derivative checks are in its validation tests).

float64, 16 x 16 cells, 40 steps (2 s). Every continuous parameter; length and density at the end.
"""

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import parameters
from dendrax.physics import simulate


def _outputs(vec, cfg, key):
  traj = simulate.run(parameters.PhysicalParams.from_vector(vec), cfg, key)
  return jnp.stack([traj.observables['length_um'][-1], traj.observables['density'][-1]])


def test_hong2018_jacfwd_and_grad_match_central_differences(tiny_hong2018_config,
                                                            hong2018_params):
  with jax.enable_x64(True):
    cfg = tiny_hong2018_config(dtype='float64', noise_amplitude=0.01)
    key = jax.random.key(2)
    p0 = hong2018_params(field_strength_kv_per_m=3.0, concentration_gradient_mol_m3_per_um=2.0)
    vec = jnp.asarray(p0.to_vector(), jnp.float64)
    simulate.validate(p0, cfg)
    f = jax.jit(lambda v: _outputs(v, cfg, key))
    jac = np.asarray(jax.jacfwd(f)(vec))                  # [2 outputs, 7 params]
    grad_len = np.asarray(jax.jit(jax.grad(lambda v: f(v)[0]))(vec))
    for i, name in enumerate(parameters.CONTINUOUS_PARAMETERS):
      h = 1e-4 * abs(float(vec[i]))
      fd = (np.asarray(f(vec.at[i].add(h))) - np.asarray(f(vec.at[i].add(-h)))) / (2 * h)
      for j, out in enumerate(('length', 'density')):
        scale = abs(fd[j]) + 1e-3 * np.abs(jac[j, :6] * np.abs(np.asarray(vec[:6]))).max() / abs(
            float(vec[i]))
        assert abs(jac[j, i] - fd[j]) <= 0.05 * scale, (name, out, jac[j, i], fd[j])
      np.testing.assert_allclose(grad_len[i], jac[0, i], rtol=1e-6, atol=1e-12, err_msg=name)
    # The parameters do matter: every continuous one moves the deposit.
    rel = np.abs(jac[1, :6] * np.asarray(vec[:6])) / abs(float(f(vec)[1]))
    assert (rel > 1e-4).all(), rel
    assert jac[0, 6] == 0.0 and jac[1, 6] == 0.0        # n_defects: no derivative
