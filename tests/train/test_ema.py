"""The moving average of the weights (`train.ema_decay`): its update, its validation, and that
validation, checkpoint selection and `load_checkpoint` use it while the optimiser does not."""

import hashlib
import math
import os

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


# At 0.9 the warm-up binds on these steps (2/11, 3/12, 4/13); at 0.1 the decay itself does.
@pytest.mark.parametrize('ema_decay', [0.9, 0.1])
def test_update_is_the_warmed_up_average_of_the_iterates(ema_decay):
  params = {'w': jnp.array([1.0, -2.0])}
  state = state_lib.EmaTrainState.create(apply_fn=None, params=params, tx=optax.sgd(0.5),
                                         ema_params=params, ema_decay=ema_decay)
  grads = {'w': jnp.array([1.0, 1.0])}
  ema = np.array([1.0, -2.0])
  for step in (1, 2, 3):
    state = state.apply_gradients(grads=grads)
    decay = min(ema_decay, (1 + step) / (10 + step))
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


def _snapshot(folder) -> dict[str, tuple[int, str]]:
  """{path: (mtime_ns, sha256)} of every file under `folder`."""
  out = {}
  for root, _, names in os.walk(folder):
    for name in names:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        out[path] = (os.stat(path).st_mtime_ns, hashlib.sha256(f.read()).hexdigest())
  return out


def test_the_iterate_is_scored_from_a_run_without_touching_it(tmp_path, monkeypatch):
  """What experiments.average_vs_iterate does: open a finished run read-only, score the raw
  weights of each kept step with the loop's validator, and replay the loop's selection."""
  monkeypatch.setattr(pipeline, 'load_source',
                      lambda name, split, data_dir=None, build_if_missing=True:
                      synthetic_dendrites.source(split))
  config = small_train_config(train={'num_steps': 30, 'ema_decay': 0.9},
                              checkpoint={'max_to_keep': 3})
  workdir = str(tmp_path / 'ema')
  final = loop.train_and_evaluate(config, workdir)
  before = _snapshot(workdir)
  run, template = loop.open_for_reading(workdir)
  validate = loop.make_validator(run, loop.load_data(config))
  metric = config.eval.select_metric
  steps, stored, raw = sorted(run.manager.all_steps()), {}, {}
  assert steps == [10, 20, 30]
  for step in steps:
    state, _ = checkpointing.restore(run.manager, template, step)
    stored[step] = run.manager.metrics(step)[checkpointing.SELECT_KEY]
    # The loop validated and selected the average, not the raw weights.
    assert validate(state.ema_params)[metric] == pytest.approx(stored[step], rel=1e-5)
    raw[step] = validate(state.params)[metric]
  assert any(raw[s] != pytest.approx(stored[s], rel=1e-5) for s in steps)
  # Replayed on the scores the run saved, the selection is the one the run made.
  assert loop.replay_selection(config, stored) == (
      run.manager.best_step(), final['trained_steps'], final['stopped_early'])
  run.manager.close()
  assert _snapshot(workdir) == before      # nothing written, trimmed or moved


def test_replay_selection_stops_early_and_skips_diverged_steps(small_config):
  config = small_config(eval={'patience': 4, 'min_delta': 0.0})
  # Four validations without improvement after step 500 stop the run at 1500; step 1750's
  # lower score is never reached.
  scores = {250: 1.0, 500: 0.5, 750: 0.6, 1000: 0.7, 1250: 0.8, 1500: 0.9, 1750: 0.1}
  assert loop.replay_selection(config, scores) == (500, 1500, True)
  assert loop.replay_selection(config, {10: math.nan, 20: 2.0, 30: 3.0}) == (20, 30, False)
  # A tie goes to the later step, as orbax's stable sort of best_step does.
  assert loop.replay_selection(config, {10: 1.0, 20: 1.0, 30: 2.0}) == (20, 30, False)
  # An improvement smaller than min_delta does not reset the patience but can be selected.
  config = small_config(eval={'patience': 2, 'min_delta': 0.1})
  assert loop.replay_selection(config, {10: 1.0, 20: 0.95, 30: 0.94}) == (30, 30, True)
  with pytest.raises(ValueError, match='no validation scores'):
    loop.replay_selection(config, {})
