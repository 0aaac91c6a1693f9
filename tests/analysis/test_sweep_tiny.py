"""A real sweep: two tiny settings x 2 folds trained by `train_and_evaluate`, interrupted and
resumed.

Uses configs/sweeps/tiny.py with the real training loop and the real `pipeline.load_source` on
the small synthetic `dendrite_fixture/a` array_record dataset (tests/data/fixture_datasets.py),
so the folds' TFDS split expressions go through TFDS; the simulator is not involved. The first
run of the second setting is interrupted after half its steps; the next call skips the finished
runs, resumes the interrupted one from its checkpoint and completes the sweep.
"""

import copy
import json
import os
import subprocess
import sys

import pytest

from dendrax.analysis import sweeps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_tiny_sweep_completes_and_resumes(fixture_data_dir, tmp_path, capfd):
  from dendrax.train import loop  # pylint: disable=g-import-not-at-top
  sweep = sweeps.load_config_file(os.path.join(ROOT, 'configs/sweeps/tiny.py'))
  sweep.workdir = str(tmp_path / 'sweep')
  sweep.common_overrides.data.name = 'dendrite_fixture/a'
  sweep.common_overrides.data.data_dir = fixture_data_dir
  runs = sweeps.plan(sweep, base_dir=ROOT)
  assert [(r.setting, r.fold) for r in runs] == [('cnn2', 0), ('cnn2', 1), ('cnn1', 0),
                                                 ('cnn1', 1)]
  assert runs[2].config.model_name == 'cnn1' and runs[0].config.train.num_steps == 4
  data = runs[1].config.data          # fold 1 of 2: the second half held out
  assert (data.train_split, data.validation_split, data.heldout_split) == (
      'train[20%:50%]+validation[20%:50%]', 'train[0%:20%]+validation[0%:20%]',
      'train[50%:100%]+validation[50%:100%]')

  def interrupted(config, workdir):
    if config.model_name == 'cnn1':
      half = copy.deepcopy(config)
      half.train.num_steps = 2
      loop.train_and_evaluate(half, workdir)        # leaves a checkpoint at step 2
      raise KeyboardInterrupt('simulated kill')
    return loop.train_and_evaluate(config, workdir)

  with pytest.raises(KeyboardInterrupt):
    sweeps.execute(runs, interrupted)
  assert [sweeps.is_done(r) for r in runs] == [True, True, False, False]
  capfd.readouterr()
  counts = sweeps.execute(runs, loop.train_and_evaluate)
  assert counts == {'done': 2, 'skipped': 2, 'failed': 0}
  assert 'Resuming from step 2' in capfd.readouterr().out
  result = json.load(open(os.path.join(runs[2].workdir, sweeps.RESULT_FILE)))
  assert result['metrics']['trained_steps'] == 4.0
  assert result['metrics']['validation_at_checkpoint/loss'] > 0
  for run in runs:      # each run trained, selected and was scored on its own parts of the pool
    written = json.load(open(os.path.join(run.workdir, 'metrics.json')))
    assert written['split_expressions'] == {'train': run.config.data.train_split,
                                            'validation': run.config.data.validation_split,
                                            'heldout': run.config.data.heldout_split}
    assert set(written['splits']) == {'validation', 'heldout'}

  # The command line writes the table from the finished runs.
  out = subprocess.run(
      [sys.executable, '-m', 'experiments.sweep', '--config', 'configs/sweeps/tiny.py',
       f'--config.workdir={sweep.workdir}', '--aggregate_only'],
      cwd=ROOT, capture_output=True, text=True, timeout=300, check=True).stdout
  assert '| cnn2 | 2 |' in out and '| cnn1 | 2 |' in out
  assert 'Nested cross-validation' in out and 'held-out fold' in out
  summary = json.load(open(os.path.join(sweep.workdir, 'summary.json')))
  assert [r['setting'] for r in summary['summary']] == ['cnn2', 'cnn1']
  assert os.path.isfile(os.path.join(sweep.workdir, 'summary_validation_at_checkpoint_loss.png'))
