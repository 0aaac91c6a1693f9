"""Design problems: unit-box coordinates, projection, and errors that name the variable."""

import dataclasses
import importlib
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs.design import tiny
from dendrax.design import problem as problem_lib
from dendrax.design import simulator_adapter as sa
from dendrax.design import study


def _config(**variables):
  config = tiny.get_config()
  if variables:
    config.problem.variables = ml_collections.ConfigDict(variables)
  return config


def _make(config):
  return problem_lib.make_problem(config.problem, study.simulator_settings(config))


def test_decode_encode_round_trip_linear_and_log():
  p = _make(_config())
  names = p.names
  assert names == ('ion_concentration_mol_m3', 'surface_energy_j_m2')
  u = np.array([0.25, 0.5])
  x = p.decode(u)
  # log scale: the midpoint of [0.2, 1.0] is the geometric mean.
  assert x['surface_energy_j_m2'] == pytest.approx(math.sqrt(0.2 * 1.0))
  assert x['ion_concentration_mol_m3'] == pytest.approx(500.0 * 4.0**0.25)
  np.testing.assert_allclose(p.encode(x), u, atol=1e-12)
  np.testing.assert_allclose(p.decode(np.zeros(2))['surface_energy_j_m2'], 0.2)
  np.testing.assert_allclose(p.decode(np.ones(2))['ion_concentration_mol_m3'], 2000.0)


def test_projection_onto_the_bounds():
  u = jnp.array([-0.3, 0.4, 1.7])
  np.testing.assert_allclose(problem_lib.project(u), [0.0, 0.4, 1.0])
  # Projection is the identity inside the box and idempotent.
  v = jnp.array([0.1, 0.9])
  np.testing.assert_allclose(problem_lib.project(v), v)
  np.testing.assert_allclose(problem_lib.project(problem_lib.project(u)), problem_lib.project(u))


@pytest.mark.parametrize('variables, culprit, words', [
    ({'surface_energy_j_m2': (0.8, 0.3, 'linear')}, 'surface_energy_j_m2', 'infeasible bounds'),
    ({'ion_concentration_mol_m3': (-5.0, 100.0, 'linear')}, 'ion_concentration_mol_m3', '> 0'),
    ({'temperature_k': (250.0, float('nan'), 'linear')}, 'temperature_k', 'finite'),
    ({'current_ma_cm2': (0.0, 10.0, 'log')}, 'current_ma_cm2', '> 0'),
    ({'pulse_duty': (0.1, 0.5, 'linear')}, 'pulse_duty', 'not a design variable'),
    ({'n_defects': (1.0, 3.0, 'linear')}, 'n_defects', 'discrete'),
])
def test_infeasible_bounds_name_the_variable(variables, culprit, words):
  with pytest.raises(problem_lib.DesignError, match=words) as e:
    _make(_config(**variables))
  assert e.value.variable == culprit
  assert culprit in str(e.value)


def test_unreachable_charge_names_the_variable_to_change():
  config = _config()
  config.problem.protocol = 'pulse'
  del config.problem.fixed['current_ma_cm2']
  config.problem.variables = ml_collections.ConfigDict({
      'pulse_on_time_s': (0.5, 2.0, 'linear'), 'pulse_duty': (0.2, 1.0, 'linear'),
      'pulse_amplitude_ma_cm2': (20.0, 40.0, 'linear')})
  config.problem.charge_mah_cm2 = 0.02    # duty 0.2 at 20 mA/cm^2 passes 0.0067 in 6 s
  with pytest.raises(problem_lib.DesignError, match='unreachable charge') as e:
    _make(config)
  assert e.value.variable == 'pulse_duty'
  # In 20 s the worst corner (duty 0.2 at 20 mA/cm^2) passes 0.022 mAh/cm^2 >= Q: accepted.
  config.problem.max_time_s = 20.0
  p = _make(config)
  assert p.protocol == 'pulse'


def test_nominal_charge_of_a_pulse_is_duty_times_amplitude_times_time():
  settings = study.simulator_settings(_config())
  q = sa.nominal_charge_mah_cm2({'pulse_on_time_s': 0.5, 'pulse_duty': 0.25,
                                 'pulse_amplitude_ma_cm2': 80.0}, 'pulse', settings)
  assert q == pytest.approx(0.25 * 80.0 * 6.0 / 3600.0, rel=0.03)


def test_smoothed_pulse_is_constant_at_duty_one_and_off_between_pulses():
  """The pulse sums this period's and the neighbouring smoothed pulse: duty 1 is exactly constant
  current (one sigmoid alone dipped to half the amplitude at every period boundary), and with on
  and off times of 10 edges the mean is amplitude x duty and the off current ~1 %."""
  settings = study.simulator_settings(_config())
  t = np.linspace(0.0, 12.0, 24001)
  amp, on = 20.0, 10.0 * settings.pulse_edge_s
  full = sa.target_current_ma_cm2({'pulse_on_time_s': on, 'pulse_duty': 1.0,
                                   'pulse_amplitude_ma_cm2': amp}, 'pulse', t, settings)
  np.testing.assert_allclose(full, amp, rtol=1e-6)
  half = sa.target_current_ma_cm2({'pulse_on_time_s': on, 'pulse_duty': 0.5,
                                   'pulse_amplitude_ma_cm2': amp}, 'pulse', t, settings)
  mid_off = (np.arange(5) + 0.5) * 2.0 * on           # half-way between pulses: 2 s(-off / 2)
  off_current = sa.target_current_ma_cm2({'pulse_on_time_s': on, 'pulse_duty': 0.5,
                                          'pulse_amplitude_ma_cm2': amp}, 'pulse', mid_off,
                                         settings)
  np.testing.assert_allclose(off_current, 2.0 * amp / (1.0 + np.exp(5.0)), rtol=1e-6)
  centres = sa.target_current_ma_cm2({'pulse_on_time_s': on, 'pulse_duty': 0.5,
                                      'pulse_amplitude_ma_cm2': amp}, 'pulse',
                                     np.arange(5) * 2.0 * on, settings)
  assert centres.min() > 0.99 * amp                 # s(on / 2) = sigmoid(5) = 0.9933
  assert np.mean(half) == pytest.approx(0.5 * amp, rel=0.01)


def test_nan_objective_and_gradient_and_unreached_charge_stop_naming_the_culprit():
  p = _make(_config())
  values = p.decode(np.array([0.5, 0.5]))
  good = {problem_lib.OBJECTIVE: 3.0, 'final_charge_mah_cm2': 1.0}
  problem_lib.check_evaluation(p, values, good, [0.1, 0.2])
  with pytest.raises(problem_lib.DesignError, match='objective is nan') as e:
    problem_lib.check_evaluation(p, values, {**good, problem_lib.OBJECTIVE: float('nan')})
  assert e.value.variable == problem_lib.OBJECTIVE
  assert 'surface_energy_j_m2=' in str(e.value)      # the design point is named too
  with pytest.raises(problem_lib.DesignError, match='gradient') as e:
    problem_lib.check_evaluation(p, values, good, [0.1, float('nan')])
  assert e.value.variable == 'surface_energy_j_m2'
  with pytest.raises(problem_lib.DesignError, match='not reached') as e:
    problem_lib.check_evaluation(p, values, {**good, 'final_charge_mah_cm2': 0.01})
  assert e.value.variable == 'charge_mah_cm2'


def test_value_at_charge_interpolates_in_charge():
  charge = jnp.array([0.0, 1.0, 2.0, 4.0])
  length = jnp.array([5.0, 6.0, 8.0, 12.0])
  assert float(problem_lib.value_at_charge(length, charge, 3.0)) == pytest.approx(10.0)
  assert float(problem_lib.value_at_charge(length, charge, 0.5)) == pytest.approx(5.5)
  # A charge never reached gives the last frame (it was the second, argmax of all-False).
  assert float(problem_lib.value_at_charge(length, charge, 9.0)) == pytest.approx(12.0)


def test_baseline_that_cannot_reach_the_charge_is_named():
  config = _config()
  config.problem.baseline.current_ma_cm2 = 1.0     # 1 mA/cm^2 x 6 s << Q
  with pytest.raises(problem_lib.DesignError, match='unreachable charge') as e:
    _make(config)
  assert e.value.variable == 'baseline.current_ma_cm2'


def test_bad_baseline_value_is_named_with_its_block():
  config = _config()
  config.problem.baseline.current_ma_cm2 = -5.0
  with pytest.raises(problem_lib.DesignError, match='must be > 0') as e:
    _make(config)
  assert e.value.variable == 'baseline.current_ma_cm2'


def test_a_corner_the_simulator_rejects_is_named():
  config = _config()
  config.simulation.dt_s = 0.5     # at 40 mA/cm^2 the front would move 0.03 cells a step
  with pytest.raises(problem_lib.DesignError, match='accuracy bound') as e:
    _make(config)
  assert e.value.variable == 'SimulationConfig.dt_s'


@pytest.mark.parametrize('name', ['pulse', 'pulse_small', 'pulse_resolved', 'electrolyte',
                                  'three_stage', 'three_stage_resolved', 'multistep_resolved',
                                  'multistep_from_baseline', 'three_stage_from_baseline', 'tiny'])
def test_every_shipped_problem_is_feasible(name):
  """Each config under configs/design builds: valid simulation settings, non-empty bounds, and
  every corner and the baseline pass Q in time on the nominal schedule (no simulation)."""
  config = importlib.import_module(f'configs.design.{name}').get_config()
  p = _make(config)
  assert p.dim == len(config.problem.variables)
  centre = p.decode(np.full(p.dim, 0.5))
  assert all(math.isfinite(float(v)) for v in centre.values())
  start = problem_lib.start_in_box(p, config.start)             # a configured start is in the box
  assert start is None or start.shape == (p.dim,)


def _multistep(currents, step_charge=0.02):
  return {'step_charge_mah_cm2': step_charge,
          **{sa.step_name(k + 1): i for k, i in enumerate(currents)}}


def test_each_multistep_step_passes_its_share_of_the_charge():
  """Attia-style steps: each current is held until it has passed step_charge (its switch time
  moves with it), the last one to the end; equal currents are constant current."""
  settings = dataclasses.replace(study.simulator_settings(_config()), switch_width_s=0.05)
  values = _multistep([10.0, 40.0, 20.0])
  switches = sa.multistep_switch_times_s(values)
  np.testing.assert_allclose(switches, [3600 * 0.02 / 10, 3600 * 0.02 / 10 + 3600 * 0.02 / 40])
  after = 0.5     # s after a switch: 10 widths, past the (symmetric) sigmoid
  for k, (t_k, i_next) in enumerate(zip(switches, (40.0, 20.0)), start=1):
    q = sa.nominal_charge_mah_cm2(values, 'multistep', settings, time_s=t_k + after)
    assert q == pytest.approx(k * 0.02 + i_next * after / 3600.0, rel=0.002)
  mid = np.array([0.5 * switches[0], 0.5 * (switches[0] + switches[1]), switches[1] + 2.0])
  np.testing.assert_allclose(sa.target_current_ma_cm2(values, 'multistep', mid, settings),
                             [10.0, 40.0, 20.0], rtol=1e-3)
  flat = sa.target_current_ma_cm2(_multistep([25.0] * 4), 'multistep',
                                  np.linspace(0.0, 6.0, 61), settings)
  np.testing.assert_allclose(flat, 25.0, rtol=1e-6)
  assert float(sa.current_scale_ma_cm2(values, 'multistep')) == 40.0


def test_multistep_charge_is_differentiable_in_every_step_current():
  """Past the second switch (1.8 s and 2.25 s here) the charge passed depends on every step's
  current, the first two through the switch times alone; jax.grad agrees with central
  differences."""
  settings = dataclasses.replace(study.simulator_settings(_config()), switch_width_s=0.05)
  currents = jnp.array([10.0, 40.0, 20.0])
  charge_at = lambda c: sa.nominal_charge_series(_multistep(list(c), step_charge=0.005),
                                                 'multistep', settings, times_s=[4.0])[0]
  grad = np.asarray(jax.grad(charge_at)(currents))
  eps = 0.05
  fd = [(charge_at(currents.at[k].add(eps)) - charge_at(currents.at[k].add(-eps))) / (2 * eps)
        for k in range(3)]
  # q(4 s) = 2 q_step + i3 (4 s - t2) / 3600, t2 = 3600 q_step (1 / i1 + 1 / i2).
  np.testing.assert_allclose(grad, [20 * 0.005 / 100, 20 * 0.005 / 1600, 1.75 / 3600], rtol=0.02)
  np.testing.assert_allclose(grad, fd, rtol=0.02)


def test_multistep_steps_numbered_with_a_gap_name_the_missing_step():
  config = _config(step1_current_ma_cm2=(10.0, 40.0, 'log'),
                   step3_current_ma_cm2=(10.0, 40.0, 'log'))
  config.problem.protocol = 'multistep'
  config.problem.fixed = ml_collections.ConfigDict({'n_defects': 3.0, 'step_charge_mah_cm2': 0.01,
                                                    'step2_current_ma_cm2': 20.0,
                                                    'step5_current_ma_cm2': 20.0})
  with pytest.raises(problem_lib.DesignError, match='without a gap') as e:
    _make(config)
  assert e.value.variable == 'step4_current_ma_cm2'


def test_points_in_box_fill_the_rest_and_name_a_bad_variable():
  p = _make(_config())
  u = problem_lib.points_in_box(p, [{'surface_energy_j_m2': 1.0}, {}], fill_u=0.5)
  np.testing.assert_allclose(u[0], [0.5, 1.0])
  np.testing.assert_allclose(u[1], [0.5, 0.5])
  with pytest.raises(problem_lib.DesignError, match='outside the bounds') as e:
    problem_lib.points_in_box(p, [{'ion_concentration_mol_m3': 3000.0}])
  assert e.value.variable == 'ion_concentration_mol_m3'
  with pytest.raises(problem_lib.DesignError, match='not a variable') as e:
    problem_lib.points_in_box(p, [{'temperature_k': 300.0}])
  assert e.value.variable == 'temperature_k'


def test_a_configured_start_names_every_variable_within_the_bounds():
  p = _make(_config())
  assert problem_lib.start_in_box(p, {}) is None                  # each seed draws its own
  u = problem_lib.start_in_box(p, {'ion_concentration_mol_m3': 1000.0,
                                   'surface_energy_j_m2': 0.2 * 5.0**0.25})
  np.testing.assert_allclose(u, [0.5, 0.25])
  for start, culprit, words in (
      ({'ion_concentration_mol_m3': 1000.0}, 'start.surface_energy_j_m2', 'missing'),
      ({'ion_concentration_mol_m3': 1000.0, 'surface_energy_j_m2': 0.5, 'temperature_k': 300.0},
       'start.temperature_k', 'not a variable'),
      ({'ion_concentration_mol_m3': 1000.0, 'surface_energy_j_m2': 2.0},
       'start.surface_energy_j_m2', 'outside the bounds')):
    with pytest.raises(problem_lib.DesignError, match=words) as e:
      problem_lib.start_in_box(p, start)
    assert e.value.variable == culprit
