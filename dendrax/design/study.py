"""A whole design run: config -> problem -> every method over every seed -> verification -> report.

`run_design(config, out_dir, checkpoint)` is what `experiments/design.py` calls. Evaluations go
to `<out_dir>/evaluations.jsonl` as they happen; calling it again on the same `out_dir` with
the same config replays the stored evaluations and continues (a killed run resumes).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dendrax.design import evaluations
from dendrax.design import methods as methods_lib
from dendrax.design import problem as problem_lib
from dendrax.design import report as report_lib
from dendrax.design import simulator_adapter as sa
from dendrax.design import surrogate_adapter
from dendrax.physics import simulate

ARYANFAR_2014_RATIO = 2.5   # mean dendrite length, DC / pulse (Aryanfar et al. 2014, JPCL)


def fingerprint(config: ml_collections.ConfigDict) -> str:
  """Hash of everything the evaluations depend on (the whole config)."""
  text = json.dumps(json.loads(config.to_json_best_effort()), sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:16]


def simulator_settings(config: ml_collections.ConfigDict) -> sa.SimulatorSettings:
  """`SimulatorSettings` from the `simulation` and `controller` blocks and the time limit."""
  overrides = dict(config.simulation)
  if config.float64:
    overrides['dtype'] = 'float64'
  sim = simulate.SimulationConfig.for_dataset(**overrides)
  c = config.controller
  return sa.SimulatorSettings(sim=sim, max_time_s=float(config.problem.max_time_s),
                              controller_rate_per_s=c.rate_per_s, max_voltage_v=c.max_voltage_v,
                              pulse_edge_s=c.pulse_edge_s, switch_width_s=c.switch_width_s,
                              noise_seed=config.noise_seed)


def _median_s(f, reps: int = 3) -> float:
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    jax.block_until_ready(f())
    times.append(time.perf_counter() - t0)
  return float(np.median(times))


def measure_costs(objective: methods_lib.Objective, u: np.ndarray) -> dict[str, float]:
  """Compile times, and run times after compilation: forward, value-and-grad, and their ratio
  (the cost of one value-and-grad call in forward-run equivalents)."""
  out = {}
  t0 = time.perf_counter()
  objective.forward(u)
  out['forward_compile_s'] = time.perf_counter() - t0
  t0 = time.perf_counter()
  objective.value_and_grad(u)
  out['value_and_grad_compile_s'] = time.perf_counter() - t0
  out['forward_s'] = _median_s(lambda: objective.forward(u))
  out['value_and_grad_s'] = _median_s(lambda: objective.value_and_grad(u))
  out['value_and_grad_forward_equivalents'] = out['value_and_grad_s'] / out['forward_s']
  if objective.surrogate is not None:
    t0 = time.perf_counter()
    objective.surrogate(u)
    out['surrogate_compile_s'] = time.perf_counter() - t0
    out['surrogate_value_and_grad_s'] = _median_s(lambda: objective.surrogate(u))
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
  return model.observe, f'CNN-2 from {checkpoint}'


def verify(problem, simulator, frames_fn, best_u, settings) -> dict[str, Any]:
  """Re-simulates the optimum and the constant-current baseline; lengths at equal charge Q."""
  physical = {k: v for k, v in problem.fixed.items()
              if k in sa.PHYSICAL_VARIABLES}
  base_sim = sa.make_simulator(settings, 'constant_current', {**physical, **problem.baseline})
  base_sim.validate({})
  base = jax.device_get(jax.jit(base_sim.observe)({}))
  opt = jax.device_get(frames_fn(jnp.asarray(best_u)))
  out = {}
  for name, frames, values in (('optimum', opt, problem.decode(np.asarray(best_u))),
                               ('baseline', base, dict(problem.baseline))):
    aux = jax.device_get(problem_lib.summary(problem, frames))
    problem_lib.check_evaluation(problem, {k: float(v) for k, v in values.items()}, aux)
    out[name] = {'values': {k: float(v) for k, v in values.items()},
                 'summary': {k: float(v) for k, v in aux.items()}, 'frames': frames}
  lo = out['optimum']['summary'][problem_lib.OBJECTIVE]
  lb = out['baseline']['summary'][problem_lib.OBJECTIVE]
  out['length_reduction'] = {
      'baseline_length_um': lb, 'optimum_length_um': lo,
      'ratio_baseline_over_optimum': lb / lo if lo > 0 else float('nan'),
      'percent_shorter': 100.0 * (lb - lo) / lb if lb != 0 else float('nan'),
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
  settings = simulator_settings(config)
  problem = problem_lib.make_problem(config.problem, settings)
  simulator = sa.make_simulator(settings, problem.protocol, problem.fixed)
  s_observe, s_note = _surrogate(config, checkpoint, simulator, problem)
  objective, frames_fn = methods_lib.make_objective(problem, simulator.observe, s_observe)
  costs = measure_costs(objective, np.full(problem.dim, 0.5))
  store = evaluations.EvaluationStore(out_dir, fingerprint(config))
  method_cfg = {'gradient': dict(config.gradient), 'surrogate_gradient': dict(config.surrogate),
                'bayesian': dict(config.bayesian), 'random': {}}
  results, skipped = {}, {}
  for method in config.methods:
    if method == 'surrogate_gradient' and s_observe is None:
      skipped[method] = s_note
      continue
    results[method] = {}
    for seed in config.seeds:
      results[method][int(seed)] = methods_lib.run_method(
          method, objective, store, seed, config.budget_sim_calls, method_cfg[method])
  best_method, best_seed = min(((m, s) for m in results for s in results[m]),
                               key=lambda ms: results[ms[0]][ms[1]]['best_value'])
  best_u = results[best_method][best_seed]['best_u']
  verification = verify(problem, simulator, frames_fn, best_u, settings)
  verification['found_by'] = {'method': best_method, 'seed': best_seed}
  design = report_lib.assemble(problem, config, results, skipped, costs, verification,
                               surrogate_note=s_note, sim_config=settings.config().to_dict())
  report_lib.write(out_dir, design, verification)
  return design
