"""Charging protocols: constant current reaches its target; three-stage records its stages."""

import jax
import numpy as np

from dendrax.physics import parameters
from dendrax.physics import protocols
from dendrax.physics import simulate


def test_constant_current_tracks_target(tiny_config, mid_params):
  cfg = tiny_config(protocol='constant_current', cc_current_fraction=0.3, t_end_s=6.0,
                    save_every_s=2.0, controller_rate_per_s=2.0, max_voltage_v=0.2)
  params = mid_params()
  traj = simulate.run(params, cfg, jax.random.key(0))
  _, rates = simulate.coefficients_for(params, cfg)
  target = 0.3 * float(protocols.ohmic_current_a_m2(rates, cfg))
  np.testing.assert_allclose(traj.current_a_m2[-1], target, rtol=0.05)
  assert (np.asarray(traj.stage) == parameters.STAGES.index('constant_current')).all()
  assert -cfg.max_voltage_v <= float(traj.voltage_v[-1]) < 0.0


def test_three_stage_switches_in_order(tiny_config, mid_params):
  cfg = tiny_config(protocol='three_stage', trickle_current_fraction=0.02,
                    cc_current_fraction=0.6, trickle_end_s=2.0, t_end_s=8.0, save_every_s=1.0,
                    controller_rate_per_s=0.5)
  params = mid_params(field_strength_kv_per_m=4.0)
  traj = simulate.run(params, cfg, jax.random.key(0))
  stage = np.asarray(traj.stage)
  assert stage[1] == parameters.STAGES.index('trickle')
  assert np.all(np.diff(stage) >= 0)                        # never goes back
  assert stage[-1] == parameters.STAGES.index('constant_voltage')
  assert parameters.STAGES.index('constant_current') in stage
  _, rates = simulate.coefficients_for(params, cfg)
  np.testing.assert_allclose(traj.voltage_v[-1], rates.applied_voltage_v, rtol=1e-5)
