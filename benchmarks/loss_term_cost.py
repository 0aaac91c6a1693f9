r"""What the derivative-informed and physics terms cost per training step, in one process.

  python benchmarks/loss_term_cost.py                               # CNN-2, batch 32, 64 x 64
  python benchmarks/loss_term_cost.py --config configs/fno.py --batch_size 8 --steps 5

Times a jitted gradient step (`jax.value_and_grad` of the loss, then an optax update) of the
config's model on a synthetic batch of one-step pairs (`VARIANTS`): the data loss alone, plus
the derivative-informed term as the loop computes it (`steps.batch_loss`: one drawn parameter
direction per pair, `derivative_loss.sampled_derivative_loss`), plus that term along all P = 6
directions (`derivative_loss.derivative_loss`, not used by the loop), and plus the Faraday term.
Prints the median step time of each and its ratio to the data-only step.
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

import ml_collections  # pylint: disable=g-import-not-at-top,wrong-import-position
from dendrax.data import normalization, pipeline  # pylint: disable=g-import-not-at-top,wrong-import-position
from dendrax.train import derivative_loss, losses, physics_loss, setup, steps  # pylint: disable=g-import-not-at-top,wrong-import-position


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
          # All six directions (derivative_loss.derivative_loss) ...
          'all_tangents': f32(0.1 * rng.normal(size=(batch, p, size, size, 1))),
          'all_input_tangents': f32(0.1 * rng.normal(size=(batch, p, size, size, channels))),
          # ... or one drawn direction per pair, as the pipeline gives them to the loop.
          'tangents': f32(0.1 * rng.normal(size=(batch, 1, size, size, 1))),
          'input_tangents': f32(0.1 * rng.normal(size=(batch, 1, size, size, channels))),
          'tangent_onehot': f32(np.eye(p)[rng.integers(p, size=batch)]),
          'charge_passed_c_per_m2': f32(np.full(batch, 3e4)),
          'charge_per_um_c_m2': f32(physics_loss.charge_per_um_c_m2(np.zeros(batch, int)))}


# Variants: the loop's own composition (`steps.batch_loss`) with the terms switched on, and the
# all-directions derivative term (`derivative_loss.derivative_loss`) that the loop does not use.
VARIANTS = ('data', 'data + derivative (1 drawn direction, the loop)',
            'data + derivative (all 6 directions)', 'data + physics',
            'data + derivative (1) + physics')


def make_step(config, apply_fn, tx, variant: str, normalizer):
  """Jitted (params, opt_state, batch) -> (params, opt_state, loss) of one variant."""
  config = ml_collections.ConfigDict(config.to_dict())
  config.train.derivative_weight = 0.01 if 'derivative' in variant else 0.0
  config.train.physics_weight = 0.01 if 'physics' in variant else 0.0
  loss_cfg = steps.step_loss_config(config, normalizer)
  all_directions = 'all 6' in variant

  def loss_fn(params, batch):
    if not all_directions:
      return steps.batch_loss(params, apply_fn, batch, loss_cfg)[0]
    scaling = derivative_loss.scaling_from_normalizer(normalizer)
    pred, d_loss, _ = derivative_loss.derivative_loss(
        apply_fn, params, {'inputs': batch['inputs'], 'cond': batch['cond'],
                           'tangents': batch['all_tangents'],
                           'input_tangents': batch['all_input_tangents']},
        scaling, config.train.derivative_floor)
    loss, _ = losses.total_loss(pred, batch['target'], loss_cfg, batch['pixel_size_um'],
                                batch['electrode_height_um'])
    return loss + 0.01 * d_loss

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
  normalizer = normalization.Normalizer(
      param_mean=(0.0,) * 7, param_std=(1.0,) * 7, field_mean=(0.0,) * 3,
      field_std=(1.0,) * 3, num_trajectories=1)
  base = None
  for variant in VARIANTS:
    step = make_step(config, state.apply_fn, state.tx, variant, normalizer)
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
    print(f'{variant:<48} step {med * 1e3:8.1f} ms  ({med / base:4.2f}x data only; first call '
          f'{compile_s:.1f} s)', flush=True)


if __name__ == '__main__':
  main()
