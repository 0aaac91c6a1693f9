"""A whole design run: config -> problem -> every method over every seed -> verification -> report.

`run_design(config, out_dir, checkpoint)` is what `experiments/design.py` calls. Evaluations go
to `<out_dir>/evaluations.jsonl` as they happen; calling it again on the same `out_dir` with
the same config replays the stored evaluations and continues (a killed run resumes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dendrax.analysis import dataset_stats
from dendrax.design import evaluations
from dendrax.design import methods as methods_lib
from dendrax.design import problem as problem_lib
from dendrax.design import report as report_lib
from dendrax.design import simulator_adapter as sa
from dendrax.design import surrogate_adapter
from dendrax.physics import simulate

ARYANFAR_2014_RATIO = 2.5   # mean dendrite length, DC / pulse (Aryanfar et al. 2014, JPCL)


def fingerprint(config: ml_collections.ConfigDict, surrogate: str | None = None) -> str:
  """Hash of everything the evaluations depend on: the whole config and, when CNN-2 proposes
  candidates, `surrogate` (which checkpoint, which step)."""
  text = json.dumps(json.loads(config.to_json_best_effort()), sort_keys=True)
  if surrogate is not None:
    text += '\nsurrogate: ' + surrogate
  return hashlib.sha256(text.encode()).hexdigest()[:16]


def simulator_settings(config: ml_collections.ConfigDict) -> sa.SimulatorSettings:
  """`SimulatorSettings` from the `simulation` (overrides of the dataset preset) and `schedule`
  blocks and the time limit."""
  overrides = dict(config.simulation)
  if config.float64:
    overrides['dtype'] = 'float64'
  sim = simulate.SimulationConfig.for_dataset(**overrides)
  c = config.schedule
  return sa.SimulatorSettings(sim=sim, max_time_s=float(config.problem.max_time_s),
                              pulse_edge_s=c.pulse_edge_s, switch_width_s=c.switch_width_s,
                              noise_seed=config.noise_seed)


def _median_s(f, reps: int = 3) -> float:
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    jax.block_until_ready(f())
    times.append(time.perf_counter() - t0)
  return float(np.median(times))


def measure_costs(objective: methods_lib.Objective,
                  u: np.ndarray) -> tuple[dict[str, float], float, np.ndarray]:
  """Compile times, and run times after compilation: forward, value-and-grad, and their ratio
  (the cost of one value-and-grad call in forward-run equivalents); the objective at `u` and its
  gradient."""
  out = {}
  t0 = time.perf_counter()
  value, _ = objective.forward(u)
  out['forward_compile_s'] = time.perf_counter() - t0
  t0 = time.perf_counter()
  _, grad, _ = objective.value_and_grad(u)
  out['value_and_grad_compile_s'] = time.perf_counter() - t0
  out['forward_s'] = _median_s(lambda: objective.forward(u))
  out['value_and_grad_s'] = _median_s(lambda: objective.value_and_grad(u))
  out['value_and_grad_forward_equivalents'] = out['value_and_grad_s'] / out['forward_s']
  if objective.surrogate is not None:
    t0 = time.perf_counter()
    objective.surrogate(u)
    out['surrogate_compile_s'] = time.perf_counter() - t0
    out['surrogate_value_and_grad_s'] = _median_s(lambda: objective.surrogate(u))
  return out, float(value), grad


# Newton iterations of the potential-reaction coupling in the check's fine run, at least. With
# one iteration the step map far past the limiting current can be non-differentiable in any
# useful sense (a tangent growing exponentially, central differences that do not converge as the
# step shrinks) while the values hardly move (docs/physics.md, "Derivatives and the coupling
# iterations").
CHECK_MIN_COUPLING_ITERATIONS = 4


def check_solver_convergence(value: float, gradient: np.ndarray, problem: problem_lib.Problem,
                             settings: sa.SimulatorSettings, u: np.ndarray,
                             max_relative_change: float,
                             min_gradient_cosine: float) -> dict[str, Any]:
  """The objective and its gradient at `u` (at the configured solver settings) again with both
  solves' PCG iterations doubled and the potential-reaction coupling at
  max(2 x, CHECK_MIN_COUPLING_ITERATIONS) Newton iterations.

  The simulator's derivatives are those of its converged solves (`krylov.pcg`, implicit
  differentiation), so they are exact only where the fixed iteration counts have converged; the
  counts that suffice on the dataset's grid do not on a finer grid with a thinner interface
  (docs/design.md, "Solver convergence"). Raises `DesignError` naming the settings when the
  value moves by more than `max_relative_change` (relative), or when the gradient turns: its
  cosine with the fine gradient below `min_gradient_cosine` (the gradient methods follow the
  direction). The change of the gradient's magnitude is reported, not checked: past the limiting
  current it moved by 8-19 % between 1, 4 and 8 coupling iterations without converging, at a
  cosine of 0.998 (docs/design.md).
  """
  sim = settings.sim
  fine_sim = dataclasses.replace(
      sim, potential_iterations=2 * sim.potential_iterations,
      transport_iterations=2 * sim.transport_iterations,
      coupling_iterations=max(2 * sim.coupling_iterations, CHECK_MIN_COUPLING_ITERATIONS))
  fine = sa.make_simulator(dataclasses.replace(settings, sim=fine_sim), problem.protocol,
                           problem.fixed)
  fine_objective, _ = methods_lib.make_objective(problem, fine.observe)
  value_fine, gradient_fine, _ = fine_objective.value_and_grad(u)
  change = abs(value - value_fine) / max(abs(value_fine), 1e-12)
  gradient = np.asarray(gradient, np.float64)
  norm, norm_fine = float(np.linalg.norm(gradient)), float(np.linalg.norm(gradient_fine))
  cosine = float(gradient @ gradient_fine / (norm * norm_fine)) if norm * norm_fine > 0 else (
      1.0 if norm == norm_fine else 0.0)
  out = {'potential_iterations': sim.potential_iterations,
         'transport_iterations': sim.transport_iterations,
         'coupling_iterations': sim.coupling_iterations,
         'fine': {'potential_iterations': fine_sim.potential_iterations,
                  'transport_iterations': fine_sim.transport_iterations,
                  'coupling_iterations': fine_sim.coupling_iterations},
         'value': value, 'value_fine': value_fine, 'relative_change': change,
         'max_relative_change': max_relative_change,
         'gradient': gradient.tolist(), 'gradient_fine': np.asarray(gradient_fine).tolist(),
         'gradient_cosine': cosine, 'min_gradient_cosine': min_gradient_cosine,
         'gradient_norm_ratio': norm / norm_fine if norm_fine > 0 else float('nan')}
  fine_text = (f'{fine_sim.potential_iterations} / {fine_sim.transport_iterations} PCG '
               f'iterations and {fine_sim.coupling_iterations} coupling iterations instead of '
               f'{sim.potential_iterations} / {sim.transport_iterations} and '
               f'{sim.coupling_iterations}')
  if not np.isfinite(change) or change > max_relative_change:
    raise problem_lib.DesignError(
        'simulation.potential_iterations/transport_iterations/coupling_iterations',
        f'the objective at the box centre changes by {100 * change:.3g} % (> '
        f'{100 * max_relative_change:.3g} %) with {fine_text} ({value:.6g} -> '
        f'{value_fine:.6g}): the solves are not converged, so neither are the values nor the '
        'gradients; raise them')
  if not cosine >= min_gradient_cosine:
    raise problem_lib.DesignError(
        'simulation.coupling_iterations/potential_iterations/transport_iterations',
        f'the gradient at the box centre turns (cosine {cosine:.4g} < {min_gradient_cosine:.4g})'
        f' with {fine_text} ({np.round(gradient, 5).tolist()} -> '
        f'{np.round(gradient_fine, 5).tolist()}): the gradient methods would follow the '
        'derivative of unconverged solves; raise them')
  return out


def _surrogate(config, checkpoint, simulator, problem):
  """(surrogate observe fn or None, a note saying why not)."""
  if 'surrogate_gradient' not in config.methods:
    return None, 'not requested'
  if not checkpoint:
    return None, 'no --checkpoint (CNN-2 workdir) given'
  try:
    model = surrogate_adapter.load(checkpoint, simulator, problem.names,
                                   problem.decode(np.full(problem.dim, 0.5)),
                                   frame_interval_s=config.surrogate.frame_interval_s)
  except surrogate_adapter.SurrogateUnsupported as e:
    return None, f'not applicable: {e}'
  return model.observe, f'CNN-2 from {os.path.abspath(checkpoint)} (step {model.step})'


def _reduction(baseline_um: float, optimum_um: float) -> dict[str, float]:
  return {'baseline_length_um': baseline_um, 'optimum_length_um': optimum_um,
          'ratio_baseline_over_optimum': (baseline_um / optimum_um if optimum_um > 0
                                          else float('nan')),
          'percent_shorter': (100.0 * (baseline_um - optimum_um) / baseline_um
                              if baseline_um != 0 else float('nan'))}


def verify(problem, frames_fn, best_u, settings) -> dict[str, Any]:
  """Re-simulates the optimum and two constant-current runs; lengths at equal charge Q.

  'baseline' is the config's constant-current baseline; 'equal_mean_current' is constant
  current at the optimum's mean current Q / t_Q in the baseline's electrolyte, so it reaches Q
  at about the same time: what the schedule itself gains, apart from charging slower.
  """
  physical = {k: v for k, v in problem.fixed.items() if k in sa.PHYSICAL_VARIABLES}
  base_fixed = {**physical, **{k: v for k, v in problem.baseline.items()
                               if k != 'current_ma_cm2'}}
  base_sim = sa.make_simulator(settings, 'constant_current', base_fixed)
  base_run = jax.jit(base_sim.observe)
  opt = jax.device_get(frames_fn(jnp.asarray(best_u)))
  runs = [('optimum', opt, problem.decode(np.asarray(best_u)))]
  opt_aux = jax.device_get(problem_lib.summary(problem, opt))
  i_mean = problem.charge_mah_cm2 * 3600.0 / float(opt_aux['time_at_charge_s'])
  for name, current in (('baseline', problem.baseline['current_ma_cm2']),
                        ('equal_mean_current', i_mean)):
    values = {'current_ma_cm2': float(current)}
    base_sim.validate(values)
    runs.append((name, jax.device_get(base_run(values)), {**base_fixed, **values}))
  out = {}
  for name, frames, values in runs:
    aux = jax.device_get(problem_lib.summary(problem, frames))
    problem_lib.check_evaluation(problem, {k: float(v) for k, v in values.items()}, aux)
    summary = {k: float(v) for k, v in aux.items()}
    # Past Sand's time the cell grows a diffuse partial phase, not a resolved deposit: say so.
    summary['diffuse_deposit_fraction_at_charge'] = dataset_stats.diffuse_fraction_at_charge(
        frames['xi'], frames['charge_mah_cm2'], problem.charge_mah_cm2, settings.sim.dx_um)
    out[name] = {'values': {k: float(v) for k, v in values.items()}, 'summary': summary,
                 'frames': frames}
  length = {k: out[k]['summary'][problem_lib.OBJECTIVE] for k in out}
  out['length_reduction'] = {
      **_reduction(length['baseline'], length['optimum']),
      'equal_mean_current': _reduction(length['equal_mean_current'], length['optimum']),
      'aryanfar_2014_ratio': ARYANFAR_2014_RATIO,
      'note': 'Aryanfar 2014 (pulse vs DC, mean dendrite length) is a qualitative reference '
              'from a different system and scale.'}
  return out


def run_design(config: ml_collections.ConfigDict, out_dir: str,
               checkpoint: str | None = None) -> dict[str, Any]:
  """Runs every method of `config` for every seed, verifies the optimum, writes the report.

  Returns the content of design.json. Raises `problem.DesignError` naming the variable for
  infeasible bounds, unreachable charge or a NaN objective.
  """
  if config.float64:
    jax.config.update('jax_enable_x64', True)
  unknown = [m for m in config.methods if m not in methods_lib.METHODS]
  if unknown:
    raise ValueError(f'methods: unknown {unknown}; expected some of {methods_lib.METHODS}')
  if int(config.budget_sim_calls) < 1:
    raise ValueError(f'budget_sim_calls={config.budget_sim_calls}: need at least 1 call')
  if not config.seeds:
    raise ValueError('seeds: need at least one seed')
  settings = simulator_settings(config)
  problem = problem_lib.make_problem(config.problem, settings)
  start = problem_lib.start_in_box(problem, config.start)
  simulator = sa.make_simulator(settings, problem.protocol, problem.fixed)
  s_observe, s_note = _surrogate(config, checkpoint, simulator, problem)
  skipped = {}
  if 'surrogate_gradient' in config.methods and s_observe is None:
    skipped['surrogate_gradient'] = s_note
  runnable = [m for m in config.methods if m not in skipped]
  if not runnable:
    raise ValueError(f'methods={tuple(config.methods)}: nothing to run '
                     f'({skipped or "no method given"})')
  objective, frames_fn = methods_lib.make_objective(problem, simulator.observe, s_observe)
  centre = np.full(problem.dim, 0.5)
  costs, value_at_centre, gradient_at_centre = measure_costs(objective, centre)
  solver_check = check_solver_convergence(
      value_at_centre, gradient_at_centre, problem, settings, centre,
      float(config.solver_check_max_relative_change),
      float(config.solver_check_min_gradient_cosine))
  store = evaluations.EvaluationStore(
      out_dir, fingerprint(config, s_note if s_observe is not None else None))
  method_cfg = {'gradient': dict(config.gradient), 'lbfgsb': dict(config.lbfgsb),
                'surrogate_gradient': dict(config.surrogate),
                'bayesian': dict(config.bayesian), 'random': {}}
  results = {}
  for method in runnable:
    results[method] = {}
    for seed in config.seeds:
      results[method][int(seed)] = methods_lib.run_method(
          method, objective, store, seed, config.budget_sim_calls, method_cfg[method], start)
  best_method, best_seed = min(((m, s) for m in results for s in results[m]),
                               key=lambda ms: results[ms[0]][ms[1]]['best_value'])
  best_u = results[best_method][best_seed]['best_u']
  verification = verify(problem, frames_fn, best_u, settings)
  verification['found_by'] = {'method': best_method, 'seed': best_seed}
  design = report_lib.assemble(problem, config, results, skipped, costs, verification,
                               surrogate_note=s_note, sim_config=settings.config().to_dict())
  design['solver_check'] = solver_check
  best_values = problem.decode(np.asarray(best_u))
  report_lib.write(out_dir, design, verification,
                   lambda t: simulator.target_current_ma_cm2(best_values, t))
  return design
