r"""Physics speed benchmark: dendrax vs FiPy on the same model, and PFHub 3a wall time.

  python -m benchmarks.physics_speed                 # full: ~15-30 min on a 2-core CPU
  python -m benchmarks.physics_speed --quick         # smaller windows, 480^2 PFHub corner

Prints, in one invocation:
 (a) dendrax on the standard case (Li, -0.45 V, 200 um x 200 um at 1 um, dt 0.02 s, 0 -> 210 s):
     compile time (first call minus second) and run time, cell-updates per second;
 (b) FiPy (benchmarks/fipy_electrodeposition.py) on the same grid for `--fipy_window_s` of
     simulated time, extrapolated linearly to 210 s (stated as such), and dendrax on the same
     short window for a direct ratio;
 (c) the ratios FiPy / dendrax wall time (target: dendrax >= 20x faster);
 (d) PFHub 3a to t = 1500 (configs/pfhub3a.py) wall time;
 plus an agreement check on the short window (deposit growth and Li taken up through the bulk
 face, relative differences) so that the two timings are of the same model.
Noise is switched off in every dendrax/FiPy comparison run (the FiPy peer has none); timing (a)
uses the standard config as is. Timings on a shared machine are provisional: re-run quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _time_dendrax(params, config, seed=0):
  """(compile_s, run_s, trajectory) for dendrax.physics.simulate.run under `config`."""
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  key = jax.random.key(seed)
  t0 = time.perf_counter()
  jax.block_until_ready(simulate.run(params, config, key))
  t1 = time.perf_counter()
  traj = jax.block_until_ready(simulate.run(params, config, key))
  t2 = time.perf_counter()
  run_s = t2 - t1
  return max(t1 - t0 - run_s, 0.0), run_s, traj


def _li_uptake_um(traj, rates):
  """Change of dissolved + metal Li per width (c~ um) from the first to the last frame."""
  dep = np.asarray(traj.deposit_thickness_um, np.float64)
  dis = np.asarray(traj.dissolved_thickness_um, np.float64)
  return (dis[-1] - dis[0]) + float(rates.site_ratio) * (dep[-1] - dep[0]), dep[-1] - dep[0]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--quick', action='store_true',
                      help='short FiPy window, dendrax standard run to 30 s, PFHub on 480^2')
  parser.add_argument('--fipy_window_s', type=float, default=None,
                      help='simulated seconds run by FiPy (default 1.0; --quick 0.2)')
  parser.add_argument('--t_end_s', type=float, default=None,
                      help='dendrax standard run end time (default 210; --quick 30)')
  parser.add_argument('--fipy_precon', default='jacobi', choices=('jacobi', 'ilu', 'none'))
  parser.add_argument('--skip_pfhub', action='store_true')
  parser.add_argument('--pfhub_domain', type=float, default=None,
                      help='PFHub computed domain side (default 960; --quick 480)')
  args = parser.parse_args(argv)
  window = args.fipy_window_s or (0.2 if args.quick else 1.0)
  t_end = args.t_end_s or (30.0 if args.quick else 210.0)
  pfhub_domain = args.pfhub_domain or (480.0 if args.quick else 960.0)

  import jax  # pylint: disable=g-import-not-at-top
  from benchmarks import fipy_electrodeposition as fe  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  params = fe.standard_params()
  print(f'jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPU cores')

  # (a) dendrax, standard case.
  std = simulate.SimulationConfig.standard(t_end_s=t_end)
  cells = std.nx * std.ny
  compile_s, run_s, _ = _time_dendrax(params, std)
  rate_a = cells * std.num_steps / run_s
  print(f'(a) dendrax standard case {std.ny}x{std.nx} at {std.dx_um} um, dt {std.dt_s} s, '
        f'0 -> {t_end:g} s ({std.num_steps} steps): compile {compile_s:.1f} s, run {run_s:.1f} s '
        f'= {run_s / std.num_steps * 1e3:.2f} ms/step, {rate_a / 1e6:.2f} M cell-updates/s')
  run_210 = run_s * 210.0 / t_end
  if t_end != 210.0:
    print(f'    (run time scaled linearly to 210 s: {run_210:.1f} s)')

  # Short window, no noise, both codes from the same initial state.
  win = simulate.SimulationConfig.standard(t_end_s=window, save_every_s=window,
                                           noise_amplitude=0.0)
  _, dx_short_s, traj = _time_dendrax(params, win)
  rates = simulate.coefficients_for(params, win)[1]
  d_li, d_dep = _li_uptake_um(traj, rates)
  fi = fe.run(win, params, t_end_s=window, precon=args.fipy_precon)
  fipy_step_s = fi['run_s'] / fi['steps']
  fipy_210 = fipy_step_s * round(210.0 / win.dt_s)
  print(f'(b) FiPy {win.ny}x{win.nx}, {fi["steps"]} steps ({window:g} s simulated, PCG + '
        f'{args.fipy_precon}): setup {fi["setup_s"]:.1f} s, run {fi["run_s"]:.1f} s = '
        f'{fipy_step_s:.3f} s/step, {cells / fipy_step_s / 1e6:.4f} M cell-updates/s')
  print(f'    FiPy 0 -> 210 s EXTRAPOLATED linearly from that window: {fipy_210:.0f} s '
        f'({fipy_210 / 3600:.2f} h)')
  print(f'    dendrax on the same {window:g} s window (no noise, compiled): {dx_short_s:.2f} s')
  # (c) ratios.
  print(f'(c) FiPy / dendrax wall time: same window {fi["run_s"] / dx_short_s:.1f}x; '
        f'0 -> 210 s {fipy_210 / run_210:.1f}x (FiPy extrapolated); target >= 20x')
  # Agreement.
  rel = lambda a, b: abs(a - b) / max(abs(b), 1e-30)
  fields = fi['fields']
  dxi = np.asarray(traj.xi[-1]) - fields['xi']
  print(f'    agreement over {window:g} s: deposit growth dendrax {d_dep:.5f} um vs FiPy '
        f'{fi["deposit_change_um"]:.5f} um ({100 * rel(fi["deposit_change_um"], d_dep):.2f}%); '
        f'Li uptake {d_li:.4f} vs {fi["li_change_um"]:.4f} c~um '
        f'({100 * rel(fi["li_change_um"], d_li):.2f}%); max |xi diff| {np.abs(dxi).max():.2e}')

  # (d) PFHub 3a.
  if not args.skip_pfhub:
    sys.path.insert(0, _REPO_ROOT)
    from configs import pfhub3a as pfhub_config  # pylint: disable=g-import-not-at-top
    from experiments import pfhub3a as pfhub_exp  # pylint: disable=g-import-not-at-top
    cfg = pfhub_config.get_config()
    cfg.numerics.domain_size = pfhub_domain
    out, c_s, r_s = pfhub_exp.run_benchmark(cfg)
    ref = pfhub_exp.pfhub3a_reference(cfg)
    errs = ', '.join(f't={t:g}: {100 * e:+.2f}%'
                     for t, _, _, e in pfhub_exp.tip_errors(out, cfg, ref))
    print(f'(d) PFHub 3a to t = {cfg.t_end:g} on {pfhub_domain:g}^2: compile {c_s:.1f} s, run '
          f'{r_s:.1f} s (published: PRISMS-PF 48.9 s on 6 cores, MOOSE 67.5 s on 6 cores, '
          f'FiPy 266,576 s on 1 core); tip errors {errs}')


if __name__ == '__main__':
  main()
