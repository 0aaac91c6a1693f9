"""A design problem: named, bounded variables and an objective built from simulator observables.

The objective is the dendrite length (smooth, `observables.dendrite_length_um`) at the moment the
charge passed reaches Q (mAh/cm^2), the series interpolated linearly in charge between frames;
the maximum tip height and interface length are reported at the same moment. Every optimiser
works in the unit box u in [0, 1]^d, mapped to physical values linearly or logarithmically:

    x = low + u (high - low)               (linear)
    x = low (high / low)^u                 (log_scale)

so one learning rate, one projection (clip to [0, 1]) and one GP length scale fit all variables.

Problems that cannot be solved stop with a `DesignError` naming the variable: bounds that are
empty, non-finite, unphysical or out of the simulator's reach; a charge Q the schedule cannot
deliver within the time limit at some corner of the box; a NaN objective or gradient.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Mapping, Sequence

import jax.numpy as jnp
import numpy as np

from dendrax.design import simulator_adapter as sa
from dendrax.physics import parameters

OBJECTIVE = 'length_at_charge_um'
REPORTED = ('length_um', 'max_tip_height_um', 'interface_length_um', 'time_s', 'voltage_v',
            'current_ma_cm2')


class DesignError(ValueError):
  """A problem or evaluation the design run cannot continue with; `.variable` names the culprit."""

  def __init__(self, variable: str, message: str):
    super().__init__(f'{variable}: {message}')
    self.variable = variable


@dataclasses.dataclass(frozen=True)
class Variable:
  """One design variable: physical range [low, high] in `unit`, sampled linearly or in log."""
  name: str
  low: float
  high: float
  log_scale: bool = False

  @property
  def unit(self) -> str:
    return sa.UNITS.get(self.name, '')


@dataclasses.dataclass(frozen=True)
class Problem:
  """Variables, fixed values, the charge target and the time limit of one design problem."""
  name: str
  protocol: str
  variables: tuple[Variable, ...]
  fixed: Mapping[str, float]
  charge_mah_cm2: float
  max_time_s: float
  baseline: Mapping[str, float]    # constant-current values compared with the optimum

  @property
  def names(self) -> tuple[str, ...]:
    return tuple(v.name for v in self.variables)

  @property
  def dim(self) -> int:
    return len(self.variables)

  def decode(self, u):
    """Unit-box point u [d] -> {name: physical value} (numpy or jax)."""
    out = {}
    for i, v in enumerate(self.variables):
      if v.log_scale:
        out[v.name] = v.low * (v.high / v.low) ** u[i]
      else:
        out[v.name] = v.low + u[i] * (v.high - v.low)
    return out

  def encode(self, values: Mapping[str, float]) -> np.ndarray:
    """Inverse of `decode` for concrete values."""
    u = []
    for v in self.variables:
      x = float(values[v.name])
      u.append(math.log(x / v.low) / math.log(v.high / v.low) if v.log_scale
               else (x - v.low) / (v.high - v.low))
    return np.asarray(u, np.float64)


def _encode_in_bounds(problem: Problem, values: Mapping[str, float], label: str,
                      where: str = '') -> np.ndarray:
  """Unit-box coordinates of `values` (every variable named), clipped onto the box after
  checking each lies within its bounds. Raises `DesignError` naming `label + variable`."""
  u = problem.encode(values)
  for name, x in zip(problem.names, u):
    if not -1e-9 <= x <= 1 + 1e-9:
      raise DesignError(label + name, f'{where}{values[name]} is outside the bounds')
  return np.clip(u, 0.0, 1.0)


def points_in_box(problem: Problem, points: Sequence[Mapping[str, float]],
                  fill_u: float = 0.0) -> list[np.ndarray]:
  """Unit-box coordinates of `points`, each {name: physical value} for some of the problem's
  variables, the others at unit coordinate `fill_u`. Raises `DesignError` naming a variable that
  is not the problem's or a value outside its bounds."""
  out = []
  for i, point in enumerate(points):
    unknown = [k for k in point if k not in problem.names]
    if unknown:
      raise DesignError(unknown[0], f'point {i}: not a variable of this problem {problem.names}')
    values = problem.decode(np.full(problem.dim, float(fill_u)))
    values.update({k: float(v) for k, v in point.items()})
    out.append(_encode_in_bounds(problem, values, '', where=f'point {i}: '))
  return out


def start_in_box(problem: Problem, start: Mapping[str, float]) -> np.ndarray | None:
  """Unit-box coordinates of a configured start {name: value}, which must name every variable;
  None for an empty start (each seed then draws its own). Raises `DesignError` naming
  `start.<variable>` that is missing, unknown or outside the bounds."""
  start = {k: float(v) for k, v in dict(start).items()}
  if not start:
    return None
  for name in list(start) + list(problem.names):
    if name not in problem.names:
      raise DesignError(f'start.{name}', f'not a variable of this problem {problem.names}')
    if name not in start:
      raise DesignError(f'start.{name}', 'missing: a start names every variable')
  return _encode_in_bounds(problem, start, 'start.')


def project(u):
  """Euclidean projection onto the unit box (the bounds, in optimiser coordinates)."""
  import optax  # pylint: disable=g-import-not-at-top
  return optax.projections.projection_box(u, 0.0, 1.0)


def value_at_charge(series_T, charge_T, q):
  """series at the first time the charge passed reaches `q`, linear in charge between frames.

  The bracketing frame index is chosen on the values (no derivative); the weight is smooth in
  charge and series, so gradients flow through both. If `q` is never reached the last frame is
  used (the caller checks reachability).
  """
  reached = charge_T >= q
  last = charge_T.shape[0] - 1
  k = jnp.clip(jnp.where(jnp.any(reached), jnp.argmax(reached), last), 1, last)
  q0, q1 = charge_T[k - 1], charge_T[k]
  w = jnp.clip((q - q0) / jnp.maximum(q1 - q0, 1e-12), 0.0, 1.0)
  return series_T[k - 1] + w * (series_T[k] - series_T[k - 1])


def summary(problem: Problem, frames: Mapping[str, Any]) -> dict[str, Any]:
  """Objective and reported observables at charge Q, and the charge reached (traceable)."""
  q = frames['charge_mah_cm2']
  out = {f'{k}_at_charge': value_at_charge(frames[k], q, problem.charge_mah_cm2)
         for k in REPORTED}
  out[OBJECTIVE] = out.pop('length_um_at_charge')
  out['time_at_charge_s'] = out.pop('time_s_at_charge')
  out['final_charge_mah_cm2'] = q[-1]
  return out


def check_evaluation(problem: Problem, values: Mapping[str, float], aux: Mapping[str, Any],
                     grad: Sequence[float] | None = None) -> None:
  """Raises `DesignError` if Q was not reached, or the objective or a gradient entry is NaN."""
  where = ', '.join(f'{k}={float(v):.6g}' for k, v in values.items())
  value = float(aux[OBJECTIVE])
  if not math.isfinite(value):
    raise DesignError(OBJECTIVE, f'objective is {value} at {where}; the simulation diverged '
                      '(reduce dt_s or the current bounds)')
  if float(aux['final_charge_mah_cm2']) < problem.charge_mah_cm2:
    raise DesignError('charge_mah_cm2', f'Q={problem.charge_mah_cm2} mAh/cm^2 not reached '
                      f'within max_time_s={problem.max_time_s} s at {where} (passed '
                      f"{float(aux['final_charge_mah_cm2']):.4g}); raise max_time_s or the "
                      'current bounds, or lower Q')
  if grad is not None:
    bad = [n for n, g in zip(problem.names, grad) if not math.isfinite(float(g))]
    if bad:
      raise DesignError(bad[0], f'gradient of {OBJECTIVE} is NaN for {bad} at {where}')


# ---- building and validating a problem ------------------------------------------------------

# Every schedule value but the duty (a fraction in (0, 1]) is a current, time or charge: > 0.
_POSITIVE = frozenset(
    name for names in (*sa.SCHEDULE_VARIABLES.values(),
                       *sa.OPTIONAL_SCHEDULE_VARIABLES.values())
    for name in names if name != 'pulse_duty')


def _check_value(name: str, x: float, what: str, label: str | None = None) -> None:
  """Raises `DesignError` naming `label` (default: `name`) for a value that is not finite or
  outside what `name` allows."""
  label = label or name
  if not math.isfinite(x):
    raise DesignError(label, f'{what}={x} must be finite')
  if name == 'pulse_duty' and not 0.0 < x <= 1.0:
    raise DesignError(label, f'{what}={x} must be in (0, 1]')
  if name in _POSITIVE and x <= 0:
    raise DesignError(label, f'{what}={x} {sa.UNITS[name]} must be > 0')
  if name in parameters.PARAMETER_NAMES:
    try:
      parameters.validate_physical({name: x})
    except ValueError as e:
      raise DesignError(label, f'{what}: {e}') from None


def make_problem(cfg: Mapping[str, Any], settings: sa.SimulatorSettings) -> Problem:
  """A validated `Problem` from the `problem` block of a design config (see configs/design)."""
  protocol = cfg['protocol']
  if protocol not in sa.PROTOCOLS:
    raise DesignError('protocol', f'{protocol!r}; expected one of {sa.PROTOCOLS}')
  allowed = (sa.SCHEDULE_VARIABLES[protocol] + sa.OPTIONAL_SCHEDULE_VARIABLES.get(protocol, ())
             + sa.PHYSICAL_VARIABLES)
  variables = []
  for name, spec in dict(cfg['variables']).items():
    if name not in allowed:
      raise DesignError(name, f'not a design variable of protocol {protocol!r}; allowed: '
                        f'{allowed}')
    if name == 'n_defects':
      raise DesignError(name, 'discrete (no derivative): fix it in problem.fixed instead')
    low, high, scale = spec
    if scale not in ('linear', 'log'):
      raise DesignError(name, f"scale={scale!r}; expected 'linear' or 'log'")
    for what, x in (('low', float(low)), ('high', float(high))):
      _check_value(name, x, f'bound {what}')
    if not float(low) < float(high):
      raise DesignError(name, f'infeasible bounds: low={low} must be < high={high}')
    if scale == 'log' and float(low) <= 0:
      raise DesignError(name, f'log scale needs low > 0; got {low}')
    variables.append(Variable(name, float(low), float(high), scale == 'log'))
  if not variables:
    raise DesignError('variables', 'a problem needs at least one design variable')
  fixed = {k: float(v) for k, v in dict(cfg['fixed']).items()}
  for k, v in fixed.items():
    if k not in allowed:
      raise DesignError(k, f'not a value of protocol {protocol!r}; allowed: {allowed}')
    _check_value(k, v, 'fixed value')
  names = {v.name for v in variables}
  missing = [k for k in sa.SCHEDULE_VARIABLES[protocol] if k not in names and k not in fixed]
  if missing:
    raise DesignError(missing[0], f'protocol {protocol!r} needs it as a variable or fixed value')
  if protocol == 'multistep':
    given = names | set(fixed)
    steps = [k for k in range(1, sa.MAX_STEPS + 1) if sa.step_name(k) in given]
    gap = next((k for k in range(1, len(steps) + 1) if k not in steps), None)
    if gap is not None:
      raise DesignError(sa.step_name(gap), f'multistep currents must be numbered from 1 without '
                        f'a gap; given steps {steps}')
  q, t_max = float(cfg['charge_mah_cm2']), float(cfg['max_time_s'])
  if not (math.isfinite(q) and q > 0):
    raise DesignError('charge_mah_cm2', f'must be > 0; got {q}')
  if not (math.isfinite(t_max) and t_max > 0):
    raise DesignError('max_time_s', f'must be > 0; got {t_max}')
  baseline = {k: float(v) for k, v in dict(cfg['baseline']).items()}
  if 'current_ma_cm2' not in baseline:
    raise DesignError('baseline.current_ma_cm2', 'the constant-current baseline needs a current')
  for k, v in baseline.items():
    if k not in sa.PHYSICAL_VARIABLES + ('current_ma_cm2',):
      raise DesignError(f'baseline.{k}', 'not a value of the constant-current baseline')
    _check_value(k, v, f'baseline.{k}', label=f'baseline.{k}')
  q_base = baseline['current_ma_cm2'] * t_max / 3600.0
  if q_base < q:
    raise DesignError('baseline.current_ma_cm2', f'unreachable charge: the baseline passes '
                      f'{q_base:.4g} mAh/cm^2 in max_time_s={t_max} s < Q={q}')
  problem = Problem(name=cfg['name'], protocol=protocol, variables=tuple(variables),
                    fixed=fixed, charge_mah_cm2=q, max_time_s=t_max, baseline=baseline)
  check_reachable(problem, settings)
  check_simulator_limits(problem, settings)
  return problem


def corners(problem: Problem):
  """Every corner of the box as {name: value}."""
  for u in itertools.product((0.0, 1.0), repeat=problem.dim):
    yield problem.decode(np.asarray(u))


def check_reachable(problem: Problem, settings: sa.SimulatorSettings) -> None:
  """The schedule must deliver Q within max_time_s at every corner of the box (nominal charge).

  Raises `DesignError` naming the variable whose move to its other bound most raises the charge
  at the worst corner (the bound to change), with the numbers.
  """
  charge = lambda vals: sa.nominal_charge_mah_cm2({**problem.fixed, **vals}, problem.protocol,
                                                  settings)
  worst = min(({k: float(x) for k, x in c.items()} for c in corners(problem)), key=charge)
  q_worst = charge(worst)
  if q_worst >= problem.charge_mah_cm2:
    return
  gains = {}
  for v in problem.variables:
    other = dict(worst)
    other[v.name] = v.high if worst[v.name] == v.low else v.low
    gains[v.name] = charge(other) - q_worst
  culprit = max(gains, key=gains.get) if max(gains.values()) > 0 else 'max_time_s'
  at = ', '.join(f'{k}={x:.4g}' for k, x in worst.items())
  raise DesignError(culprit, f'unreachable charge: Q={problem.charge_mah_cm2} mAh/cm^2 within '
                    f'max_time_s={problem.max_time_s} s, but the schedule passes only '
                    f'{q_worst:.4g} mAh/cm^2 at the corner {at}; narrow the bound of {culprit} '
                    'or raise max_time_s')


def check_simulator_limits(problem: Problem, settings: sa.SimulatorSettings) -> None:
  """The simulator's own validation (stability, physical ranges) at every corner."""
  for vals in corners(problem):
    vals = {k: float(v) for k, v in vals.items()}
    try:
      sa.validate({**problem.fixed, **vals}, problem.protocol, settings)
    except ValueError as e:
      # The field the message starts with (e.g. SimulationConfig.dt_s), else the first design
      # variable it names.
      lead = str(e).split('=')[0].split(':')[0].strip()
      name = lead if lead.isidentifier() or lead.startswith('SimulationConfig.') else next(
          (n for n in problem.names if n in str(e)), lead)
      raise DesignError(name, f'the simulator rejects the corner {vals}: {e}') from None
