r"""Validation of the electroneutral model against analytic electrochemistry; writes validation.json.

  python -m experiments.validate_physics --config configs/validate_physics.py --out runs/validation
  python -m experiments.validate_physics --config configs/validate_physics.py --out /tmp/v \
      --config.checks=sand --config.sand.current_density_ma_cm2=5 \
      --config.sand.ion_concentration_mol_m3=500

Entries (dendrax.analysis.electrochem_checks, dendrax.analysis.mms; docs/validation.md):
  sand_time_<J>ma_cm2   Sand's time at J = factors x current_density_ma_cm2     (validation)
  sand_transition_<J>ma_cm2  tip-growth crossover / t_Sand (Bai 2016), 2-D         (validation)
  cottrell              potentiostatic current vs Cottrell over a stated window  (validation)
  limiting_current      steady current, bulk at distance L                       (validation)
  tafel_slope           eta vs log10 kinetic current                             (validation)
  faraday               metal vs integral J dt / zF                              (regression)
  electroneutrality_residual  relative residual of the charge-balance solve      (reported)
  mms_space_order, mms_time_order   observed orders of the salt + charge scheme  (verification)

The hong2018 model's old checks (Faraday/conservation/morphology/grid on the cation-only model)
are dropped here: its conservation and Faraday regressions stay in tests/physics.
"""

from __future__ import annotations

import json
import os
import time

from absl import app
from absl import flags
from ml_collections import config_flags

from dendrax import files
from dendrax.analysis import electrochem_checks as ec
from dendrax.analysis import mms

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/validate_physics.py',
                                          'Validation config.', lock_config=True)
_OUT = flags.DEFINE_string('out', None, 'Output directory (validation.json).', required=True)

CHECKS = ('sand', 'sand_transition', 'cottrell', 'limiting_current', 'tafel', 'faraday', 'mms')


def run_checks(config) -> dict:
  """All checks named in config.checks -> {entry name: entry dict}."""
  names = [s.strip() for s in config.checks.split(',') if s.strip()]
  bad = sorted(set(names) - set(CHECKS))
  if bad:
    raise ValueError(f'config.checks: unknown {bad}; known {CHECKS}')
  out = {}
  chem = config.chemistry
  for name in names:
    start = time.time()
    if name == 'sand':
      for factor in config.sand.current_density_factors:
        j = factor * config.sand.current_density_ma_cm2
        out[f'sand_time_{j:g}ma_cm2'] = ec.sand_time(j, config.sand.ion_concentration_mol_m3,
                                                     config.sand, chem)
    elif name == 'sand_transition':
      st = config.sand_transition
      for j in st.current_densities_ma_cm2:
        out[f'sand_transition_{j:g}ma_cm2'] = ec.sand_transition(
            j, st.ion_concentration_mol_m3, st, chem)
    elif name == 'cottrell':
      out['cottrell'] = ec.cottrell(config.cottrell, chem)
    elif name == 'limiting_current':
      out['limiting_current'] = ec.limiting_current(config.limiting_current, chem)
    elif name == 'tafel':
      out['tafel_slope'] = ec.tafel(config.tafel, chem)
    elif name == 'faraday':
      out['faraday'], out['electroneutrality_residual'] = ec.faraday(config.faraday, chem)
    elif name == 'mms':
      m = config.mms
      sp = mms.space_order(m.grids, m.space_dt_factor, m.t_end)
      tm = mms.time_order(m.time_steps, m.time_grid, m.t_end)
      worst_s = min(sp['order_c'] + sp['order_phi'])
      worst_t = min(tm['order_c'] + tm['order_phi'])
      out['mms_space_order'] = dict(measured=worst_s, reference=2.0, minimum=m.min_space_order,
                                    passed=bool(worst_s >= m.min_space_order),
                                    kind='verification', details=sp)
      out['mms_time_order'] = dict(measured=worst_t, reference=1.0, minimum=m.min_time_order,
                                   passed=bool(worst_t >= m.min_time_order),
                                   kind='verification', details=tm)
    print(f'{name}: {time.time() - start:.0f} s', flush=True)
  return out


def main(argv):
  del argv
  config = _CONFIG.value
  results = run_checks(config)
  os.makedirs(_OUT.value, exist_ok=True)
  path = os.path.join(_OUT.value, 'validation.json')
  with files.atomic_write(path) as f:
    json.dump(dict(config=config.to_dict(), checks=results), f, indent=1, default=float)
  for k, v in results.items():
    print(f'{k:28s} measured {v["measured"]:.6g}  reference {v.get("reference", float("nan")):.6g}'
          f'  rel_error {v.get("rel_error", float("nan")):.3g}  passed {v["passed"]}')
  print('wrote', path)


if __name__ == '__main__':
  app.run(main)
