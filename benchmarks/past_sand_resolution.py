r"""Past Sand's time at the dataset's interface width and at half of it: diffuse cloud or tips?

  python -m benchmarks.past_sand_resolution --out reports/past_sand
  python -m benchmarks.past_sand_resolution --runs half_dt4 half_dt8 --out reports/past_sand_dt
  python -m benchmarks.past_sand_resolution --runs half_dt4 half_dt8 --transport_iterations 24 \
      --t_end_s 210 --out reports/past_sand_dt_salt24

A diagnostic, not a timing. Constant current above the limiting current (default 30 mA/cm^2 against
~20 on the pulse problem's cell: Li, 1 M, 64 um under a 182 um Nernst layer) under the dataset's 0.5
V cutoff, simulated four times: on the dataset's grid (1 um cells, 2.5 um interface) and at half the
cell and the interface (0.5 um, 1.25 um; 4x the cells), each at the dataset's dt of 0.1 s and at a
quarter of it (past Sand's time the cutoff makes the step stiff: the Sand transition check needs
thousands of steps per t_S, docs/validation.md). Per frame it prints the charge passed, the dendrite
length and highest tip, and the share of the deposit that is a diffuse partial phase away from the
electrode's solid (`dendrax.analysis.dataset_stats.diffuse_deposit`, margins 5 um and two interface
widths) and the detached solid, and writes `D/past_sand_resolution.png` (xi at four times, each run)
and `D/rows.json`. About 7 min here (2026-12-06, partly beside a training run).

On the dataset's grid the depleted layer fills with a cloud of xi ~ 0.1-0.5 that condenses into
floating islands, sooner at the smaller step; at half the width and a quarter of the step the run
grows solid dendrites from the nuclei; the length at 210 s moves by 40-76 % with the step
(docs/physics.md, "Past Sand's time").
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from configs.design import pulse as pulse_config  # noqa: E402
from dendrax import files  # noqa: E402
from dendrax.analysis import dataset_stats  # noqa: E402
from dendrax.analysis import plots  # noqa: E402
from dendrax.design import simulator_adapter as sa  # noqa: E402
from dendrax.design import study  # noqa: E402

RESOLVED = pulse_config.RESOLVED_SIMULATION
HALF = {k: v for k, v in RESOLVED.items() if k != 'dt_s'}
# key -> (label, simulation overrides). The default four are the 2 x 2 table of docs/physics.md;
# half_dt2 and half_dt8 bracket the resolved step (twice and half RESOLVED's dt), for the observed
# order in dt on the half-width grid.
RUNS = {'dataset': ('dataset (1 um cells, l 2.5 um, dt 0.1 s)', dict()),
        'dataset_dt4': ('dataset grid, dt / 4 (0.025 s)', dict(dt_s=RESOLVED['dt_s'])),
        'half': ('half (0.5 um cells, l 1.25 um, dt 0.1 s)', HALF),
        'half_dt2': ('half, dt / 2 (0.05 s)', dict(RESOLVED, dt_s=RESOLVED['dt_s'] * 2)),
        'half_dt4': ('half, dt / 4 (0.025 s)', RESOLVED),
        'half_dt8': ('half, dt / 8 (0.0125 s)', dict(RESOLVED, dt_s=RESOLVED['dt_s'] / 2))}
DEFAULT_RUNS = ('dataset', 'dataset_dt4', 'half', 'half_dt4')


def run(current_ma_cm2: float, max_voltage_v: float, t_end_s: float, overrides: dict):
  """Frames of one constant-current run on the pulse problem's cell with the simulation
  `overrides` (grid, interface, dt), its config, and its wall time (compile included)."""
  config = pulse_config.get_config()
  config.problem.max_time_s = t_end_s
  config.simulation.max_voltage_v = max_voltage_v
  config.simulation.save_every_s = 30.0
  config.simulation.update(overrides)
  settings = study.simulator_settings(config)
  sim = sa.make_simulator(settings, 'constant_current', dict(config.problem.fixed))
  t0 = time.perf_counter()
  frames = jax.device_get(jax.jit(sim.observe)({'current_ma_cm2': jnp.float32(current_ma_cm2)}))
  return frames, settings.config(), time.perf_counter() - t0


def frame_rows(frames, cfg) -> list[dict]:
  """Per frame after t = 0: charge, current, length, tip, diffuse shares, detached solid."""
  xi = np.asarray(frames['xi'], np.float64)
  rows = []
  for t in range(1, xi.shape[0]):
    wide = dataset_stats.diffuse_deposit(xi[t], xi[0], cfg.dx_um,
                                         margin_um=dataset_stats.DIFFUSE_MARGIN_UM)
    narrow = dataset_stats.diffuse_deposit(xi[t], xi[0], cfg.dx_um,
                                           margin_um=2.0 * cfg.interface_width_um)
    rows.append({'time_s': float(frames['time_s'][t]),
                 'charge_mah_cm2': float(frames['charge_mah_cm2'][t]),
                 'current_ma_cm2': float(frames['current_ma_cm2'][t]),
                 'length_um': float(frames['length_um'][t]),
                 'max_tip_height_um': float(frames['max_tip_height_um'][t]),
                 'diffuse_fraction_5um': wide['diffuse_deposit_fraction'],
                 'diffuse_fraction_2l': narrow['diffuse_deposit_fraction'],
                 'detached_solid_um2': wide['detached_solid_um2'],
                 'shorted': bool(frames['shorted'][t])})
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--current_ma_cm2', type=float, default=30.0)
  parser.add_argument('--max_voltage_v', type=float, default=0.5)
  parser.add_argument('--t_end_s', type=float, default=300.0, help='a multiple of 30 s')
  parser.add_argument('--runs', nargs='+', choices=sorted(RUNS), default=list(DEFAULT_RUNS),
                      help='which settings to simulate (rows of the figure); half_dt8 halves '
                           'the resolved step (~2x half_dt4\'s time)')
  parser.add_argument('--transport_iterations', type=int, default=None,
                      help="salt PCG iterations (default: the design base's 8); at half the "
                           'width 8 are not converged, 24 are (docs/physics.md)')
  parser.add_argument('--out', default='reports/past_sand')
  args = parser.parse_args()
  salt = {} if args.transport_iterations is None else {
      'transport_iterations': args.transport_iterations}
  shown = [int(round(t / 30.0)) for t in np.linspace(0.4, 1.0, 4) * args.t_end_s]
  fig, axes = plt.subplots(len(args.runs), len(shown),
                           figsize=(3.0 * len(shown), 3.1 * len(args.runs)), squeeze=False)
  result = {'current_ma_cm2': args.current_ma_cm2, 'max_voltage_v': args.max_voltage_v,
            'transport_iterations': args.transport_iterations}
  for row_axes, (name, overrides) in zip(axes, (RUNS[k] for k in args.runs)):
    frames, cfg, seconds = run(args.current_ma_cm2, args.max_voltage_v, args.t_end_s,
                               {**overrides, **salt})
    rows = frame_rows(frames, cfg)
    result[name] = {'seconds': round(seconds, 1), 'frames': rows}
    print(f'{name}: {seconds:.0f} s')
    for r in rows:
      print(f"  t {r['time_s']:5.0f} s  Q {r['charge_mah_cm2']:.3f} mAh/cm^2  i "
            f"{r['current_ma_cm2']:5.2f}  length {r['length_um']:6.2f} um  tip "
            f"{r['max_tip_height_um']:6.2f}  diffuse share {r['diffuse_fraction_5um']:.3f} (5 um) "
            f"{r['diffuse_fraction_2l']:.3f} (2 l)  detached {r['detached_solid_um2']:.0f} um^2"
            + ('  shorted' if r['shorted'] else ''), flush=True)
    extent = (0, cfg.nx * cfg.dx_um, 0, cfg.ny * cfg.dx_um)
    for ax, k in zip(row_axes, shown):
      ax.imshow(np.asarray(frames['xi'][k]), origin='lower', cmap='coolwarm', vmin=0, vmax=1,
                extent=extent)
      ax.set_title(f'{name.split(" (")[0]}, {float(frames["time_s"][k]):.0f} s', fontsize=9)
      ax.set_xlabel('x (um)', fontsize=8)
    row_axes[0].set_ylabel('y (um)', fontsize=8)
  fig.suptitle(f'{args.current_ma_cm2:g} mA/cm^2 under a {args.max_voltage_v:g} V cutoff: '
               'xi (dendrite red, electrolyte blue)', fontsize=10)
  fig.tight_layout()
  plots.save(fig, os.path.join(args.out, 'past_sand_resolution.png'), dpi=80)
  files.write_text(os.path.join(args.out, 'rows.json'), json.dumps(result, indent=1))


if __name__ == '__main__':
  main()
