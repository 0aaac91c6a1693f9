"""A real sweep: two tiny settings trained by `train_and_evaluate`, interrupted and resumed.

Uses configs/sweeps/tiny.py with the real training loop. The data are synthetic schema
trajectories (conftest.py) served in place of `pipeline.load_source`, so the test exercises
the sweep and the training/checkpoint/resume code, not the simulator. The second setting is
interrupted after half its steps; the next call skips the finished run, resumes the
interrupted one from its checkpoint and completes the sweep.
"""

import copy
import json
import os
import subprocess
import sys

import pytest

from dendrax.analysis import sweeps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def synthetic_data(monkeypatch, make_trajectories):
  """Every `pipeline.load_source(name, split, ...)` returns synthetic trajectories of `split`."""
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  sources = {'train': make_trajectories(8, 0), 'validation': make_trajectories(3, 1),
             'test': make_trajectories(3, 2), 'ood': make_trajectories(3, 3)}
  monkeypatch.setattr(pipeline, 'load_source',
                      lambda name, split, data_dir=None, build_if_missing=True: sources[split])
  return sources


def test_tiny_sweep_completes_and_resumes(synthetic_data, tmp_path, capfd):
  from dendrax.train import loop  # pylint: disable=g-import-not-at-top
  sweep = sweeps.load_config_file(os.path.join(ROOT, 'configs/sweeps/tiny.py'))
  sweep.workdir = str(tmp_path / 'sweep')
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
