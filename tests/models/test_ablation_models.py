"""Tests of the architecture ablation (CNextU-Net, FNO): shapes, parameter counts by hand, the
persistence start, jvp w.r.t. the conditioning against finite differences, a training step that
lowers the loss on synthetic data, errors, and the configs that select them."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dendrax import models
from tests.conftest import init_params
from dendrax.train import losses
from dendrax.train import setup
from dendrax.train import state as state_lib
from dendrax.train import steps

SIZE = 16
K = 20
FILM_HIDDEN = 8
KWARGS = {
    'cnext': dict(features=(4, 8, 8), blocks_per_stage=1, blocks_at_neck=2, kernel_size=3,
                  mlp_ratio=2, layer_scale_init=0.5, film_hidden=(FILM_HIDDEN,)),
    'fno': dict(width=6, modes=(3, 4), num_layers=2, pad_y=4, projection_hidden=5,
                film_hidden=(FILM_HIDDEN,)),
}
NAMES = tuple(KWARGS)


def _init(name, channels=1, **overrides):
  model = models.build_model(name, {**KWARGS[name], **overrides})
  x = jnp.zeros((1, SIZE, SIZE, channels))
  params = init_params(model, x, jnp.zeros((1, K)))
  return model, params


def _frames(batch, channels=1, seed=0):
  rng = np.random.default_rng(seed)
  return jnp.asarray(rng.uniform(size=(batch, SIZE, SIZE, channels)), jnp.float32)


def _randomise_output_layer(params, seed=1):
  """The output layer starts at zero (persistence); give it weights so cond can show through."""
  out = params['out']
  key = jax.random.key(seed)
  return {**params, 'out': {'kernel': 0.3 * jax.random.normal(key, out['kernel'].shape),
                            'bias': out['bias']}}


def _count(tree):
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def _film_count(channels):
  total = sum(channels)
  return K * FILM_HIDDEN + FILM_HIDDEN + FILM_HIDDEN * 2 * total + 2 * total


def _expected_cnext(c_in):
  """Parameters of KWARGS['cnext'] counted by hand from the module docstring."""
  f, r, k = (4, 8, 8), 2, 3
  block = lambda c: k * k * c + c + 2 * c + (c * r * c + r * c) + (r * c * c + c) + c
  n = 3 * 3 * c_in * f[0] + f[0]                                    # in_proj
  n += block(f[0]) + block(f[1])                                    # encoder, 1 block per level
  n += (2 * f[0] + 4 * f[0] * f[1] + f[1]) + (2 * f[1] + 4 * f[1] * f[2] + f[2])   # down
  n += 2 * block(f[2])                                              # neck
  for lvl in (1, 0):                                                # up: LN, convT, 1x1 skip, block
    n += 2 * f[lvl + 1] + 4 * f[lvl + 1] * f[lvl] + f[lvl]
    n += 2 * f[lvl] * f[lvl] + f[lvl] + block(f[lvl])
  n += 3 * 3 * f[0] + 1                                             # out
  return n + _film_count([4, 8, 8, 8, 8, 4])


def _expected_fno(c_in):
  """Parameters of KWARGS['fno'] counted by hand from the module docstring."""
  w, (my, mx), layers, p = 6, (3, 4), 2, 5
  n = (c_in + 1) * w + w                                  # lift (inputs + height channel)
  n += layers * (2 * 2 * my * mx * w * w + w * w + w)     # spectral (re, im; 2 blocks) + 1x1
  n += w * p + p + p + 1                                  # projection, out
  return n + _film_count([w] * layers)


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('channels', [1, 3])
def test_forward_shape_range_and_parameter_count(name, channels):
  model, params = _init(name, channels)
  expected = {'cnext': _expected_cnext, 'fno': _expected_fno}[name](channels)
  assert _count(params) == expected
  params = _randomise_output_layer(params)
  y = jax.jit(model.apply)({'params': params}, _frames(3, channels), jnp.ones((3, K)))
  assert y.shape == (3, SIZE, SIZE, 1)
  assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
  assert bool(jnp.all(jnp.isfinite(y)))


@pytest.mark.parametrize('name', NAMES)
def test_untrained_model_is_the_persistence_forecast(name):
  model, params = _init(name)
  x = _frames(2)
  y = jax.jit(model.apply)({'params': params}, x, jnp.ones((2, K)))
  np.testing.assert_allclose(y, jnp.clip(x, 1e-3, 1 - 1e-3), atol=1e-5)


@pytest.mark.parametrize('name', NAMES)
def test_film_uses_cond_none_ignores_it(name):
  x = _frames(2)
  c1 = jnp.zeros((2, K))
  c2 = jnp.asarray(np.random.default_rng(3).normal(size=(2, K)), jnp.float32)
  diffs = {}
  for conditioning in ('film', 'none'):
    model, params = _init(name, conditioning=conditioning)
    params = _randomise_output_layer(params)
    apply = jax.jit(model.apply)
    diffs[conditioning] = float(jnp.max(jnp.abs(apply({'params': params}, x, c1)
                                                - apply({'params': params}, x, c2))))
  assert diffs['none'] == 0.0 and diffs['film'] > 1e-3


@pytest.mark.parametrize('name', NAMES)
def test_jvp_wrt_cond_matches_central_differences(name):
  """d xi' / d cond along a direction, by jax.jvp and by float64 central differences."""
  model, params = _init(name)
  params = _randomise_output_layer(params)
  with jax.enable_x64(True):
    p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
    x = jnp.asarray(_frames(2), jnp.float64)
    rng = np.random.default_rng(5)
    c = jnp.asarray(rng.normal(size=(2, K)))
    v = jnp.asarray(rng.normal(size=(2, K)))
    f = jax.jit(lambda cond: model.apply({'params': p64}, x, cond))
    _, tangent = jax.jit(lambda c, v: jax.jvp(f, (c,), (v,)))(c, v)
    eps = 1e-5
    fd = (f(c + eps * v) - f(c - eps * v)) / (2 * eps)
    assert float(jnp.max(jnp.abs(tangent))) > 1e-3      # the direction does move the output
    np.testing.assert_allclose(tangent, fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize('name', NAMES)
def test_training_steps_lower_the_loss(name):
  """Jitted `steps.train_step`s (the project's step) on a fixed synthetic batch of smooth fronts."""
  model = models.build_model(name, KWARGS[name])
  tx = optax.adam(1e-2)
  state = state_lib.create_train_state(jax.random.key(0), model, tx, (4, SIZE, SIZE, 1), K)
  rng = np.random.default_rng(0)
  yy = np.arange(SIZE)[None, :, None, None]
  front = rng.uniform(3, 8, size=(4, 1, SIZE, 1))     # smooth fronts: the target grew 1.5 cells
  xi = 1.0 / (1.0 + np.exp((yy - front) / 1.5))
  target = 1.0 / (1.0 + np.exp((yy - front - 1.5) / 1.5))
  batch = {'inputs': jnp.asarray(xi, jnp.float32), 'target': jnp.asarray(target, jnp.float32),
           'cond': jnp.asarray(rng.normal(size=(4, K)), jnp.float32),
           'pixel_size_um': jnp.ones(4), 'electrode_height_um': jnp.full(4, 2.0)}
  loss_cfg = dict(pixel='mse', pixel_weight=1.0, morph='dice', morph_weight=0.1,
                  length_weight=0.0, length_scale_um=10.0, barron_alpha=1.0, barron_scale=0.05)
  losses.validate_loss_config(loss_cfg)
  step = jax.jit(lambda s, b: steps.train_step(s, b, loss_cfg))
  history = []
  for _ in range(4):
    state, metrics = step(state, batch)      # metrics: the loss before this step's update
    history.append(float(metrics['loss']))
  assert np.all(np.isfinite(history)) and history[-1] < 0.95 * history[0], history


def test_errors_name_the_bad_field():
  with pytest.raises(ValueError, match='config.model.features'):
    models.build_model('fno', {'features': (4, 8)})
  with pytest.raises(ValueError, match='model.modes'):
    _init('fno', modes=(12, 4))                 # 2 * 12 > 16 + pad 4
  with pytest.raises(ValueError, match='model.blocks_at_neck'):
    _init('cnext', blocks_at_neck=0)
  model = models.build_model('cnext', KWARGS['cnext'])
  with pytest.raises(ValueError, match='divisible by 4'):
    model.init(jax.random.key(0), jnp.zeros((1, 18, 18, 1)), jnp.zeros((1, K)))
  with pytest.raises(ValueError, match='cond must be'):
    model.init(jax.random.key(0), jnp.zeros((2, 16, 16, 1)), jnp.zeros((1, K)))


@pytest.mark.parametrize('module, name', [('configs.cnext', 'cnext'), ('configs.fno', 'fno')])
def test_configs_select_the_model(module, name):
  config = importlib.import_module(module).get_config()
  setup.validate_config(config)
  model = setup.build_model(config)
  assert isinstance(model, models.MODELS[name]) and config.model_name == name
  # The dataset's 64 x 64 frames and the init frame (min_side) are accepted (traced, not run).
  for side in (64, model.min_side):
    out = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, side, side, 1)),
                         jnp.zeros((1, K)))
    assert _count(out['params']) > 0
