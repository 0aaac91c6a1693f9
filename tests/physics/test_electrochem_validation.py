"""The electroneutral model against analytic electrochemistry, at CI size (flat electrode, 1-D).

Validations (laws from outside the code; issue 9 tolerances):
* Sand's time (binary electrolyte, t_- factor) within 5 %;
* limiting current z F D c0 / (t_- L) within 5 % (galvanostatic: J / (1 - c_s / c0));
* Tafel slope ln10 RT / (alpha z F) within 2 %;
* Cottrell i = z F c0 sqrt(D / (pi t)) / t_- within 5 % after a deep potentiostatic step.
Regression (true by construction of the scheme):
* Faraday: deposited metal = integral J dt / (z F) within 0.1 %, on a 2-D run with nuclei.
Full-size numbers: experiments/validate_physics.py, docs/validation.md.
"""

import math

from configs import validate_physics
from dendrax.analysis import electrochem_checks as ec
from dendrax.physics import electrolytes as el
from tests.conftest import run_optimised


def _config():
  return validate_physics.get_config()


def test_sand_time_within_5_percent():
  """20 mA/cm^2 at the config's dt-converged 2000 steps per t_Sand (2.3 % late at full size).
  Not 40 mA/cm^2: converged in dt it is 5.2 % late (docs/validation.md), and 500 steps would
  pass it only through a dt error of the opposite sign."""
  assert _config().sand.steps_per_sand_time >= 2000
  # Simulation-bound (2120 steps of a 4 x 888 float64 column): at XLA's defaults, not the
  # suite's compile-fast flags (tests/conftest.py).
  e = run_optimised(
      'import json\n'
      'from configs import validate_physics\n'
      'from dendrax.analysis import electrochem_checks as ec\n'
      'c = validate_physics.get_config().sand\n'
      'c.height_factor = 4.0\n'
      'e = ec.sand_time(20.0, 1000.0, c)\n'
      'print(json.dumps({k: e[k] for k in ("passed", "measured", "reference", "rel_error")}))')
  assert e['passed'], e
  assert math.isclose(e['reference'], 153.12, rel_tol=1e-3)   # pi D (F c0)^2 / (4 (J t_-)^2)


def test_sand_steps_bound_the_salt_one_step_takes():
  """Regression for the dt rule (not a validation): at 5 mA/cm^2 and 1 M a step may take at most
  max_depletion_per_step of the interface's salt c0 l (0.16 per step made t_S 5 % early there),
  which needs ~3900 steps per t_S; at 20 mA/cm^2 the 2000-step floor binds."""
  c = _config().sand
  assert c.max_depletion_per_step <= 0.08
  e = el.get_electrolyte('Li')
  for ma_cm2, at_least in ((5.0, 3900), (20.0, 2000)):
    j = ma_cm2 * 10.0
    t_s = el.sand_time_s(j, e.salt_diffusivity_m2_s, 1000.0, 1.0 - e.cation_transference,
                            e.charge_number)
    steps, per_step = ec.sand_steps(j, t_s, 1000.0, math.inf, c)
    salt_per_step = (t_s / steps) * (1.0 - e.cation_transference) * j / (
        c.interface_width_um * 1e-6 * 1000.0 * e.charge_number * el.FARADAY)
    assert steps >= at_least and math.isclose(per_step, salt_per_step, rel_tol=1e-6)
    assert per_step <= c.max_depletion_per_step + 1e-12
  assert ec.sand_steps(50.0, 2450.0, 1000.0, 0.1, c)[0] >= 2450.0 / 0.09   # the accuracy bound


def test_limiting_current_within_5_percent():
  c = _config().limiting_current
  c.length_um, c.current_density_ma_cm2, c.t_end_s = 50.0, 40.0, 20.0
  e = ec.limiting_current(c)
  assert e['passed'], e
  assert 0.5 < e['inputs']['surface_concentration_ratio'] < 0.7   # J = 0.4 i_lim: c_s ~ 0.6


def test_cottrell_within_5_percent():
  """A -1.6 V step from fresh electrolyte: stable (the potential and the reaction are solved
  together) and on Cottrell's i ~ t^-1/2 with the binary-electrolyte 1/t_- factor."""
  c = _config().cottrell
  c.height_um, c.t_start_s, c.t_end_s, c.record_every_s = 250.0, 8.0, 15.0, 0.5
  e = ec.cottrell(c)
  assert e['passed'], e


def test_tafel_slope_within_2_percent():
  c = _config().tafel
  c.current_densities_ma_cm2, c.t_s = (5.0, 20.0, 50.0), 0.05
  e = ec.tafel(c)
  assert e['passed'], e


def test_faraday_regression():
  c = _config().faraday
  c.n, c.t_end_s = 16, 4.0
  e, residual = ec.faraday(c)
  assert e['passed'] and e['rel_error'] < 1e-9, e
  assert e['measured'] > 0
  assert residual['measured'] < 0.05, residual


def test_tip_speed_ratio_finds_where_the_tip_outruns_the_front():
  """The crossover arithmetic on a made-up record: mean front at 1 um/s throughout, the tip at
  1 um/s until t = 10 s and 3 um/s after."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  t = np.arange(0.0, 20.01, 0.5)
  mean = 5.0 + t
  tip = 8.0 + t + 2.0 * np.maximum(t - 10.0, 0.0)
  mid, ratio = ec.tip_speed_ratio(t, tip, mean, window=2)
  np.testing.assert_allclose(ratio[mid <= 9.5], 1.0)
  np.testing.assert_allclose(ratio[mid >= 10.5], 3.0)
  assert mid[np.argmax(ratio >= 2.0)] == 10.0     # the window 9.5-10.5 s averages 2x


def test_sand_transition_runs_and_reports_its_crossover():
  """A small strip at 40 mA/cm^2 and c0 = 0.5 M (t_S = 9.6 s) to 1.5 t_S: the entry carries the
  Sand time of its inputs and the tip / front speed series; before t_S the cutoff has not bound
  (the full sweep and its verdict: docs/validation.md)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  c = _config().sand_transition
  c.width_um, c.steps_per_sand_time, c.end_fraction, c.height_factor = 16.0, 100, 1.5, 3.0
  c.solver_iterations = 8
  e = ec.sand_transition(40.0, 500.0, c)
  i = e['inputs']
  t_s = math.pi * i['diffusivity_m2_s'] * (i['charge_number'] * i['concentration_mol_m3']
                                            * i['faraday_c_mol'])**2 / (
      4.0 * (i['current_density_a_m2'] * i['transference_number'])**2)
  assert abs(e['sand_time_s'] / t_s - 1.0) < 1e-6     # inputs are the run's float32 values
  x = np.asarray(e['series']['t_over_t_sand'])
  assert x.size > 10 and np.isfinite(e['series']['tip_speed_ratio']).all()
  assert not e['cutoff_reached_t_sand'] < 1.0
  assert e['passed'] == bool(np.isfinite(e['measured']) and 1 / 1.5 <= e['measured'] <= 1.5)
