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


def _film(height_um: float, shape=(64, 32), decay_um: float = 1.25) -> np.ndarray:
  """A flat electrode with a tanh interface at `height_um` (1 um cells; row 0 the bottom)."""
  y = np.arange(shape[0])[:, None] + 0.5
  return np.broadcast_to(0.5 * (1.0 - np.tanh((y - height_um) / decay_um)), shape).copy()


def test_diffuse_deposit_is_zero_for_a_grown_film_and_the_cloud_share_for_a_cloud_above_it():
  """A film grown by 4 um has only its interface tail beyond 5 um (< 1 % of the metal); a
  partial phase xi = 0.3 on 10 x 10 cells far above it is 30 / (4 x 32 + 30) of the deposit."""
  before, after = _film(10.0), _film(14.0)
  d = dataset_stats.diffuse_deposit(after, before, 1.0)
  assert d['diffuse_deposit_fraction'] < 0.01 and d['detached_solid_um2'] == 0.0
  cloud = after.copy()
  cloud[40:50, 5:15] = 0.3
  d = dataset_stats.diffuse_deposit(cloud, before, 1.0)
  assert math.isclose(d['diffuse_deposit_fraction'], 30.0 / (4 * 32 + 30), rel_tol=0.01)
  assert d['detached_solid_um2'] == 0.0          # xi < 1/2: diffuse, not solid


def test_detached_solid_is_counted_and_branches_attached_across_the_periodic_edge_are_not():
  film = _film(10.0)
  branch = film.copy()
  branch[10:31, 0] = 1.0             # a stem at x = 0 up to row 30 ...
  branch[30, 29:32] = 1.0            # ... bent across the periodic edge ...
  branch[30:41, 29] = 1.0            # ... and up again at x = 29: attached only through the edge
  d = dataset_stats.diffuse_deposit(branch, film, 1.0)
  assert d['detached_solid_um2'] == 0.0
  island = film.copy()
  island[40:44, [30, 31, 0, 1]] = 1.0          # a 4 x 4 island split by the periodic edge
  d = dataset_stats.diffuse_deposit(island, film, 0.5)
  assert d['detached_solid_um2'] == 16 * 0.25
  assert d['diffuse_deposit_fraction'] > 0.99   # all of the new metal is far from the solid
