r"""Where the dataset step's time goes: the preset's step against cheaper variants, one process.

  python -m benchmarks.step_cost                       # ~2 min here
  python -m benchmarks.step_cost --trace reports/step_trace
  python -m benchmarks.step_cost --variants sink       # the converged past-Sand scheme's cost

Times one chunk of the builder's work (a batch of 8 copies of a Li pulse point, vmapped, 30 s of
simulated time at dt 0.05 s: 600 steps) for the dataset preset and for variants that each drop
one part of the step: the two-level coarse correction (`coarse_correction=False`), all but one
of the potential PCG iterations (4 in the preset), all but one of the salt iterations (12). Each
setting is compiled first, then the settings are timed in turn `--repeats` times (interleaved, so
that load on a shared machine hits all of them) and the median is printed with its ratio to the
preset. The variants change the numbers; they show the share of each part, not settings to use.
`--variants sink` times instead the reaction on the interface's core with the salt's sink
implicit (docs/physics.md, "Past Sand's time: a converged scheme") at 12 and 24 salt iterations
and 1 or 2 Newton iterations, with the step closed by a final salt solve or by the Newton
iteration's linear prediction (`sink_final_solve=False`), and with 6 iterations for the
derivative solve instead of half the salt's (`sink_derivative_iterations`), against the preset.

`--trace D` also profiles the preset's call with the XLA kernel trace (perfetto JSON under D) and
prints the kernels per step and the busiest kernel kinds: how many small kernels a step is, and
the share of the dense spectral transforms (`ynn_fusion`: the matrix products of
`spectral.make_helmholtz_solver`). Results: docs/data.md, "`medium`'s build time".
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import statistics
import time

import jax
import numpy as np

from dendrax.physics import parameters, simulate

POINT = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=4.0,
             field_strength_kv_per_m=0.1, ion_concentration_mol_m3=1000.0,
             surface_energy_j_m2=0.5, fluidity_per_pa_s=316.0, n_defects=3.0)
_PRESET = simulate.SimulationConfig.for_dataset()
VARIANTS = {'preset': {},
            'no coarse correction': dict(coarse_correction=False),
            f'potential PCG {_PRESET.potential_iterations} -> 1': dict(potential_iterations=1),
            f'salt PCG {_PRESET.transport_iterations} -> 1': dict(transport_iterations=1)}
_SINK = dict(reaction_xi_min=0.1, salt_sink='implicit')
SINK_VARIANTS = {'preset': {},
                 'core + implicit sink, salt 24, Newton 2': dict(_SINK, transport_iterations=24),
                 'core + implicit sink, salt 24, Newton 1': dict(_SINK, transport_iterations=24,
                                                                 sink_iterations=1),
                 'core + implicit sink, salt 12, Newton 2': dict(_SINK),
                 'core + implicit sink, salt 24, Newton 2, linear closure': dict(
                     _SINK, transport_iterations=24, sink_final_solve=False),
                 'core + implicit sink, salt 12, Newton 2, linear closure': dict(
                     _SINK, sink_final_solve=False),
                 'core + implicit sink, salt 24, Newton 2, linear closure, derivative 6': dict(
                     _SINK, transport_iterations=24, sink_final_solve=False,
                     sink_derivative_iterations=6)}
VARIANT_SETS = {'parts': VARIANTS, 'sink': SINK_VARIANTS}


def make_call(overrides: dict, batch: int, dt_s: float, t_end_s: float = 30.0):
  """(call, steps): a no-argument function running the chunk once, compiled on first use."""
  config = simulate.SimulationConfig.for_dataset(protocol='pulse', chemistry='Li', dt_s=dt_s,
                                                 t_end_s=t_end_s, save_every_s=t_end_s,
                                                 **overrides)
  params = parameters.PhysicalParams(**{k: np.full((batch,), v, np.float32)
                                        for k, v in POINT.items()})
  keys = jax.random.split(jax.random.PRNGKey(0), batch)

  def call():
    jax.block_until_ready(simulate.run_batch(params, config, keys).xi)
  return call, config.num_steps


def kernel_summary(trace_dir: str, steps: int, wall_s: float) -> None:
  """Kernels per step and the busiest kernel kinds of the perfetto trace in `trace_dir`."""
  path = sorted(glob.glob(os.path.join(trace_dir, '**', '*perfetto_trace.json.gz'),
                          recursive=True))[-1]
  with gzip.open(path) as f:
    trace = json.load(f)
  events = [e for e in (trace['traceEvents'] if isinstance(trace, dict) else trace)
            if e.get('ph') == 'X']
  kernels = [e for e in events if not e['name'].startswith(('$', 'ThunkExecutor', 'while',
                                                             'end: ', 'Threadpool'))]
  total = collections.Counter()
  for e in kernels:
    stem, _, suffix = e['name'].rpartition('.')
    total[stem if suffix.isdigit() else e['name']] += e.get('dur', 0)
  busy = sum(total.values())
  print(f'{len(kernels) / steps:.0f} kernels per step, {busy / 1e3 / steps:.2f} ms of kernel '
        f'time per step (all threads) in {1e3 * wall_s / steps:.2f} ms of wall time per step '
        f'(traced); busiest kinds:')
  for name, t in total.most_common(8):
    print(f'  {100 * t / busy:5.1f} %  {name}')


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--dt_s', type=float, default=0.05)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--trace', default='', help='folder for a kernel trace of the preset')
  parser.add_argument('--variants', default='parts', choices=sorted(VARIANT_SETS))
  args = parser.parse_args()
  variants = VARIANT_SETS[args.variants]
  if args.trace:   # per-kernel events; read when the backend starts (the first device query)
    os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '')
                               + ' --xla_cpu_enable_xprof_traceme=true').strip()
  print(f'jax {jax.__version__}, {jax.device_count()} device(s), {os.cpu_count()} cores, '
        f'batch {args.batch}, load average {os.getloadavg()[0]:.1f}')
  calls = {}
  for name, overrides in variants.items():
    call, steps = make_call(overrides, args.batch, args.dt_s)
    t0 = time.perf_counter()
    call()
    print(f'{name}: compiled and ran in {time.perf_counter() - t0:.1f} s', flush=True)
    calls[name] = call
  times = collections.defaultdict(list)
  for _ in range(args.repeats):
    for name, call in calls.items():
      t0 = time.perf_counter()
      call()
      times[name].append(time.perf_counter() - t0)
  base = statistics.median(times['preset'])
  for name in variants:
    t = statistics.median(times[name])
    print(f'{name:40s} {1e3 * t / steps:6.2f} ms/step  ({t / base:.2f} of the preset; '
          f'{1e3 * t / steps / args.batch:.2f} ms per trajectory-step)')
  if args.trace:
    # 3 s (60 steps at 0.05 s): the trace keeps at most 1e6 events, ~6000 per step.
    call, steps = make_call({}, args.batch, args.dt_s, t_end_s=3.0)
    call()
    jax.profiler.start_trace(args.trace, create_perfetto_trace=True)
    t0 = time.perf_counter()
    call()
    wall = time.perf_counter() - t0
    jax.profiler.stop_trace()
    kernel_summary(args.trace, steps, wall)


if __name__ == '__main__':
  main()
