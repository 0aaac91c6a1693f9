"""The moving average of the weights (`train.ema_decay`): its update, its validation, and that
validation, checkpoint selection and `load_checkpoint` use it while the optimiser does not."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dendrax.data import pipeline
from dendrax.train import checkpointing
from dendrax.train import loop
from dendrax.train import setup
from dendrax.train import state as state_lib
from tests.conftest import small_train_config
from tests.train import synthetic_dendrites


def test_update_is_the_warmed_up_average_of_the_iterates():
  params = {'w': jnp.array([1.0, -2.0])}
  state = state_lib.EmaTrainState.create(apply_fn=None, params=params, tx=optax.sgd(0.5),
                                         ema_params=params, ema_decay=0.9)
  grads = {'w': jnp.array([1.0, 1.0])}
  ema = np.array([1.0, -2.0])
  for step in (1, 2, 3):
    state = state.apply_gradients(grads=grads)
    decay = min(0.9, (1 + step) / (10 + step))       # 2/11, 3/12, 4/13: the warm-up binds
    ema = decay * ema + (1 - decay) * np.asarray(state.params['w'])
    np.testing.assert_allclose(state.ema_params['w'], ema, rtol=1e-6)
  # The optimiser sees the raw parameters only: plain SGD steps of 0.5.
  np.testing.assert_allclose(state.params['w'], [-0.5, -3.5])
  assert state_lib.evaluation_params(state) is state.ema_params


def test_decay_out_of_range_names_the_key():
  with pytest.raises(ValueError, match='train.ema_decay'):
    setup.validate_config(small_train_config(train={'ema_decay': 1.0}))
  with pytest.raises(ValueError, match='train.ema_decay'):
    setup.validate_config(small_train_config(train={'ema_decay': -0.1}))
  plain = setup.initial_state(small_train_config())
  assert not isinstance(plain, state_lib.EmaTrainState)
  assert state_lib.evaluation_params(plain) is plain.params


def test_a_run_validates_selects_and_loads_the_average(tmp_path, monkeypatch):
  monkeypatch.setattr(pipeline, 'load_source',
                      lambda name, split, data_dir=None, build_if_missing=True:
                      synthetic_dendrites.source(split))
  config = small_train_config(train={'num_steps': 30, 'ema_decay': 0.9})
  workdir = str(tmp_path / 'ema')
  final = loop.train_and_evaluate(config, workdir)
  assert final['trained_steps'] == 30
  step, _, params, _ = checkpointing.load_checkpoint_step(workdir, 'latest')
  manager = checkpointing.open_manager(workdir, 3, read_only=True)
  state, _ = checkpointing.restore(manager, setup.initial_state(config), step)
  manager.close()
  assert isinstance(state, state_lib.EmaTrainState)
  for loaded, ema in zip(jax.tree.leaves(params), jax.tree.leaves(state.ema_params)):
    np.testing.assert_array_equal(loaded, ema)
  # After 30 steps the average lags the iterate: evaluating it is not evaluating `params`.
  assert any(not np.array_equal(e, r) for e, r in zip(jax.tree.leaves(state.ema_params),
                                                      jax.tree.leaves(state.params)))
