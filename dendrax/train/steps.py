"""Train and eval steps, and their data-parallel compilation over a ('data',) device mesh.

Data parallelism is `jax.jit` over a 1-D ('data',) mesh (`dendrax.data.sharding.data_mesh`, the
one mesh constructor of dendrax; `make_mesh` picks its devices): the batch is sharded
`P('data')` along its leading axis, the train state is replicated and donated. The loss is a
mean over the global batch, so XLA inserts the cross-device reduction of the gradient itself and
the update equals the single-device update up to float summation order (tests check this with
two forced host devices). On several hosts, call `jax.distributed.initialize()` first; the mesh
then spans `jax.devices()` of all processes and each process feeds its own slice of the batch
(`docs/training.md`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state
from jax.sharding import NamedSharding, PartitionSpec as P

from dendrax.data import sharding as data_sharding
from dendrax.train import derivative_loss
from dendrax.train import losses
from dendrax.train import physics_loss

# The batch entries the steps read (+ 'extra' of unrolled windows); the rest of a pipeline
# batch stays on the host.
STEP_KEYS = ('inputs', 'target', 'cond', 'pixel_size_um', 'electrode_height_um')
OPTIONAL_STEP_KEYS = ('extra', 'charge_passed_c_per_m2', 'charge_per_um_c_m2',
                      'input_tangents', 'tangents', 'tangent_onehot')


def step_loss_config(config, normalizer=None) -> dict[str, Any]:
  """The steps' loss config: `config.loss` plus the weight and floor of the Faraday term
  (`train.physics_weight`, `train.physics_floor_px`) and of the derivative-informed term
  (`train.derivative_weight`, `train.derivative_floor`; it needs the train-fitted `normalizer`'s
  parameter scaling for the chain rule through the conditioning)."""
  cfg = dict(config.loss.to_dict(), physics_weight=float(config.train.physics_weight),
             physics_floor_px=float(config.train.physics_floor_px),
             derivative_weight=float(config.train.derivative_weight),
             derivative_floor=float(config.train.derivative_floor))
  if cfg['derivative_weight'] > 0:
    if normalizer is None:
      raise ValueError('train.derivative_weight > 0 needs the normalizer (parameter scaling)')
    scaling = derivative_loss.scaling_from_normalizer(normalizer)
    cfg['param_scaling'] = tuple(tuple(np.asarray(a).tolist()) for a in scaling)
  return cfg


def _scaling(loss_cfg: Mapping[str, Any]) -> derivative_loss.ParamScaling:
  mean, std, log_scale = loss_cfg['param_scaling']
  return derivative_loss.ParamScaling(jnp.asarray(mean, jnp.float32),
                                      jnp.asarray(std, jnp.float32), jnp.asarray(log_scale))


def batch_loss(params, apply_fn: Callable, batch: Mapping[str, jax.Array],
               loss_cfg: Mapping[str, Any]) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Loss of a batch of one-step pairs, or of k-step windows (`windows.py`) unrolled with scan.

  Pairs: target [B, H, W, 1], cond [B, K]. Windows: target [B, k, H, W, 1], cond [B, k, K],
  extra [B, k, H, W, C-1]; each step's input xi is the previous prediction, and the loss is
  the mean over the k steps (gradients flow through the whole unroll).
  With `loss_cfg['physics_weight']` > 0 (pairs only), the Faraday term of `physics_loss` on
  the batch's `charge_passed_c_per_m2` and `charge_per_um_c_m2` is added, weighted; with
  `loss_cfg['derivative_weight']` > 0 (pairs only), the derivative-informed term of
  `derivative_loss.sampled_derivative_loss` on the batch's tangents.
  """
  ps, eh = batch['pixel_size_um'], batch['electrode_height_um']
  physics_weight = loss_cfg.get('physics_weight', 0.0)
  derivative_weight = loss_cfg.get('derivative_weight', 0.0)
  if batch['target'].ndim == 4:
    if derivative_weight > 0:   # the linearisation also gives the prediction
      pred, derivative, derivative_parts = derivative_loss.sampled_derivative_loss(
          apply_fn, params, batch, _scaling(loss_cfg), loss_cfg['derivative_floor'])
    else:
      pred = apply_fn({'params': params}, batch['inputs'], batch['cond'])
    loss, parts = losses.total_loss(pred, batch['target'], loss_cfg, ps, eh)
    if derivative_weight > 0:
      loss = loss + derivative_weight * derivative
      parts = dict(parts, **derivative_parts, loss=loss)
    if physics_weight > 0:
      physics, physics_parts = physics_loss.faraday_loss(
          batch['inputs'][..., :1], pred, batch['charge_passed_c_per_m2'], ps,
          batch['charge_per_um_c_m2'], loss_cfg['physics_floor_px'])
      loss = loss + physics_weight * physics
      parts = dict(parts, **physics_parts, loss=loss)
    return loss, parts
  if physics_weight > 0 or derivative_weight > 0:
    raise ValueError('train.physics_weight and train.derivative_weight need one-step pairs '
                     '(train.unroll_steps = 1)')

  def step(xi, inp):
    cond, extra, target = inp
    pred = apply_fn({'params': params}, jnp.concatenate([xi, extra], axis=-1), cond)
    _, parts = losses.total_loss(pred, target, loss_cfg, ps, eh)
    return pred, parts

  # A Python loop (k <= 7 is static and small): on XLA:CPU the gradient of the lax.scan form
  # took 11 s per step against 0.5 s for this unrolled graph (k=3, B=16, 64x64, 2 devices).
  xi, all_parts = batch['inputs'][..., :1], []
  for i in range(batch['target'].shape[1]):
    xi, parts = step(xi, (batch['cond'][:, i], batch['extra'][:, i], batch['target'][:, i]))
    all_parts.append(parts)
  parts = jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *all_parts)
  return parts['loss'], parts


def train_step(state: train_state.TrainState, batch: Mapping[str, jax.Array],
               loss_cfg: Mapping[str, Any]) -> tuple[train_state.TrainState, dict]:
  """One optimiser step on the batch; returns the new state and the loss parts (+ grad norm)."""
  grads, metrics = jax.grad(batch_loss, has_aux=True)(state.params, state.apply_fn, batch,
                                                      loss_cfg)
  metrics = dict(metrics, grad_norm=optax.global_norm(grads))
  return state.apply_gradients(grads=grads), metrics


def eval_step(params, batch: Mapping[str, jax.Array], apply_fn: Callable,
              loss_cfg: Mapping[str, Any]) -> dict[str, jax.Array]:
  """Loss parts of a batch (pairs or windows), plus the batch size for averaging."""
  _, metrics = batch_loss(params, apply_fn, batch, loss_cfg)
  return dict(metrics, count=jnp.asarray(batch['inputs'].shape[0], jnp.float32))


def make_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
  """`data_sharding.data_mesh` over the first `num_devices` of `jax.devices()` (default: all,
  of every process)."""
  devices = jax.devices()
  n = len(devices) if num_devices is None else num_devices
  if not 1 <= n <= len(devices):
    raise ValueError(f'num_devices={n} must be in [1, {len(devices)}] (jax.devices())')
  return data_sharding.data_mesh(devices[:n])


def replicate(tree, mesh: jax.sharding.Mesh):
  """Places every leaf of `tree` on all devices of `mesh` (replicated)."""
  return jax.device_put(tree, NamedSharding(mesh, P()))


def shard_batch(batch: Mapping[str, Any], mesh: jax.sharding.Mesh) -> dict[str, jax.Array]:
  """The `STEP_KEYS` of this process's numpy batch as global arrays sharded `P('data')`.

  With one process this is `device_put` of the batch split over the devices; with several
  (after `jax.distributed.initialize`) each process passes its own rows and the global batch
  is their concatenation (`jax.make_array_from_process_local_data`).
  """
  n = mesh.devices.size
  b = batch['inputs'].shape[0] * jax.process_count()
  if b % n:
    raise ValueError(f'global batch size {b} is not divisible by the {n} devices of the mesh '
                     '(train.batch_size / eval.batch_size)')
  sharding = data_sharding.batch_sharding(mesh)
  keys = STEP_KEYS + tuple(k for k in OPTIONAL_STEP_KEYS if k in batch)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(batch[k], np.float32))
          for k in keys}


def compile_steps(mesh: jax.sharding.Mesh, apply_fn: Callable,
                  loss_cfg: Mapping[str, Any]) -> tuple[Callable, Callable]:
  """Jitted (train_step(state, batch), eval_step(params, batch)) for `mesh`.

  The state is donated (updated in place); outputs are replicated.
  """
  loss_cfg = dict(loss_cfg)
  losses.validate_loss_config(loss_cfg)
  repl = NamedSharding(mesh, P())
  data = data_sharding.batch_sharding(mesh)
  train = jax.jit(functools.partial(train_step, loss_cfg=loss_cfg),
                  in_shardings=(repl, data), out_shardings=(repl, repl), donate_argnums=0)
  evaluate = jax.jit(functools.partial(eval_step, apply_fn=apply_fn, loss_cfg=loss_cfg),
                     in_shardings=(repl, data), out_shardings=repl)
  return train, evaluate
