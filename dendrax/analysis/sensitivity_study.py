"""The sensitivity study behind `experiments/sensitivity_report.py` (paper, Fig. 5), and its report.

For each *source* (the simulator, the trained CNN-2) and one parameter point it computes

  * exact elasticities d ln O / d ln P (forward mode, all tangents in one pass) for the smooth
    observables and the six continuous parameters;
  * the paper's finite differences S = (dO/O0)(P/dP) for every parameter and observable;
  * a combined table: exact where a derivative exists, the finite difference (labelled) for the
    number of lattice defects and for the integer branch count;
  * rankings of the parameters by |elasticity| and Spearman's rho between the two sources;
  * timings: the exact pass against finite differences, and the finite-difference error against
    the exact values at several steps (the accuracy the extra runs buy).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from dendrax.analysis import output_fns
from dendrax.analysis import plots
from dendrax.analysis import sensitivity
from dendrax.physics import parameters
from dendrax.physics import protocols

# Observables with a derivative, and the integer one (finite differences only).
SMOOTH_OBSERVABLES: tuple[str, ...] = ('length_um', 'density', 'interface_length_um')
DISCRETE_OBSERVABLES: tuple[str, ...] = ('branches',)
OBSERVABLE_LABELS = {
    'length_um': 'dendrite length',
    'density': 'deposit density',
    'interface_length_um': 'interface length (branching, smooth)',
    'branches': 'branch count (integer)',
}


def _timed(f: Callable[[], Any]) -> tuple[Any, float]:
  t0 = time.perf_counter()
  out = jax.block_until_ready(f())
  return out, time.perf_counter() - t0


def _to_float(tree):
  return jax.tree.map(lambda x: float(np.asarray(x)), tree)


def analyse_source(fn: Callable, params: parameters.PhysicalParams, *, rel_step: float,
                   scheme: str, accuracy_steps: Sequence[float] = (),
                   reverse_output: tuple[str, str] | None = None) -> dict[str, Any]:
  """Exact and finite-difference elasticities of one output function, with timings.

  Args:
    fn: params -> {observable: {summary: scalar}} (`output_fns.simulator_fn` / `model_fn`).
    params: the point of evaluation.
    rel_step, scheme: finite-difference settings of the reported FD column.
    accuracy_steps: extra relative steps at which to measure the FD error (forward and central)
      against the exact values (each costs 6 + 12 runs of `fn`).
    reverse_output: (observable, summary) of one output whose six elasticities are also timed
      in reverse mode (`jax.vjp`, one backward pass), checked against the forward values.

  Returns:
    {'base', 'exact', 'fd', 'combined', 'method', 'timing', 'accuracy'} (plain floats).
  """
  params = jax.tree.map(jnp.asarray, params)   # one argument type for every call: no retrace
  fn_jit = jax.jit(fn)
  exact_fn = jax.jit(lambda p: sensitivity.elasticities(fn, p))
  base, compile_fn_s = _timed(lambda: fn_jit(params))
  _, compile_exact_s = _timed(lambda: exact_fn(params))
  base, run_s = _timed(lambda: fn_jit(params))
  exact, exact_s = _timed(lambda: exact_fn(params))
  fd, fd_s = _timed(lambda: sensitivity.finite_difference_elasticities(
      fn_jit, params, parameters.PARAMETER_NAMES, rel_step=rel_step, scheme=scheme,
      base_output=base))
  exact, fd, base = _to_float(exact), _to_float(fd), _to_float(base)
  runs_per_param = 2 if scheme == 'central' else 1
  n_cont = len(parameters.CONTINUOUS_PARAMETERS)
  accuracy = []
  for h, sch in [(h, sch) for h in accuracy_steps for sch in ('forward', 'central')]:
    fd_h, secs = _timed(lambda h=h, sch=sch: sensitivity.finite_difference_elasticities(
        fn_jit, params, parameters.CONTINUOUS_PARAMETERS, rel_step=h, scheme=sch,
        base_output=base))
    accuracy.append({'rel_step': h, 'scheme': sch, 'seconds': secs,
                     'simulations': (2 if sch == 'central' else 1) * n_cont,
                     'max_abs_error': max_abs_error(exact, _to_float(fd_h)),
                     'max_rel_error': sensitivity.relative_difference(
                         _pick(exact), _pick(_to_float(fd_h)), floor=1e-3)})
  reverse = None
  if reverse_output is not None:
    obs, summ = reverse_output
    one = lambda p: fn(p)[obs][summ]
    rev_fn = jax.jit(lambda p: sensitivity.elasticities(one, p, mode='reverse'))
    _, rev_compile_s = _timed(lambda: rev_fn(params))
    rev, rev_s = _timed(lambda: rev_fn(params))
    rev = _to_float(rev)
    reverse = {'observable': obs, 'summary': summ, 'seconds': rev_s,
               'compile_s': rev_compile_s,
               'max_abs_diff_to_forward': max(abs(rev[p] - exact[p][obs][summ]) for p in rev)}
  combined, method = combine(exact, fd)
  return {
      'reverse': reverse,
      'base': base, 'exact': exact, 'fd': fd, 'combined': combined, 'method': method,
      'timing': {'compile_output_s': compile_fn_s, 'compile_exact_s': compile_exact_s,
                 'one_run_s': run_s, 'exact_all_params_s': exact_s,
                 'fd_all_params_s': fd_s,
                 'fd_runs': runs_per_param * n_cont + len(sensitivity.DISCRETE_PARAMETERS)},
      'accuracy': accuracy,
  }


def _pick(values, observables=SMOOTH_OBSERVABLES):
  return {p: {o: values[p][o] for o in observables if o in values[p]}
          for p in parameters.CONTINUOUS_PARAMETERS if p in values}


def max_abs_error(exact, fd, observables=SMOOTH_OBSERVABLES) -> float:
  """max |exact - fd| over continuous parameters, smooth observables, finite entries."""
  worst = 0.0
  for p in parameters.CONTINUOUS_PARAMETERS:
    for o in observables:
      for s, e in exact.get(p, {}).get(o, {}).items():
        f = fd[p][o][s]
        if np.isfinite(e) and np.isfinite(f):
          worst = max(worst, abs(e - f))
  return worst


def combine(exact, fd) -> tuple[dict, dict]:
  """The reported table: exact where defined, else FD; and {param: {obs: method}} labels."""
  combined, method = {}, {}
  for p in parameters.PARAMETER_NAMES:
    combined[p], method[p] = {}, {}
    for o in fd[p]:
      use_exact = p in exact and o in SMOOTH_OBSERVABLES
      combined[p][o] = dict(exact[p][o] if use_exact else fd[p][o])
      method[p][o] = 'exact (jvp)' if use_exact else 'finite difference'
  return combined, method


def rankings(combined, observable: str, summary: str) -> list[str]:
  """Parameters by decreasing |elasticity| (NaN last)."""
  vals = [(abs(combined[p][observable][summary]), p) for p in parameters.PARAMETER_NAMES]
  return [p for v, p in sorted(vals, key=lambda t: (not np.isfinite(t[0]), -np.nan_to_num(t[0])))]


def spearman(a, b, observable: str, summary: str) -> float:
  """Spearman's rho between two sources' |elasticities| over the parameters (finite pairs)."""
  x = np.array([abs(a[p][observable][summary]) for p in parameters.PARAMETER_NAMES])
  y = np.array([abs(b[p][observable][summary]) for p in parameters.PARAMETER_NAMES])
  ok = np.isfinite(x) & np.isfinite(y)
  if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
    return float('nan')
  return float(stats.spearmanr(x[ok], y[ok]).statistic)


def value_rows(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
  """Long-format rows: source, method, parameter, observable, summary, value."""
  rows = []
  for source, r in results.items():
    for kind, values in (('exact', r['exact']), ('finite_difference', r['fd'])):
      rows += sensitivity.to_rows(values, method=kind, source=source)
  return rows


def agreement_rows(results, observables, summaries) -> list[dict[str, Any]]:
  """Per (observable, summary): top parameters of each source and Spearman's rho."""
  phys, model = results.get('physics'), results.get('model')
  rows = []
  for o in observables:
    for s in summaries:
      row = {'observable': o, 'summary': s}
      for name, r in results.items():
        row[f'{name} ranking'] = ' > '.join(plots.short_name(p)
                                            for p in rankings(r['combined'], o, s)[:4])
      if phys is not None and model is not None:
        row['spearman_rho'] = spearman(phys['combined'], model['combined'], o, s)
      rows.append(row)
  return rows


def theory_rows(results, regime: str) -> list[dict[str, Any]]:
  """Per parameter: the sign theory expects for the overall dendrite length in the run's
  charging `regime` (`parameters.EXPECTED_SIGNS`, with its source) beside each source's
  elasticity and whether the signs agree ('negligible' where |elasticity| < 0.05, the issue's
  threshold for an effect)."""
  rows = []
  for p in parameters.PARAMETER_NAMES:
    sign, why = parameters.EXPECTED_SIGNS[regime][p]
    row = {'parameter': p, 'regime': regime,
           'expected sign': {1: '+', -1: '-', 0: '0', None: 'no single sign'}[sign],
           'source of the expectation': why}
    for name, r in results.items():
      v = r['combined'][p]['length_um']['overall']
      row[f'{name} elasticity'] = v
      row[f'{name} agrees'] = ('n/a' if not np.isfinite(v) or sign is None
                               else 'negligible' if abs(v) < 0.05
                               else 'yes' if np.sign(v) == sign else 'NO')
    rows.append(row)
  return rows


def fd_check_rows(results) -> list[dict[str, Any]]:
  """Per source and parameter: exact vs FD elasticity of the overall dendrite length."""
  rows = []
  for source, r in results.items():
    for p in parameters.PARAMETER_NAMES:
      row = {'source': source, 'parameter': p,
             'fd': r['fd'][p]['length_um']['overall'],
             'exact': r['exact'][p]['length_um']['overall'] if p in r['exact'] else None}
      row['note'] = ('discrete: finite difference of one defect' if p not in r['exact']
                     else f"|diff| = {abs(row['exact'] - row['fd']):.2g}")
      rows.append(row)
  return rows


def max_disagreement(r: Mapping[str, Any]) -> float:
  """Largest relative gap between the exact and the reported FD elasticities (smooth outputs)."""
  return sensitivity.relative_difference(_pick(r['exact']), _pick(r['fd']), floor=1e-2)


def disagreement_warnings(results, threshold: float = 0.1) -> list[str]:
  """A warning per source whose exact and finite-difference values differ by > `threshold`.

  Exact derivatives are local; a finite difference averages over its step. They differ when the
  output is not smooth on the scale of the step: a stage switch or topology change inside the
  step, or a rollout so sensitive (chaotic) that local derivatives are huge and erratic.
  """
  out = []
  for source, r in results.items():
    gap = max_disagreement(r)
    if gap > threshold:
      out.append(f'WARNING ({source}): exact and finite-difference elasticities differ by up to '
                 f'{100 * gap:.0f}% (relative). The output is not smooth on the scale of the '
                 'finite-difference step here (a stage switch or topology change inside the step, '
                 'or a rollout so sensitive that local derivatives are erratic); read the exact '
                 'values as local slopes and the finite differences as averages over the step.')
  return out


# ---------------------------------------------------------------------------------------------
# The whole study: settings -> results -> report files.


@dataclasses.dataclass(frozen=True)
class StudySettings:
  """Everything a sensitivity report depends on besides the checkpoint.

  Attributes:
    params: the seven physical parameters (`parameters.PARAMETER_NAMES` order, physical units).
    chemistry, protocol: of the simulation ('three_stage' has all three charging stages).
    seed: noise key of the simulation, shared by every run (common random numbers).
    fd_rel_step, fd_scheme: the reported finite-difference column ('forward' = the paper's).
    accuracy_steps: relative steps of the FD accuracy/cost comparison.
    sim_overrides: `SimulationConfig` fields replacing the dataset's.
    float64: differentiate in double precision.
    observables: observables to analyse (smooth ones get exact elasticities).
    time_reverse: also time reverse mode for the overall dendrite length alone.
  """
  params: tuple[float, ...]
  chemistry: str = 'Li'
  protocol: str = 'three_stage'
  seed: int = 0
  fd_rel_step: float = 0.01
  fd_scheme: str = 'forward'
  accuracy_steps: tuple[float, ...] = (0.01, 0.001)
  sim_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  float64: bool = True
  observables: tuple[str, ...] = SMOOTH_OBSERVABLES + DISCRETE_OBSERVABLES
  time_reverse: bool = False


# Fewest PCG iterations per step of the potential and of the salt transport for a derivative
# study. The solves are differentiated implicitly (dendrax/physics/krylov.py): the exact
# elasticity is that of the solved system, which central differences of the simulator reproduce
# only once its solves are converged. Measured on a 16 x 16, 3 s three-stage run (d length /
# d log T): exact 0.193-0.195 at 3 to 30 iterations; central differences 0.174 or 0.247 with 3 salt
# iterations (the truncated solve's error depends on the parameters), 0.1929 with 4, 0.19387
# with 8 (exact 0.19386).
MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES = 8


def simulation_config(settings: StudySettings, dataset_settings: Mapping[str, Any] | None):
  """The `SimulationConfig` of the study: the dataset's simulation, chemistry/protocol/overrides.

  The potential and the salt transport get at least `MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES` PCG
  iterations per step (an explicit `sim_overrides` value wins).
  """
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  base = dict(dataset_settings or simulate.SimulationConfig.for_dataset().to_dict())
  base.update(chemistry=settings.chemistry, protocol=settings.protocol)
  for name in ('potential_iterations', 'transport_iterations'):
    base[name] = max(int(base.get(name, 1)), MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES)
  if settings.float64:
    base['dtype'] = 'float64'
  base.update(settings.sim_overrides)
  return simulate.SimulationConfig.from_dict(base)


def run_study(settings: StudySettings, *, checkpoint: str | None = None,
              data_dir: str | None = None, surrogate=None) -> tuple[dict, dict]:
  """Runs `analyse_source` for the simulator and, given a CNN-2, for its rollout.

  Args:
    settings: the study's settings.
    checkpoint: CNN-2 workdir (loaded with `evaluation.load_surrogate`), or None.
    data_dir: TFDS data dir, to read the checkpoint dataset's simulation settings.
    surrogate: an already loaded `evaluation.Surrogate` (instead of `checkpoint`).

  Returns:
    (results {'physics': ..., 'model': ...}, the settings used, for the report).
  """
  from dendrax.analysis import evaluation  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  if surrogate is None and checkpoint:
    surrogate = evaluation.load_surrogate(checkpoint, 'CNN-2')
  dataset_settings = None
  if surrogate is not None:
    if surrogate.config.model_name == 'cnn1':
      raise ValueError(f'checkpoint {surrogate.workdir!r} is a CNN-1 (model_name=cnn1): it does '
                       'not see the physical parameters; pass a CNN-2 (or concat) checkpoint')
    builder = pipeline.load_builder(surrogate.config.data.name, data_dir)
    dataset_settings = builder.simulation_settings()
  sim_config = simulation_config(settings, dataset_settings)
  dtype = np.float64 if settings.float64 else np.float32
  params = parameters.PhysicalParams(*(np.asarray(v, dtype) for v in settings.params))
  key = jax.random.key(settings.seed)
  smooth = [o for o in settings.observables if o in SMOOTH_OBSERVABLES]
  keys = tuple(smooth + [o for o in settings.observables if o not in SMOOTH_OBSERVABLES])
  fns = {'physics': output_fns.simulator_fn(simulate.run, sim_config, key, keys)}
  # The base run: the charging regime theory's signs depend on, and the model's first frame.
  traj = jax.device_get(simulate.run(params, sim_config, key))
  regime = protocols.charging_regime(traj.stage, traj.voltage_v,
                                     traj.observables['charge_c_per_m2'], sim_config)
  if surrogate is not None:
    fns['model'] = output_fns.surrogate_fn(surrogate, traj, sim_config,
                                           chemistry=settings.chemistry, keys=keys)
    dx, eh = sim_config.dx_um, sim_config.electrode_height_um
    # How well the model reproduces this run, by the shared evaluator's metrics.
    from dendrax.analysis import sensitivity_report  # pylint: disable=g-import-not-at-top
    accuracy = sensitivity_report.model_accuracy(
        surrogate, traj, output_fns.cond_sequence(
            params, surrogate.normalizer, chemistry=parameters.CHEMISTRIES.index(
                settings.chemistry), stage_T=np.asarray(traj.stage),
            time_s_T=np.asarray(traj.time_s), frame_interval_s=sim_config.save_every_s,
            masked=tuple(surrogate.config.data.get('masked_parameters', ()))),
        pixel_size_um=dx, electrode_height_um=eh)
  results = {name: analyse_source(fn, params, rel_step=settings.fd_rel_step,
                                  scheme=settings.fd_scheme,
                                  accuracy_steps=settings.accuracy_steps,
                                  reverse_output=(('length_um', 'overall')
                                                  if settings.time_reverse else None))
             for name, fn in fns.items()}
  if 'model' in results:
    results['model']['accuracy_at_point'] = accuracy
  used = {'parameters': dict(zip(parameters.PARAMETER_NAMES, settings.params)),
          'chemistry': settings.chemistry, 'protocol': settings.protocol,
          'noise_seed': settings.seed, 'regime': regime,
          'finite_differences': {'rel_step': settings.fd_rel_step, 'scheme': settings.fd_scheme,
                                 'defect_step': sensitivity.INTEGER_STEP,
                                 'accuracy_steps': list(settings.accuracy_steps)},
          'float64': settings.float64, 'checkpoint': getattr(surrogate, 'workdir', None),
          'checkpoint_step': getattr(surrogate, 'step', None),
          'model_name': surrogate.config.model_name if surrogate is not None else None,
          'dataset': surrogate.config.data.name if surrogate is not None else None,
          'simulation': sim_config.to_dict(),
          'devices': [str(d) for d in jax.devices()], 'jax': jax.__version__}
  return results, used


def write_report(out_dir: str, results: Mapping[str, Any], settings: Mapping[str, Any]
                 ) -> dict[str, str]:
  """Writes sensitivity.html, sensitivities.csv and sensitivities.json; returns their paths."""
  from dendrax.analysis import sensitivity_report  # pylint: disable=g-import-not-at-top
  return sensitivity_report.write_report(out_dir, results, settings)
