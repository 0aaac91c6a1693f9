"""Checkpoint evaluation on synthetic trajectories: metrics, the pairing of models, the files."""

import json
import os

import numpy as np
import pytest

from dendrax.analysis import evaluation
from dendrax.analysis import evaluation_report
from dendrax.analysis import metrics
from dendrax.physics import observables


@pytest.fixture(scope='module')
def evaluated(cnn2_checkpoint, cnn1_checkpoint, make_trajectories):
  surrogates = evaluation.load_pair(cnn2_checkpoint, cnn1_checkpoint)
  sources = {'train': make_trajectories(6, 0), 'test': make_trajectories(5, 1)}
  results, preds = evaluation.evaluate(surrogates, sources, batch_size=4)
  return surrogates, sources, results, preds


def test_models_are_labelled_and_checked(evaluated, cnn1_checkpoint):
  surrogates = evaluated[0]
  assert [s.name for s in surrogates] == ['CNN-2', 'CNN-1']
  with pytest.raises(ValueError, match="--checkpoint .* model_name='cnn1'"):
    evaluation.load_pair(cnn1_checkpoint)


def test_metrics_are_those_of_the_rollouts(evaluated):
  _, sources, results, preds = evaluated
  p = preds['CNN-2']['test']
  assert p.pred_xi.shape == (5, 8, 16, 16) and p.true_length_um.shape == (5, 8)
  np.testing.assert_array_equal(p.true_xi[:, 0], p.pred_xi[:, 0])        # rollout starts at t=0
  assert not np.allclose(p.pred_xi[:, -1], p.true_xi[:, -1])
  # True lengths: the observable on the simulated frames (flat front -> close to the truth).
  ex = sources['test'][2]
  expect = np.asarray(observables.dendrite_length_um(ex['xi'], 1.0, 3.0))
  np.testing.assert_allclose(p.true_length_um[2], expect, rtol=1e-5, atol=1e-5)  # float32
  np.testing.assert_allclose(p.true_length_um[2], ex['length_um'], atol=1.0)
  m = results['CNN-2']['test']
  direct = metrics.regression_metrics(p.true_length_um[:, 1:], p.pred_length_um[:, 1:])
  assert m['all'] == pytest.approx(direct, nan_ok=True)
  assert list(m['per_mark']) == [f'{t}s' for t in range(30, 211, 30)]
  assert m['num_trajectories'] == 5 and m['rollout_s_per_trajectory'] > 0
  # Both models saw the same trajectories, in the same order.
  np.testing.assert_array_equal(p.trajectory_id, preds['CNN-1']['test'].trajectory_id)


def test_written_files(evaluated, tmp_path):
  _, _, results, preds = evaluated
  paths = evaluation_report.write_evaluation(
      str(tmp_path), results, preds, {'dataset': 'synthetic'},
      morphology_times_s=(30.0, 180.0), video_format='gif')
  for key in ('parity', 'morphology', 'video', 'metrics', 'summary'):
    assert os.path.getsize(paths[key]) > 0, key
  summary = open(paths['summary']).read()
  assert '| model | split | R | R2 | MSE_um2 |' in summary
  assert 'CNN-1' in summary and 'CNN-2' in summary
  data = json.load(open(paths['metrics']))
  assert set(data['length']) == {'CNN-2', 'CNN-1'}
  assert data['length']['CNN-2']['test']['all']['n'] == 5 * 7


def test_morphology_rows_pick_frames_of_one_trajectory(evaluated):
  _, _, _, preds = evaluated
  rows, times, tid, pixel = evaluation_report.morphology_rows(preds, 'test', (30.0, 180.0), index=1)
  assert list(rows) == ['simulation', 'CNN-1', 'CNN-2'] and times == [30.0, 180.0]
  np.testing.assert_array_equal(rows['simulation'], preds['CNN-2']['test'].true_xi[1, [1, 6]])
  assert tid == int(preds['CNN-1']['test'].trajectory_id[1]) and pixel == 1.0
  with pytest.raises(ValueError, match='no frame at t=45'):
    evaluation_report.morphology_rows(preds, 'test', (45.0,))


def test_comparison_table_scores_every_model_on_the_same_numbers(evaluated, tmp_path):
  from dendrax.analysis import comparison  # pylint: disable=g-import-not-at-top
  surrogates, sources, results, _ = evaluated
  result = comparison.compare(surrogates, sources, batch_size=4,
                              hparams={'random_forest': {'n_estimators': 20}})
  rows = {(r['model'], r['split']): r for r in result['rows']}
  assert set(rows) == {(m, s) for m in ('CNN-2', 'CNN-1', 'random_forest', 'svm')
                       for s in ('train', 'test')}
  # The CNN rows are the evaluation's own numbers; every model is scored on 5 x 7 test marks.
  assert rows[('CNN-2', 'test')]['MSE_um2'] == pytest.approx(results['CNN-2']['test']['all']['mse'])
  assert {r['n'] for (m, s), r in rows.items() if s == 'test'} == {35}
  # The synthetic law (front speed from the field) is learnable from the parameters.
  assert rows[('random_forest', 'train')]['R2'] > 0.9
  paths = comparison.write_comparison(str(tmp_path), result, {'dataset': 'synthetic'},
                                      title='Baselines on synthetic')
  assert '| random_forest | test |' in open(paths['md']).read()
  assert json.load(open(paths['json']))['dataset'] == 'synthetic'


def test_masked_parameters_of_the_checkpoint_are_applied(evaluated):
  """A surrogate trained with data.masked_parameters is evaluated with them missing too."""
  import copy  # pylint: disable=g-import-not-at-top
  import dataclasses  # pylint: disable=g-import-not-at-top
  surrogates, sources, _, preds = evaluated
  config = copy.deepcopy(surrogates[0].config)
  config.data.masked_parameters = ('field_strength_kv_per_m',)
  masked = dataclasses.replace(surrogates[0], config=config)
  source = sources['test'][:2]
  got = evaluation.predict_split(masked, source).pred_xi
  flagged = [dict(ex, params_missing=np.eye(7, dtype=bool)[2]) for ex in source]
  np.testing.assert_array_equal(got, evaluation.predict_split(surrogates[0], flagged).pred_xi)
  assert not np.allclose(got, preds['CNN-2']['test'].pred_xi[:2])
