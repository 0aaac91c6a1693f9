r"""Physical statistics of a built dendrite_sim dataset: is its regime one a cell sees?

  python -m experiments.dataset_stats --out reports/dataset_stats
  python -m experiments.dataset_stats --out D --config.dataset=dendrite_sim/medium

Per split and over all splits: the mean current density of each trajectory (charge passed at the
last frame / its time, in mA/cm^2), its quantiles; the salt concentration c/c0 in the electrolyte
(cells with xi < 1/2): the fraction of trajectories leaving [0, 2] and the extremes; the dendrite
length at the last frame and the interface length over the electrode width (compact ~1,
branched >> 1); for constant-current trajectories, the charge delivered over the charge asked
for (J x time: below 1 where the voltage cutoff capped the current) beside J over the cell's
limiting current (a current above it cannot be carried for long: Sand); the share of
trajectories whose last frame holds more than 5 % of its deposit as a diffuse partial phase
away from the electrode's solid (past Sand's time; `dataset_stats.diffuse_deposit`). Quantiles
and fractions carry 95 % bootstrap intervals over trajectories (`ci`: `bootstrap_samples` resamples of
configs/dataset_stats.py; extremes have none). Writes `stats.json` (strict JSON) to --out and
prints a table. Never builds a dataset: a missing one is an error that says how to build it.
"""

from __future__ import annotations

import json
import os

from absl import app
from absl import flags
from ml_collections import config_flags

from dendrax import files
from dendrax.analysis import dataset_stats as stats_lib
from dendrax.data import pipeline

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'dataset_stats.py'), 'Dataset and splits.', lock_config=True)
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (default $DENDRAX_DATA_DIR).')
_OUT = flags.DEFINE_string('out', None, 'Output folder for stats.json (optional).')


def _g(x) -> str:
  return 'none' if x is None else f'{x:.3g}'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  config = _CONFIG.value
  unknown = sorted(set(config.splits) - set(stats_lib.SPLITS))
  if unknown:
    raise SystemExit(f'config.splits: unknown split(s) {unknown}; choose from {stats_lib.SPLITS}')
  ci_kwargs = dict(samples=config.bootstrap_samples, seed=config.bootstrap_seed)
  per_split, everything = {}, []
  for split in config.splits:
    try:
      source = pipeline.load_source(config.dataset, split, _DATA_DIR.value,
                                    build_if_missing=False)
    except pipeline.MissingSplitError:
      continue
    except FileNotFoundError as e:
      raise SystemExit(f'{e}\nBuild it first: python -c "from dendrax.data import pipeline; '
                       f'pipeline.load_source(\'{config.dataset}\', \'train\')"') from None
    rows = [stats_lib.trajectory_stats(source[i]) for i in range(len(source))]
    per_split[split] = stats_lib.with_intervals(rows, **ci_kwargs)
    everything += rows
  if not everything:
    raise SystemExit(f'config.dataset {config.dataset!r} has none of the splits {config.splits}')
  result = {'dataset': config.dataset, 'all': stats_lib.with_intervals(everything, **ci_kwargs),
            **per_split}
  for name, s in [('all', result['all'])] + list(per_split.items()):
    ci = lambda k: '[{:.3g}, {:.3g}]'.format(*s['ci'][k]) if k in s['ci'] else ''
    print(f'{name:10s} n={s["trajectories"]:4d}  mean current mA/cm^2: median '
          f'{s["mean_current_ma_cm2_median"]:.3g} {ci("mean_current_ma_cm2_median")} (p05 {s["mean_current_ma_cm2_p05"]:.3g}, p95 '
          f'{s["mean_current_ma_cm2_p95"]:.3g}, max {s["mean_current_ma_cm2_max"]:.3g});  c/c0 in '
          f'[{s["c_min"]:.3g}, {s["c_max"]:.3g}], >2: {100 * s["fraction_c_above_2"]:.0f} %, <0: '
          f'{100 * s["fraction_c_below_0"]:.0f} %;  length um p05/50/95 {s["length_um_p05"]:.3g}/'
          f'{s["length_um_median"]:.3g} {ci("length_um_median")}/{s["length_um_p95"]:.3g} '
          f'{ci("length_um_p95")};  interface/width median '
          f'{s["interface_over_width_median"]:.3g} {ci("interface_over_width_median")}, max {s["interface_over_width_max"]:.3g}'
          + (f';  constant current: {100 * s["constant_current_fraction_short"]:.0f} % '
             f'{ci("constant_current_fraction_short")} of '
             f'{s["constant_current_trajectories"]} deliver < {stats_lib.SHORT_OF_CURRENT:g} of the charge '
             f'asked (min {s["constant_current_delivered_min"]:.3g}, median '
             f'{s["constant_current_delivered_median"]:.3g}); J / i_lim: up to '
             f'{_g(s["constant_current_over_limiting_max_delivered"])} delivered, from '
             f'{_g(s["constant_current_over_limiting_min_short"])} short'
             if 'constant_current_trajectories' in s else '')
          + (f';  diffuse deposit (> {stats_lib.DIFFUSE_MARGIN_UM:g} um, or two interface widths, '
             f'from the solid) over '
             f'{100 * stats_lib.DIFFUSE_FLAG:g} % of the metal: '
             f'{100 * s["fraction_diffuse_flagged"]:.1f} % {ci("fraction_diffuse_flagged")} of '
             f'trajectories (p95 {s["diffuse_deposit_fraction_p95"]:.3g}, max '
             f'{s["diffuse_deposit_fraction_max"]:.3g}); detached solid in '
             f'{s["trajectories_with_detached_solid"]}'
             if 'fraction_diffuse_flagged' in s else ''))
  if _OUT.value:
    files.write_text(os.path.join(_OUT.value, 'stats.json'),
                     json.dumps(result, indent=1, allow_nan=False))


if __name__ == '__main__':
  app.run(main)
