"""No silent wrong results in training: bad values fail early, divergence stops the run, a
corrupt latest checkpoint falls back to the previous one, resume refuses changed keys, and the
logs hold each row once (issue 13). Synthetic data (tests/train/synthetic_dendrites.py)."""

import glob
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.data import pipeline
from dendrax.train import checkpointing
from dendrax.train import divergence
from dendrax.train import loop
from dendrax.train import metrics as metrics_lib
from dendrax.train import restore as restore_lib
from dendrax.train import steps
from tests.train import test_train_loop as base

NUM_STEPS = 20


def make_config():
  config = base.make_config()
  config.train.num_steps = NUM_STEPS
  config.train.warmup_steps = 2
  config.eval.every_steps = 5        # a checkpoint at every validation
  config.checkpoint.max_to_keep = 3
  return config


def strict_load(text):
  def refuse(name):
    raise ValueError(f'not strict JSON: {name}')
  return json.loads(text, parse_constant=refuse)


def no_data(*args, **kwargs):
  raise AssertionError('the data were loaded before the config was validated')


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('finished'))
  mp = pytest.MonkeyPatch()
  mp.setattr(pipeline, 'load_source', base.fake_load_source)
  try:
    final = loop.train_and_evaluate(make_config(), workdir)
  finally:
    mp.undo()
  return workdir, final


@pytest.mark.parametrize('key,value', [
    ('train.lr', float('nan')), ('train.lr', float('inf')), ('train.grad_clip', float('nan')),
    ('train.weight_decay', float('-inf')), ('loss.morph_weight', float('nan')),
    ('eval.min_delta', float('nan')), ('train.end_lr_factor', 2.0), ('train.grad_clip', -1.0),
    ('model.features', ()), ('model.features', (8, -4)), ('model.features', ('a', 'b')),
    ('model.film_hidden', (0,)),
])
def test_bad_values_fail_before_the_data_load_naming_the_key(key, value, tmp_path, monkeypatch):
  monkeypatch.setattr(pipeline, 'load_source', no_data)
  config = make_config()
  section, name = key.split('.')
  with config.unlocked():
    config[section][name] = value
  with pytest.raises(ValueError, match=rf'config\.{section}\.{name}'):
    loop.train_and_evaluate(config, str(tmp_path / 'run'))


def test_unwritable_workdir_fails_before_the_data_load(tmp_path, monkeypatch):
  monkeypatch.setattr(pipeline, 'load_source', no_data)
  blocker = tmp_path / 'a_file'
  blocker.write_text('x')
  with pytest.raises(PermissionError, match='not writable'):
    loop.train_and_evaluate(make_config(), str(blocker / 'run'))


@pytest.mark.parametrize('poisoned_step,first_bad', [(7, 8), (10, 10)])
def test_divergence_stops_at_the_first_nonfinite_loss_keeping_the_last_good_checkpoint(
    poisoned_step, first_bad, tmp_path, monkeypatch):
  """The update of `poisoned_step` turns the parameters to NaN (as lr=nan or an overflow would):
  the loss of the next step is NaN (7 -> stop at 8), or the state is caught before being saved
  (10 is a checkpoint step). Either way the last good checkpoint, step 5, stays the newest."""
  monkeypatch.setattr(pipeline, 'load_source', base.fake_load_source)
  real = steps.compile_steps

  def compile_poisoned(*args, **kwargs):
    train_fn, eval_fn = real(*args, **kwargs)

    def train(state, batch):
      state, m = train_fn(state, batch)
      if int(state.step) == poisoned_step:
        state = state.replace(params=jax.tree.map(lambda x: x * jnp.nan, state.params))
      return state, m
    return train, eval_fn

  monkeypatch.setattr(steps, 'compile_steps', compile_poisoned)
  workdir = str(tmp_path / 'run')
  with pytest.raises(divergence.DivergenceError, match=rf'step {first_bad}\b') as info:
    loop.train_and_evaluate(make_config(), workdir)
  assert info.value.step == first_bad
  manager = checkpointing.open_manager(workdir, 3)
  assert manager.all_steps() == [5]
  manager.close()
  _, params, _ = checkpointing.load_checkpoint(workdir, 'latest')
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(params))
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    for line in f:
      strict_load(line)
  assert not os.path.exists(os.path.join(workdir, 'metrics.json'))


def _step_folder(workdir, step):
  return os.path.join(checkpointing.checkpoint_dir(workdir), str(step))


def _truncate_arrays(folder):
  files = [p for p in glob.glob(os.path.join(folder, 'state', 'd', '*'))
           if os.path.getsize(p) > 16]
  for p in files:
    with open(p, 'r+b') as f:
      f.truncate(os.path.getsize(p) // 2)
  return 'state/d/'


def _remove_metadata(folder):
  os.remove(os.path.join(folder, 'state', '_METADATA'))
  return 'state/_METADATA'


def _empty_json_item(folder):
  open(os.path.join(folder, 'loop', 'metadata'), 'w').close()
  return 'loop/metadata'


@pytest.mark.parametrize('corrupt', [_truncate_arrays, _remove_metadata, _empty_json_item])
def test_restore_falls_back_to_the_newest_intact_step(finished, corrupt, tmp_path, capsys):
  workdir = str(tmp_path / 'copy')
  shutil.copytree(finished[0], workdir)
  named = corrupt(_step_folder(workdir, NUM_STEPS))
  manager = checkpointing.open_manager(workdir, 3)
  assert restore_lib.newest_intact_step(manager, workdir) == NUM_STEPS - 5
  assert manager.latest_step() == NUM_STEPS - 5
  manager.close()
  out = capsys.readouterr().out
  assert f'checkpoint step {NUM_STEPS} is corrupt' in out and named in out, out
  assert os.listdir(os.path.join(workdir, 'checkpoints', 'corrupt'))


def test_every_restore_error_names_the_step_and_the_file(finished, tmp_path):
  workdir = str(tmp_path / 'copy')
  shutil.copytree(finished[0], workdir)
  best_dir = checkpointing.checkpoint_dir(workdir)
  step = max(int(n) for n in os.listdir(best_dir) if n.isdigit())
  open(os.path.join(best_dir, str(step), 'config', 'metadata'), 'w').close()
  with pytest.raises(restore_lib.CorruptCheckpointError,
                     match=rf'step {step} .*checkpoints/{step}/config/metadata'):
    checkpointing.load_checkpoint(workdir)


def test_resume_from_a_corrupt_latest_checkpoint_matches_the_uninterrupted_run(
    finished, tmp_path, monkeypatch):
  workdir = str(tmp_path / 'copy')
  shutil.copytree(finished[0], workdir)
  os.remove(os.path.join(workdir, 'metrics.json'))
  _truncate_arrays(_step_folder(workdir, NUM_STEPS))
  monkeypatch.setattr(pipeline, 'load_source', base.fake_load_source)
  lines = []
  monkeypatch.setattr(loop, '_log', lines.append)
  final = loop.train_and_evaluate(make_config(), workdir)
  assert f'Resuming from step {NUM_STEPS - 5}' in ' '.join(lines)
  assert final['trained_steps'] == NUM_STEPS
  _, resumed, _ = checkpointing.load_checkpoint(workdir, 'latest')
  _, straight, _ = checkpointing.load_checkpoint(finished[0], 'latest')
  for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(straight)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # Each (step, group) once in the logs, and metrics.json is strict JSON.
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = [(r['step'], r['group']) for r in map(strict_load, f)]
  assert len(rows) == len(set(rows)), rows
  with open(os.path.join(finished[0], 'metrics.jsonl')) as f:
    assert sorted(rows) == sorted((r['step'], r['group']) for r in map(json.loads, f))
  with open(os.path.join(workdir, 'metrics.json')) as f:
    strict_load(f.read())


@pytest.mark.parametrize('key,value', [('seed', 1), ('train.batch_size', 4),
                                       ('loss.morph', 'dice_squared'), ('train.lr', 1e-3),
                                       ('eval.patience', 3)])
def test_resume_refuses_a_changed_key(finished, key, value, monkeypatch):
  monkeypatch.setattr(pipeline, 'load_source', base.fake_load_source)
  config = make_config()
  *sections, name = key.split('.')
  target = config[sections[0]] if sections else config
  target[name] = value
  before = open(os.path.join(finished[0], 'config.json')).read()
  with pytest.raises(ValueError, match=rf'config\.{key} .*may change on resume'):
    loop.train_and_evaluate(config, finished[0])
  assert open(os.path.join(finished[0], 'config.json')).read() == before


def test_drop_rows_after_keeps_rows_up_to_the_step(tmp_path):
  workdir = str(tmp_path)
  with metrics_lib.MetricWriter(workdir) as w:
    for step in (5, 10, 15):
      w.write(step, 'train', {'loss': 1.0 / step})
    w.write(15, 'rollout_test', {'length_r': 0.5})
  with open(os.path.join(workdir, 'metrics.jsonl'), 'a') as f:
    f.write('{"step": 20, "gro')                         # cut short by a kill
  assert metrics_lib.drop_rows_after(workdir, 10) == 2 + 2 + 1
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    assert [json.loads(l)['step'] for l in f] == [5, 10]
  with open(os.path.join(workdir, 'metrics.csv')) as f:
    assert [l.split(',')[0] for l in f] == ['step', '5', '10']
