"""Physical statistics of simulated trajectories: is a dataset's regime one a cell sees?

Per trajectory (`trajectory_stats`): the mean current density (mA/cm^2), the salt
concentration c/c0 extremes in the electrolyte, the final dendrite length and interface length
over the width, the charge passed, for constant current the charge delivered against the
charge asked for and the current over the limiting current, and how much of the deposit is a
diffuse partial phase away from the electrode's solid (`diffuse_deposit`). `with_intervals`
summarises rows with 95 % bootstrap intervals over trajectories. The command is
`experiments.dataset_stats`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from dendrax.physics import coefficients
from dendrax.physics import electrolytes
from dendrax.physics import parameters

SPLITS = ('train', 'validation', 'test', 'ood')   # a dendrite_sim build's splits
CONSTANT_CURRENT = parameters.PROTOCOLS.index('constant_current')
SHORT_OF_CURRENT = 0.95   # delivered / asked below this: the cutoff capped the current
# Deposit farther than this from the electrode's solid is not interface: two of the dataset's
# 2.5 um interface widths (a tanh profile's tail there holds ~1e-3 of a column's metal), or two
# of the frame's own widths where its interface is wider (`interface_width_estimate_um`).
DIFFUSE_MARGIN_UM = 5.0
DIFFUSE_FLAG = 0.05       # a trajectory with more of its deposit diffuse than this is flagged


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
      **diffuse_deposit(xi[-1], xi[0], float(example['pixel_size_um'])),
  }


def interface_width_estimate_um(xi, pixel_size_um: float) -> float:
  """Width of a near-flat electrode's interface: the area with 0.1 < xi < 0.9 over the
  electrode's width (2.47 um for the dataset's l = 2.5 um, 1.21 for 1.25)."""
  xi = np.asarray(xi)
  return float(np.sum((xi > 0.1) & (xi < 0.9)) * pixel_size_um / xi.shape[-1])


def diffuse_deposit(xi, xi_initial, pixel_size_um: float,
                    margin_um: float | None = None) -> dict[str, float]:
  """How much of a frame's deposit is not attached, resolved metal.

  The electrode's solid is every cell with xi > 1/2 connected (8-neighbour, periodic in x) to
  the bottom row. Returns 'diffuse_deposit_fraction', the metal (sum of xi) farther than
  `margin_um` (default: DIFFUSE_MARGIN_UM, or twice the interface width of `xi_initial` where
  that is larger) from that solid as a share of the metal deposited since `xi_initial` (0 if less
  than one cell's worth was deposited), and 'detached_solid_um2', the area with xi > 1/2 not
  connected to it. Past Sand's time the diffuse interface grows such a partial phase (xi ~
  0.1-0.5) through the depleted layer ahead of the deposit, which then condenses into floating
  islands: no resolved morphology (docs/physics.md, "Past Sand's time").
  """
  xi = np.asarray(xi, np.float64)
  xi_initial = np.asarray(xi_initial, np.float64)
  if margin_um is None:
    margin_um = max(DIFFUSE_MARGIN_UM, 2.0 * interface_width_estimate_um(xi_initial, pixel_size_um))
  width = xi.shape[-1]
  tiled = np.concatenate([xi > 0.5] * 3, axis=-1)      # periodic in x: label three copies
  labels, _ = ndimage.label(tiled, structure=np.ones((3, 3), bool))
  attached = np.setdiff1d(np.unique(labels[0]), [0])
  solid = np.isin(labels, attached)
  if not solid.any():
    return {'diffuse_deposit_fraction': float('nan'), 'detached_solid_um2': float('nan')}
  distance = ndimage.distance_transform_edt(~solid)[:, width:2 * width] * pixel_size_um
  far = distance > margin_um
  deposited = float(xi.sum() - xi_initial.sum())
  diffuse = max(float(xi[far].sum() - xi_initial[far].sum()), 0.0)
  detached = float(np.sum(tiled[:, width:2 * width] & ~solid[:, width:2 * width]))
  return {'diffuse_deposit_fraction': diffuse / deposited if deposited > 1.0 else 0.0,
          'detached_solid_um2': detached * pixel_size_um ** 2}


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
      **_diffuse_summary(rows),
  }


def diffuse_fraction_at_charge(xi_T, charge_T, q: float, pixel_size_um: float) -> float:
  """'diffuse_deposit_fraction' at the first frame whose charge passed reaches `q` (frames
  `xi_T` [T, H, W] against frame 0; NaN if `q` is never reached)."""
  charge_T = np.asarray(charge_T)
  if not charge_T[-1] >= q:
    return float('nan')
  t = int(np.argmax(charge_T >= q))
  return diffuse_deposit(xi_T[t], xi_T[0], pixel_size_um)['diffuse_deposit_fraction']


def _diffuse_summary(rows: list[dict[str, float]]) -> dict[str, float]:
  if not rows or 'diffuse_deposit_fraction' not in rows[0]:
    return {}
  diffuse = np.array([r['diffuse_deposit_fraction'] for r in rows])
  detached = np.array([r['detached_solid_um2'] for r in rows])
  measured = diffuse[np.isfinite(diffuse)]     # NaN: a frame with no electrode solid
  if not measured.size:
    return {}
  return {'fraction_diffuse_flagged': float(np.mean(diffuse > DIFFUSE_FLAG)),
          'diffuse_deposit_fraction_p95': float(np.quantile(measured, 0.95)),
          'diffuse_deposit_fraction_max': float(measured.max()),
          'trajectories_with_detached_solid': int(np.sum(detached > 0))}


# Summaries that get a bootstrap interval (the extremes and counts do not).
CI_KEYS = ('mean_current_ma_cm2_median', 'mean_current_ma_cm2_p05', 'mean_current_ma_cm2_p95',
           'fraction_c_above_2', 'fraction_c_below_0', 'length_um_p05', 'length_um_median',
           'length_um_p95', 'interface_over_width_median', 'constant_current_fraction_short',
           'constant_current_delivered_median', 'fraction_diffuse_flagged')


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
