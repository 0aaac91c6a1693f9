"""experiments.dataset_stats: the charge a constant-current trajectory delivered against the
charge it asked for (J = sigma_nom E x time), the check that caught voltage-capped currents."""

import math

import numpy as np

from dendrax.physics import parameters
from experiments import dataset_stats


def _example(protocol: str, charge_end_c_per_m2: float) -> dict:
  params = np.array([298.0, 5.5, 0.05, 707.0, 0.45, 316.0, 4.0])   # E = 0.05 kV/m: 50 A/m^2
  return {'protocol': parameters.PROTOCOLS.index(protocol), 'params': params,
          'time_s': np.arange(8) * 30.0, 'charge_c_per_m2': np.linspace(0, charge_end_c_per_m2, 8)}


def test_delivered_fraction_of_constant_current_and_nan_otherwise():
  assert math.isclose(dataset_stats.delivered_fraction(_example('constant_current', 50 * 210.0)), 1)
  assert math.isclose(dataset_stats.delivered_fraction(_example('constant_current', 25 * 210.0)),
                      0.5)
  assert math.isnan(dataset_stats.delivered_fraction(_example('constant_voltage', 1.0)))
