"""`dendrite_sim/tiny_tangents`: a build that stores the simulator's tangents for its first
chunk, the frames it shares with a build without tangents, and a short training run of the
derivative-informed arm on it (issue 11).

Regression tests of the data path and the loop hook; the tangents themselves are verified
against central differences in tests/physics/test_tangents.py.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.dendrite_sim import dendrite_sim
from data_builders.dendrite_sim import generation
from dendrax.data import pipeline
from dendrax.physics import parameters
from dendrax.train import loop
from tests.conftest import small_train_config

NAME = 'dendrite_sim/tiny_tangents'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def tangent_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('tfds_tangents'))
  pipeline.load_source(NAME, 'train', path)
  return path


def _all(source):
  return [source[i] for i in range(len(source))]


def test_first_chunk_stores_tangents_and_frames_match_a_plain_build(tangent_dir, tmp_path):
  examples = [ex for split in ('train', 'validation', 'test')
              for ex in _all(pipeline.load_source(NAME, split, tangent_dir))]
  builder = tfds.builder(NAME, data_dir=tangent_dir, file_format='array_record')
  chunks = builder.chunks()
  with_tangents = {int(t) for c in chunks if c.tangents for t in c.trajectory_ids}
  assert [c.tangents for c in chunks] == [True, False]
  k = len(parameters.CONTINUOUS_PARAMETERS)
  for ex in examples:
    tid = int(ex['trajectory_id'])
    assert ex['xi_tangent'].shape == (len(ex['time_s']), k, 32, 32)
    assert ex['xi_tangent'].dtype == np.float16
    assert bool(ex['has_tangents']) == (tid in with_tangents), tid
    if tid in with_tangents:
      assert np.isfinite(ex['xi_tangent']).all()
      # The frames move with the parameters somewhere (the current, via the field strength).
      assert np.abs(ex['xi_tangent'][-1]).max() > 1e-3, tid
    else:
      assert not ex['xi_tangent'].any(), tid
  # The same design without tangents gives the same frames, bit for bit.
  plain_config = dendrite_sim.make_config(
      'tiny_plain', description='tiny_tangents without tangents', grid_size=32,
      simulation=dendrite_sim.dataset_simulation(nx=32, ny=32), num_train=2, num_validation=1,
      num_test=1, num_ood=0, seed=0, batch_size=2, chemistry_weights=(1.0, 0.0),
      protocol_weights=(0.0, 1.0, 0.0, 0.0))
  plain = tfds.builder('dendrite_sim', config=plain_config, data_dir=str(tmp_path),
                       file_format='array_record')
  plain.download_and_prepare(file_format='array_record')
  plain_ex = {int(ex['trajectory_id']): ex for split in ('train', 'validation', 'test')
              for ex in _all(plain.as_data_source(split=split))}
  assert 'xi_tangent' not in next(iter(plain_ex.values()))
  for ex in examples:
    other = plain_ex[int(ex['trajectory_id'])]
    for field in ('xi', 'concentration', 'potential_v', 'length_um'):
      np.testing.assert_array_equal(ex[field], other[field], err_msg=field)


def test_a_tangent_build_reuses_its_plain_twins_chunks(tangent_dir, tmp_path, monkeypatch):
  """With the plain twin's cache in the same data dir (here: `tiny_tangents`' plain chunk copied
  into a cache named for another config), a tangent build simulates only its tangent chunks."""
  built = tfds.builder(NAME, data_dir=tangent_dir, file_format='array_record')
  fresh = tfds.builder(NAME, data_dir=str(tmp_path), file_format='array_record')
  tangent_chunk, plain_chunk = built.chunks()
  assert fresh.plain_cache_dirs() == []                 # no twin yet
  twin = os.path.join(os.path.dirname(fresh.cache_dir()),
                      'plain_twin-' + fresh.plain_cache_key())
  for target, chunk in ((fresh.cache_dir(), tangent_chunk), (twin, plain_chunk)):
    os.makedirs(target)
    shutil.copy(os.path.join(built.cache_dir(), chunk.filename), target)
  assert fresh.plain_cache_dirs() == [twin]
  def no_simulation(chunk, *unused_args, **unused_kwargs):
    raise AssertionError(f'{chunk.filename} was simulated, not read from a cache')

  monkeypatch.setattr(generation, 'simulate_chunk', no_simulation)
  fresh.download_and_prepare(file_format='array_record')
  assert os.path.exists(os.path.join(fresh.cache_dir(), plain_chunk.filename))  # copied in
  for split in ('train', 'validation', 'test'):
    a, b = (_all(x.as_data_source(split=split)) for x in (built, fresh))
    assert [int(e['trajectory_id']) for e in a] == [int(e['trajectory_id']) for e in b]
    for ea, eb in zip(a, b):
      for field in ('xi', 'xi_tangent', 'has_tangents', 'length_um'):
        np.testing.assert_array_equal(ea[field], eb[field], err_msg=field)


def test_derivative_arm_trains_and_logs_the_term(tangent_dir, tmp_path):
  config = small_train_config(
      data={'name': NAME, 'data_dir': tangent_dir, 'validation_split': 'validation'},
      train={'derivative_weight': 0.01, 'num_steps': 4, 'batch_size': 4, 'warmup_steps': 1,
             'log_every_steps': 2},
      eval={'every_steps': 4, 'rollout_splits': ('validation',)})
  loop.train_and_evaluate(config, str(tmp_path / 'run'))
  rows = [json.loads(line) for line in open(os.path.join(tmp_path, 'run', 'metrics.jsonl'))]
  train = [r for r in rows if r['group'] == 'train']
  assert train and all(np.isfinite(r['derivative']) and r['derivative'] > 0 for r in train), rows
  assert all(f'derivative/{n}' in train[-1] for n in parameters.CONTINUOUS_PARAMETERS)
  assert os.path.exists(os.path.join(tmp_path, 'run', 'metrics.json'))
  # The held-out derivative score of that checkpoint (experiments.tangent_mismatch).
  proc = subprocess.run(
      [sys.executable, '-m', 'experiments.tangent_mismatch', '--checkpoint',
       str(tmp_path / 'run'), '--out', str(tmp_path / 'tm'), '--data_dir', tangent_dir,
       f'--config.dataset={NAME}', "--config.splits=('train', 'validation')"],
      capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
      check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  scores = json.load(open(tmp_path / 'tm' / 'tangent_mismatch.json'))['splits']
  assert scores['train']['pairs'] > 0
  for name, r in scores['train']['parameters'].items():
    assert r['rms_tangent'] >= 0 and np.isfinite(r['loss']), name


def test_derivative_weight_needs_a_dataset_with_tangents(tfds_tiny, tmp_path):
  config = small_train_config(data={'data_dir': tfds_tiny}, train={'derivative_weight': 0.01})
  with pytest.raises(ValueError, match='config.train.derivative_weight.*xi_tangent'):
    loop.train_and_evaluate(config, str(tmp_path / 'run'))
