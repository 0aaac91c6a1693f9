"""The electroneutral model on its own terms: physical bounds on the dataset preset, derivatives
through a rollout, and the errors that stop an invalid or inaccurate run (each naming its field).

Analytic validation (Sand, Cottrell, limiting current, Tafel, MMS, derivatives against finite
differences) lives in the validation tests and `experiments.validate_physics`.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.physics import electroneutral
from dendrax.physics import parameters
from dendrax.physics import simulate

# Physical bound of the dataset builder's check, c / c0 <= C_MAX in the electrolyte (dendrite_sim
# 1.x broke it in 79 % of trajectories, issue 9).
C_MAX = 2.0


@pytest.fixture(scope='module')
def dataset_run():
  """4 s of the dataset preset at the hardest corner of the box for depletion: 50 mA/cm^2,
  c0 = 250 mol/m^3, thin diffusion layer (G = 10), 3 nuclei; trickle shortened to 1 s.
  Returns (concentration [T, ny, nx], xi, current [T])."""
  cfg = simulate.SimulationConfig.for_dataset(t_end_s=4.0, save_every_s=1.0, trickle_end_s=1.0,
                                              checkpoint_every_steps=20)
  params = parameters.PhysicalParams(
      temperature_k=300.0, concentration_gradient_mol_m3_per_um=10.0, field_strength_kv_per_m=0.5,
      ion_concentration_mol_m3=250.0, surface_energy_j_m2=0.5, fluidity_per_pa_s=316.0,
      n_defects=3.0)
  # The builder's dt for this corner (the preset's 0.1 s is above its accuracy bound).
  cfg = dataclasses.replace(cfg, dt_s=simulate.stable_time_step(params.to_vector()[None], cfg))
  traj = simulate.run(params, cfg, jax.random.key(0))
  for leaf in jax.tree_util.tree_leaves(traj):
    assert np.isfinite(np.asarray(leaf, np.float64)).all()
  return np.asarray(traj.concentration), np.asarray(traj.xi), np.asarray(traj.current_a_m2)


def test_concentration_stays_within_bounds_on_the_dataset_preset(dataset_run):
  c, xi, current = dataset_run
  electrolyte = xi < 0.5
  assert c.min() >= 0.0, c.min()
  assert c[electrolyte].max() <= C_MAX, c[electrolyte].max()
  assert c[electrolyte].min() < 0.9                 # the run did deplete the salt near the metal
  assert (current[1:] > 0).all()


def test_plating_keeps_the_salt_below_the_bulk_value(dataset_run):
  """Under cathodic current the salt has only sinks and the bulk (c~ = 1) as its source, so the
  maximum principle bounds it by the bulk value (to 1e-3 for round-off and the PCG balance).

  Up to dendrite_sim 2.3.0 this failed (c / c0 = 1.0146 here): the preset's 4 PCG iterations
  with the one-level preconditioner left a smooth error, constant along x, that lifted the whole
  upper electrolyte; the two-level preconditioner solves that space exactly
  (`fluxes.balanced_preconditioner`, benchmarks/solver_preconditioner.py)."""
  c, xi, _ = dataset_run
  assert c[xi < 0.5].max() <= 1.0 + 1e-3, c[xi < 0.5].max()


@pytest.mark.parametrize('sink', [dict(salt_sink='split'), dict(salt_sink='implicit'),
                                  dict(salt_sink='implicit', sink_final_solve=False)])
def test_jit_vmap_jvp_grad_go_through_a_rollout(tiny_config, mid_params, sink):
  """Under constant current the charge is J t exactly, so d charge / d E = 1000 t (C/m^2 per
  kV/m; J = 1 S/m * E) is a derivative known in closed form. With the implicit sink the current
  is the target's to the Newton iterations' accuracy (`sink_iterations`)."""
  cfg = tiny_config(protocol='constant_current', cc_current_fraction=1.0, t_end_s=0.5,
                    save_every_s=0.25, **sink)

  def outputs(v):
    traj = simulate.run(parameters.PhysicalParams.from_vector(v), cfg, jax.random.key(0))
    return jnp.stack([traj.observables['charge_c_per_m2'][-1],
                      traj.observables['length_um'][-1]])

  v0 = jnp.asarray(mid_params().to_vector())
  batch = jnp.stack([v0, v0.at[2].set(0.2)])
  grads = np.asarray(jax.jit(jax.vmap(jax.grad(lambda v: outputs(v)[1])))(batch))
  assert grads.shape == (2, 7) and np.isfinite(grads).all()
  _, tangent = jax.jvp(outputs, (v0,), (jnp.eye(7)[2],))
  tangent = np.asarray(tangent)
  assert np.isfinite(tangent).all()
  np.testing.assert_allclose(tangent[0], 1000.0 * cfg.t_end_s, rtol=1e-4)


@pytest.mark.parametrize('overrides, field', [
    (dict(protocol='pulse', pulse_on_s=0.07), 'pulse_on_s'),           # not whole steps of dt
    (dict(protocol='pulse', pulse_off_s=0.12), 'pulse_off_s'),
    (dict(model='hong2018', protocol='pulse'), 'protocol'),            # pulse needs electroneutral
    (dict(model='hong2018', concentration_top='diffusion_layer'), 'concentration_top'),
    (dict(cv_voltage_v=-2.5), 'cv_voltage_v'),                         # beyond max_voltage_v = 2
    (dict(cv_voltage_v=-0.5, max_voltage_v=0.4), 'cv_voltage_v'),
    (dict(electrolyte_fraction_min=0.0), 'electrolyte_fraction_min'),
    (dict(control_iterations=0), 'control_iterations'),
    (dict(pulse_amplitude_fraction=-1.0), 'pulse_amplitude_fraction'),
    (dict(model='cation_only'), 'model'),
    (dict(reaction_xi_min=0.0), 'reaction_xi_min'),
    (dict(reaction_xi_min=0.3), 'reaction_xi_min'),                    # no full-weight core
    (dict(salt_sink='explicit'), 'salt_sink'),
    (dict(salt_sink='implicit', coupling_iterations=0), 'salt_sink'),  # needs the solved phi
    (dict(sink_iterations=-1), 'sink_iterations'),
    (dict(sink_derivative_iterations=-1), 'sink_derivative_iterations'),
])
def test_bad_config_raises_naming_the_field(overrides, field, tiny_config):
  with pytest.raises(ValueError, match=f'SimulationConfig.{field}='):
    tiny_config(**overrides)


@pytest.mark.parametrize('n_defects', [3.0, 2.5])
def test_defects_above_max_or_fractional_raise(n_defects, tiny_config, mid_params):
  """max_defects = 2 in the tiny config: 3 nuclei are not silently clamped to 2."""
  with pytest.raises(ValueError, match='n_defects'):
    simulate.validate(mid_params(n_defects=n_defects), tiny_config())
  batch = parameters.PhysicalParams.from_vector(jnp.stack(
      [mid_params().to_vector(), mid_params(n_defects=n_defects).to_vector()]))
  with pytest.raises(ValueError, match=r'n_defects.*batch row 1'):
    simulate.validate(batch, tiny_config())


def test_dt_above_the_accuracy_bound_raises_naming_dt(tiny_config, mid_params):
  cfg = tiny_config(protocol='constant_current', dt_s=1.0, save_every_s=1.0)
  params = mid_params(field_strength_kv_per_m=0.5)
  bound = simulate.accuracy_dt_bound(params.to_vector(), cfg)
  assert bound < cfg.dt_s
  with pytest.raises(ValueError, match='dt_s'):
    simulate.validate(params, cfg)
  with pytest.raises(ValueError, match='dt_s'):
    simulate.run(params, cfg, jax.random.key(0))
  # Below the bound the same parameters validate.
  simulate.validate(params, tiny_config(protocol='constant_current', dt_s=0.05))


@pytest.mark.parametrize('closure', [{}, dict(sink_final_solve=False),
                                     dict(sink_final_solve=False, transport_iterations=24,
                                          sink_derivative_iterations=6)])
def test_implicit_sink_delivers_the_galvanostatic_current(tiny_config, mid_params, closure):
  """With the sink inside the salt solve the current is no longer the potential solve's, so the
  step re-solves the potential shift for it (Newton on ln s): below the cutoff every step passes
  the target current, 10 mA/cm^2 here, and the salt stays within [0, 1], whether a last solve
  or the Newton iteration's linear prediction closes the step (`sink_final_solve`), and with a
  cheaper derivative solve (`sink_derivative_iterations`)."""
  cfg = tiny_config(protocol='constant_current', salt_sink='implicit', reaction_xi_min=0.1,
                    cc_current_fraction=1.0, save_every_s=0.05, **closure)
  traj = simulate.run(mid_params(field_strength_kv_per_m=0.1), cfg, jax.random.key(0))
  current = np.asarray(traj.current_a_m2)[1:]
  np.testing.assert_allclose(current, 100.0, rtol=1e-3)
  assert (np.abs(np.asarray(traj.voltage_v)[1:]) < cfg.max_voltage_v).all()
  c, xi = np.asarray(traj.concentration), np.asarray(traj.xi)
  assert c.min() >= 0.0 and c[xi < 0.5].max() <= 1.0 + 1e-3


@pytest.mark.parametrize('xi_min', [0.05, 0.1, 0.2])
def test_reaction_weight_integrates_alike_whatever_its_ramp(xi_min):
  """The reaction's weight across an equilibrium tanh profile integrates to the same value (1 -
  3e-3, the default ramp's) for any reaction_xi_min, so keeping the reaction on the interface's
  core does not lower the exchange current per unit of interface (a 30 % loss at 0.1 unscaled)."""
  width = 2.5
  x = np.linspace(-6 * width, 6 * width, 200001)
  xi = jnp.asarray(0.5 * (1.0 - np.tanh(2.0 * x / width)))     # 4 xi (1 - xi) / l = |d xi/dx|
  default = electroneutral.interface_density(xi, width)
  core = electroneutral.interface_density(xi, width, xi_min)
  integral = lambda w: float(np.trapezoid(np.asarray(w, np.float64), x))
  np.testing.assert_allclose(integral(default), 1.0 - 3 * electroneutral.XI_NUCLEUS, rtol=1e-4)
  np.testing.assert_allclose(integral(core), integral(default), rtol=1e-4)
  assert float(jnp.max(jnp.where(xi < xi_min, core, 0.0))) == 0.0   # nothing on the tail
