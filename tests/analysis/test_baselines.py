"""RF/SVM baselines and parity metrics on synthetic length tables with a known law."""

import numpy as np
import pytest

from dendrax.analysis import baselines
from dendrax.data import sources
from dendrax.physics import parameters
from dendrax.train import evaluation


def make_table(n, seed, noise=0.0):
  rng = np.random.default_rng(seed)
  specs = parameters.PARAMETER_SPECS
  p = np.stack([rng.uniform(s.low + 1e-3, s.high, n) for s in specs], axis=1)
  t = np.arange(8) * 30.0
  rate = p[:, 2] * (1 + 0.5 * np.log(p[:, 3] / 250.0))           # field, log-concentration
  length = rate[:, None] * t[None] / 30.0 + noise * rng.standard_normal((n, 8))
  return baselines.LengthTable(np.arange(n) + 1000 * seed, p, rng.integers(0, 2, n), t, length)


def test_regression_metrics_reference_values():
  m = evaluation.regression_metrics([1.0, 2.0, 3.0, np.nan], [2.0, 3.0, 4.0, 1.0])
  assert m['n'] == 3 and m['n_dropped'] == 1
  assert m['r'] == pytest.approx(1.0)
  assert m['mse'] == pytest.approx(1.0)
  assert m['r2'] == pytest.approx(1.0 - 3.0 / 2.0)     # a bias lowers R^2 but not R


def test_baselines_learn_a_smooth_law_and_beat_the_mean():
  train, test = make_table(120, 0, noise=0.05), make_table(40, 1)
  result = baselines.evaluate(baselines.METHODS, train, {'test': test})
  for method in baselines.METHODS:
    score = result[method]['splits']['test']['score']
    m = score['marks']['all']
    assert m['n'] == 40 * 7 and score['num_trajectories'] == 40
    assert m['length_r2']['value'] > 0.9, (method, m)
    assert m['length_r2']['ci_low'] <= m['length_r2']['value'] <= m['length_r2']['ci_high']
    assert np.isnan(m['xi_vrmse']['value'])           # a length model has no field to score
    assert list(score['marks']) == [f't{t:03d}s' for t in range(30, 211, 30)] + ['all']
    pred = result[method]['splits']['test']['pred_um']
    assert pred.shape == (40, 7)
    # The same numbers as the evaluation module's regression metrics of the predictions.
    ref = evaluation.regression_metrics(test.length_um[:, 1:], pred)
    assert m['length_r']['value'] == pytest.approx(ref['r'])
    assert m['length_mse_um2']['value'] == pytest.approx(ref['mse'])


def test_features_layout_and_missing_values_are_imputed():
  table = make_table(5, 2)
  x, y = baselines.features(table)
  assert x.shape == (5 * 7, len(baselines.feature_names())) and y.shape == (35,)
  np.testing.assert_allclose(x[:7, -1], table.time_s[1:])
  params = table.params.copy()
  params[0, 4] = np.nan
  holey = baselines.LengthTable(table.trajectory_id, params, table.chemistry, table.time_s,
                                table.length_um)
  model = baselines.fit('svm', make_table(30, 3))
  assert np.all(np.isfinite(baselines.predict(model, holey)))


def test_length_table_reads_schema_examples_and_names_bad_marks():
  t = np.arange(8, dtype=np.float32) * 30
  ex = lambda i, times: {'trajectory_id': i, 'params': np.ones(7, np.float32),
                         'params_missing': np.eye(7, dtype=bool)[0], 'chemistry': 1,
                         'time_s': times, 'length_um': times / 10}
  table = baselines.length_table([ex(7, t), ex(9, t)])
  assert table.trajectory_id.tolist() == [7, 9]
  assert np.isnan(table.params[0, 0]) and table.params[0, 1] == 1.0
  with pytest.raises(ValueError, match='trajectory 9'):
    baselines.length_table([ex(7, t), ex(9, t[:5])])


def test_unknown_method_is_named():
  with pytest.raises(ValueError, match='boosting'):
    baselines.make_regressor('boosting')


def test_simulator_cost_times_the_simulation_of_given_trajectories(make_trajectories):
  source = make_trajectories(3, 3)
  for ex in source:   # a point the explicit scheme accepts at this time step
    ex['params'] = np.array([300.0, 1.0, 2.25, 1000.0, 0.5, 316.2, 2.0], np.float32)
    ex['protocol'] = 0
    ex['source'] = b'sim'                                   # as array_record sources give it
  # A mix 'dendrite_lit+dendrite_sim/...': a literature process (60-bit hashed id) first, then
  # simulated trajectories with ids offset by 2**60.
  source[0].update(source='doi:10.0000/a; licence: CC-BY-4.0', trajectory_id=np.int64(2 ** 59 + 7))
  source[2]['trajectory_id'] = np.int64(sources.mix_trajectory_id(1, 5))
  simulation = dict(nx=16, ny=16, dx_um=3.125, dt_s=0.05, t_end_s=1.0, save_every_s=0.5,
                    interface_width_um=7.8, electrode_height_um=12.5, defect_radius_um=7.0)
  cost = baselines.simulator_cost(source, simulation, num_trajectories=2)
  assert cost['num_trajectories'] == 2 and cost['passed_over_not_simulated'] == 1
  assert 0 < cost['s_per_trajectory'] < cost['first_call_s']     # compiled once, then timed


def test_simulator_cost_refuses_data_the_simulator_did_not_make(make_trajectories):
  real = make_trajectories(2, 4)
  for k, ex in enumerate(real):              # a VASP run and a literature process
    ex.update(source=('Li_runs/run_a', 'doi:10.0000/b')[k],
              trajectory_id=np.int64(2 ** 60 * k + 2 ** 59 + k))
  assert [baselines.simulated_trajectory_id(ex) for ex in real] == [None, None]
  with pytest.raises(ValueError, match=r"none of the 2 trajectories.*'sim'.*only for "
                                       'dendrite_sim'):
    baselines.simulator_cost(real, {}, num_trajectories=2)
  sim = dict(real[0], source='sim', trajectory_id=np.int64(3 * 2 ** 60 + 11))
  assert baselines.simulated_trajectory_id(sim) == 11       # mix offset removed
  with pytest.raises(ValueError, match=r'trajectory_id .* outside \[0, 2\*\*32\)'):
    baselines.simulated_trajectory_id(dict(sim, trajectory_id=np.int64(2 ** 40)))


def test_persistence_predicts_the_first_length_and_is_scored_like_the_others():
  train, test = make_table(20, 0), make_table(10, 1)
  result = baselines.evaluate((baselines.PERSISTENCE,), train, {'test': test})
  pred = result[baselines.PERSISTENCE]['splits']['test']['pred_um']
  np.testing.assert_array_equal(pred, np.repeat(test.length_um[:, :1], 7, axis=1))
  m = result[baselines.PERSISTENCE]['splits']['test']['score']['marks']['all']
  ref = evaluation.regression_metrics(test.length_um[:, 1:], pred)
  assert m['length_mse_um2']['value'] == pytest.approx(ref['mse'])
