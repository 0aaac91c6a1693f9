"""Tests of the UNet models: shapes, architecture counts, conditioning behaviour, errors."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax import models
from tests.conftest import init_params
from dendrax.models import film

FEATURES = (4, 4, 8, 8, 8)
SIZE = 32
K = 20
UNETS = ('cnn1', 'cnn2', 'concat')   # the UNet family (cnext, fno: test_ablation_models.py)


def _init(name, channels=1, **kwargs):
  model = models.build_model(name, dict(features=FEATURES, film_hidden=(8,), **kwargs))
  x = jnp.zeros((1, SIZE, SIZE, channels))
  c = jnp.zeros((1, K))
  params = init_params(model, x, c)
  return model, params


def _frames(batch, channels=1, seed=0):
  rng = np.random.default_rng(seed)
  return jnp.asarray(rng.uniform(size=(batch, SIZE, SIZE, channels)), jnp.float32)


def _randomise_output_layer(params, seed=1):
  """The output conv starts at zero (persistence); give it weights so cond can show through."""
  out = params['out']
  key = jax.random.key(seed)
  return {**params, 'out': {'kernel': 0.3 * jax.random.normal(key, out['kernel'].shape),
                            'bias': out['bias']}}


@pytest.mark.parametrize('name', UNETS)
@pytest.mark.parametrize('channels', [1, 3])
def test_forward_shape_and_range(name, channels):
  model, params = _init(name, channels)
  params = _randomise_output_layer(params)
  y = model.apply({'params': params}, _frames(3, channels), jnp.ones((3, K)))
  assert y.shape == (3, SIZE, SIZE, 1)
  assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
  assert bool(jnp.all(jnp.isfinite(y)))


def test_architecture_is_the_papers_unet():
  """13 convolutions, 4 poolings (spatial sizes), 4 transposed convolutions with stride 2."""
  model, params = _init('cnn2')
  convs = [k for k in params if k.startswith(('enc', 'dec', 'out'))]
  ups = [k for k in params if k.startswith('up')]
  assert len(convs) == 13 and len(ups) == 4
  for k in convs:
    assert params[k]['kernel'].shape[:2] == (3, 3)
  for k in ups:
    assert params[k]['kernel'].shape[:2] == (2, 2)
  # Bottleneck runs at SIZE / 16: capture its activation.
  _, state = model.apply({'params': params}, _frames(1), jnp.zeros((1, K)),
                         capture_intermediates=lambda mdl, _: mdl.name in ('enc4', 'dec0a'),
                         mutable=['intermediates'])
  inter = state['intermediates']
  assert inter['enc4']['__call__'][0].shape == (1, SIZE // 16, SIZE // 16, FEATURES[4])
  assert inter['dec0a']['__call__'][0].shape == (1, SIZE, SIZE, FEATURES[0])


@pytest.mark.parametrize('name', UNETS)
def test_untrained_model_is_the_persistence_forecast(name):
  """Zero-initialised output conv + logit residual: the first prediction is the input xi."""
  model, params = _init(name)
  x = _frames(2)
  y = model.apply({'params': params}, x, jnp.ones((2, K)))
  np.testing.assert_allclose(y, jnp.clip(x, 1e-3, 1 - 1e-3), atol=1e-5)


def test_film_and_concat_use_cond_cnn1_ignores_it():
  x = _frames(2)
  c1 = jnp.zeros((2, K))
  c2 = jnp.asarray(np.random.default_rng(3).normal(size=(2, K)), jnp.float32)
  diffs = {}
  for name in ('cnn1', 'cnn2', 'concat'):
    model, params = _init(name)
    params = _randomise_output_layer(params)
    y1 = model.apply({'params': params}, x, c1)
    y2 = model.apply({'params': params}, x, c2)
    diffs[name] = float(jnp.max(jnp.abs(y1 - y2)))
  assert diffs['cnn1'] == 0.0
  assert diffs['cnn2'] > 1e-3 and diffs['concat'] > 1e-3


def test_film_modulation_is_identity_at_zero():
  x = jnp.arange(24.0).reshape(1, 2, 3, 4)
  np.testing.assert_array_equal(film.film(x, jnp.zeros((1, 4)), jnp.zeros((1, 4))), x)
  y = film.film(x, jnp.full((1, 4), 1.0), jnp.full((1, 4), 2.0))
  np.testing.assert_array_equal(y, 2 * x + 2)


def test_film_generator_output_sizes():
  gen = film.FiLMGenerator(channels=(3, 5), hidden=(7,))
  params = gen.init(jax.random.key(0), jnp.ones((2, K)))
  pairs = gen.apply(params, jnp.ones((2, K)))
  assert [(s.shape, b.shape) for s, b in pairs] == [((2, 3), (2, 3)), ((2, 5), (2, 5))]


def test_errors_name_the_bad_field():
  with pytest.raises(ValueError, match='config.model.widths'):
    models.build_model('cnn2', {'widths': (4, 8)})
  with pytest.raises(ValueError, match="model_name='cnn3'"):
    models.build_model('cnn3', {})
  with pytest.raises(ValueError, match='model.activation'):
    _init('cnn2', activation='tanhh')
  model = models.build_model('cnn1', dict(features=FEATURES))
  with pytest.raises(ValueError, match='divisible by 16'):
    model.init(jax.random.key(0), jnp.zeros((1, 24, 24, 1)), jnp.zeros((1, K)))
  with pytest.raises(ValueError, match='cond must be'):
    model.init(jax.random.key(0), jnp.zeros((2, 32, 32, 1)), jnp.zeros((1, K)))


def test_physical_padding_makes_the_unet_periodic_in_x():
  """With `padding='physical'` a deposit shifted across the periodic x edge gives the shifted
  prediction (shifts by the pooling stride, 16 px for 5 levels); zero padding does not."""
  x = _frames(2)
  c = jnp.asarray(np.random.default_rng(3).normal(size=(2, K)), jnp.float32)
  shift = lambda a: jnp.roll(a, 16, axis=2)
  errors = {}
  for padding in ('physical', 'zeros'):
    model, params = _init('cnn2', padding=padding)
    params = _randomise_output_layer(params)
    f = jax.jit(lambda p, a: model.apply({'params': p}, a, c))
    errors[padding] = float(jnp.max(jnp.abs(f(params, shift(x)) - shift(f(params, x)))))
  assert errors['physical'] < 1e-5
  assert errors['zeros'] > 1e-3
  # The same parameters either way: a checkpoint loads under both.
  shapes = lambda p: jax.tree_util.tree_map(jnp.shape, p)
  assert shapes(_init('cnn2', padding='physical')[1]) == shapes(_init('cnn2')[1])
  with pytest.raises(ValueError, match='model.padding'):
    _init('cnn2', padding='circular')
