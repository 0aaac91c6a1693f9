r"""Training and inference speed of the surrogate, and its speed-up over the simulator.

  python benchmarks/train_speed.py                       # default config (CNN-2), 1 and 2 devices
  python benchmarks/train_speed.py --config configs/cnn1.py --steps 20 --devices 1,2
  python benchmarks/train_speed.py --no-simulator        # skip the simulator comparison

Prints, per device count (host CPU devices are forced with
XLA_FLAGS=--xla_force_host_platform_device_count=N in a child process; on a GPU machine the
real devices are used): compile time, train step time and examples per second on synthetic
batches of the config's shape, and the child's peak resident memory. Then, on one device:
the time of one 30 s prediction (batch 1), of a 210 s rollout (7 steps, batch 1) and of the
simulator producing the same 8 frames of one `dendrite_sim/small` trajectory, with the ratio.
Numbers are medians over repeated timed calls after a warm-up call.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_config(path: str):
  spec = importlib.util.spec_from_file_location('bench_config', os.path.join(ROOT, path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _timed(fn, repeats: int) -> float:
  """Median seconds of `fn()` (which must block until done) over `repeats` calls."""
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return statistics.median(times)


def child_train(args) -> dict:
  """Runs in the child: train-step timing on this process's devices."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  from dendrax.train import setup, steps  # pylint: disable=g-import-not-at-top

  config = _load_config(args.config)
  n = len(jax.devices())
  batch_size = args.batch_size or config.train.batch_size
  mesh = steps.make_mesh(n)
  model = setup.build_model(config)
  t0 = time.perf_counter()
  state = steps.replicate(setup.initial_state(config, jax.random.key(0)), mesh)
  init_s = time.perf_counter() - t0
  train_fn, _ = steps.compile_steps(mesh, model.apply, steps.step_loss_config(config))
  rng = np.random.default_rng(0)
  size, channels = args.frame_size, len(config.data.input_fields)
  batch = {'inputs': rng.uniform(size=(batch_size, size, size, channels)),
           'target': rng.uniform(size=(batch_size, size, size, 1)),
           'cond': rng.normal(size=(batch_size, pipeline.COND_SIZE)),
           'pixel_size_um': np.full(batch_size, 3.125), 'electrode_height_um': np.full(batch_size, 12.5)}
  sharded = steps.shard_batch(batch, mesh)
  t0 = time.perf_counter()
  state, m = train_fn(state, sharded)
  jax.block_until_ready(m)
  compile_s = time.perf_counter() - t0
  holder = [state]

  def one_step():
    holder[0], metrics = train_fn(holder[0], sharded)
    jax.block_until_ready(metrics)

  step_s = _timed(one_step, args.steps)
  return {'devices': n, 'platform': jax.devices()[0].platform, 'batch_size': batch_size,
          'frame_size': size, 'init_s': init_s, 'first_step_s': compile_s, 'step_s': step_s,
          'examples_per_s': batch_size / step_s,
          'params': int(sum(x.size for x in jax.tree.leaves(state.params))),
          'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_inference(args) -> dict:
  """Runs in the child (1 device): one step, a 210 s rollout, and the simulator."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  from dendrax.train import evaluation, setup  # pylint: disable=g-import-not-at-top

  config = _load_config(args.config)
  model = setup.build_model(config)
  params = setup.initial_state(config, jax.random.key(0)).params
  fns = evaluation.make_predict_fns(model)
  size, channels = args.frame_size, len(config.data.input_fields)
  x = jnp.full((1, size, size, channels), 0.2)
  cond = jnp.zeros((1, pipeline.COND_SIZE))
  cond_steps = jnp.zeros((1, 7, pipeline.COND_SIZE))
  predict = jax.jit(fns.predict_next)
  rollout = jax.jit(fns.rollout)
  jax.block_until_ready(predict(params, x, cond))
  jax.block_until_ready(rollout(params, x, cond_steps))
  out = {'predict_30s_s': _timed(lambda: jax.block_until_ready(predict(params, x, cond)), 50),
         'rollout_210s_s': _timed(
             lambda: jax.block_until_ready(rollout(params, x, cond_steps)), 20)}
  if args.simulator:
    try:
      out.update(_simulator_time(size))
      out['speedup_rollout_vs_simulator'] = out['simulator_210s_s'] / out['rollout_210s_s']
    except Exception as e:  # pylint: disable=broad-except
      out['simulator_error'] = f'{type(e).__name__}: {e}'
  return out


def _simulator_time(size: int) -> dict:
  """Seconds for the simulator to produce one `small` trajectory (0..210 s) on a size^2 grid."""
  import jax  # pylint: disable=g-import-not-at-top
  from data_builders.dendrite_sim import dendrite_sim  # pylint: disable=g-import-not-at-top
  from dendrax.physics import parameters, simulate  # pylint: disable=g-import-not-at-top
  small = {c.name: c for c in dendrite_sim.BUILDER_CONFIGS}['small']
  config = simulate.SimulationConfig.from_dict({
      **dict(small.simulation), 'nx': size, 'ny': size, 'chemistry': 'Li',
      'protocol': parameters.PROTOCOLS[0]})
  mid = {s.name: 0.5 * (s.low + s.high) for s in parameters.PARAMETER_SPECS}
  mid['n_defects'] = 3.0
  params = parameters.PhysicalParams(**mid)
  run = jax.jit(simulate.run, static_argnums=1)
  key = jax.random.key(0)
  jax.block_until_ready(run(params, config, key))
  return {'simulator_210s_s': _timed(lambda: jax.block_until_ready(run(params, config, key)), 3),
          'simulator_grid': f'{size}x{size}, dt_s={config.dt_s}'}


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--config', default='configs/default.py')
  parser.add_argument('--devices', default='1,2', help='comma-separated device counts')
  parser.add_argument('--steps', type=int, default=10, help='timed train steps')
  parser.add_argument('--batch_size', type=int, default=0, help='0: the config\'s')
  parser.add_argument('--frame_size', type=int, default=64)
  parser.add_argument('--no-simulator', dest='simulator', action='store_false')
  parser.add_argument('--child', choices=('train', 'inference'), help=argparse.SUPPRESS)
  args = parser.parse_args()

  if args.child:
    result = child_train(args) if args.child == 'train' else child_inference(args)
    print('RESULT ' + json.dumps(result))
    return

  def spawn(kind, devices=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    if devices:
      env['XLA_FLAGS'] = (env.get('XLA_FLAGS', '') +
                          f' --xla_force_host_platform_device_count={devices}').strip()
    cmd = [sys.executable, os.path.abspath(__file__), '--child', kind, '--config', args.config,
           '--steps', str(args.steps), '--batch_size', str(args.batch_size),
           '--frame_size', str(args.frame_size)] + ([] if args.simulator else ['--no-simulator'])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
    if proc.returncode or not lines:
      raise RuntimeError(f'{kind} child failed:\n{proc.stderr[-3000:]}')
    return json.loads(lines[-1][len('RESULT '):])

  print(f'config {args.config}, frame {args.frame_size}x{args.frame_size}')
  rows = [spawn('train', int(d)) for d in args.devices.split(',')]
  base = rows[0]['examples_per_s']
  print(f'{"devices":>7} {"platform":>8} {"batch":>5} {"params":>9} {"1st step s":>10} '
        f'{"step ms":>8} {"ex/s":>7} {"vs first":>8} {"peak RSS MiB":>12}')
  for r in rows:
    print(f'{r["devices"]:>7} {r["platform"]:>8} {r["batch_size"]:>5} {r["params"]:>9,} '
          f'{r["first_step_s"]:>10.1f} {1e3 * r["step_s"]:>8.1f} {r["examples_per_s"]:>7.1f} '
          f'{r["examples_per_s"] / base:>7.2f}x {r["peak_rss_mib"]:>12.0f}')
  inf = spawn('inference')
  print(f'one 30 s prediction (batch 1):   {1e3 * inf["predict_30s_s"]:.2f} ms')
  print(f'210 s rollout, 7 steps (batch 1): {1e3 * inf["rollout_210s_s"]:.2f} ms')
  if 'simulator_210s_s' in inf:
    print(f'simulator, same 8 frames ({inf["simulator_grid"]}): {inf["simulator_210s_s"]:.2f} s')
    print(f'speed-up of the surrogate rollout over the simulator: '
          f'{inf["speedup_rollout_vs_simulator"]:.0f}x')
  elif 'simulator_error' in inf:
    print(f'simulator comparison skipped: {inf["simulator_error"]}')
  print('JSON ' + json.dumps({'train': rows, 'inference': inf}))


if __name__ == '__main__':
  main()
