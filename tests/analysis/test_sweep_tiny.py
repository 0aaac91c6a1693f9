"""A real sweep: two tiny settings trained by `train_and_evaluate`, interrupted and resumed.

Uses configs/sweeps/tiny.py on dendrite_sim/tiny (built once per test session in the folder the
data tests share). The second setting is interrupted after half its steps; the next call skips
the finished run, resumes the interrupted one from its checkpoint and completes the sweep.
"""

import copy
import json
import os
import subprocess
import sys

import pytest

from dendrax.analysis import sweeps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
  """The session's `tiny` build (the same folder as tests/data/test_pipeline.py uses)."""
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  path = str(tmp_path_factory.getbasetemp() / 'tfds_tiny')
  pipeline.load_source('dendrite_sim/tiny', 'train', path)
  return path


def test_tiny_sweep_completes_and_resumes(data_dir, tmp_path, capfd):
  from dendrax.train import loop  # pylint: disable=g-import-not-at-top
  sweep = sweeps.load_config_file(os.path.join(ROOT, 'configs/sweeps/tiny.py'))
  sweep.workdir = str(tmp_path / 'sweep')
  sweep.common_overrides.data.data_dir = data_dir
  runs = sweeps.plan(sweep, base_dir=ROOT)
  assert [r.setting for r in runs] == ['cnn2', 'cnn1']
  assert runs[1].config.model_name == 'cnn1' and runs[0].config.train.num_steps == 4

  def interrupted(config, workdir):
    if config.model_name == 'cnn1':
      half = copy.deepcopy(config)
      half.train.num_steps = 2
      loop.train_and_evaluate(half, workdir)        # leaves a checkpoint at step 2
      raise KeyboardInterrupt('simulated kill')
    return loop.train_and_evaluate(config, workdir)

  with pytest.raises(KeyboardInterrupt):
    sweeps.execute(runs, interrupted)
  assert sweeps.is_done(runs[0]) and not sweeps.is_done(runs[1])
  capfd.readouterr()
  counts = sweeps.execute(runs, loop.train_and_evaluate)
  assert counts == {'done': 1, 'skipped': 1, 'failed': 0}
  assert 'Resuming from step 2' in capfd.readouterr().out
  result = json.load(open(os.path.join(runs[1].workdir, sweeps.RESULT_FILE)))
  assert result['metrics']['trained_steps'] == 4.0
  assert result['metrics']['best_val_loss'] > 0

  # The command line writes the table from the finished runs.
  out = subprocess.run(
      [sys.executable, '-m', 'experiments.sweep', '--config', 'configs/sweeps/tiny.py',
       f'--config.workdir={sweep.workdir}', '--aggregate_only'],
      cwd=ROOT, capture_output=True, text=True, timeout=300, check=True).stdout
  assert '| cnn2 | 1 |' in out and '| cnn1 | 1 |' in out
  summary = json.load(open(os.path.join(sweep.workdir, 'summary.json')))
  assert [r['setting'] for r in summary['summary']] == ['cnn2', 'cnn1']
  assert os.path.isfile(os.path.join(sweep.workdir, 'summary_best_val_loss.png'))
