r"""One-level against two-level preconditioning of the electroneutral step's PCG solves.

  python benchmarks/solver_preconditioner.py                  # the corner, 4 s, then 210 s timing
  python benchmarks/solver_preconditioner.py --t_end_s 210 --iterations 2,4,8

The dataset preset runs a fixed number of warm-started PCG iterations per step
(`potential_iterations`, `transport_iterations`: 4 each). This prints, for the preset's hardest
corner for depletion (the case of `tests/physics/test_electroneutral.py`: 50 mA/cm^2, c0 =
250 mol/m^3, G = 10, 3 nuclei, trickle to 1 s, then constant current into the voltage cutoff and
CV), how far each preconditioner's truncated solves leave the run from a converged one
(`--reference_iterations` of both solves): max c/c0 in the electrolyte (the maximum principle
bounds it by 1 under plating), max |dc~|, max |dxi|, the current's largest error relative to the
converged current, and the length at the end. Then it times the preset's 210 s run of a batch of
`--batch` copies of the point (vmapped, as the builder runs a chunk) with each preconditioner, in
this one process (median of `--repeats` calls after a compiling one). Both solves of the step use the same preconditioner (`SimulationConfig.coarse_correction`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from dendrax.physics import parameters, simulate  # pylint: disable=g-import-not-at-top,wrong-import-position

CORNER = parameters.PhysicalParams(
    temperature_k=300.0, concentration_gradient_mol_m3_per_um=10.0, field_strength_kv_per_m=0.5,
    ion_concentration_mol_m3=250.0, surface_energy_j_m2=0.5, fluidity_per_pa_s=316.0,
    n_defects=3.0)


def corner_config(t_end_s: float, **overrides) -> simulate.SimulationConfig:
  """The dataset preset at the corner, dt as the builder picks it, trickle to 1 s."""
  cfg = simulate.SimulationConfig.for_dataset(t_end_s=t_end_s, save_every_s=1.0,
                                              trickle_end_s=1.0, checkpoint_every_steps=20)
  cfg = dataclasses.replace(cfg, dt_s=simulate.stable_time_step(CORNER.to_vector()[None], cfg))
  return dataclasses.replace(cfg, **overrides).checked()


def compare(t_end_s: float, iterations: list[int], reference_iterations: int) -> list[dict]:
  """Rows of the accuracy table (see the module docstring)."""
  key = jax.random.key(0)
  ref = simulate.run(CORNER, corner_config(t_end_s, potential_iterations=reference_iterations,
                                           transport_iterations=reference_iterations), key)
  ref_one = simulate.run(CORNER, corner_config(
      t_end_s, potential_iterations=reference_iterations,
      transport_iterations=reference_iterations, coarse_correction=False), key)
  c_ref, xi_ref = np.asarray(ref.concentration), np.asarray(ref.xi)
  i_ref = np.asarray(ref.current_a_m2)
  rows = [dict(preconditioner='references agree', iterations=reference_iterations,
               max_dc=float(np.abs(np.asarray(ref_one.concentration) - c_ref).max()),
               max_dxi=float(np.abs(np.asarray(ref_one.xi) - xi_ref).max()))]
  for n in iterations:
    for coarse in (False, True):
      traj = simulate.run(CORNER, corner_config(t_end_s, potential_iterations=n,
                                                transport_iterations=n,
                                                coarse_correction=coarse), key)
      c, xi = np.asarray(traj.concentration), np.asarray(traj.xi)
      rows.append(dict(
          preconditioner='two-level' if coarse else 'one-level', iterations=n,
          max_c_electrolyte=float(c[xi < 0.5].max()),
          max_dc=float(np.abs(c - c_ref).max()), max_dxi=float(np.abs(xi - xi_ref).max()),
          current_error=float(np.abs(np.asarray(traj.current_a_m2) - i_ref).max()
                              / np.abs(i_ref).max()),
          length_um=float(np.asarray(traj.observables['length_um'])[-1]),
          reference_length_um=float(np.asarray(ref.observables['length_um'])[-1])))
  return rows


def timings(batch: int, repeats: int) -> dict:
  """Median seconds of the preset's 210 s run of `batch` copies of the corner (vmapped, as the
  dataset builder runs a chunk), per preconditioner; the first call compiles and is not timed."""
  params = jax.tree_util.tree_map(lambda v: np.full((batch,), v, np.float32), CORNER)
  keys = jax.random.split(jax.random.key(0), batch)
  out = {}
  for coarse in (False, True):
    cfg = corner_config(210.0, coarse_correction=coarse, save_every_s=30.0)
    jax.block_until_ready(simulate.run_batch(params, cfg, keys).xi)
    times = []
    for _ in range(repeats):
      t0 = time.perf_counter()
      jax.block_until_ready(simulate.run_batch(params, cfg, keys).xi)
      times.append(time.perf_counter() - t0)
    out['two-level' if coarse else 'one-level'] = statistics.median(times)
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--t_end_s', type=float, default=4.0)
  parser.add_argument('--iterations', default='2,4,8')
  parser.add_argument('--reference_iterations', type=int, default=60)
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args()
  rows = compare(args.t_end_s, [int(n) for n in args.iterations.split(',')],
                 args.reference_iterations)
  print(f'corner run to {args.t_end_s} s against {args.reference_iterations} iterations')
  first = rows[0]
  print(f"converged one-level vs two-level: max |dc| {first['max_dc']:.1e}, "
        f"max |dxi| {first['max_dxi']:.1e}")
  print('preconditioner  iterations  max c/c0 (electrolyte)  max |dc|  max |dxi|  current error'
        '  length (um; converged)')
  for r in rows[1:]:
    print(f"{r['preconditioner']:<15} {r['iterations']:>10}  {r['max_c_electrolyte']:>22.5f}"
          f"  {r['max_dc']:>8.1e}  {r['max_dxi']:>9.1e}  {r['current_error']:>13.1e}"
          f"  {r['length_um']:.4f} ({r['reference_length_um']:.4f})")
  if args.repeats:
    t = timings(args.batch, args.repeats)
    print(f"210 s run of {args.batch} x the corner (median of {args.repeats}): one-level {t['one-level']:.2f} s, "
          f"two-level {t['two-level']:.2f} s, ratio {t['two-level'] / t['one-level']:.2f}")


if __name__ == '__main__':
  main()
