"""Charging protocols of both models.

hong2018: constant current reaches its target through the integral controller; three-stage records
its stages. Electroneutral (physical units): galvanostatic stages are exact every step (V solved by
Newton), three-stage switches trickle -> CC -> CV (latched at cv_voltage_v), pulse alternates
on / rest, and the charge passed is the integral of the current.
"""

import jax
import numpy as np

from dendrax.physics import parameters
from dendrax.physics import protocols
from dendrax.physics import simulate


def test_hong2018_constant_current_tracks_target(tiny_hong2018_config, hong2018_params):
  cfg = tiny_hong2018_config(protocol='constant_current', cc_current_fraction=0.3, t_end_s=6.0,
                    save_every_s=2.0, controller_rate_per_s=2.0, max_voltage_v=0.2)
  params = hong2018_params()
  traj = simulate.run(params, cfg, jax.random.key(0))
  _, rates = simulate.coefficients_for(params, cfg)
  target = 0.3 * float(protocols.ohmic_current_a_m2(rates, cfg))
  np.testing.assert_allclose(traj.current_a_m2[-1], target, rtol=0.05)
  assert (np.asarray(traj.stage) == parameters.STAGES.index('constant_current')).all()
  assert -cfg.max_voltage_v <= float(traj.voltage_v[-1]) < 0.0


def test_hong2018_three_stage_switches_in_order(tiny_hong2018_config, hong2018_params):
  # The controller holds the cell current (bulk-face cation flux), which at V_cv is ~1.6 sigma_l E
  # on this grid (cations pile up: no electroneutrality), so a CC target of 2 sigma_l E is what
  # drives |V| to the CV potential within 8 s (measured: CV from 6 s).
  cfg = tiny_hong2018_config(protocol='three_stage', trickle_current_fraction=0.02,
                    cc_current_fraction=2.0, trickle_end_s=2.0, t_end_s=8.0, save_every_s=1.0,
                    controller_rate_per_s=0.5)
  params = hong2018_params(field_strength_kv_per_m=4.0)
  traj = simulate.run(params, cfg, jax.random.key(0))
  stage = np.asarray(traj.stage)
  assert stage[1] == parameters.STAGES.index('trickle')
  assert np.all(np.diff(stage) >= 0)                        # never goes back
  assert stage[-1] == parameters.STAGES.index('constant_voltage')
  assert parameters.STAGES.index('constant_current') in stage
  _, rates = simulate.coefficients_for(params, cfg)
  np.testing.assert_allclose(traj.voltage_v[-1], rates.applied_voltage_v, rtol=1e-5)


# ---- electroneutral: physical units ----------------------------------------------------------

STAGE = {name: i for i, name in enumerate(parameters.STAGES)}
C_PER_M2_PER_MAH_PER_CM2 = 3.6 / 1e-4          # 1 mAh/cm^2 = 3.6 C per 1e-4 m^2


def _every_step(tiny_config, **overrides):
  """Tiny electroneutral config that saves a frame after every step (dt 0.05 s)."""
  return tiny_config(save_every_s=0.05, **overrides)


def test_galvanostatic_current_is_exact_every_step_and_charge_is_its_integral(
    tiny_config, mid_params):
  cfg = _every_step(tiny_config, protocol='constant_current', cc_current_fraction=0.8,
                    t_end_s=1.0)
  params = mid_params(field_strength_kv_per_m=0.25)           # J = 25 mA/cm^2
  traj = simulate.run(params, cfg, jax.random.key(0))
  target = 0.8 * 250.0                                        # A/m^2 = 20 mA/cm^2
  current = np.asarray(traj.current_a_m2[1:], np.float64)
  np.testing.assert_allclose(current, target, rtol=1e-5)
  assert (np.asarray(traj.stage) == STAGE['constant_current']).all()
  assert (np.asarray(traj.voltage_v[1:]) < 0).all()           # plating: cathodic potential
  # Charge passed = integral of the current (every step is a frame).
  charge = np.asarray(traj.observables['charge_c_per_m2'], np.float64)
  np.testing.assert_allclose(charge[1:], np.cumsum(current) * cfg.dt_s, rtol=1e-5)
  # In battery units: 20 mA/cm^2 for 1 s = 20 / 3600 mAh/cm^2.
  np.testing.assert_allclose(charge[-1] / C_PER_M2_PER_MAH_PER_CM2, 20.0 / 3600.0, rtol=1e-5)


def test_three_stage_switches_trickle_cc_cv_and_latches(tiny_config, mid_params):
  """Trickle at 0.1 J to 0.5 s, then J = 20 mA/cm^2 against a closed top (the salt depletes, so
  |V| grows) until V reaches cv_voltage_v, then V = cv_voltage_v to the end."""
  # The CC stage's V runs from -0.1554 to -0.1591 V over 1.5 s (two-level solves, 2.4.0; the
  # one-level ones read 1 mV less negative at its start): cv in that range gives a CC stage of
  # a few frames, then CV.
  cv = -0.157
  cfg = tiny_config(protocol='three_stage', trickle_current_fraction=0.1,
                    cc_current_fraction=1.0, trickle_end_s=0.5, cv_voltage_v=cv, t_end_s=2.0,
                    save_every_s=0.1, concentration_top='closed')
  j = 200.0
  traj = simulate.run(mid_params(field_strength_kv_per_m=0.2), cfg, jax.random.key(0))
  stage, t = np.asarray(traj.stage)[1:], np.asarray(traj.time_s)[1:]
  v, current = np.asarray(traj.voltage_v)[1:], np.asarray(traj.current_a_m2)[1:]
  assert np.all(np.diff(stage) >= 0)                          # never goes back (latched)
  assert set(stage) == {STAGE['trickle'], STAGE['constant_current'], STAGE['constant_voltage']}
  trickle, cc, cvs = (stage == STAGE[s] for s in ('trickle', 'constant_current',
                                                  'constant_voltage'))
  np.testing.assert_array_equal(trickle, t <= 0.5 + 1e-6)     # frame time = end of its step
  np.testing.assert_allclose(current[trickle], 0.1 * j, rtol=1e-5)
  np.testing.assert_allclose(current[cc], j, rtol=1e-5)
  assert (v[trickle | cc] > cv).all()                          # CC ends when V reaches cv
  np.testing.assert_array_equal(v[cvs], np.float32(cv))        # pinned at cv_voltage_v
  assert cvs[-1] and cc.sum() >= 2                             # a real CC stage, then CV
  # Under CV the current falls as the salt depletes (it is no longer controlled).
  assert current[cvs][-1] < current[cvs][0] <= j * (1 + 1e-5)


def test_pulse_alternates_on_and_rest(tiny_config, mid_params):
  cfg = _every_step(tiny_config, protocol='pulse', pulse_on_s=0.2, pulse_off_s=0.3,
                    pulse_amplitude_fraction=2.0, t_end_s=1.0)
  j = 100.0                                                   # A/m^2 = 10 mA/cm^2
  traj = simulate.run(mid_params(field_strength_kv_per_m=0.1), cfg, jax.random.key(0))
  stage, current = np.asarray(traj.stage)[1:], np.asarray(traj.current_a_m2, np.float64)[1:]
  # Step k covers [k dt, (k+1) dt): on for the first 4 of every 10 steps (0.2 s of 0.5 s).
  on = (np.arange(len(stage)) % 10) < 4
  np.testing.assert_array_equal(stage, np.where(on, STAGE['constant_current'], STAGE['rest']))
  np.testing.assert_allclose(current[on], 2.0 * j, rtol=1e-5)
  np.testing.assert_allclose(current[~on], 0.0, atol=1e-5 * j)
  charge = np.asarray(traj.observables['charge_c_per_m2'], np.float64)
  np.testing.assert_allclose(charge[-1], 2.0 * j * 0.4, rtol=1e-5)   # 2 pulses of 0.2 s


def test_charging_regime_weighs_the_charge_passed_in_each_regime():
  """Constructed frames: the regime is the one that passed most of the charge; a galvanostatic
  interval is transport-limited only at its cutoff."""
  cfg = simulate.SimulationConfig(max_voltage_v=0.5)
  cc, cv = (parameters.STAGES.index(s) for s in ('constant_current', 'constant_voltage'))
  charge = np.array([0.0, 10.0, 20.0, 50.0])
  # Three-stage: CC for the first 20, then CV for 30 of the 50.
  stage, volts = np.array([cc, cc, cc, cv]), np.array([0.0, -0.05, -0.08, -0.1])
  r = protocols.charging_regime(stage, volts, charge, cfg)
  assert r['name'] == 'potentiostatic'
  assert r['charge_fractions'] == {'galvanostatic': 0.4, 'potentiostatic': 0.6,
                                   'transport_limited': 0.0}
  # Constant current below the cutoff throughout: held current.
  stage, volts = np.full(4, cc), np.array([0.0, -0.2, -0.3, -0.49])
  assert protocols.charging_regime(stage, volts, charge, cfg)['name'] == 'galvanostatic'
  # Pinned at the cutoff after the first interval (beyond the limiting current): 40 of 50.
  volts = np.array([0.0, -0.3, -0.5, -0.5])
  r = protocols.charging_regime(stage, volts, charge, cfg)
  assert r['name'] == 'transport_limited' and r['charge_fractions']['transport_limited'] == 0.8


def test_current_schedule_is_followed_exactly_and_differentiable_in_its_parameters(
    tiny_config, mid_params):
  """A traced schedule i(t) = a (1 + 0.5 sin(2 pi t)) replaces the protocol (what a design
  drives): every step passes i at its start time, 'rest' where i = 0, and d(charge)/da by jvp is
  the integral of the schedule's shape (the charge is linear in a below the cutoff)."""
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  cfg = _every_step(tiny_config, protocol='constant_current', t_end_s=1.0)
  params = mid_params(field_strength_kv_per_m=0.3)   # the peak: what validate's bound reads
  # Rest (i = 0) from t = 0.75 s: the last five steps (0.725: between step starts in any dtype).
  shape = lambda t: jnp.maximum(1.0 + 0.5 * jnp.sin(2.0 * jnp.pi * t) - 1.6 * (t > 0.725), 0.0)

  def charge(a):
    traj = simulate.rollout(params, cfg, jax.random.key(0),
                            current_schedule=lambda t: a * shape(t))
    return traj.observables['charge_c_per_m2'][-1], traj

  a = 150.0                                            # A/m^2
  (q, traj), (dq, _) = jax.jvp(charge, (jnp.float32(a),), (jnp.float32(1.0),))
  starts = np.arange(20) * cfg.dt_s
  expected = a * np.asarray(shape(jnp.asarray(starts)), np.float64)
  assert (expected == 0.0).sum() == 5
  np.testing.assert_allclose(np.asarray(traj.current_a_m2)[1:], expected, rtol=1e-4,
                             atol=1e-5 * a)
  np.testing.assert_array_equal(np.asarray(traj.stage)[1:] == STAGE['rest'], expected == 0.0)
  np.testing.assert_allclose(float(q), expected.sum() * cfg.dt_s, rtol=1e-4)
  np.testing.assert_allclose(float(dq), expected.sum() * cfg.dt_s / a, rtol=1e-3)
