"""Property-based tests (hypothesis) of run-config validation.

Each property is a statement about every value a user can type into `--config.<key>=...` for a
numeric key: validation raises a ValueError naming that key, or the value is finite and in its
documented range, and what the run computes from it (learning-rate schedule, optimiser update,
loss) is finite.
"""

import math

from hypothesis import HealthCheck, given, settings, strategies as st
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import tiny
from dendrax.train import config_validation
from dendrax.train import losses
from dendrax.train import setup
from dendrax.train import state as state_lib

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _numeric_keys():
  config = tiny.get_config()
  keys = []
  for key, value in config_validation._leaves(config):   # pylint: disable=protected-access
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      keys.append((key, type(value)))
  return keys


NUMERIC_KEYS = _numeric_keys()
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
ANY_INT = st.integers(min_value=-10**6, max_value=10**6)


def _set(config, key, value):
  *path, name = key.split('.')
  node = config
  for p in path:
    node = node[p]
  node[name] = value


def _finite_results(config):
  """What a run derives from the train and loss sections: all finite."""
  t = config.train.to_dict()
  schedule = state_lib.make_schedule(t)
  for step in (0, t['warmup_steps'], t['num_steps'] // 2, t['num_steps']):
    assert math.isfinite(float(schedule(step)))
  tx = state_lib.make_optimizer(t)
  params = {'w': jnp.ones((3,))}
  updates, _ = tx.update({'w': jnp.array([0.5, -2.0, 1e3])}, tx.init(params), params)
  assert np.isfinite(np.asarray(optax.global_norm(updates)))
  pred = jnp.linspace(0.05, 0.95, 32).reshape(2, 4, 4, 1)
  loss, _ = losses.total_loss(pred, pred[::-1], config.loss.to_dict(),
                              jnp.ones((2,)), jnp.ones((2,)))
  assert math.isfinite(float(loss))


@pytest.mark.parametrize('key,kind', NUMERIC_KEYS, ids=[k for k, _ in NUMERIC_KEYS])
@SETTINGS
@given(data=st.data())
def test_every_numeric_key_is_named_when_bad_or_gives_finite_results(key, kind, data):
  value = data.draw(ANY_FLOAT if kind is float else ANY_INT, label=key)
  config = tiny.get_config()
  _set(config, key, value)
  try:
    setup.validate_config(config)
  except ValueError as e:
    assert f'{key}' in str(e), (key, value, str(e))
    return
  assert math.isfinite(value), (key, value)
  for k, ok, allowed in config_validation.RANGES:
    if k == key:
      assert ok(value), (key, value, allowed)
  _finite_results(config)


WIDTH = st.one_of(st.integers(-4, 64), st.text(max_size=3), st.floats(allow_nan=True))


@pytest.mark.parametrize('key', ['model.features', 'model.film_hidden'])
@SETTINGS
@given(widths=st.lists(WIDTH, max_size=6).map(tuple))
def test_layer_widths_are_positive_integers_or_named(key, widths):
  config = tiny.get_config()
  _set(config, key, widths)
  try:
    config_validation.validate_values(config)
  except ValueError as e:
    assert key in str(e), (widths, str(e))
    return
  assert all(isinstance(w, int) and w >= 1 for w in widths)
  assert key == 'model.film_hidden' or len(widths) >= 2
