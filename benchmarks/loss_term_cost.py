r"""What the derivative-informed and physics terms cost per training step, in one process.

  python benchmarks/loss_term_cost.py                               # CNN-2, batch 32, 64 x 64
  python benchmarks/loss_term_cost.py --config configs/fno.py --batch_size 8 --steps 5

Times a jitted gradient step (`jax.value_and_grad` of the loss, then an optax update) of the
config's model on a synthetic batch of one-step pairs, three ways: the data loss alone
(`losses.total_loss`), plus the derivative-informed term (`derivative_loss.derivative_loss`: one
linearisation of the model pushed along the P = 6 parameter directions, with input tangents), and
plus the Faraday term (`physics_loss.faraday_loss`). Prints the median step time of each and its
ratio to the data-only step. The loss is composed here exactly as the training loop's hook would
compose it (data loss on the prediction the derivative term returns).
"""

from __future__ import annotations

import argparse
import importlib.util
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
from dendrax.train import derivative_loss, losses, physics_loss, setup  # pylint: disable=g-import-not-at-top,wrong-import-position


def _load_config(path: str):
  spec = importlib.util.spec_from_file_location('bench_config', os.path.join(ROOT, path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _batch(batch: int, size: int, channels: int, seed: int = 0) -> dict:
  rng = np.random.default_rng(seed)
  p = len(derivative_loss.TANGENT_PARAMETERS)
  yy = np.arange(size)[None, :, None, None]
  front = rng.uniform(10, 30, size=(batch, 1, size, 1))
  xi = 1.0 / (1.0 + np.exp((yy - front) / 1.5))
  inputs = np.concatenate([xi, rng.normal(size=(batch, size, size, channels - 1))], -1)
  f32 = lambda a: jnp.asarray(a, jnp.float32)
  return {'inputs': f32(inputs), 'target': f32(1.0 / (1.0 + np.exp((yy - front - 1) / 1.5))),
          'cond': f32(rng.normal(size=(batch, pipeline.COND_SIZE))),
          'pixel_size_um': f32(np.full(batch, 3.125)),
          'electrode_height_um': f32(np.full(batch, 12.5)),
          'tangents': f32(0.1 * rng.normal(size=(batch, p, size, size, 1))),
          'input_tangents': f32(0.1 * rng.normal(size=(batch, p, size, size, channels))),
          'charge_passed_c_per_m2': f32(np.full(batch, 3e4)),
          'charge_per_um_c_m2': f32(physics_loss.charge_per_um_c_m2(np.zeros(batch, int)))}


def make_step(config, apply_fn, tx, terms: tuple[str, ...]):
  """Jitted (params, opt_state, batch) -> (params, opt_state, loss) with the given extra terms."""
  loss_cfg = config.loss.to_dict()
  t = config.train
  scaling = derivative_loss.ParamScaling(
      mean=jnp.zeros(7), std=jnp.ones(7),
      log_scale=jnp.asarray([False, False, False, True, True, True, False]))

  def loss_fn(params, batch):
    if 'derivative' in terms:
      pred, d_loss, _ = derivative_loss.derivative_loss(apply_fn, params, batch, scaling,
                                                        t.derivative_floor)
    else:
      pred = apply_fn({'params': params}, batch['inputs'], batch['cond'])
    loss, _ = losses.total_loss(pred, batch['target'], loss_cfg, batch['pixel_size_um'],
                                batch['electrode_height_um'])
    if 'derivative' in terms:
      loss = loss + 0.01 * d_loss
    if 'physics' in terms:
      p_loss, _ = physics_loss.faraday_loss(
          batch['inputs'][..., :1], pred, batch['charge_passed_c_per_m2'],
          batch['pixel_size_um'], batch['charge_per_um_c_m2'], t.physics_floor_px)
      loss = loss + 0.01 * p_loss
    return loss

  @jax.jit
  def step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = jax.tree.map(lambda a, u: a + u, params, updates)
    return params, opt_state, loss
  return step


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--config', default='configs/cnn2.py')
  parser.add_argument('--batch_size', type=int, default=32)
  parser.add_argument('--frame_size', type=int, default=64)
  parser.add_argument('--steps', type=int, default=5, help='timed steps per variant (median)')
  args = parser.parse_args()

  config = _load_config(args.config)
  state = setup.initial_state(config, jax.random.key(0))
  batch = _batch(args.batch_size, args.frame_size, len(config.data.input_fields))
  print(f'{config.model_name}, batch {args.batch_size}, {args.frame_size}x{args.frame_size}, '
        f'{jax.devices()[0].platform}')
  base = None
  for terms in ((), ('derivative',), ('physics',), ('derivative', 'physics')):
    step = make_step(config, state.apply_fn, state.tx, terms)
    params, opt = state.params, state.opt_state
    t0 = time.perf_counter()
    params, opt, loss = step(params, opt, batch)
    jax.block_until_ready(loss)
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(args.steps):
      t0 = time.perf_counter()
      params, opt, loss = step(params, opt, batch)
      jax.block_until_ready(loss)
      times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    base = base or med
    name = 'data' + ''.join(f' + {t}' for t in terms)
    print(f'{name:<30} step {med * 1e3:8.1f} ms  ({med / base:4.2f}x data only; first call '
          f'{compile_s:.1f} s)', flush=True)


if __name__ == '__main__':
  main()
