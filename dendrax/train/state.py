"""Train state and optimiser: `create_train_state` and `make_optimizer` from the `train` config.

The state is flax's `TrainState` (step, params, opt_state; `apply_fn` and `tx` are static), a
pytree that orbax saves and `jax.jit` donates; with `train.ema_decay` > 0 it is `EmaTrainState`,
which also carries an exponential moving average of the parameters. `evaluation_params` names
the parameters that validation, checkpoint selection and every analysis use.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training import train_state

# config.train.optimizer -> optax factory taking the learning-rate schedule.
OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    'adam': lambda lr, wd: optax.adam(lr),
    'adamw': lambda lr, wd: optax.adamw(lr, weight_decay=wd),
    'lamb': lambda lr, wd: optax.lamb(lr, weight_decay=wd),
    'sgd': lambda lr, wd: optax.sgd(lr, momentum=0.9, nesterov=True),
}


def make_schedule(cfg: Mapping[str, Any]) -> optax.Schedule:
  """Linear warmup to `train.lr` over `train.warmup_steps`, cosine decay to `lr * end_lr_factor`.

  The cosine spans `train.num_steps`, so an early-stopped run simply ends on a higher rate.
  """
  if cfg['lr'] <= 0:
    raise ValueError(f'train.lr must be > 0; got {cfg["lr"]}')
  if not 0 <= cfg['warmup_steps'] < cfg['num_steps']:
    raise ValueError(f'train.warmup_steps must be in [0, train.num_steps={cfg["num_steps"]}); '
                     f'got {cfg["warmup_steps"]}')
  return optax.warmup_cosine_decay_schedule(
      init_value=0.0, peak_value=cfg['lr'], warmup_steps=cfg['warmup_steps'],
      decay_steps=cfg['num_steps'], end_value=cfg['lr'] * cfg['end_lr_factor'])


def make_optimizer(cfg: Mapping[str, Any]) -> optax.GradientTransformation:
  """Gradient clipping by global norm (`train.grad_clip`, 0 = off) then the chosen optimiser."""
  name = cfg['optimizer']
  if name not in OPTIMIZERS:
    raise ValueError(f'train.optimizer={name!r} is not one of {sorted(OPTIMIZERS)}')
  tx = OPTIMIZERS[name](make_schedule(cfg), cfg['weight_decay'])
  if cfg['grad_clip'] > 0:
    tx = optax.chain(optax.clip_by_global_norm(cfg['grad_clip']), tx)
  return tx


class EmaTrainState(train_state.TrainState):
  """`TrainState` plus `ema_params`, an exponential moving average of the parameters.

  After each optimiser step, ema <- d ema + (1 - d) params with d = min(ema_decay,
  (1 + step) / (10 + step)): the warm-up of tf.train.ExponentialMovingAverage(num_updates), so
  that the initial weights are forgotten within the first tens of steps instead of weighing
  ema_decay**step at the end. Averaging the iterates (Polyak & Juditsky 1992) smooths the
  last few hundred steps' noise out of the weights that are evaluated; training itself is
  unchanged (the optimiser only sees `params`).
  """
  ema_params: Any = struct.field(pytree_node=True)
  ema_decay: float = struct.field(pytree_node=False)

  def apply_gradients(self, *, grads, **kwargs) -> 'EmaTrainState':
    new = super().apply_gradients(grads=grads, **kwargs)
    step = jnp.asarray(new.step, jnp.float32)
    decay = jnp.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
    return new.replace(ema_params=optax.incremental_update(new.params, self.ema_params,
                                                           1.0 - decay))


def evaluation_params(state: train_state.TrainState) -> Any:
  """The parameters to validate, select and analyse: the moving average when the state keeps
  one (`train.ema_decay` > 0), else the optimiser's own."""
  return state.ema_params if isinstance(state, EmaTrainState) else state.params


def create_train_state(rng: jax.Array, model: nn.Module, tx: optax.GradientTransformation,
                       inputs_shape: tuple[int, ...], cond_size: int, ema_decay: float = 0.0
                       ) -> train_state.TrainState:
  """Initialises the parameters (jitted: one compile instead of one per initialiser).

  Args:
    rng: PRNG key.
    model: the flax module, called as `model(inputs, cond)`.
    tx: optimiser.
    inputs_shape: [B, H, W, C] of one batch (B may be 1).
    cond_size: K, the length of the conditioning vector.
    ema_decay: > 0 returns an `EmaTrainState` keeping a moving average of the parameters
      with this decay; 0 a plain `TrainState`.
  """
  if not 0.0 <= ema_decay < 1.0:
    raise ValueError(f'train.ema_decay must be in [0, 1) (0 = off); got {ema_decay}')
  inputs = jnp.zeros(inputs_shape, jnp.float32)
  cond = jnp.zeros((inputs_shape[0], cond_size), jnp.float32)
  params = jax.jit(model.init)(rng, inputs, cond)['params']
  if ema_decay > 0:
    return EmaTrainState.create(apply_fn=model.apply, params=params, tx=tx,
                                ema_params=jax.tree.map(jnp.copy, params),
                                ema_decay=float(ema_decay))
  return train_state.TrainState.create(apply_fn=model.apply, params=params, tx=tx)
