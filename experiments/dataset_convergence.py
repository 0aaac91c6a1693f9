r"""Convergence of the dataset preset: dendrite length at 210 s under dt, dx and width refinement.

  python -m experiments.dataset_convergence --config configs/dataset_convergence.py \
      --out reports/convergence \
      --config.variants='("dt=0.1", "dt=0.05", "dt=0.025", "dx=0.5", "dx=0.5,width=1.25")'

Runs four parameter points of the `dendrite_sim` box (10, 50, 200 and 500 A/m^2 nominal, seeded
nuclei; `config.protocol` and `config.chemistry`, three stages and Li by default; `config.cases`
a subset, `config.noise_keys` draws of the noise per point, compared by their means) with
`SimulationConfig.for_dataset` and each of `config.variants`' overrides:
`dt=X` sets dt_s; `dx=X` sets dx_um and scales the grid so the physical window (64 um) and the
nuclei stay the same; `width=X` sets interface_width_um; `coupling=N` sets coupling_iterations
(Newton iterations of the potential-reaction coupling per step); `xi_min=X` sets reaction_xi_min;
`sink=N` takes the salt sink implicitly with N Newton iterations (salt_sink='implicit',
sink_iterations=N); `closure=linear` closes its step with the last Newton iteration's linear
prediction instead of a final solve (sink_final_solve=False); `deriv=N` sets the PCG iterations
of its derivative solve (sink_derivative_iterations); `salt=N` sets transport_iterations; items
combine with commas. The accuracy bound is not enforced (coarse dt is what is measured; a
diverged run shows NaN). Writes `convergence.json` (lengths per frame, currents, wall time) and
prints the length at 210 s of each case and variant.
"""

from __future__ import annotations

import json
import os
import time

from absl import app
from absl import flags
import jax
from ml_collections import config_flags
import numpy as np

from dendrax import files
from dendrax.physics import parameters
from dendrax.physics import simulate
from dendrax.physics.config import SimulationConfig

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/dataset_convergence.py',
                                          'Variants, chemistry and protocol.', lock_config=True)
_OUT = flags.DEFINE_string('out', None, 'Output directory.', required=True)

# (field kV/m, gradient, c0, temperature, defects): a low, a mid-CC, and two CV-latching points.
CASES = ((0.01, 5.0, 1000.0, 298.0, 3.0), (0.05, 5.0, 1000.0, 298.0, 3.0),
         (0.2, 3.0, 500.0, 298.0, 5.0), (0.5, 1.5, 1000.0, 280.0, 2.0))


def variant_config(spec: str, chemistry: str = 'Li',
                   protocol: str = 'three_stage') -> SimulationConfig:
  """`for_dataset` with the overrides of one variant, comma-separated: 'dt=0.05', 'dx=0.5' (grid
  scaled to keep the 64 um window), 'width=1.25', 'coupling=4', 'xi_min=0.1', 'sink=2',
  'closure=linear', 'deriv=6', 'salt=24', or combined, 'dx=0.5,width=1.25'."""
  base = SimulationConfig.for_dataset()
  overrides = {}
  for item in spec.split(','):
    name, value = item.split('=')
    if name == 'coupling':
      overrides['coupling_iterations'] = int(value)
      continue
    if name == 'sink':        # the implicit salt sink with N Newton iterations
      overrides.update(salt_sink='implicit', sink_iterations=int(value))
      continue
    if name == 'closure':     # how the implicit sink's step closes: 'solve' or 'linear'
      if value not in ('solve', 'linear'):
        raise ValueError(f"variant {spec!r}: closure= takes 'solve' or 'linear'")
      overrides['sink_final_solve'] = value == 'solve'
      continue
    if name == 'deriv':       # PCG iterations of the implicit sink's derivative solve
      overrides['sink_derivative_iterations'] = int(value)
      continue
    if name == 'salt':
      overrides['transport_iterations'] = int(value)
      continue
    value = float(value)
    if name == 'dt':
      overrides['dt_s'] = value
    elif name == 'dx':
      n = int(round(base.nx * base.dx_um / value))
      overrides.update(dx_um=value, nx=n, ny=n)
    elif name == 'width':
      overrides['interface_width_um'] = value
    elif name == 'xi_min':
      overrides['reaction_xi_min'] = value
    else:
      raise ValueError(f'variant {spec!r}: expected dt=, dx=, width=, xi_min=, sink=, salt= or '
                       'coupling= items')
  return SimulationConfig.for_dataset(chemistry=chemistry, protocol=protocol, **overrides)


def params() -> parameters.PhysicalParams:
  cols = np.array(CASES)
  return parameters.PhysicalParams(
      temperature_k=cols[:, 3], concentration_gradient_mol_m3_per_um=cols[:, 1],
      field_strength_kv_per_m=cols[:, 0], ion_concentration_mol_m3=cols[:, 2],
      surface_energy_j_m2=np.full(len(CASES), 0.5), fluidity_per_pa_s=np.full(len(CASES), 300.0),
      n_defects=cols[:, 4])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  config = _CONFIG.value
  if config.chemistry not in parameters.CHEMISTRIES:
    raise ValueError(f'config.chemistry={config.chemistry!r}; expected one of '
                     f'{parameters.CHEMISTRIES}')
  if config.protocol not in parameters.PROTOCOLS:
    raise ValueError(f'config.protocol={config.protocol!r}; expected one of {parameters.PROTOCOLS}')
  cases = list(config.cases) or list(range(len(CASES)))
  if any(not 0 <= i < len(CASES) for i in cases):
    raise ValueError(f'config.cases={tuple(config.cases)}: indices into the {len(CASES)} CASES')
  n_keys = int(config.noise_keys)
  if n_keys < 1:
    raise ValueError(f'config.noise_keys={n_keys}: need >= 1')
  if n_keys == 1:   # the draws of every earlier table
    keys = jax.random.split(jax.random.PRNGKey(0), len(CASES))[np.array(cases)]
  else:
    keys = jax.random.split(jax.random.PRNGKey(1), len(cases) * n_keys)
  rows = np.repeat(np.array(cases), n_keys)   # case-major: row r is case rows[r]
  batch = jax.tree.map(lambda a: np.asarray(a)[rows], params())
  out = {}
  for spec in [v.strip() for v in config.variants if v.strip()]:
    cfg = variant_config(spec, config.chemistry, config.protocol)
    start = time.time()
    # Not simulate.run_batch: it enforces the accuracy bound, and coarse dt is what is measured.
    run = simulate._run_batch_jit  # pylint: disable=protected-access
    traj = jax.device_get(run(batch, cfg, keys))
    lengths = np.asarray(traj.observables['length_um'])
    out[spec] = dict(length_um=lengths.tolist(),
                     current_a_m2=np.asarray(traj.current_a_m2).tolist(),
                     finite=bool(np.isfinite(traj.xi).all()), wall_s=time.time() - start)
    final = lengths[:, -1].reshape(len(cases), n_keys)
    summary = (np.round(final[:, 0], 3) if n_keys == 1 else
               [f'{m:.3f} +- {s:.3f}' for m, s in zip(final.mean(1), final.std(1, ddof=1))])
    print(spec, 'length at 210 s:', summary, f'({time.time() - start:.0f} s)', flush=True)
  specs = list(out)
  for a, b in zip(specs, specs[1:]):
    la, lb = (np.array(out[s]['length_um'])[:, -1].reshape(len(cases), n_keys) for s in (a, b))
    change = np.abs(la.mean(1) - lb.mean(1)) / np.abs(lb.mean(1))
    line = (f'{a} -> {b}: largest relative change of the length at 210 s {np.max(change):.2%}')
    if n_keys > 1:   # standard error of the difference of the two means, relative
      se = np.sqrt(la.var(1, ddof=1) / n_keys + lb.var(1, ddof=1) / n_keys) / np.abs(lb.mean(1))
      line += ' (per case: ' + ', '.join(f'{c:.2%} +- {e:.2%}' for c, e in zip(change, se)) + ')'
    print(line)
  os.makedirs(_OUT.value, exist_ok=True)
  files.write_text(os.path.join(_OUT.value, 'convergence.json'),
                   json.dumps(dict(cases=[CASES[i] for i in cases], case_index=cases,
                                   noise_keys=n_keys, chemistry=config.chemistry,
                                   protocol=config.protocol, variants=out), indent=1))


if __name__ == '__main__':
  app.run(main)
