"""Rollout API: shapes, determinism, jit, vmap == loop, validation errors, presets.

The API tests run the default electroneutral model; `hong2018` keeps its own checks (its voltage
-E H, its migration stability bound, its overshoot regression).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.data import schema
from dendrax.physics import parameters
from dendrax.physics import simulate


_PARAMS = {'electroneutral': 'mid_params', 'hong2018': 'hong2018_params'}   # fixture names


def _finite(traj):
  for leaf in jax.tree_util.tree_leaves(traj):
    assert np.isfinite(np.asarray(leaf, np.float64)).all()


def test_run_shapes_and_finiteness(tiny_config, mid_params):
  cfg = tiny_config(protocol='constant_voltage', cv_voltage_v=-0.1)
  traj = simulate.run(mid_params(), cfg, jax.random.key(0))
  t = cfg.num_frames
  assert traj.xi.shape == traj.concentration.shape == traj.potential_v.shape == (t, 16, 16)
  np.testing.assert_allclose(traj.time_s, np.arange(t) * cfg.save_every_s, atol=1e-4)
  assert set(traj.observables) == set(schema.OBSERVABLE_KEYS)
  _finite(traj)
  # The electrode is held at cv_voltage_v (V against the bulk reference) and the deposit grows.
  np.testing.assert_array_equal(traj.voltage_v[1:], np.float32(-0.1))
  assert (np.asarray(traj.current_a_m2[1:]) > 0).all()
  assert traj.deposit_thickness_um[-1] > traj.deposit_thickness_um[0]


def test_hong2018_run_holds_minus_e_h(tiny_hong2018_config, hong2018_params):
  cfg = tiny_hong2018_config()
  traj = simulate.run(hong2018_params(), cfg, jax.random.key(0))
  _finite(traj)
  # The applied voltage is -E H and the deposit grows.
  np.testing.assert_allclose(traj.voltage_v[1:], -2.25e-3 * cfg.height_um, rtol=1e-5)
  assert traj.deposit_thickness_um[-1] > traj.deposit_thickness_um[0]


def test_deterministic_given_key_and_key_matters(tiny_config, mid_params):
  cfg = tiny_config(t_end_s=1.0)
  a = simulate.run(mid_params(), cfg, jax.random.key(3))
  b = simulate.run(mid_params(), cfg, jax.random.key(3))
  c = simulate.run(mid_params(), cfg, jax.random.key(4))
  np.testing.assert_array_equal(a.xi, b.xi)
  assert np.abs(np.asarray(a.xi) - np.asarray(c.xi)).max() > 1e-3   # nucleus moved


def test_jit_and_vmap_equal_loop(tiny_config, mid_params):
  cfg = tiny_config(protocol='constant_current', t_end_s=1.0)
  temps = np.array([290.0, 310.0], np.float32)
  fields = np.array([0.03, 0.08], np.float32)
  batch = parameters.PhysicalParams.from_vector(np.stack([
      np.asarray(mid_params(temperature_k=t, field_strength_kv_per_m=e).to_vector())
      for t, e in zip(temps, fields)]))
  keys = jax.random.split(jax.random.key(1), 2)
  out = simulate.run_batch(batch, cfg, keys)
  assert out.xi.shape == (2, cfg.num_frames, 16, 16)
  jitted = jax.jit(lambda p, k: simulate.run(p, cfg, k).observables['length_um'])
  for i in range(2):
    one = simulate.run(mid_params(temperature_k=temps[i], field_strength_kv_per_m=fields[i]),
                       cfg, keys[i])
    np.testing.assert_allclose(out.xi[i], one.xi, atol=2e-5)
    np.testing.assert_allclose(out.current_a_m2[i], one.current_a_m2, rtol=1e-5)
    np.testing.assert_allclose(out.observables['length_um'][i], one.observables['length_um'],
                               rtol=1e-4, atol=1e-4)
    single = jitted(mid_params(temperature_k=temps[i], field_strength_kv_per_m=fields[i]),
                    keys[i])
    np.testing.assert_allclose(single, one.observables['length_um'], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('field, value, match', [
    ('temperature_k', 0.0, 'temperature_k'),
    ('temperature_k', float('nan'), 'temperature_k'),
    ('ion_concentration_mol_m3', -5.0, 'ion_concentration_mol_m3'),
    ('concentration_gradient_mol_m3_per_um', -1.0, 'concentration_gradient'),
])
@pytest.mark.parametrize('model', ['electroneutral', 'hong2018'])
def test_unphysical_params_raise_naming_field(field, value, match, model, tiny_config, request):
  params = request.getfixturevalue(_PARAMS[model])
  with pytest.raises(ValueError, match=match):
    simulate.run(params(**{field: value}), tiny_config(model=model), jax.random.key(0))




def test_bad_config_raises_naming_field(tiny_config, tiny_hong2018_config, hong2018_params,
                                        mid_params):
  with pytest.raises(ValueError, match='dt_s'):      # hong2018: above the migration bound
    simulate.validate(hong2018_params(field_strength_kv_per_m=4.0, fluidity_per_pa_s=1000.0),
                      tiny_hong2018_config(dt_s=0.5, save_every_s=1.0))
  with pytest.raises(ValueError, match='dt_s'):      # electroneutral: above the accuracy bound
    simulate.validate(mid_params(field_strength_kv_per_m=0.5),
                      tiny_config(protocol='constant_current', dt_s=1.0, save_every_s=1.0))
  with pytest.raises(ValueError, match='nx'):
    simulate.SimulationConfig.from_dict({'nx': 2})
  with pytest.raises(ValueError, match='protocol'):
    simulate.SimulationConfig.from_dict({'protocol': 'trickle'})
  with pytest.raises(ValueError, match='protocol'):
    simulate.SimulationConfig.from_dict({'model': 'hong2018', 'protocol': 'pulse'})
  with pytest.raises(ValueError, match='model'):
    simulate.SimulationConfig.from_dict({'model': 'chen2015'})
  with pytest.raises(ValueError, match='unknown'):
    simulate.SimulationConfig.from_dict({'nxx': 3})
  with pytest.raises(ValueError, match='interface_width_um'):
    simulate.SimulationConfig.from_dict({'dx_um': 2.0, 'interface_width_um': 2.0})
  with pytest.raises(ValueError, match='dt_s'):
    simulate.SimulationConfig.from_dict({'dt_s': 0.07})   # 30 s not a whole number of steps
  with pytest.raises(ValueError, match='temperature_k'):
    simulate.run_batch(parameters.PhysicalParams.from_vector(
        jnp.asarray([np.asarray(mid_params(temperature_k=-1.0).to_vector())])),
        tiny_config(), jax.random.split(jax.random.key(0), 1))


def test_presets_are_valid_and_match_documented_cases():
  std = simulate.SimulationConfig.standard()
  assert (std.nx, std.ny, std.dx_um, std.t_end_s) == (200, 200, 1.0, 210.0)
  assert std.model == 'electroneutral'
  for ds in (simulate.SimulationConfig.for_dataset(),
             simulate.SimulationConfig.hong2018_dataset()):
    assert (ds.nx, ds.ny, ds.num_frames) == (64, 64, schema.NUM_FRAMES)
    assert ds.save_every_s == schema.FRAME_INTERVAL_S
    assert ds == simulate.SimulationConfig.from_dict(ds.to_dict())
  ds = simulate.SimulationConfig.for_dataset()
  assert (ds.model, ds.protocol, ds.concentration_top) == (
      'electroneutral', 'three_stage', 'diffusion_layer')
  # hong2018: Hong & Viswanathan's case (200 um x 200 um at 1 um, dt 0.02 s, constant voltage).
  hong = simulate.SimulationConfig.hong2018()
  assert (hong.model, hong.nx, hong.ny, hong.dx_um, hong.dt_s, hong.protocol) == (
      'hong2018', 200, 200, 1.0, 0.02, 'constant_voltage')
  assert simulate.SimulationConfig.hong2018_dataset().model == 'hong2018'


def test_hong2018_stable_time_step_divides_the_frame_and_passes_validation(hong2018_params):
  """hong2018: Zn at a strong field and high fluidity needs a smaller dt than its 0.05 s."""
  cfg = simulate.SimulationConfig.hong2018_dataset(chemistry='Zn', protocol='constant_voltage')
  hard = hong2018_params(field_strength_kv_per_m=5.0, fluidity_per_pa_s=1000.0,
                         temperature_k=263.0)
  with pytest.raises(ValueError, match='migration stability bound'):
    simulate.validate(hard, cfg)
  vectors = np.stack([hong2018_params().to_vector(), hard.to_vector()])
  dt = simulate.stable_time_step(vectors, cfg)
  assert dt < cfg.dt_s
  assert dt <= 0.9 * simulate.migration_dt_bound(hard.to_vector(), cfg)
  steps = cfg.save_every_s / dt
  assert abs(steps - round(steps)) < 1e-9
  simulate.validate(hard, simulate.SimulationConfig.hong2018_dataset(
      chemistry='Zn', protocol='constant_voltage', dt_s=dt))
  # A group that is stable at the configured dt keeps it.
  assert simulate.stable_time_step(hong2018_params().to_vector()[None], cfg) == cfg.dt_s


@pytest.mark.parametrize('protocol', ['constant_current', 'pulse'])
def test_stable_time_step_meets_the_accuracy_bound(protocol, mid_params):
  """Electroneutral: the largest current of the box (50 mA/cm^2; pulses at twice that), at 1 um
  and c0 = 250 mol/m^3, needs a smaller dt than the dataset's 0.1 s; stable_time_step finds
  one that validates (for pulse: a dt that also divides pulse_on_s and pulse_off_s)."""
  cfg = simulate.SimulationConfig.for_dataset(protocol=protocol, cc_current_fraction=2.0,
                                              pulse_amplitude_fraction=2.0)
  hard = mid_params(field_strength_kv_per_m=0.5, ion_concentration_mol_m3=250.0)
  with pytest.raises(ValueError, match='dt_s'):
    simulate.validate(hard, cfg)
  vectors = np.stack([mid_params().to_vector(), hard.to_vector()])
  dt = simulate.stable_time_step(vectors, cfg)
  assert dt < cfg.dt_s
  assert dt <= 0.9 * simulate.accuracy_dt_bound(hard.to_vector(), cfg)
  steps = cfg.save_every_s / dt
  assert abs(steps - round(steps)) < 1e-9
  simulate.validate(hard, simulate.SimulationConfig.for_dataset(
      protocol=protocol, cc_current_fraction=2.0, pulse_amplitude_fraction=2.0, dt_s=dt))
  assert simulate.stable_time_step(mid_params().to_vector()[None], cfg) == cfg.dt_s


@pytest.mark.parametrize('model', ['hong2018', 'electroneutral'])
def test_overshooting_order_parameter_keeps_the_step_finite(model, tiny_config, request):
  """xi above 1 (a fast front overshoots by a few per cent) must not make D (hong2018) or the
  electrolyte fraction (electroneutral) negative."""
  cfg = tiny_config(model=model)
  params = request.getfixturevalue(_PARAMS[model])()
  init_fn, step_fn = simulate._model(cfg)
  coeffs, rates = simulate.coefficients_for(params, cfg)
  state = init_fn(coeffs, rates, 1.0, jax.random.key(0))
  state = dataclasses.replace(state, xi=jnp.where(state.xi > 0.9, 1.08, state.xi))
  new = jax.jit(step_fn)(state, rates, jax.random.key(1))
  for field in (new.xi, new.concentration, new.potential_v):
    assert np.isfinite(np.asarray(field)).all()


def test_concentration_violation_names_the_first_bad_frame():
  """Electrolyte c/c0 outside [0, 3] is reported with its frame and time; the metal's extension
  values (xi > 1/2) are not the electrolyte's and are not checked."""
  xi = np.zeros((3, 4, 4), np.float32)
  xi[:, 0] = 1.0                                    # bottom row: metal
  c = np.ones_like(xi)
  c[:, 0] = -50.0                                   # extension inside the metal: ignored
  assert simulate.concentration_violation(xi, c) is None
  c[2, 3, 1] = 6751.0
  c[1, 2, 2] = -0.5
  problem = simulate.concentration_violation(xi, c, np.array([0.0, 30.0, 60.0]))
  assert problem.startswith('concentration:') and 'frame 1 (t = 30 s)' in problem


def test_noise_realisation_does_not_depend_on_the_precision(tiny_config, mid_params):
  """Nuclei and noise are drawn in float32 whatever the precision, so a float64 run is the same
  realisation as a float32 one and the two agree up to rounding. Drawn in float64, JAX's bits
  gave another realisation, which session 25 took for a 10 % precision effect past Sand's time."""
  cfg = tiny_config(noise_amplitude=0.1, max_defects=2)
  params = mid_params(n_defects=2.0, field_strength_kv_per_m=0.3)
  key = jax.random.key(3)
  with jax.enable_x64(True):
    low = jax.device_get(simulate.run(params, cfg, key))
    high = jax.device_get(simulate.run(params, dataclasses.replace(cfg, dtype='float64'), key))
  assert high.xi.dtype == np.float64 and low.xi.dtype == np.float32
  np.testing.assert_allclose(high.xi[0], low.xi[0], atol=1e-6)      # the same nuclei
  # After 2 s of noisy growth the fields agree to float32 rounding, far inside the noise's
  # own effect (another key moves xi by O(1e-2) here).
  np.testing.assert_allclose(high.xi[-1], low.xi[-1], atol=1e-4)
  other = jax.device_get(simulate.run(params, cfg, jax.random.key(4)))
  assert np.abs(other.xi[-1] - low.xi[-1]).max() > 10 * np.abs(high.xi[-1] - low.xi[-1]).max()
