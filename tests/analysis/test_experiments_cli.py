"""The experiment commands as a user runs them: config files, `--config.x=y` overrides, flags
only for paths, a quiet console, and `experiments.evaluate --out D` writing `D/metrics.json`
with length R and its interval and the xi VRMSE for every split and 30 s mark."""

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKS = [f't{30 * k:03d}s' for k in range(1, 8)] + ['all']


def run(module, *args, timeout=900):
  env = dict(os.environ, JAX_PLATFORMS='cpu', PYTHONPATH=ROOT)   # + conftest's compile cache
  return subprocess.run([sys.executable, '-m', module, *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)


def test_evaluate_writes_metrics_with_intervals_per_split_and_mark(
    tfds_tiny, cnn2_checkpoint, cnn1_checkpoint, tmp_path):
  out = str(tmp_path / 'eval')
  proc = run('experiments.evaluate', '--checkpoint', cnn2_checkpoint, '--cnn1_checkpoint',
             cnn1_checkpoint, '--out', out, f'--data_dir={tfds_tiny}',
             '--config.max_trajectories=3', '--config.bootstrap_samples=100',
             '--config.figures.morphology_times_s=(30, 210)')
  assert proc.returncode == 0, proc.stderr[-3000:]
  data = json.load(open(os.path.join(out, 'metrics.json')))
  assert data['model'] == 'CNN-2' and set(data['models']) == {'CNN-2', 'CNN-1'}
  assert set(data['splits']) == {'train', 'validation', 'test', 'ood'}   # validation by default
  for split in data['splits'].values():
    assert split['teacher_forcing'] is False and split['bootstrap']['samples'] == 100
    for mark in MARKS:
      m = split['marks'][mark]
      assert set(m['length_r']) == {'value', 'ci_low', 'ci_high'}
      assert m['xi_vrmse']['value'] > 0
  for name in ('parity.png', 'morphology.png', 'summary.md'):
    assert os.path.getsize(os.path.join(out, name)) > 0
  assert [f for f in os.listdir(out) if f.startswith('rollout_test_') and f.endswith('.gif')]
  # No orbax / grain INFO lines, no probing of absent backends.
  noise = [l for l in proc.stderr.splitlines() if re.match(r'I\d{4} ', l) or 'tpu' in l.lower()]
  assert not noise, noise[:5]
  # A bad key is named.
  bad = run('experiments.evaluate', '--checkpoint', cnn2_checkpoint, '--out', out,
            '--config.figures.trajectry_id=3')
  assert bad.returncode != 0 and 'trajectry_id' in bad.stderr


def test_baselines_command_reads_its_config(tfds_tiny, cnn2_checkpoint, tmp_path):
  out = str(tmp_path / 'baselines')
  proc = run('experiments.baselines', '--checkpoint', cnn2_checkpoint, '--out', out,
             f'--data_dir={tfds_tiny}', '--config.sim_trajectories=0',
             '--config.bootstrap_samples=50', '--config.random_forest.n_estimators=10',
             "--config.splits=('test',)")
  assert proc.returncode == 0, proc.stderr[-3000:]
  md = open(os.path.join(out, 'baselines.md')).read()
  for model in ('CNN-2', 'random_forest', 'svm'):
    assert f'| {model} | test |' in md
  data = json.load(open(os.path.join(out, 'baselines.json')))
  assert data['config']['random_forest']['n_estimators'] == 10
  assert data['metrics']['svm']['test']['marks']['all']['length_r']['ci_low'] is not None


def test_dataset_stats_reads_its_config(tfds_tiny, tmp_path):
  out = str(tmp_path / 'stats')
  proc = run('experiments.dataset_stats', '--out', out, f'--data_dir={tfds_tiny}',
             '--config.dataset=dendrite_sim/tiny', "--config.splits=('train', 'test')",
             '--config.bootstrap_samples=20')
  assert proc.returncode == 0, proc.stderr[-3000:]
  data = json.load(open(os.path.join(out, 'stats.json')))
  assert data['dataset'] == 'dendrite_sim/tiny' and set(data) == {'dataset', 'all', 'train', 'test'}
  assert data['all']['trajectories'] == data['train']['trajectories'] + data['test']['trajectories']
  assert data['all']['mean_current_ma_cm2_median'] > 0
  bad = run('experiments.dataset_stats', f'--data_dir={tfds_tiny}',
            '--config.dataset=dendrite_sim/tiny', "--config.splits=('train', 'dev')")
  assert bad.returncode != 0 and "config.splits: unknown split(s) ['dev']" in bad.stderr
