r"""Physics speed benchmark: dendrax vs FiPy on the same electroneutral problem, and PFHub 3a.

  python -m benchmarks.physics_speed --quick    # FiPy 10 steps, dendrax standard to 30 s, PFHub 480^2
  python -m benchmarks.physics_speed            # FiPy 40 steps, dendrax standard to 210 s, 960^2

Prints, in one invocation (with the machine's load average beside the timings: the ratios are
measured side by side in the same process, the absolute times depend on the load):
 (a) dendrax on the standard case as configured (`SimulationConfig.standard()`: Li, 200 x 200
     at 1 um, dt 0.05 s, three-stage protocol, float32, 8 potential / 6 transport PCG
     iterations): compile and run time, ms per step, cell-updates per second, and the true
     relative residuals |b - A x| / |b| its fixed-iteration solves leave on the window;
 (b) tolerance matching: the common relative tolerance (`--tolerance`, default FiPy's own 1e-5).
     float32 cannot reach it for the charge balance (the residual floors at ~1e-3 there: the
     source is small against the ohmic fluxes that cancel in it), so the matched dendrax runs in
     float64 with the fewest PCG iterations (from candidate lists, replayed on the window by
     `benchmarks.dendrax_residuals`) that reach the tolerance at every step, confirmed by a run;
 (c) FiPy (`benchmarks.fipy_electrodeposition`) on the same grid, dt, initial state and
     tolerance for `--steps` steps, and the matched dendrax on the same window and on a longer
     run (`--matched_t_end_s`) for its per-step cost;
 (d) the ratios FiPy / dendrax: same window, and 0 -> 210 s with FiPy EXTRAPOLATED linearly
     (goal >= 20x), plus the ratio against the standard float32 configuration (not
     tolerance-matched: stated as such);
 (e) agreement of the two codes on the window (deposited metal, current, voltage, concentration
     and potential norms, max field differences);
 (f) PFHub 3a to t = 1500 (configs/pfhub3a.py).
Noise is off in every dendrax/FiPy comparison run (the peer has none); timing (a) uses the
standard config as is.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Candidate (transport, potential) PCG iteration counts, tried in pairs (one replay per pair).
CANDIDATES = ((8, 32), (12, 48), (16, 64), (20, 80), (24, 96), (32, 128), (48, 160))


def load() -> str:
  return 'load average %.1f %.1f %.1f' % os.getloadavg()


def _time_dendrax(params, config, seed=0):
  """(compile_s, run_s) of dendrax.physics.simulate.run under `config`."""
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  key = jax.random.key(seed)
  t0 = time.perf_counter()
  jax.block_until_ready(simulate.run(params, config, key))
  t1 = time.perf_counter()
  jax.block_until_ready(simulate.run(params, config, key))
  t2 = time.perf_counter()
  run_s = t2 - t1
  return max(t1 - t0 - run_s, 0.0), run_s


def _max_residuals(ref, first=0):
  return {k: max(r[k] for r in ref['residuals'][first:]) for k in ('salt', 'potential')}


def match_tolerance(params, config, steps, tolerance):
  """(transport, potential) iterations of float64 dendrax that reach `tolerance` on the window,
  or the largest candidates if none does (printed)."""
  from benchmarks import dendrax_residuals as dr  # pylint: disable=g-import-not-at-top
  largest = CANDIDATES[-1]
  probe = dataclasses.replace(config, transport_iterations=largest[0],
                              potential_iterations=largest[1])
  # Replayed on the first two steps (the cold start of the potential, then a warm one) and the
  # last; the confirmation run then measures every step.
  ref = dr.dendrax_steps(params, probe, steps, replay_iterations=CANDIDATES,
                         replay_steps={0, 1, steps - 1})
  salt, pot = dr.iterations_for(tolerance, ref['replays'])
  return salt or largest[0], pot or largest[1]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--steps', type=int, default=None,
                      help='FiPy / comparison window in steps (default 40; --quick 10)')
  parser.add_argument('--t_end_s', type=float, default=None,
                      help='dendrax standard run end time (default 210; --quick 30)')
  parser.add_argument('--matched_t_end_s', type=float, default=None,
                      help='matched (float64) dendrax timing run (default 10; --quick 2)')
  parser.add_argument('--tolerance', type=float, default=1e-5)
  parser.add_argument('--fipy_precon', default='diagonal', choices=('diagonal', 'jacobi', 'ilu', 'none'))
  parser.add_argument('--nx', type=int, default=None, help='override the window (tests)')
  parser.add_argument('--ny', type=int, default=None)
  parser.add_argument('--skip_pfhub', action='store_true')
  parser.add_argument('--pfhub_domain', type=float, default=None,
                      help='PFHub computed domain side (default 960; --quick 480)')
  args = parser.parse_args(argv)
  steps = args.steps or (10 if args.quick else 40)
  t_end = args.t_end_s or (30.0 if args.quick else 210.0)
  t_matched = args.matched_t_end_s or (2.0 if args.quick else 10.0)
  pfhub_domain = args.pfhub_domain or (480.0 if args.quick else 960.0)

  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update('jax_enable_x64', True)      # the matched runs are float64
  from benchmarks import dendrax_residuals as dr  # pylint: disable=g-import-not-at-top
  from benchmarks import fipy_electrodeposition as fe  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  params = fe.standard_params()
  grid = {k: v for k, v in (('nx', args.nx), ('ny', args.ny)) if v}
  print(f'jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPU cores; '
        f'{load()}; standard params {fe.STANDARD_PARAMS}', flush=True)

  # (a) dendrax, standard case as configured.
  std = simulate.SimulationConfig.standard(t_end_s=t_end, save_every_s=min(30.0, t_end), **grid)
  cells = std.nx * std.ny
  steps_210 = round(210.0 / std.dt_s)
  compile_s, run_s = _time_dendrax(params, std)
  ms_std = run_s / std.num_steps * 1e3
  print(f'(a) dendrax standard case {std.ny}x{std.nx} at {std.dx_um} um, dt {std.dt_s} s, '
        f'{std.dtype}, {std.potential_iterations}/{std.transport_iterations} potential/transport '
        f'PCG iterations, 0 -> {t_end:g} s ({std.num_steps} steps): compile {compile_s:.1f} s, '
        f'run {run_s:.1f} s = {ms_std:.2f} ms/step, {cells / ms_std / 1e3:.2f} M cell-updates/s '
        f'[{load()}]', flush=True)
  if t_end != 210.0:
    print(f'    (0 -> 210 s scaled linearly: {ms_std * steps_210 / 1e3:.1f} s)')
  win = dict(noise_amplitude=0.0, t_end_s=steps * std.dt_s, save_every_s=steps * std.dt_s,
             **grid)
  ref = dr.dendrax_steps(params, simulate.SimulationConfig.standard(**win), steps)
  res, warm = _max_residuals(ref), _max_residuals(ref, first=1)
  print(f'    its solves on the first {steps} steps (no noise): max true relative residual salt '
        f'{res["salt"]:.1e}, charge balance {res["potential"]:.1e} (without the first step, '
        f'whose potential starts cold from 0: {warm["salt"]:.1e}, {warm["potential"]:.1e})',
        flush=True)

  # (b) tolerance matching.
  tol = args.tolerance
  cfg64 = simulate.SimulationConfig.standard(dtype='float64', **win)
  n_salt, n_pot = match_tolerance(params, cfg64, steps, tol)
  matched = simulate.SimulationConfig.standard(dtype='float64', transport_iterations=n_salt,
                                               potential_iterations=n_pot, **win)
  ref = dr.dendrax_steps(params, matched, steps)
  res = _max_residuals(ref)
  print(f'(b) tolerance {tol:g} (|b - A x| <= tol |b|, FiPy\'s default criterion and value): '
        f'dendrax float64 needs {n_salt} transport / {n_pot} potential PCG iterations; measured '
        f'max residual over {steps} steps: salt {res["salt"]:.1e}, charge balance '
        f'{res["potential"]:.1e}{"" if max(res.values()) <= tol else "  (ABOVE tolerance)"}',
        flush=True)

  # (c) FiPy and the matched dendrax.
  fi = fe.run(matched, params, steps=steps, precon=args.fipy_precon, tolerance=tol)
  fipy_step = fi['run_s'] / steps
  its = ', '.join(f'{k} {v / steps:.0f}' for k, v in fi['iterations'].items())
  print(f'(c) FiPy 4.0.3 {matched.ny}x{matched.nx}, {steps} steps, PCG + {args.fipy_precon} to '
        f'{tol:g}: setup {fi["setup_s"]:.1f} s, run {fi["run_s"]:.1f} s = {fipy_step:.3f} s/step, '
        f'{cells / fipy_step / 1e6:.4f} M cell-updates/s; iterations/step {its}; '
        f'{fi["unconverged"]} solves hit the cap [{load()}]', flush=True)
  _, win_s = _time_dendrax(params, matched)
  long_cfg = simulate.SimulationConfig.standard(
      dtype='float64', transport_iterations=n_salt, potential_iterations=n_pot,
      noise_amplitude=0.0, t_end_s=t_matched, save_every_s=t_matched, **grid)
  _, long_s = _time_dendrax(params, long_cfg)
  dx_step = long_s / long_cfg.num_steps
  print(f'    dendrax matched (float64, {n_salt}/{n_pot}): same {steps}-step window {win_s:.2f} s; '
        f'0 -> {t_matched:g} s ({long_cfg.num_steps} steps) {long_s:.1f} s = '
        f'{dx_step * 1e3:.1f} ms/step, {cells / dx_step / 1e6:.3f} M cell-updates/s [{load()}]',
        flush=True)

  # (d) ratios.
  print(f'(d) FiPy / dendrax at the same tolerance: same window {fi["run_s"] / win_s:.1f}x; '
        f'per step {fipy_step / dx_step:.1f}x; 0 -> 210 s ({steps_210} steps, FiPy EXTRAPOLATED '
        f'linearly: {fipy_step * steps_210:.0f} s vs dendrax {dx_step * steps_210:.0f} s) '
        f'{fipy_step / dx_step:.1f}x; goal >= 20x')
  print(f'    (not tolerance-matched: FiPy at {tol:g} / dendrax standard float32 '
        f'{std.potential_iterations}/{std.transport_iterations} iterations: '
        f'{fipy_step / (ms_std / 1e3):.1f}x per step)')

  # (e) agreement.
  init = np.asarray(fe.dendrax_initial_state(params, matched)[0].xi, np.float64)
  print(f'(e) agreement over {steps} steps ({steps * matched.dt_s:g} s):')
  for line in dr.agreement_lines(dr.agreement(ref, fi, matched, init)):
    print(line)

  # (f) PFHub 3a.
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
    print(f'(f) PFHub 3a to t = {cfg.t_end:g} on {pfhub_domain:g}^2: compile {c_s:.1f} s, run '
          f'{r_s:.1f} s (published: PRISMS-PF 48.9 s on 6 cores, MOOSE 67.5 s on 6 cores, '
          f'FiPy 266,576 s on 1 core); tip errors {errs} [{load()}]')


if __name__ == '__main__':
  main()
