r"""Physical statistics of a built dendrite_sim dataset: is its regime one a cell sees?

  python -m experiments.dataset_stats --dataset dendrite_sim/small --out reports/dataset_stats

Per split and over all splits: the mean current density of each trajectory (charge passed at the
last frame / its time, in mA/cm^2), its quantiles; the salt concentration c/c0 in the electrolyte
(cells with xi < 1/2): the fraction of trajectories leaving [0, 2] and the extremes; the dendrite
length at the last frame and the interface length over the electrode width (compact ~1,
branched >> 1). Writes `stats.json` (strict JSON) to --out and prints a table. Never builds a
dataset: a missing one is an error that says how to build it.
"""

from __future__ import annotations

import json
import os

from absl import app
from absl import flags
import numpy as np

from dendrax.data import pipeline

_DATASET = flags.DEFINE_string('dataset', 'dendrite_sim/small', 'TFDS dataset name.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (default $DENDRAX_DATA_DIR).')
_OUT = flags.DEFINE_string('out', None, 'Output folder for stats.json (optional).')

C_PER_M2_PER_MAH_CM2 = 36.0
SPLITS = ('train', 'validation', 'test', 'ood')


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
      'charge_mah_cm2': float(charge[-1] / C_PER_M2_PER_MAH_CM2),
  }


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
  col = lambda k: np.array([r[k] for r in rows])
  cur, length, ifl = col('mean_current_ma_cm2'), col('length_um'), col('interface_over_width')
  q = lambda a, p: float(np.quantile(a, p))
  return {
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


def main(argv):
  del argv
  per_split, everything = {}, []
  for split in SPLITS:
    try:
      source = pipeline.load_source(_DATASET.value, split, _DATA_DIR.value,
                                    build_if_missing=False)
    except pipeline.MissingSplitError:
      continue
    except FileNotFoundError as e:
      raise SystemExit(f'{e}\nBuild it first: python -c "from dendrax.data import pipeline; '
                       f'pipeline.load_source(\'{_DATASET.value}\', \'train\')"') from None
    rows = [trajectory_stats(source[i]) for i in range(len(source))]
    per_split[split] = summarise(rows)
    everything += rows
  result = {'dataset': _DATASET.value, 'all': summarise(everything), **per_split}
  for name, s in [('all', result['all'])] + list(per_split.items()):
    print(f'{name:10s} n={s["trajectories"]:4d}  mean current mA/cm^2: median '
          f'{s["mean_current_ma_cm2_median"]:.3g} (p05 {s["mean_current_ma_cm2_p05"]:.3g}, p95 '
          f'{s["mean_current_ma_cm2_p95"]:.3g}, max {s["mean_current_ma_cm2_max"]:.3g});  c/c0 in '
          f'[{s["c_min"]:.3g}, {s["c_max"]:.3g}], >2: {100 * s["fraction_c_above_2"]:.0f} %, <0: '
          f'{100 * s["fraction_c_below_0"]:.0f} %;  length um p05/50/95 {s["length_um_p05"]:.3g}/'
          f'{s["length_um_median"]:.3g}/{s["length_um_p95"]:.3g};  interface/width median '
          f'{s["interface_over_width_median"]:.3g}, max {s["interface_over_width_max"]:.3g}')
  if _OUT.value:
    os.makedirs(_OUT.value, exist_ok=True)
    with open(os.path.join(_OUT.value, 'stats.json'), 'w') as f:
      json.dump(result, f, indent=1, allow_nan=False)


if __name__ == '__main__':
  app.run(main)
