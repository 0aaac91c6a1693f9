"""Experiments read the checkpoint's own dataset from the checkpoint's folder and never build it
silently (issue 13, defects 5 and 6)."""

import os
import subprocess
import sys
import types

import ml_collections
import pytest

from dendrax.analysis import checkpoint_data
from dendrax.data import pipeline


def surrogate(name, data_dir, workdir='workdirs/x'):
  config = ml_collections.ConfigDict({'data': {'name': name, 'data_dir': data_dir}})
  return types.SimpleNamespace(workdir=workdir, config=config)


def test_a_checkpoint_is_never_scored_on_another_dataset():
  tiny = surrogate('dendrite_sim/tiny', None, 'workdirs/cnn1')
  with pytest.raises(ValueError, match='workdirs/cnn1: dendrite_sim/tiny'):
    checkpoint_data.checkpoint_dataset([tiny], 'dendrite_sim/small')
  with pytest.raises(ValueError, match='trained on'):
    checkpoint_data.checkpoint_dataset([tiny, surrogate('dendrite_sim/small', None)])
  assert checkpoint_data.checkpoint_dataset([tiny], 'dendrite_sim/tiny') == 'dendrite_sim/tiny'
  assert checkpoint_data.checkpoint_dataset([], 'dendrite_vasp') == 'dendrite_vasp'


def test_reads_the_checkpoints_data_dir_and_never_builds_silently(fixture_data_dir, tmp_path,
                                                                  monkeypatch):
  pipeline.load_source('dendrite_fixture/a', 'train', fixture_data_dir)     # the training build
  empty = str(tmp_path / 'empty')
  monkeypatch.setenv(pipeline.DATA_DIR_ENV, empty)
  trained = surrogate('dendrite_fixture/a', fixture_data_dir)
  name, folder, sources = checkpoint_data.load_sources([trained], ['train', 'test'])
  assert (name, folder) == ('dendrite_fixture/a', os.path.abspath(fixture_data_dir))
  assert len(sources['train']) > 0 and not os.path.exists(empty)

  # Not built where the checkpoint says, nor in $DENDRAX_DATA_DIR: an error with the command.
  moved = surrogate('dendrite_fixture/a', str(tmp_path / 'moved'))
  with pytest.raises(FileNotFoundError, match='build_data') as info:
    checkpoint_data.load_sources([moved], ['train'])
  assert 'download_and_prepare' in str(info.value) and 'tests.data.fixture_datasets' in str(
      info.value)
  assert not os.path.exists(empty) and not os.path.exists(str(tmp_path / 'moved'))
  # --data_dir is searched first; --build_data builds explicitly.
  _, folder, _ = checkpoint_data.load_sources([moved], ['train'], data_dir=fixture_data_dir)
  assert folder == os.path.abspath(fixture_data_dir)
  _, folder, sources = checkpoint_data.load_sources([moved], ['train'], build=True,
                                                    data_dir=str(tmp_path / 'new'))
  assert folder == str(tmp_path / 'new') and len(sources['train']) > 0


def test_experiments_refuse_another_dataset_or_a_missing_build(cnn1_checkpoint, cnn2_checkpoint,
                                                              tmp_path):
  """The one-line hooks in experiments/baselines.py and experiments/evaluate.py."""
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  env = dict(os.environ, PYTHONPATH=root, JAX_PLATFORMS='cpu',
             DENDRAX_DATA_DIR=str(tmp_path / 'empty'))
  runs = {'baselines': (['--cnn1_checkpoint', cnn1_checkpoint, '--config.dataset=dendrite_sim/small'],
                        'trained on'),
          'evaluate': (['--checkpoint', cnn2_checkpoint], 'is not built')}
  for script, (flags, expected) in runs.items():
    out = subprocess.run([sys.executable, '-m', f'experiments.{script}', *flags,
                          '--out', str(tmp_path / 'out')], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and expected in out.stderr, (script, out.stderr[-2000:])
  assert not os.path.exists(tmp_path / 'empty')        # nothing was simulated
