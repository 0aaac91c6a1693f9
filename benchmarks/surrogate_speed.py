r"""Surrogate against simulator: the same frames on the same grid, in one process, per batch size.

  python benchmarks/surrogate_speed.py                                   # batch 1 and 64, 210 s
  python benchmarks/surrogate_speed.py --configs configs/cnn2.py,configs/cnext.py,configs/fno.py
  python benchmarks/surrogate_speed.py --batch_sizes 1,64 --frames 1     # only the first 30 s jump

For each batch size B: the simulator (`dendrax.physics.simulate.run_batch`, the dataset preset
`SimulationConfig.for_dataset` on a frame_size^2 grid, dt from `simulate.stable_time_step` as the
dataset builder picks it) produces `frames` saved frames after t = 0 for B parameter points drawn
uniformly in the parameter box; each surrogate rolls the same B first frames forward the same
`frames` 30 s steps (`train.evaluation.make_predict_fns(model).rollout`, one `lax.scan`). Both
are compiled ahead of time (`jit(...).lower(...).compile()`), so the timings exclude compilation;
the surrogate time is the median of `--repeats` calls, the simulator's of `--sim_repeats` calls
(1 by default: at B = 64 one call takes minutes on a CPU). Prints seconds per call, per
trajectory, and the ratio simulator / surrogate for every (model, B). Parameters are freshly
initialised: the weights do not change the surrogate's cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top,wrong-import-position
from dendrax.physics import parameters, simulate  # pylint: disable=g-import-not-at-top,wrong-import-position
from dendrax.train import evaluation, setup  # pylint: disable=g-import-not-at-top,wrong-import-position


def _load_config(path: str):
  spec = importlib.util.spec_from_file_location('bench_config', os.path.join(ROOT, path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _median_time(fn, repeats: int) -> float:
  """Median seconds of `fn()` (which blocks until done) over `repeats` calls."""
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return statistics.median(times)


def _parameter_points(batch: int, seed: int) -> np.ndarray:
  """[B, 7] points uniform in the parameter box (n_defects rounded)."""
  rng = np.random.default_rng(seed)
  low = np.array([s.low for s in parameters.PARAMETER_SPECS])
  high = np.array([s.high for s in parameters.PARAMETER_SPECS])
  p = low + (high - low) * rng.uniform(size=(batch, len(low)))
  p[:, -1] = np.round(p[:, -1])
  return p


def simulator_case(batch: int, frames: int, size: int, protocol: str, chemistry: str,
                   seed: int) -> dict:
  """The compiled simulator call on B points of the box and its arguments (saved xi only)."""
  base = simulate.SimulationConfig.for_dataset(nx=size, ny=size, protocol=protocol,
                                               chemistry=chemistry)
  config = dataclasses.replace(base, t_end_s=frames * base.save_every_s)
  points = _parameter_points(batch, seed)
  config = dataclasses.replace(config, dt_s=simulate.stable_time_step(points, config)).checked()
  params = parameters.PhysicalParams.from_vector(jnp.asarray(points, jnp.float32))
  simulate.validate(params, config)
  keys = jax.random.split(jax.random.key(seed), batch)
  fn = jax.jit(lambda p, k: simulate._run_batch_jit(p, config, k).xi)  # pylint: disable=protected-access
  t0 = time.perf_counter()
  compiled = fn.lower(params, keys).compile()
  compile_s = time.perf_counter() - t0
  return {'compiled': compiled, 'args': (params, keys), 'compile_s': compile_s,
          'dt_s': config.dt_s, 'steps': round(config.t_end_s / config.dt_s)}


def surrogate_case(config_path: str, batch: int, frames: int, size: int) -> dict:
  """Compiled rollout of the config's model over `frames` 30 s steps at batch B."""
  config = _load_config(config_path)
  model = setup.build_model(config)
  params = setup.initial_state(config, jax.random.key(0)).params
  channels = len(config.data.input_fields)
  first = jnp.full((batch, size, size, channels), 0.2, jnp.float32)
  cond = jnp.zeros((batch, frames, pipeline.COND_SIZE), jnp.float32)
  rollout = jax.jit(evaluation.make_predict_fns(model).rollout)
  t0 = time.perf_counter()
  compiled = rollout.lower(params, first, cond).compile()
  compile_s = time.perf_counter() - t0
  return {'compiled': compiled, 'args': (params, first, cond), 'compile_s': compile_s,
          'model': config.model_name,
          'params': int(sum(x.size for x in jax.tree.leaves(params)))}


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--configs', default='configs/cnn2.py', help='comma-separated configs')
  parser.add_argument('--batch_sizes', default='1,64')
  parser.add_argument('--frames', type=int, default=7, help='30 s frames after t = 0 (7: 210 s)')
  parser.add_argument('--frame_size', type=int, default=64)
  parser.add_argument('--protocol', default='constant_current', choices=parameters.PROTOCOLS)
  parser.add_argument('--chemistry', default='Li', choices=parameters.CHEMISTRIES)
  parser.add_argument('--repeats', type=int, default=5, help='timed surrogate calls (median)')
  parser.add_argument('--sim_repeats', type=int, default=1, help='timed simulator calls (median)')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  if not 1 <= args.frames <= 7:
    raise ValueError(f'--frames must be in [1, 7]; got {args.frames}')

  dev = jax.devices()[0]
  print(f'device {dev.platform} ({dev.device_kind}), {jax.device_count()} device(s); grid '
        f'{args.frame_size}x{args.frame_size}; {args.frames} frames of 30 s; {args.chemistry}, '
        f'{args.protocol}')
  rows = []
  for batch in (int(b) for b in args.batch_sizes.split(',')):
    sim = simulator_case(batch, args.frames, args.frame_size, args.protocol, args.chemistry,
                         args.seed)
    sim_s = _median_time(lambda: jax.block_until_ready(sim['compiled'](*sim['args'])),
                         args.sim_repeats)
    print(f'B={batch:<3} simulator: {sim_s:9.3f} s ({sim["steps"]} steps of dt {sim["dt_s"]:.4g} s; '
          f'compile {sim["compile_s"]:.1f} s)', flush=True)
    for path in args.configs.split(','):
      sur = surrogate_case(path, batch, args.frames, args.frame_size)
      sur_s = _median_time(lambda: jax.block_until_ready(sur['compiled'](*sur['args'])),
                           args.repeats)
      row = {'batch': batch, 'model': sur['model'], 'params': sur['params'],
             'simulator_s': sim_s, 'surrogate_s': sur_s, 'ratio': sim_s / sur_s,
             'simulator_s_per_trajectory': sim_s / batch,
             'surrogate_s_per_trajectory': sur_s / batch, 'frames': args.frames,
             'frame_size': args.frame_size, 'platform': dev.platform}
      rows.append(row)
      print(f'B={batch:<3} {sur["model"]:>6} ({sur["params"]:,} params): {sur_s * 1e3:9.2f} ms '
            f'-> simulator / surrogate = {row["ratio"]:,.0f}x', flush=True)
  print('JSON ' + json.dumps(rows))


if __name__ == '__main__':
  main()
