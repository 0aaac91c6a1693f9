"""From a config to the objects of a run: validation, model, initial train state.

`validate_config` checks the values `launch.py` cannot check by type (ranges, choices, the
relations between keys) before anything expensive starts, and names the bad key.
"""

from __future__ import annotations

import math
import os

import ml_collections
import jax
from flax.training import train_state

from dendrax import models
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.physics import parameters
from dendrax.train import config_validation
from dendrax.train import losses
from dendrax.train import state as state_lib

# Top-level sections every run config has (configs/default.py documents each key).
SECTIONS = ('model', 'data', 'train', 'loss', 'eval', 'checkpoint')
SPLITS = ('train', 'validation', 'test', 'ood')
# Split roles of eval.rollout_splits: the dataset's splits, and 'heldout' (data.heldout_split).
ROLLOUT_ROLES = SPLITS + ('heldout',)


def _require(cond: bool, key: str, message: str) -> None:
  if not cond:
    raise ValueError(f'config.{key}: {message}')


def _validate_data(d: ml_collections.ConfigDict) -> None:
  """Dataset names, split expressions and masked parameters of `config.data`."""
  try:
    names = pipeline.dataset_names(d.name)
  except ValueError as e:
    raise ValueError(f'config.data.name: {e}') from e
  bases = sorted({n.split('/')[0].split(':')[0] for n in names}
                 - set(pipeline.BUILDER_MODULES))
  _require(not bases, 'data.name', f'unknown dataset(s) {bases} in {d.name!r}; known: '
           f'{sorted(pipeline.BUILDER_MODULES)}')
  for key in ('train_split', 'validation_split', 'heldout_split'):
    value = d.get(key, '')
    if key == 'heldout_split' and not value:
      continue
    try:
      parts = pipeline.split_parts(value)
    except (ValueError, TypeError) as e:
      raise ValueError(f'config.data.{key}: {value!r} is not a TFDS split expression '
                       f'(e.g. "train[:20%]+validation[40%:]"): {str(e).splitlines()[0]}'
                       ) from e
    bad = [p for p in parts if pipeline.base_split(p) not in SPLITS]
    _require(not bad, f'data.{key}', f'{bad} in {value!r} not from the splits {SPLITS}')
  _require(d.train_split != d.validation_split, 'data.validation_split',
           f'must differ from data.train_split ({d.train_split!r})')
  masked = tuple(d.masked_parameters)
  unknown = [m for m in masked if m not in parameters.PARAMETER_NAMES]
  _require(not unknown and len(set(masked)) == len(masked), 'data.masked_parameters',
           f'must be distinct names from {parameters.PARAMETER_NAMES}; got {masked}')


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the first config key with a bad value."""
  for section in SECTIONS:
    _require(section in config, section, 'missing section (see configs/default.py)')
  config_validation.validate_values(config)   # finite numbers, ranges, model widths
  _validate_data(config.data)
  _require(config.model_name in models.MODELS, 'model_name',
           f'{config.model_name!r} is not one of {sorted(models.MODELS)}')
  models.build_model(config.model_name, config.model.to_dict())   # unknown model keys
  fields = tuple(config.data.input_fields)
  _require(bool(fields) and fields[0] == 'xi', 'data.input_fields',
           f'must start with "xi" (channel 0 is the frame the model advances); got {fields}')
  _require(set(fields) <= set(normalization.FIELD_NAMES) and len(set(fields)) == len(fields),
           'data.input_fields', f'must be distinct names from {normalization.FIELD_NAMES}')
  t = config.train
  _require(t.batch_size >= 1, 'train.batch_size', f'must be >= 1; got {t.batch_size}')
  _require(t.num_steps >= 1, 'train.num_steps', f'must be >= 1; got {t.num_steps}')
  _require(t.num_devices >= 0, 'train.num_devices', f'must be >= 0 (0 = all); got '
           f'{t.num_devices}')
  _require(t.log_every_steps >= 1, 'train.log_every_steps', 'must be >= 1')
  _require(1 <= t.unroll_steps <= 7, 'train.unroll_steps',
           f'must be in [1, 7] (steps of 30 s up to 210 s); got {t.unroll_steps}')
  for key in ('derivative_weight', 'physics_weight'):
    _require(t[key] >= 0, f'train.{key}', f'must be >= 0 (0 = off); got {t[key]}')
  _require(t.derivative_weight == 0 or t.unroll_steps == 1, 'train.derivative_weight',
           f'is {t.derivative_weight}: the derivative-informed term needs one-step pairs, but '
           f'train.unroll_steps is {t.unroll_steps}')
  _require(t.derivative_weight == 0 or fields == ('xi',), 'train.derivative_weight',
           f'is {t.derivative_weight}: datasets store tangents of xi only, so data.input_fields '
           f"must be ('xi',); got {fields}")
  _require(0 <= t.derivative_share < 1, 'train.derivative_share',
           f'must be in [0, 1) (0 = pairs as they come); got {t.derivative_share}')
  _require(t.derivative_share == 0 or t.derivative_weight > 0, 'train.derivative_share',
           f'is {t.derivative_share}: it shapes the batches of the derivative-informed term, '
           'but train.derivative_weight is 0')
  _require(t.derivative_share == 0 or t.batch_size // max(t.num_devices, 1) >= 2,
           'train.derivative_share', f'is {t.derivative_share}: a fixed share needs at least 2 '
           f'pairs per batch; train.batch_size is {t.batch_size}')
  _require(t.physics_weight == 0 or t.unroll_steps == 1, 'train.physics_weight',
           f'is {t.physics_weight}: the Faraday term needs one-step pairs, but train.unroll_steps '
           f'is {t.unroll_steps}')
  for key in ('derivative_floor', 'physics_floor_px'):
    _require(t[key] > 0, f'train.{key}', f'must be > 0; got {t[key]}')
  state_lib.make_optimizer(t.to_dict())   # optimizer name, lr, warmup
  losses.validate_loss_config(config.loss.to_dict())
  e = config.eval
  _require(e.every_steps >= 1, 'eval.every_steps', f'must be >= 1; got {e.every_steps}')
  _require(e.batch_size >= 1, 'eval.batch_size', f'must be >= 1; got {e.batch_size}')
  _require(e.patience >= 1, 'eval.patience', f'must be >= 1 evaluations; got {e.patience}')
  _require(e.select_metric in ('rollout_length_mse', 'loss'), 'eval.select_metric',
           f"must be 'rollout_length_mse' or 'loss'; got {e.select_metric!r}")
  _require(set(e.rollout_splits) <= set(ROLLOUT_ROLES), 'eval.rollout_splits',
           f'must be a subset of {ROLLOUT_ROLES}; got {tuple(e.rollout_splits)}')
  _require('heldout' not in e.rollout_splits or bool(config.data.get('heldout_split')),
           'eval.rollout_splits', "'heldout' needs data.heldout_split (a split expression)")
  _require(e.bootstrap_samples >= 0, 'eval.bootstrap_samples', 'must be >= 0 (0 = no intervals)')
  _require(e.max_rollout_trajectories >= 0, 'eval.max_rollout_trajectories', 'must be >= 0')
  _require(0.0 < e.mask_threshold < 1.0, 'eval.mask_threshold', 'must be in (0, 1)')
  c = config.checkpoint
  _require('every_steps' not in c, 'checkpoint.every_steps',
           'checkpoints are now written at every validation: set eval.every_steps instead')
  _require(c.max_to_keep >= 1, 'checkpoint.max_to_keep', f'must be >= 1; got {c.max_to_keep}')


def host_device_count(batch_size: int) -> int:
  """Host CPU devices `launch.py` exposes by default: one per usable core, reduced to a divisor
  of the global batch (so every device gets the same share)."""
  cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
  return math.gcd(cores or 1, batch_size)


def build_model(config: ml_collections.ConfigDict):
  """`models.MODELS[config.model_name](**config.model)`."""
  return models.build_model(config.model_name, config.model.to_dict())


# PRNG of the model initialisation. Everything else (dataset generation, the simulator's noise,
# tests) uses JAX's default, threefry; launch.py no longer switches the default. The model's
# initial weights alone use 'rbg', explicitly, so they are the same in launch.py, the tests and
# any script: jit(model.init) compiled in half the time with it on a 2-core CPU (108 s against
# 215 s for the default CNN-2 under load).
INIT_PRNG_IMPL = 'rbg'


def init_key(seed: int) -> jax.Array:
  """The key of the model initialisation for `seed` (`INIT_PRNG_IMPL`, whatever the default)."""
  return jax.random.key(seed, impl=INIT_PRNG_IMPL)


def initial_state(config: ml_collections.ConfigDict, rng: jax.Array | None = None
                  ) -> train_state.TrainState:
  """Freshly initialised train state of the configured model and optimiser.

  `rng` defaults to `init_key(config.seed)`. Conv, dense and spectral weights do not depend on
  the frame size, so the parameters are initialised on a small frame the model accepts
  (`model.min_side` pixels square).
  """
  rng = init_key(config.seed) if rng is None else rng
  model = build_model(config)
  side = model.min_side
  channels = len(config.data.input_fields)
  tx = state_lib.make_optimizer(config.train.to_dict())
  # .get: configs saved before train.ema_decay existed (checkpoints) load as without it.
  return state_lib.create_train_state(rng, model, tx, (1, side, side, channels),
                                      pipeline.COND_SIZE,
                                      ema_decay=config.train.get('ema_decay', 0.0))
