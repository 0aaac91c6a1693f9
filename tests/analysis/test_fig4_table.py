"""The like-for-like Fig. 4 table: its aggregation, and the one command end to end on
`dendrite_sim/tiny` (3 models x 2 seeds of a few steps, the real training loop and evaluator)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dendrax.analysis import fig4
from dendrax.analysis import sweeps
from dendrax.train import evaluation as ev

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _score(value, replicates):
  marks = {'all': {m: {'value': value, 'ci_low': np.nan, 'ci_high': np.nan}
                   for m in ev.METRICS}}
  reps = {'all': {m: np.asarray(replicates, np.float64) for m in ev.METRICS}}
  return {'marks': marks, '_replicates': reps}


def test_seed_mean_with_spread_and_interval_of_the_mean():
  per_run = {f'cnn2_seed{s}': {'model': 'cnn2', 'seed': s, 'step': 10, 'workdir': '',
                               'scores': {'test': _score(v, reps)}}
             for s, v, reps in ((0, 0.8, [0.7, 0.8, 0.9, 1.0]), (1, 0.9, [0.8, 0.9, 1.0, 1.1]))}
  table = fig4.aggregate(per_run, ['cnn2'], ['test'])
  e = table['cnn2']['test']['all']['length_r']
  assert e['values'] == [0.8, 0.9] and e['mean'] == pytest.approx(0.85)
  assert e['std'] == pytest.approx(np.std([0.8, 0.9], ddof=1))
  # The interval of the seed mean: percentiles of the replicate-wise means 0.75 ... 1.05.
  assert (e['ci_low'], e['ci_high']) == pytest.approx(tuple(np.percentile(
      [0.75, 0.85, 0.95, 1.05], [2.5, 97.5])))
  rows = fig4.table_rows(table, ['test'])
  assert rows[0]['model'] == 'CNN-2' and rows[0]['R'].startswith('0.850 ± 0.071 [')


def test_fig4_config_plans_runs_that_differ_only_in_model_and_seed():
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  config = sweeps.load_config_file(os.path.join(ROOT, 'configs/fig4.py'))
  runs = fig4.plan(config, base_dir=ROOT)
  assert [r.setting for r in runs] == [f'{m}_seed{s}' for m in ('cnn1', 'cnn2', 'concat')
                                       for s in (0, 1, 2)]
  def rest(r):
    d = r.config.to_dict()
    d.pop('seed'), d.pop('model_name')
    return json.dumps(d, sort_keys=True, default=str)

  for r in runs:
    setup.validate_config(r.config)
    assert r.config.data.name == 'dendrite_sim/small' and r.config.train.num_steps == 2000
    assert r.config.eval.select_metric == 'rollout_length_mse'
    assert tuple(r.config.eval.rollout_splits) == ('validation',)
  assert len({rest(r) for r in runs}) == 1
  assert [(r.config.model_name, r.config.seed) for r in runs[:4]] == [
      ('cnn1', 0), ('cnn1', 1), ('cnn1', 2), ('cnn2', 0)]


def test_fig4_table_one_command_end_to_end(tfds_tiny, tmp_path):
  workdir = str(tmp_path / 'fig4')
  env = dict(os.environ, JAX_PLATFORMS='cpu', PYTHONPATH=ROOT)
  cmd = [sys.executable, '-m', 'experiments.fig4_table', '--config', 'configs/fig4.py:tiny',
         f'--config.workdir={workdir}', '--config.seeds=(0,1)',
         '--config.common_overrides.train.num_steps=4',
         '--config.common_overrides.train.warmup_steps=1',
         '--config.common_overrides.eval.every_steps=2', '--config.bootstrap_samples=200',
         f'--data_dir={tfds_tiny}']
  proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
  assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
  md = open(os.path.join(workdir, 'fig4.md')).read()
  assert 'Fig. 4, like for like: CNN-1, CNN-2, concat on dendrite_sim/tiny' in md
  assert 'one selection rule' in md and 'fewer than 3' in md
  for model in ('CNN-1', 'CNN-2', 'concat'):
    for split in ('train', 'validation', 'test', 'ood'):
      assert f'| {model} | {split} | 2 |' in md, (model, split)
  data = json.load(open(os.path.join(workdir, 'fig4.json')))
  assert data['meta']['dataset'] == 'dendrite_sim/tiny' and len(data['meta']['fingerprint']) == 12
  assert data['meta']['select_metric'] == 'rollout_length_mse'
  e = data['table']['cnn2']['test']['all']['length_mse_um2']
  assert len(e['values']) == 2 and e['ci_low'] <= e['mean'] <= e['ci_high']
  # Every run's own metrics.json agrees with the table's per-seed values (same evaluator,
  # same trajectories, same selected checkpoint).
  for setting, run in data['meta']['runs'].items():
    own = json.load(open(os.path.join(run['workdir'], 'metrics.json')))
    assert own['checkpoint_step'] == run['step']
    entry = data['table'][run['model']]['validation']['all']['length_mse_um2']
    value = entry['values'][entry['seeds'].index(run['seed'])]
    assert value == pytest.approx(
        own['splits']['validation']['marks']['all']['length_mse_um2']['value'], rel=1e-5)
  # A second call trains nothing: it only rewrites the table.
  again = subprocess.run(cmd + ['--table_only'], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
  assert again.returncode == 0 and 'Fig. 4, like for like' in again.stdout
