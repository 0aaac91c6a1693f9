"""Five optimisers of a design objective, each spending the same budget of simulator calls.

  * `projected_gradient`: optax Adam on the simulator's exact gradient (`jax.value_and_grad`
    through the rollout), each step projected back onto the unit box. One value-and-gradient
    evaluation counts as one simulator call; its cost in forward-run equivalents is measured
    separately (`timing` in the report).
  * `quasi_newton`: L-BFGS-B (scipy) on the same exact value and gradient, bounded by the unit
    box: a bound-constrained quasi-Newton method with a line search, no step size to set.
  * `surrogate_gradient`: Adam steps on CNN-2's gradient (surrogate calls, counted apart), every
    candidate then verified by one forward simulation; an unimproved candidate halves the
    surrogate step and restarts from the best verified point.
  * `bayesian`: Gaussian-process Bayesian optimisation (`bayes_opt` 3.x, expected improvement).
  * `random_search`: uniform samples of the box.

All five start from the same point: the config's `start` (a protocol in use, say) or, if it
names none, a seed-dependent uniform point (`start_point`). Every simulator call goes
through an `Evaluator`, which counts, times and stores it (`evaluations.EvaluationStore`) and, on
a resumed run, returns the stored result instead of simulating again.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dendrax.design import evaluations
from dendrax.design import problem as problem_lib


class Objective(NamedTuple):
  """What the optimisers call, all on unit-box points u [d] (numpy in, numpy out).

  forward(u) -> (value, aux): one simulator run; aux holds `problem.summary` scalars.
  value_and_grad(u) -> (value, grad [d], aux): one simulator run with its reverse pass.
  surrogate(u) -> (value, grad [d]) of CNN-2's prediction, or None if there is none.
  """
  problem: problem_lib.Problem
  forward: Callable
  value_and_grad: Callable
  surrogate: Callable | None


def _floats(tree) -> Any:
  return jax.tree.map(lambda x: np.asarray(x).tolist(), jax.device_get(tree))


def make_objective(problem: problem_lib.Problem, observe: Callable,
                   surrogate_observe: Callable | None = None) -> tuple[Objective, Callable]:
  """`Objective` of `problem` from a simulator's `observe(values) -> frames`; also returns the
  jitted `frames(u)` (all frames, for the report).

  `surrogate_observe(values) -> {'length_um', 'charge_mah_cm2'}` ([T] each) is CNN-2's rollout.
  """
  def summary(u):
    aux = problem_lib.summary(problem, observe(problem.decode(u)))
    return aux[problem_lib.OBJECTIVE], aux

  # One compiled forward run serves the optimisers and the report: the summary is a small
  # separate program over its frames.
  frames_jit = jax.jit(lambda u: observe(problem.decode(u)))
  summary_jit = jax.jit(lambda frames: problem_lib.summary(problem, frames))
  vg_jit = jax.jit(jax.value_and_grad(summary, has_aux=True))

  def forward(u):
    aux = summary_jit(frames_jit(jnp.asarray(u)))
    return float(aux[problem_lib.OBJECTIVE]), _floats(aux)

  def value_and_grad(u):
    (value, aux), grad = vg_jit(jnp.asarray(u))
    return float(value), np.asarray(grad, np.float64), _floats(aux)

  surrogate = None
  if surrogate_observe is not None:
    def s_obj(u):
      f = surrogate_observe(problem.decode(u))
      return problem_lib.value_at_charge(f['length_um'], f['charge_mah_cm2'],
                                         problem.charge_mah_cm2)
    s_jit = jax.jit(jax.value_and_grad(s_obj))

    def surrogate(u):
      value, grad = s_jit(jnp.asarray(u))
      return float(value), np.asarray(grad, np.float64)

  return Objective(problem, forward, value_and_grad, surrogate), frames_jit


class Evaluator:
  """Simulator calls of one (method, seed) run: budget, counting, timing, storing, replaying."""

  def __init__(self, objective: Objective, store: evaluations.EvaluationStore, method: str,
               seed: int, budget: int):
    self.objective, self.store = objective, store
    self.method, self.seed, self.budget = method, int(seed), int(budget)
    self.index = 0
    self.surrogate_calls = 0
    self.replayed = 0
    self._wall = 0.0
    self._clock = time.perf_counter()

  @property
  def remaining(self) -> int:
    return self.budget - self.index

  def _call(self, u, kind: str) -> dict[str, Any]:
    if self.remaining <= 0:
      raise RuntimeError(f'{self.method} (seed {self.seed}) exceeded its budget of '
                         f'{self.budget} simulator calls')
    problem = self.objective.problem
    rec = self.store.get(self.method, self.seed, self.index)
    if rec is not None:
      if rec['kind'] != kind:
        raise evaluations.StoreMismatch(
            f'{self.store.path}: stored call {self.index} of {self.method} seed {self.seed} is '
            f"{rec['kind']!r}, the method asks for {kind!r}")
      self.replayed += 1
      self._wall, self._clock = rec['wall_s'], time.perf_counter()
      self.surrogate_calls = max(self.surrogate_calls, rec['surrogate_calls'])
    else:
      u = np.clip(np.asarray(u, np.float64), 0.0, 1.0)
      values = {k: float(v) for k, v in problem.decode(u).items()}
      grad = None
      if kind == 'value_and_grad':
        value, grad, aux = self.objective.value_and_grad(u)
      else:
        value, aux = self.objective.forward(u)
      problem_lib.check_evaluation(problem, values, aux, grad)
      now = time.perf_counter()
      self._wall, self._clock = self._wall + (now - self._clock), now
      rec = {'method': self.method, 'seed': self.seed, 'index': self.index, 'kind': kind,
             'u': u.tolist(), 'values': values, 'value': value,
             'grad': None if grad is None else grad.tolist(), 'aux': aux,
             'wall_s': self._wall, 'surrogate_calls': self.surrogate_calls}
      self.store.add(rec)
    self.index += 1
    return rec

  def forward(self, u) -> dict[str, Any]:
    return self._call(u, 'forward')

  def value_and_grad(self, u) -> dict[str, Any]:
    return self._call(u, 'value_and_grad')

  def surrogate(self, u) -> tuple[float, np.ndarray]:
    self.surrogate_calls += 1
    return self.objective.surrogate(u)


def start_point(dim: int, seed: int) -> np.ndarray:
  """The common starting point of every method for `seed`: uniform in the unit box."""
  return np.random.default_rng([seed, 2024]).uniform(size=dim)


def needs_restart(grad: np.ndarray, u: np.ndarray, u_prev: np.ndarray | None) -> bool:
  """Whether projected Adam should forget its moments before stepping from `u`.

  The gradient restart of O'Donoghue & Candes (2015, Found. Comput. Math. 15, 715): the last
  move went uphill along the new gradient (grad . (u - u_prev) > 0), so the momentum that made
  it points the wrong way. Also when the last projected step did not move (kept for runs
  replayed from stores written before `next_adam_point` checked that before simulating).
  """
  if u_prev is None:
    return False
  return bool(np.dot(grad, u - u_prev) > 0.0 or np.array_equal(u, u_prev))


def projected_gradient(ev: Evaluator, u0: np.ndarray, cfg: Mapping[str, Any]) -> None:
  """Adam + projection, every step on the simulator's exact gradient. The step (unit-box units)
  decays from `cfg['learning_rate']` to `cfg['final_fraction']` of it over the budget (cosine):
  long moves while the budget is young (optima often sit on the bounds), fine ones at the end.
  The moments restart (`needs_restart`) when the last move went uphill or did not move; a fresh
  Adam's first step is the scheduled step times the gradient's sign in every coordinate."""
  schedule = optax.cosine_decay_schedule(cfg['learning_rate'], decay_steps=max(ev.budget - 1, 1),
                                         alpha=cfg['final_fraction'])
  moments = optax.scale_by_adam()   # optax.adam(schedule) is these moments times -schedule(step)
  rng = np.random.default_rng([ev.seed, 13])
  u = np.asarray(u0)
  state = moments.init(jnp.asarray(u))
  u_prev = None
  simulated = set()
  step = 0
  while ev.remaining > 0:
    rec = ev.value_and_grad(u)
    u, grad = np.asarray(rec['u']), np.asarray(rec['grad'])
    simulated.add(tuple(u))
    if needs_restart(grad, u, u_prev):
      state = moments.init(jnp.asarray(u))   # fresh moments; the step schedule goes on
    u_prev = u
    u, state = next_adam_point(moments, state, u, grad, schedule(step), simulated, rng)
    step += 1


def next_adam_point(moments, state, u, grad, step_size, simulated, rng):
  """Projected Adam's next point from `u`, never one in `simulated` (a call spent on a known
  value; `pulse_resolved` once spent 7 of 10 calls on one corner).

  If the step with the current moments lands on a simulated point (typically `u` itself:
  momentum pointing out of the box), the moments restart and the step is retried. If a fresh
  step lands there too, `u` is a stationary point of the box (every gradient component zero or
  pointing out of it) or leads straight back to one already found, and the rest of the budget
  starts from a uniform point, as L-BFGS-B's multi-start does.
  """
  def stepped(state):
    direction, state = moments.update(jnp.asarray(grad), state)
    # The box projection in float64, so that a step of zero compares equal to `u`.
    return np.clip(u - step_size * np.asarray(direction, np.float64), 0.0, 1.0), state

  u_next, new_state = stepped(state)
  if tuple(u_next) in simulated:
    u_next, new_state = stepped(moments.init(jnp.asarray(u)))
  if tuple(u_next) in simulated:
    u_next = rng.uniform(size=u.shape)
    new_state = moments.init(jnp.asarray(u_next))
  return u_next, new_state


class _BudgetSpent(Exception):
  """Raised inside scipy's loop when the budget is spent (scipy has no clean per-call stop)."""


class _Stalled(Exception):
  """Raised inside scipy's loop when it asks for a point closer than `min_step` to one already
  simulated: a line search backtracking below what the design can resolve."""


def quasi_newton(ev: Evaluator, u0: np.ndarray, cfg: Mapping[str, Any]) -> None:
  """L-BFGS-B (`scipy.optimize.minimize`, `cfg['memory']` correction pairs) on the simulator's
  exact value and gradient over the unit box.

  Its first step goes to the generalised Cauchy point (steepest descent projected onto the box,
  with the identity as first Hessian), so it reaches an optimum on the bounds in one move when
  the gradient in unit-box coordinates is larger than the box; later steps use the curvature the
  gradients show. It restarts from a uniform point of the box (a multi-start that spends the
  whole budget) when it stops with budget left, or when it asks for a point within
  `cfg['min_step']` (max-norm, unit box) of one already simulated: a line search that the value
  contradicts (a gradient of a truncated solve did, docs/design.md) would otherwise spend the
  budget on steps too small to matter. A point asked for twice is simulated once.
  """
  from scipy import optimize  # pylint: disable=g-import-not-at-top
  cache: dict[tuple[float, ...], tuple[float, np.ndarray]] = {}

  def fun(u):
    u = np.clip(np.asarray(u, np.float64), 0.0, 1.0)
    key = tuple(u.tolist())
    if key not in cache:
      if ev.remaining <= 0:
        raise _BudgetSpent()
      if any(np.max(np.abs(u - np.asarray(k))) < cfg['min_step'] for k in cache):
        raise _Stalled()
      rec = ev.value_and_grad(u)
      cache[key] = (rec['value'], np.asarray(rec['grad'], np.float64))
    return cache[key]

  rng = np.random.default_rng([ev.seed, 13])
  start = np.asarray(u0, np.float64)
  while ev.remaining > 0:
    try:
      optimize.minimize(fun, start, jac=True, method='L-BFGS-B', bounds=[(0.0, 1.0)] * len(start),
                        options={'maxcor': int(cfg['memory'])})
    except _BudgetSpent:
      return
    except _Stalled:
      pass
    start = rng.uniform(size=len(start))


def surrogate_gradient(ev: Evaluator, u0: np.ndarray, cfg: Mapping[str, Any]) -> None:
  """`cfg['steps_per_verification']` Adam steps on the surrogate from the best verified point,
  then one simulator verification; the step halves (`cfg['shrink']`) when it did not improve."""
  rec = ev.forward(u0)
  best_u, best = np.asarray(rec['u']), rec['value']
  lr = cfg['learning_rate']
  while ev.remaining > 0:
    opt = optax.adam(lr)
    u = jnp.asarray(best_u)
    state = opt.init(u)
    for _ in range(cfg['steps_per_verification']):
      _, grad = ev.surrogate(np.asarray(u))
      updates, state = opt.update(jnp.asarray(grad), state, u)
      u = problem_lib.project(optax.apply_updates(u, updates))
    rec = ev.forward(np.asarray(u))
    if rec['value'] < best:
      best_u, best = np.asarray(rec['u']), rec['value']
    else:
      lr *= cfg['shrink']


def bayesian(ev: Evaluator, u0: np.ndarray, cfg: Mapping[str, Any]) -> None:
  """Gaussian-process BO (`bayes_opt`, expected improvement with exploration `cfg['xi']`),
  maximising -objective over the unit box; `cfg['init_points']` uniform points (the first is
  the common start) before the GP's suggestions."""
  from bayes_opt import BayesianOptimization  # pylint: disable=g-import-not-at-top
  from bayes_opt import acquisition  # pylint: disable=g-import-not-at-top
  names = [f'u{i}' for i in range(len(u0))]
  opt = BayesianOptimization(
      f=None, pbounds={n: (0.0, 1.0) for n in names},
      acquisition_function=acquisition.ExpectedImprovement(xi=cfg['xi'], random_state=ev.seed),
      random_state=ev.seed, verbose=0, allow_duplicate_points=True)
  rng = np.random.default_rng([ev.seed, 7])
  i = 0
  while ev.remaining > 0:
    if i == 0:
      u = u0
    elif i < cfg['init_points']:
      u = rng.uniform(size=len(u0))
    else:
      s = opt.suggest()
      u = np.array([s[n] for n in names])
    rec = ev.forward(u)
    opt.register(params=dict(zip(names, rec['u'])), target=-rec['value'])
    i += 1


def random_search(ev: Evaluator, u0: np.ndarray, cfg: Mapping[str, Any]) -> None:
  """The common start, then uniform samples of the box."""
  del cfg
  rng = np.random.default_rng([ev.seed, 11])
  u = u0
  while ev.remaining > 0:
    ev.forward(u)
    u = rng.uniform(size=len(u0))


RUNNERS: dict[str, Callable[[Evaluator, np.ndarray, Mapping[str, Any]], None]] = {
    'gradient': projected_gradient,
    'lbfgsb': quasi_newton,
    'surrogate_gradient': surrogate_gradient,
    'bayesian': bayesian,
    'random': random_search,
}
METHODS = tuple(RUNNERS)


def run_method(method: str, objective: Objective, store: evaluations.EvaluationStore,
               seed: int, budget: int, cfg: Mapping[str, Any],
               start: np.ndarray | None = None) -> dict[str, Any]:
  """Runs `method` for `seed` to its budget from `start` (unit box; default: the seed's
  uniform `start_point`); returns its history and counts."""
  if method not in RUNNERS:
    raise ValueError(f'method={method!r}; expected one of {METHODS}')
  ev = Evaluator(objective, store, method, seed, budget)
  u0 = start_point(objective.problem.dim, seed) if start is None else np.asarray(start)
  RUNNERS[method](ev, u0, cfg)
  return history(store.records(method, seed), replayed=ev.replayed)


def history(records, replayed: int = 0) -> dict[str, Any]:
  """Best-so-far objective against simulator calls and wall time, and the best point."""
  values = np.array([r['value'] for r in records])
  best_so_far = np.minimum.accumulate(values)
  k = int(np.argmin(values))
  return {
      'calls': list(range(1, len(records) + 1)),
      'wall_s': [r['wall_s'] for r in records],
      'value': values.tolist(),
      'best_so_far': best_so_far.tolist(),
      'best_value': float(values[k]), 'best_values': records[k]['values'],
      'best_u': records[k]['u'], 'best_aux': records[k]['aux'],
      'kinds': sorted({r['kind'] for r in records}),
      'value_and_grad_calls': sum(r['kind'] == 'value_and_grad' for r in records),
      'forward_calls': sum(r['kind'] == 'forward' for r in records),
      'surrogate_calls': max([r['surrogate_calls'] for r in records] + [0]),
      'replayed_calls': replayed,
  }


def calls_to_reach(best_so_far, target: float) -> int | None:
  """First simulator call (1-based) whose best-so-far is <= target, or None."""
  for i, v in enumerate(best_so_far):
    if v <= target:
      return i + 1
  return None
