"""Physical statistics of simulated trajectories: is a dataset's regime one a cell sees?

Per trajectory (`trajectory_stats`): the mean current density (mA/cm^2), the salt
concentration c/c0 extremes in the electrolyte, the final dendrite length and interface length
over the width, the charge passed, and for constant current the charge delivered against the
charge asked for and the current over the limiting current. `with_intervals` summarises rows
with 95 % bootstrap intervals over trajectories. The command is `experiments.dataset_stats`.
"""

from __future__ import annotations

import numpy as np

from dendrax.physics import coefficients
from dendrax.physics import electrolytes
from dendrax.physics import parameters

SPLITS = ('train', 'validation', 'test', 'ood')   # a dendrite_sim build's splits
CONSTANT_CURRENT = parameters.PROTOCOLS.index('constant_current')
SHORT_OF_CURRENT = 0.95   # delivered / asked below this: the cutoff capped the current


def trajectory_stats(example: dict) -> dict[str, float]:
  """Mean current (mA/cm^2), c/c0 extremes in the electrolyte, final and interface lengths."""
  t = np.asarray(example['time_s'], float)
  charge = np.asarray(example['charge_c_per_m2'], float)
  mean_ma_cm2 = charge[-1] / t[-1] / 10.0 if t[-1] > 0 else float('nan')   # A/m^2 -> mA/cm^2
  xi = np.asarray(example['xi'], float)
  c = np.asarray(example['concentration'], float)
  electrolyte = xi < 0.5
  width_um = xi.shape[-1] * float(example['pixel_size_um'])
  return {
      'mean_current_ma_cm2': float(mean_ma_cm2),
      'c_min': float(c[electrolyte].min()), 'c_max': float(c[electrolyte].max()),
      'length_um': float(np.asarray(example['length_um'])[-1]),
      'interface_over_width': float(np.asarray(example['interface_length_um'])[-1] / width_um),
      'charge_mah_cm2': float(charge[-1] / coefficients.C_PER_M2_PER_MAH_CM2),
      'delivered_fraction': delivered_fraction(example),
      'over_limiting': over_limiting(example),
  }


def delivered_fraction(example: dict) -> float:
  """Constant current: charge passed / (J x elapsed time), J = sigma_nom E of the parameters;
  NaN for the other protocols."""
  if int(example['protocol']) != CONSTANT_CURRENT:
    return float('nan')
  t = np.asarray(example['time_s'], float)
  charge = np.asarray(example['charge_c_per_m2'], float)
  asked = float(electrolytes.current_density_for_field(float(example['params'][2])))
  return float(abs(charge[-1] - charge[0]) / (asked * (t[-1] - t[0])))


def over_limiting(example: dict) -> float:
  """Constant current: J / i_lim, the asked current over the flat cell's limiting current
  z F D c0 / (t_- (H + L_N)) (H the electrolyte above the initial electrode, L_N = c0 / G the
  Nernst layer; `electrolytes`); NaN for the other protocols."""
  if int(example['protocol']) != CONSTANT_CURRENT:
    return float('nan')
  p = parameters.PhysicalParams.from_vector(np.asarray(example['params'], np.float64))
  chemistry = parameters.CHEMISTRIES[int(example['chemistry'])]
  e = electrolytes.electrolyte_coefficients(p, chemistry, interface_width_um=1.0)
  height_um = (np.shape(example['xi'])[-2] * float(example['pixel_size_um'])
               - float(example['electrode_height_um']))
  limiting = electrolytes.limiting_current_a_m2(
      float(e.salt_diffusivity_um2_s) * 1e-12, float(p.ion_concentration_mol_m3),
      float(e.anion_transference), (height_um + float(e.supply_length_um)) * 1e-6,
      charge_number=electrolytes.get_electrolyte(chemistry).charge_number)
  return float(electrolytes.current_density_for_field(float(p.field_strength_kv_per_m))
               / limiting)


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
  col = lambda k: np.array([r[k] for r in rows])
  cur, length, ifl = col('mean_current_ma_cm2'), col('length_um'), col('interface_over_width')
  q = lambda a, p: float(np.quantile(a, p))
  delivered = col('delivered_fraction')
  delivered = delivered[np.isfinite(delivered)]
  cc = {} if not delivered.size else {
      'constant_current_trajectories': int(delivered.size),
      'constant_current_fraction_short': float(np.mean(delivered < SHORT_OF_CURRENT)),
      'constant_current_delivered_min': float(delivered.min()),
      'constant_current_delivered_median': q(delivered, 0.5)}
  ratio = col('over_limiting')
  ok = np.isfinite(ratio) & np.isfinite(col('delivered_fraction'))
  short = col('delivered_fraction')[ok] < SHORT_OF_CURRENT
  if ok.any():
    ratio = ratio[ok]
    cc.update({'constant_current_over_limiting_max_delivered':
                   float(ratio[~short].max()) if (~short).any() else None,
               'constant_current_over_limiting_min_short':
                   float(ratio[short].min()) if short.any() else None})
  return {**cc,
      'trajectories': len(rows),
      'mean_current_ma_cm2_median': q(cur, 0.5), 'mean_current_ma_cm2_p05': q(cur, 0.05),
      'mean_current_ma_cm2_p95': q(cur, 0.95), 'mean_current_ma_cm2_max': float(cur.max()),
      'fraction_c_above_2': float(np.mean(col('c_max') > 2.0)),
      'fraction_c_below_0': float(np.mean(col('c_min') < 0.0)),
      'c_min': float(col('c_min').min()), 'c_max': float(col('c_max').max()),
      'length_um_p05': q(length, 0.05), 'length_um_median': q(length, 0.5),
      'length_um_p95': q(length, 0.95),
      'interface_over_width_median': q(ifl, 0.5), 'interface_over_width_max': float(ifl.max()),
  }


# Summaries that get a bootstrap interval (the extremes and counts do not).
CI_KEYS = ('mean_current_ma_cm2_median', 'mean_current_ma_cm2_p05', 'mean_current_ma_cm2_p95',
           'fraction_c_above_2', 'fraction_c_below_0', 'length_um_p05', 'length_um_median',
           'length_um_p95', 'interface_over_width_median', 'constant_current_fraction_short',
           'constant_current_delivered_median')


def with_intervals(rows: list[dict[str, float]], samples: int = 1000, seed: int = 0
                   ) -> dict[str, object]:
  """`summarise(rows)` plus 'ci': {key: [low, high]}, the 2.5 / 97.5 percentiles of each
  `CI_KEYS` summary over `samples` resamples of the trajectories with replacement."""
  out = summarise(rows)
  rng = np.random.default_rng(seed)
  draws = [summarise([rows[i] for i in rng.integers(len(rows), size=len(rows))])
           for _ in range(samples)]
  out['ci'] = {}
  for k in CI_KEYS:
    vals = np.array([d.get(k, np.nan) for d in draws], np.float64)
    vals = vals[np.isfinite(vals)]
    if k in out and vals.size:
      out['ci'][k] = [float(v) for v in np.percentile(vals, [2.5, 97.5])]
  return out
