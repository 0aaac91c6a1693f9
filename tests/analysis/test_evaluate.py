"""Checkpoint evaluation on synthetic trajectories: metrics, the pairing of models, the files."""

import csv
import json
import os

import numpy as np
import pytest

from dendrax.analysis import dataset_stats
from dendrax.analysis import evaluation
from dendrax.analysis import evaluation_report
from dendrax.physics import observables
from dendrax.train import evaluation as ev
from tests.analysis.conftest import save_checkpoint


@pytest.fixture(scope='module')
def evaluated(cnn2_checkpoint, cnn1_checkpoint, make_trajectories):
  surrogates = evaluation.load_pair(cnn2_checkpoint, cnn1_checkpoint)
  sources = {'train': make_trajectories(6, 0), 'test': make_trajectories(5, 1)}
  results, rollouts = evaluation.evaluate(surrogates, sources, batch_size=4,
                                          bootstrap_samples=100)
  return surrogates, sources, results, rollouts


def test_models_are_labelled_and_checked(evaluated, cnn1_checkpoint):
  surrogates = evaluated[0]
  assert [s.name for s in surrogates] == ['CNN-2', 'CNN-1']
  assert all(s.step == 0 for s in surrogates)
  with pytest.raises(ValueError, match="--checkpoint .* model_name='cnn1'"):
    evaluation.load_pair(cnn1_checkpoint)


def test_checkpoint_takes_an_fno(tmp_path, make_trajectories):
  fno = save_checkpoint(str(tmp_path / 'fno'), 'fno', model=dict(
      width=4, modes=(4, 4), num_layers=1, pad_y=0, projection_hidden=8, film_hidden=(8,),
      film_init_scale=1.0))
  (s,) = evaluation.load_pair(fno)
  assert s.name == 'FNO' and s.config.model_name == 'fno'
  results, rollouts = evaluation.evaluate([s], {'test': make_trajectories(3, 1)}, batch_size=4,
                                          bootstrap_samples=50)
  (r,) = rollouts['FNO']['test']
  assert r.pred_xi.shape == (3, 8, 16, 16)
  assert not np.allclose(r.pred_xi[:, -1], r.true_xi[:, -1])
  assert np.isfinite(results['FNO']['test']['marks']['all']['length_mse_um2']['value'])


def test_metrics_are_those_of_the_evaluation_module(evaluated):
  surrogates, sources, results, rollouts = evaluated
  (r,) = rollouts['CNN-2']['test']
  assert r.pred_xi.shape == (5, 8, 16, 16) and r.true_len.shape == (5, 8)
  np.testing.assert_array_equal(r.true_xi[:, 0], r.pred_xi[:, 0])        # rollout starts at t=0
  assert not np.allclose(r.pred_xi[:, -1], r.true_xi[:, -1])
  # True lengths: the observable on the simulated frames (flat front -> close to the truth).
  ex = sources['test'][2]
  expect = np.asarray(observables.dendrite_length_um(ex['xi'], 1.0, 3.0))
  np.testing.assert_allclose(r.true_len[2], expect, rtol=1e-5, atol=1e-5)  # float32
  np.testing.assert_allclose(r.true_len[2], ex['length_um'], atol=1.0)
  # The same numbers as training's own evaluation of the same params and trajectories.
  s = surrogates[0]
  direct, _ = ev.evaluate(s.rollout, s.params, evaluation.rollout_examples(s, sources['test']),
                          batch_size=4, bootstrap_samples=100)
  assert json.dumps(direct['marks']) == json.dumps(results['CNN-2']['test']['marks'])
  m = results['CNN-2']['test']
  assert list(m['marks']) == [f't{t:03d}s' for t in range(30, 211, 30)] + ['all']
  assert m['num_trajectories'] == 5 and m['seconds_per_trajectory'] > 0
  assert m['teacher_forcing'] is False
  # Both models saw the same trajectories, in the same order.
  np.testing.assert_array_equal(r.trajectory_id, rollouts['CNN-1']['test'][0].trajectory_id)


def test_written_files(evaluated, tmp_path):
  surrogates, _, results, rollouts = evaluated
  paths = evaluation_report.write_evaluation(
      str(tmp_path), results, rollouts, {'dataset': 'synthetic'}, surrogates,
      parity_splits=('train', 'test'), morphology_split='test',
      morphology_times_s=(30.0, 180.0), video_format='gif')
  for key in ('parity', 'morphology', 'video', 'metrics', 'summary'):
    assert os.path.getsize(paths[key]) > 0, key
  summary = open(paths['summary']).read()
  assert '| model | split | R | R2 | MSE_um2 | xi_VRMSE |' in summary
  assert 'CNN-1' in summary and 'CNN-2' in summary and 'no teacher forcing' in summary
  data = json.load(open(paths['metrics']))
  assert set(data['models']) == {'CNN-2', 'CNN-1'} and data['model'] == 'CNN-2'
  for split in ('train', 'test'):
    for mark, m in data['splits'][split]['marks'].items():
      assert {'value', 'ci_low', 'ci_high'} <= set(m['length_r'])
      assert m['xi_vrmse']['value'] > 0
  assert data['models']['CNN-1']['splits']['test']['marks']['all']['n'] == 5 * 7
  # per_trajectory.csv: every trajectory once per model and split, worst first, shares summing
  # to 1, and the errors those of the rollouts.
  with open(paths['per_trajectory']) as f:
    rows = list(csv.DictReader(f))
  r = rollouts['CNN-2']['test'][0]
  test_rows = [row for row in rows if row['model'] == 'CNN-2' and row['split'] == 'test']
  assert sorted(int(row['trajectory_id']) for row in test_rows) == sorted(r.trajectory_id.tolist())
  errors = [float(row['sq_error_um2']) for row in test_rows]
  assert errors == sorted(errors, reverse=True)
  np.testing.assert_allclose(sum(float(row['share_of_split']) for row in test_rows), 1.0, rtol=1e-6)
  worst = int(np.argmax(np.sum((r.pred_len - r.true_len)[:, 1:] ** 2, axis=1)))
  assert int(test_rows[0]['trajectory_id']) == int(r.trajectory_id[worst])
  np.testing.assert_allclose(float(test_rows[0]['final_pred_um']), r.pred_len[worst, -1], rtol=1e-5)
  # The diffuse share is the simulated trajectory's own (dataset_stats.diffuse_deposit).
  expected = dataset_stats.diffuse_deposit(r.true_xi[worst, -1], r.true_xi[worst, 0],
                                           float(r.pixel_size_um[worst]))
  np.testing.assert_allclose(float(test_rows[0]['true_diffuse_fraction']),
                             expected['diffuse_deposit_fraction'], rtol=1e-6)
  assert len(rows) == 2 * sum(len(g.trajectory_id) for s in ('train', 'test')
                              for g in rollouts['CNN-2'][s])
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(paths['video']) as gif:               # every frame from 0 s to 210 s
    assert gif.n_frames == 8


def test_morphology_rows_pick_a_trajectory(evaluated):
  _, _, _, rollouts = evaluated
  rows = evaluation_report.morphology_rows(rollouts, 'test', (30.0, 180.0), index=1)
  assert list(rows['frames']) == ['simulation', 'CNN-1', 'CNN-2'] and rows['times'] == [30., 180.]
  r = rollouts['CNN-2']['test'][0]
  np.testing.assert_array_equal(rows['frames']['simulation'], r.true_xi[1, [1, 6]])
  np.testing.assert_array_equal(rows['lengths']['CNN-2'], r.pred_len[1, [1, 6]])
  assert rows['trajectory_id'] == int(r.trajectory_id[1]) and rows['pixel_size_um'] == 1.0
  # By id, or by a quantile of the final simulated length or roughness (1.0: the largest).
  tid = int(r.trajectory_id[3])
  assert evaluation_report.morphology_rows(rollouts, 'test', (30.0,),
                                           trajectory_id=tid)['trajectory_id'] == tid
  longest = evaluation_report.morphology_rows(rollouts, 'test', (30.0,), quantile=1.0,
                                              rank_by='length')
  assert longest['index'] == int(np.argmax(r.true_len[:, -1]))
  roughest = evaluation_report.morphology_rows(rollouts, 'test', (30.0,), quantile=1.0)
  assert roughest['index'] == int(np.argmax(evaluation.final_roughness(r)))
  with pytest.raises(ValueError, match='figures.rank_by'):
    evaluation_report.morphology_rows(rollouts, 'test', (30.0,), rank_by='area')
  with pytest.raises(ValueError, match='no frame at t=45'):
    evaluation_report.morphology_rows(rollouts, 'test', (45.0,))
  with pytest.raises(ValueError, match='trajectory_id 999'):
    evaluation_report.morphology_rows(rollouts, 'test', (30.0,), trajectory_id=999)


def test_roughness_ranks_tips_above_a_thicker_flat_layer():
  """The default pick ranks by interface length / width, not length: a thick flat layer is
  longer than a short layer with two thin tips but not rougher (the 0.9-length-quantile map of
  the electroneutral dataset was a flat layer)."""
  h, w = 32, 32
  y = np.arange(h)[:, None]
  flat = np.broadcast_to((y < 12).astype(np.float32), (h, w)).copy()     # 12-cell layer
  tips = np.broadcast_to((y < 4).astype(np.float32), (h, w)).copy()      # 4-cell layer ...
  tips[:10, 8:10] = 1.0                                                  # ... two 10-cell tips
  tips[:10, 22:24] = 1.0
  true_xi = np.stack([flat, tips])[:, None]                              # [2, T=1, H, W]
  r = ev.Rollouts(trajectory_id=np.array([7, 8]), time_s=np.zeros((2, 1)), stage=np.zeros((2, 1)),
                  pred_xi=true_xi, true_xi=true_xi, pred_len=np.array([[12.0], [10.0]]),
                  true_len=np.array([[12.0], [10.0]]), pixel_size_um=np.ones(2),
                  electrode_height_um=np.ones(2), params=np.zeros((2, 7)))
  rough = evaluation.final_roughness(r)
  assert rough[0] == pytest.approx(1.0, abs=0.05) and rough[1] > 1.5
  assert evaluation.pick_trajectory(r, quantile=1.0) == 1
  assert evaluation.pick_trajectory(r, quantile=1.0, rank_by='length') == 0


def test_comparison_table_scores_every_model_on_the_same_numbers(evaluated, tmp_path):
  from dendrax.analysis import comparison  # pylint: disable=g-import-not-at-top
  surrogates, sources, results, _ = evaluated
  result = comparison.compare(surrogates, sources, batch_size=4, bootstrap_samples=100,
                              hparams={'random_forest': {'n_estimators': 20}})
  rows = {(r['model'], r['split']): r for r in result['rows']}
  assert set(rows) == {(m, s) for m in ('CNN-2', 'CNN-1', 'random_forest', 'svm', 'persistence')
                       for s in ('train', 'test')}
  # The CNN rows are the evaluation's own numbers; every model is scored on 5 x 7 test marks.
  got = result['metrics']['CNN-2']['test']['marks']['all']
  assert json.dumps(got) == json.dumps(results['CNN-2']['test']['marks']['all'])
  assert {r['n'] for (m, s), r in rows.items() if s == 'test'} == {35}
  assert rows[('CNN-2', 'test')]['R'].count('[') == 1          # value [ci_low, ci_high]
  # The synthetic law (front speed from the field) is learnable from the parameters.
  rf = result['metrics']['random_forest']['train']['marks']['all']['length_r2']
  assert rf['value'] > 0.9 and rf['ci_low'] <= rf['value'] <= rf['ci_high']
  paths = comparison.write_comparison(str(tmp_path), result, {'dataset': 'synthetic'},
                                      title='Baselines on synthetic')
  assert '| random_forest | test |' in open(paths['md']).read()
  assert json.load(open(paths['json']))['dataset'] == 'synthetic'


def test_masked_parameters_of_the_checkpoint_are_applied(evaluated):
  """A surrogate trained with data.masked_parameters is evaluated with them missing too."""
  import copy  # pylint: disable=g-import-not-at-top
  import dataclasses  # pylint: disable=g-import-not-at-top
  surrogates, sources, _, rollouts = evaluated
  config = copy.deepcopy(surrogates[0].config)
  config.data.masked_parameters = ('field_strength_kv_per_m',)
  masked = dataclasses.replace(surrogates[0], config=config)
  source = sources['test'][:2]
  pred = lambda s, src: ev.roll_out(s.rollout, s.params, evaluation.rollout_examples(s, src),
                                    batch_size=2)[0].pred_xi
  got = pred(masked, source)
  flagged = [dict(ex, params_missing=np.eye(7, dtype=bool)[2]) for ex in source]
  np.testing.assert_array_equal(got, pred(surrogates[0], flagged))
  assert not np.allclose(got, rollouts['CNN-2']['test'][0].pred_xi[:2])
