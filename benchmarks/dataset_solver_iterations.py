r"""Are a dendrite_sim config's truncated PCG solves converged? Its chunks, re-simulated.

  python benchmarks/dataset_solver_iterations.py --builder_config small \
      --variants 'transport_iterations=4' 'transport_iterations=8' 'transport_iterations=16' \
      --out D

Simulates every chunk of the config's build plan (same design, noise keys and per-group dt as the
builder: `generation.simulate_chunk`) once per variant (overrides of the config's simulation
settings, comma-separated `field=value`), in this one process, and prints per
(chemistry, protocol) group and overall:
- how many trajectories each variant loses to the builder's physical-bound check
  (`generation.bound_violations`: NaN/inf, or c/c0 in the electrolyte outside [0, c_max]);
- the length at 210 s of each variant against the last variant (the reference: put the most
  converged last), as the largest and median relative difference over the trajectories that
  both keep;
- the wall time of each variant relative to the first (compiles excluded: each group's first
  chunk is run once before it is timed).
`--groups Li-constant_current Zn-pulse` limits the run to those groups, `--max_chunks N` to
the first N chunks of each. Writes `D/solver_iterations.json` (per chunk and variant: ids,
lengths, violations, seconds) after every chunk.

  python benchmarks/dataset_solver_iterations.py --panel_point 12 --variants ... --out D

instead runs one point of the sensitivity-fidelity panel (`fidelity.panel(32, 2026)`; point 12
is transport-limited: constant current past the limiting current) with the config's simulation
at the point's group dt, as a chunk of 8 copies with 8 noise keys (growth past Sand's time
depends on the noise realisation, so one key says little).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
from data_builders.dendrite_sim import dendrite_sim
from data_builders.dendrite_sim import generation
from dendrax import files
from dendrax.physics import parameters
from experiments import common
# pylint: enable=g-import-not-at-top,wrong-import-position


def parse_variant(text: str) -> dict:
  """'a=1,b=2.5,dtype=float64' -> overrides (`experiments.common.parse_overrides`)."""
  return common.parse_overrides(text, what='--variants')


def group_name(chunk) -> str:
  return f'{parameters.CHEMISTRIES[chunk.chemistry]}-{parameters.PROTOCOLS[chunk.protocol]}'


def panel_chunk(index: int, settings: dict, copies: int = 8) -> generation.Chunk:
  """Point `index` of the fidelity panel as one chunk of `copies` trajectories (ids 0 ..
  copies - 1: that many noise keys) at the dt `fidelity.group_configs` gives its group."""
  from dendrax.analysis import fidelity  # pylint: disable=g-import-not-at-top
  points = fidelity.panel(32, 2026)
  if not 0 <= index < len(points):
    raise ValueError(f'--panel_point {index}: the panel has points 0..{len(points) - 1}')
  point = points[index]
  dt = fidelity.group_configs(points, settings, float64=False, overrides={})[
      (point.chemistry, point.protocol)].dt_s
  return generation.Chunk(
      chemistry=parameters.CHEMISTRIES.index(point.chemistry),
      protocol=parameters.PROTOCOLS.index(point.protocol), index=0,
      trajectory_ids=np.arange(copies), splits=('test',) * copies,
      params=np.tile(np.asarray(point.params, np.float64), (copies, 1)), pad_to=copies, dt_s=dt)


def run(config_name: str, variants: list[dict], groups: list[str] | None, max_chunks: int | None,
        out_dir: str, panel_point: int | None = None) -> list[dict]:
  builder = dendrite_sim.DendriteSim(config=config_name)
  settings = dict(builder.simulation_settings())
  seed = builder.builder_config.seed
  if panel_point is not None:
    chunks = [panel_chunk(panel_point, settings)]
  else:
    chunks = [c for c in builder.chunks() if not groups or group_name(c) in groups]
  if max_chunks:
    chunks = [c for c in chunks if c.index < max_chunks]
  if not chunks:
    raise ValueError(f'--groups {groups}: no chunk of {config_name} is in them')
  rows, warmed = [], set()
  os.makedirs(out_dir, exist_ok=True)
  for chunk in chunks:
    for k, variant in enumerate(variants):
      simulation = {**settings, **variant}
      if (group_name(chunk), k) not in warmed:     # compile outside the timing
        generation.simulate_chunk(chunk, simulation, seed)
        warmed.add((group_name(chunk), k))
      t0 = time.perf_counter()
      arrays = generation.simulate_chunk(chunk, simulation, seed)
      seconds = time.perf_counter() - t0
      violations = generation.bound_violations(arrays)
      rows.append(dict(group=group_name(chunk), chunk=chunk.index, variant=k,
                       overrides=variant, dt_s=chunk.dt_s, seconds=seconds,
                       ids=[int(i) for i in chunk.trajectory_ids], splits=list(chunk.splits),
                       length_um=[float(x) for x in arrays['length_um'][:, -1]],
                       violations={int(chunk.trajectory_ids[j]): why
                                   for j, why in violations.items()}))
      print(f'{group_name(chunk)} chunk {chunk.index} variant {k} dt {chunk.dt_s:.4f} s: '
            f'{seconds:.1f} s, {len(violations)} violating', flush=True)
    files.write_text(os.path.join(out_dir, 'solver_iterations.json'),
                     json.dumps(dict(config=config_name, variants=variants, rows=rows)))
  return rows


def summarize(rows: list[dict], variants: list[dict]) -> None:
  ref = len(variants) - 1
  by = collections.defaultdict(dict)          # (group, chunk) -> variant -> row
  for r in rows:
    by[(r['group'], r['chunk'])][r['variant']] = r
  groups = sorted({g for g, _ in by}) + ['all']
  print(f'\nreference: variant {ref} {variants[ref]}')
  for k, variant in enumerate(variants):
    print(f'\nvariant {k} {variant}')
    for g in groups:
      keys = [key for key in by if g in ('all', key[0])]
      lost, rel, sec, sec0 = 0, [], 0.0, 0.0
      for key in keys:
        r, r_ref, r0 = by[key][k], by[key][ref], by[key][0]
        lost += len(r['violations'])
        sec, sec0 = sec + r['seconds'], sec0 + r0['seconds']
        for j, i in enumerate(r['ids']):
          if str(i) in map(str, r['violations']) or str(i) in map(str, r_ref['violations']):
            continue
          a, b = r['length_um'][j], r_ref['length_um'][j]
          rel.append((a - b) / max(abs(b), 1e-12))
      n = sum(len(by[key][k]['ids']) for key in keys)
      rel = np.abs(np.array(rel)) if rel else np.array([np.nan])
      print(f'  {g:24s} {n:4d} traj, {lost:3d} violating; |dL|/L vs ref: '
            f'max {100 * rel.max():6.2f} %, median {100 * np.median(rel):5.2f} %, '
            f'> 1 %: {int((rel > 0.01).sum()):3d}; time {sec / sec0:.2f}x variant 0')


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--builder_config', default='small', help='dendrite_sim builder config')
  parser.add_argument('--variants', nargs='+', required=True,
                      help="overrides per variant, 'field=value,field=value'; last = reference")
  parser.add_argument('--groups', nargs='*', default=None, help='e.g. Li-constant_current')
  parser.add_argument('--max_chunks', type=int, default=None)
  parser.add_argument('--panel_point', type=int, default=None,
                      help='run this fidelity panel point (8 noise keys) instead of the chunks')
  parser.add_argument('--out', required=True)
  args = parser.parse_args()
  variants = [parse_variant(v) for v in args.variants]
  if any(v.get('dtype') == 'float64' for v in variants):
    import jax  # pylint: disable=g-import-not-at-top
    jax.config.update('jax_enable_x64', True)   # else JAX silently computes in float32
  rows = run(args.builder_config, variants, args.groups, args.max_chunks, args.out,
             args.panel_point)
  summarize(rows, variants)


if __name__ == '__main__':
  main()
