"""Random-forest and SVM regressors of dendrite length from the physical parameters (paper, Sec. 3).

Zhao et al. compare their CNNs with classical regressors that see only the growth conditions.
Here one regressor per method predicts the dendrite length at every 30 s mark: each (trajectory,
mark) is one row with features

    [g(p_1) .. g(p_7), chemistry one-hot (2), time_s],   g = ln for log-scale parameters,

so a single model covers all marks (the length grows smoothly with time, which trees and RBF
kernels can use). Missing parameters (NaN) are imputed with the train mean; the SVM standardises
its features first (an RBF kernel needs comparable scales). Frame 0 (t = 0, the initial
electrode, length ~0 by construction) is left out: it is an input, not a prediction.

`PERSISTENCE` is the reference any forecaster must beat: the length stays at its t = 0 value
(the nuclei the first frame shows). Where lengths vary more between trajectories than in time,
it already scores a high R; the CNNs' margin over it is the honest measure.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Mapping, Sequence

import numpy as np
from sklearn import ensemble, impute, pipeline, preprocessing, svm

from dendrax.data import normalization
from dendrax.data import sources
from dendrax.physics import parameters
from dendrax.train import evaluation as ev

METHODS: tuple[str, ...] = ('random_forest', 'svm')
PERSISTENCE = 'persistence'   # no fit: predicts the t = 0 length at every mark
SIMULATED_SOURCE = 'sim'   # `source` of dendrite_sim trajectories (data_builders/dendrite_sim)


@dataclasses.dataclass(frozen=True)
class LengthTable:
  """Dendrite lengths of N trajectories at T shared time marks, with their conditions.

  Attributes:
    trajectory_id: [N] int64.
    params: [N, 7] physical units (NaN where missing).
    chemistry: [N] int, index into `parameters.CHEMISTRIES`.
    time_s: [T] the marks (0, 30, ..., 210 s).
    length_um: [N, T] dendrite length (NaN where unknown).
  """
  trajectory_id: np.ndarray
  params: np.ndarray
  chemistry: np.ndarray
  time_s: np.ndarray
  length_um: np.ndarray

  def __len__(self) -> int:
    return int(self.trajectory_id.shape[0])


def length_table(source: Any, *, max_examples: int | None = None,
                 length_fn=None) -> LengthTable:
  """Reads a random-access source of schema trajectories (`pipeline.load_source`).

  Args:
    source: len() and [i] -> schema dict.
    max_examples: read only the first this many trajectories.
    length_fn: if given, `length_fn(xi [T, H, W], pixel_size_um, electrode_height_um) -> [T]`
      recomputes the lengths from the frames (so that baselines and surrogates are scored
      against exactly the same numbers); otherwise the stored `length_um` is used.

  Raises:
    ValueError naming the trajectory whose time marks differ from the first one's.
  """
  n = len(source) if max_examples is None else min(len(source), int(max_examples))
  if n == 0:
    raise ValueError('length_table: the source holds no trajectories')
  ids, ps, chem, lengths = [], [], [], []
  time_s = None
  for i in range(n):
    ex = source[i]
    t = np.asarray(ex['time_s'], np.float64)
    if time_s is None:
      time_s = t
    elif t.shape != time_s.shape or not np.allclose(t, time_s):
      raise ValueError(f'trajectory {int(ex["trajectory_id"])} has time marks {t.tolist()}, '
                       f'expected {time_s.tolist()} like the first trajectory')
    p = np.asarray(ex['params'], np.float64).copy()
    p[np.asarray(ex['params_missing'], bool)] = np.nan
    ids.append(int(ex['trajectory_id']))
    ps.append(p)
    chem.append(int(ex['chemistry']))
    if length_fn is None:
      lengths.append(np.asarray(ex['length_um'], np.float64))
    else:
      lengths.append(np.asarray(length_fn(np.asarray(ex['xi'], np.float32),
                                          np.float32(ex['pixel_size_um']),
                                          np.float32(ex['electrode_height_um'])), np.float64))
  return LengthTable(np.asarray(ids, np.int64), np.stack(ps), np.asarray(chem), time_s,
                     np.stack(lengths))


def features(table: LengthTable) -> tuple[np.ndarray, np.ndarray]:
  """(X [N*(T-1), 10], y [N*(T-1)]): one row per trajectory and mark after t = 0."""
  n, t = table.length_um.shape
  g = normalization.transform_params(table.params)                  # [N, 7]
  chem = normalization.chemistry_one_hot(table.chemistry)            # [N, 2]
  marks = table.time_s[1:]
  cond = np.concatenate([g, chem], axis=1)
  x = np.concatenate([np.repeat(cond, t - 1, axis=0),
                      np.tile(marks, n)[:, None]], axis=1)
  y = table.length_um[:, 1:].reshape(-1)
  return x, y


def feature_names() -> tuple[str, ...]:
  return (tuple(normalization.param_vector_names())
          + tuple(f'chemistry={c}' for c in parameters.CHEMISTRIES) + ('time_s',))


def make_regressor(method: str, hparams: Mapping[str, Any] | None = None):
  """An unfitted scikit-learn pipeline for `method` in `METHODS`.

  hparams: random_forest: n_estimators, max_depth, min_samples_leaf, seed;
           svm: c, epsilon, gamma ('scale' or a float).
  """
  h = dict(hparams or {})
  imputer = impute.SimpleImputer(strategy='mean', keep_empty_features=True)
  if method == 'random_forest':
    model = ensemble.RandomForestRegressor(
        n_estimators=int(h.get('n_estimators', 200)), max_depth=h.get('max_depth'),
        min_samples_leaf=int(h.get('min_samples_leaf', 1)),
        random_state=int(h.get('seed', 0)), n_jobs=1)
    return pipeline.make_pipeline(imputer, model)
  if method == 'svm':
    model = svm.SVR(kernel='rbf', C=float(h.get('c', 100.0)),
                    epsilon=float(h.get('epsilon', 0.1)), gamma=h.get('gamma', 'scale'))
    return pipeline.make_pipeline(imputer, preprocessing.StandardScaler(), model)
  raise ValueError(f'unknown baseline method {method!r}; known: {", ".join(METHODS)}')


def fit(method: str, train: LengthTable, hparams: Mapping[str, Any] | None = None):
  """Fits `method` on every finite (trajectory, mark) row of `train`; returns the pipeline
  (`PERSISTENCE`: nothing to fit, returns the name)."""
  if method == PERSISTENCE:
    return PERSISTENCE
  x, y = features(train)
  ok = np.isfinite(y)
  if not np.any(ok):
    raise ValueError('baseline fit: no finite length_um in the train table')
  return make_regressor(method, hparams).fit(x[ok], y[ok])


def predict(model, table: LengthTable) -> np.ndarray:
  """[N, T-1] predicted lengths at the marks after t = 0."""
  if isinstance(model, str) and model == PERSISTENCE:
    return np.repeat(np.asarray(table.length_um[:, :1], np.float64),
                     table.length_um.shape[1] - 1, axis=1)
  x, _ = features(table)
  n, t = table.length_um.shape
  return model.predict(x).reshape(n, t - 1)


def as_rollouts(table: LengthTable, pred_um: np.ndarray, seconds: float = float('nan')
                ) -> ev.Rollouts:
  """Predicted lengths [N, T-1] at the marks after t = 0 as `ev.Rollouts` without frames, so
  `ev.score` gives them the same length metrics and intervals as the surrogates."""
  n = len(table)
  pred = np.concatenate([table.length_um[:, :1], np.asarray(pred_um, np.float64)], axis=1)
  return ev.Rollouts(
      trajectory_id=table.trajectory_id, time_s=np.tile(table.time_s, (n, 1)),
      stage=np.zeros(table.length_um.shape, np.int32), pred_xi=None, true_xi=None,
      pred_len=pred, true_len=table.length_um, pixel_size_um=np.ones(n),
      electrode_height_um=np.zeros(n), params=table.params, seconds=seconds)


def evaluate(methods: Sequence[str], train: LengthTable, splits: Mapping[str, LengthTable],
             hparams: Mapping[str, Mapping[str, Any]] | None = None, *,
             bootstrap_samples: int = 1000, seed: int = 0) -> dict[str, dict]:
  """Fits each method on `train` and scores it (`ev.score`) on `train` and every table in
  `splits`.

  Returns:
    {method: {'fit_s': seconds, 'splits': {split: {'score': ev.score result (length metrics
    with intervals; no field metrics), 'predict_s_per_trajectory': s, 'pred_um': [N, T-1]}}}}.
  """
  hparams = dict(hparams or {})
  out = {}
  for method in methods:
    start = time.perf_counter()
    model = fit(method, train, hparams.get(method))
    fit_s = time.perf_counter() - start
    per_split = {}
    for name, table in {'train': train, **dict(splits)}.items():
      start = time.perf_counter()
      pred = predict(model, table)
      elapsed = time.perf_counter() - start
      per_split[name] = {
          'score': ev.score([as_rollouts(table, pred, elapsed)],
                            bootstrap_samples=bootstrap_samples, seed=seed),
          'predict_s_per_trajectory': elapsed / max(len(table), 1),
          'pred_um': pred,
      }
    out[method] = {'fit_s': fit_s, 'splits': per_split}
  return out


def _source_name(example: Mapping[str, Any]) -> str:
  """The example's `source` field as text (array_record sources give bytes)."""
  s = example.get('source', '')
  return s.decode('utf-8') if isinstance(s, bytes) else str(s)


def simulated_trajectory_id(example: Mapping[str, Any]) -> int | None:
  """The simulator's own id of a dendrite_sim trajectory (mix offset removed), else None.

  Only trajectories the simulator made (`source` 'sim', `schema`) have conditions it can
  reproduce; VASP and literature trajectories (a file or DOI as `source`) do not. Their ids
  are also 60-bit hashes, and a mix offsets ids by k * 2**60 (`sources.mix_trajectory_id`),
  while `jax.random.fold_in` takes 32 bits, as dendrite_sim's ids do.
  """
  if _source_name(example) != SIMULATED_SOURCE:
    return None
  _, tid = sources.unmix_trajectory_id(int(example['trajectory_id']))
  if not 0 <= tid < 2 ** 32:
    raise ValueError(f'simulator_cost: trajectory_id {int(example["trajectory_id"])} of a '
                     f'simulated trajectory is {tid} after removing the mix offset, outside '
                     '[0, 2**32) (dendrite_sim ids seed fold_in)')
  return tid


def simulator_cost(source: Any, simulation: Mapping[str, Any], *, num_trajectories: int = 2,
                   seed: int = 0, dt_by_id: Mapping[int, float] | None = None
                   ) -> dict[str, Any]:
  """Seconds per trajectory for the simulator to produce the same lengths (after compiling).

  Simulates the first `num_trajectories` simulated trajectories of `source` (`source` field
  'sim': their parameters, chemistry and protocol) with `simulate.run` on the dataset's
  simulation settings, timing the second call of each compiled program, so the figure is
  comparable with the regressors' and the surrogates' prediction times. VASP and literature
  trajectories (also those of a mix) are passed over: the simulator did not make them, so it has
  no cost of reproducing them. The noise key is fold_in(key(seed), the dendrite_sim id).

  Args:
    source: random-access schema source (e.g. the test split).
    simulation: `SimulationConfig` fields of the dataset (builder.simulation_settings()).
    dt_by_id: the time step the builder used per dendrite_sim id (`c.dt_s` of
      `builder.chunks()`); an id without one runs at the largest stable step for its own
      parameters (`simulate.stable_time_step`), never above the settings' dt_s.

  Raises:
    ValueError if `source` holds no simulated trajectory (e.g. dendrite_vasp or dendrite_lit).
  """
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  if int(num_trajectories) < 1:
    raise ValueError(f'simulator_cost: num_trajectories must be >= 1; got {num_trajectories}')
  chosen, passed_over = [], 0
  for i in range(len(source)):
    ex = source[i]
    tid = simulated_trajectory_id(ex)
    if tid is None:
      passed_over += 1
      continue
    chosen.append((ex, tid))
    if len(chosen) == int(num_trajectories):
      break
  if not chosen:
    raise ValueError(f'simulator_cost: none of the {len(source)} trajectories of the source was '
                     f'made by the simulator (source {SIMULATED_SOURCE!r}); its cost is defined '
                     'only for dendrite_sim trajectories, not VASP or literature data')
  seconds, compile_s = [], []
  for ex, tid in chosen:
    protocol = int(ex['protocol'])
    config = simulate.SimulationConfig.from_dict({
        **dict(simulation), 'chemistry': parameters.CHEMISTRIES[int(ex['chemistry'])],
        'protocol': parameters.PROTOCOLS[protocol] if protocol < len(parameters.PROTOCOLS)
        else 'constant_voltage'})
    params = parameters.PhysicalParams.from_vector(np.asarray(ex['params'], np.float32))
    dt = (dt_by_id or {}).get(tid)
    if dt is None:
      dt = simulate.stable_time_step(np.asarray(ex['params'])[None], config)
    config = simulate.SimulationConfig.from_dict({**config.to_dict(), 'dt_s': dt})
    key = jax.random.fold_in(jax.random.key(seed), tid)
    t0 = time.perf_counter()
    jax.block_until_ready(simulate.run(params, config, key))
    compile_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    jax.block_until_ready(simulate.run(params, config, key))
    seconds.append(time.perf_counter() - t0)
  return {'s_per_trajectory': float(np.mean(seconds)), 'num_trajectories': len(chosen),
          'passed_over_not_simulated': passed_over, 'first_call_s': float(np.mean(compile_s)),
          'device': str(jax.devices()[0])}
