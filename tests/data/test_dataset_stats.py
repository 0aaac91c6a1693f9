"""dendrax.analysis.dataset_stats (what `experiments.dataset_stats` prints): the charge a
constant-current trajectory delivered against the charge it asked for (J = sigma_nom E x time),
the check that caught voltage-capped currents."""

import math

import numpy as np

from dendrax.physics import parameters
from dendrax.analysis import dataset_stats


def _example(protocol: str, charge_end_c_per_m2: float) -> dict:
  params = np.array([298.0, 5.5, 0.05, 707.0, 0.45, 316.0, 4.0])   # E = 0.05 kV/m: 50 A/m^2
  return {'protocol': parameters.PROTOCOLS.index(protocol), 'params': params,
          'time_s': np.arange(8) * 30.0, 'charge_c_per_m2': np.linspace(0, charge_end_c_per_m2, 8)}


def test_delivered_fraction_of_constant_current_and_nan_otherwise():
  assert math.isclose(dataset_stats.delivered_fraction(_example('constant_current', 50 * 210.0)), 1)
  assert math.isclose(dataset_stats.delivered_fraction(_example('constant_current', 25 * 210.0)),
                      0.5)
  assert math.isnan(dataset_stats.delivered_fraction(_example('constant_voltage', 1.0)))


def test_over_limiting_is_the_asked_current_over_the_analytic_limiting_current():
  """J / i_lim with i_lim = z F D c0 / (t_- (H + c0 / G)) recomputed here from the preset's
  coefficients (Li; 64 cells of 1 um above a 6 um electrode, Nernst layer c0 / G)."""
  from dendrax.physics import electrolytes
  ex = dict(_example('constant_current', 1.0), chemistry=0, xi=np.zeros((8, 64, 64)),
            pixel_size_um=1.0, electrode_height_um=6.0)
  p = parameters.PhysicalParams.from_vector(ex['params'])
  d = float(electrolytes.electrolyte_coefficients(
      p, 'Li', interface_width_um=1.0).salt_diffusivity_um2_s) * 1e-12
  li = electrolytes.get_electrolyte('Li')
  limiting = 96485.332 * d * 707.0 / ((1 - li.cation_transference) * (58.0 + 707.0 / 5.5) * 1e-6)
  assert math.isclose(dataset_stats.over_limiting(ex), 50.0 / limiting, rel_tol=1e-4)
  assert math.isnan(dataset_stats.over_limiting(dict(ex, protocol=0)))


def test_quantiles_and_fractions_carry_trajectory_bootstrap_intervals():
  rng = np.random.default_rng(0)
  rows = [{'mean_current_ma_cm2': float(j), 'length_um': float(l), 'interface_over_width': 1.0,
           'c_min': 0.2, 'c_max': float(c), 'delivered_fraction': float('nan'),
           'over_limiting': float('nan')}
          for j, l, c in zip(rng.uniform(1, 10, 40), rng.uniform(1, 5, 40),
                             [2.5] * 10 + [1.0] * 30)]
  s = dataset_stats.with_intervals(rows, samples=200)
  for key in ('mean_current_ma_cm2_median', 'length_um_median', 'fraction_c_above_2'):
    lo, hi = s['ci'][key]
    assert lo <= s[key] <= hi and lo < hi, key
  assert s['fraction_c_above_2'] == 0.25
  assert s['ci']['interface_over_width_median'] == [1.0, 1.0]      # constant: no spread
  assert 'constant_current_fraction_short' not in s['ci']           # no such trajectories


def test_charge_and_mean_current_in_cell_units():
  """50 A/m^2 for 210 s is 10500 C/m^2: 5 mA/cm^2 and 10500 / 36000 = 0.2917 mAh/cm^2 (1 mAh/cm^2
  = 3.6 C/cm^2; a constant of 36 instead of 36000 reported 1000x the charge until 2026-12-03)."""
  ex = dict(_example('constant_current', 50 * 210.0), xi=np.zeros((8, 4, 4)),
            concentration=np.ones((8, 4, 4)), pixel_size_um=1.0, length_um=np.ones(8),
            interface_length_um=np.full(8, 4.0), chemistry=0, electrode_height_um=1.0)
  stats = dataset_stats.trajectory_stats(ex)
  assert math.isclose(stats['mean_current_ma_cm2'], 5.0)
  assert math.isclose(stats['charge_mah_cm2'], 10500.0 / 36000.0)
