"""The one module that knows the simulator API: a design's values -> per-frame observables.

    sim = make_simulator(SimulatorSettings(...), protocol='pulse', fixed={...})
    obs = sim.observe({'pulse_on_time_s': 2.0, 'pulse_duty': 0.5, ...})   # traceable
    obs['charge_mah_cm2'], obs['length_um'], obs['current_ma_cm2']        # [T] each

Everything else in `dendrax.design` sees only `observe` (a pure, jax-differentiable function of
a dict of scalars) and the schedule helpers below.

The simulator is the electroneutral model (`SimulationConfig.for_dataset`, dendrite_sim's cell)
driven by the design's current schedule i(t) (`simulate.rollout(..., current_schedule=...)`):
every step solves for the electrode potential that passes exactly i(t) (galvanostatic, bounded
by the config's cutoff max_voltage_v; stage 'rest' only where i = 0 exactly, which a smoothed
pulse never is). Every time dependence is smooth, so derivatives reach on times, duties and
switch times:

  * 'constant_current': i = current_ma_cm2.
  * 'pulse': i = amplitude * (s(on / 2 - P |phi|) + s(on / 2 - P (1 - |phi|))), s(z) =
    sigmoid(z / edge_s), phi = t / P - round(t / P), the period P = on / duty: on for `on`
    seconds centred on every multiple of P (t = 0 included), edges smoothed over ~edge_s. The
    second term is the neighbouring pulse, so duty 1 is exactly constant current; between
    pulses i = 2 amplitude s(-off / 2) (1.3 % of it at off = 10 edge_s), so keep the off time
    >= 10 edge_s; the mean current is amplitude * duty up to that.
  * 'three_stage': i1, then i2 after switch1_s, then i3 after switch2_s (sigmoid steps of width
    switch_width_s).
  * 'multistep' (Attia et al. 2020's multistep fast charging): currents step1, step2, ...,
    stepN (N = the step currents given, 2 to MAX_STEPS), each held while it passes the same
    charge step_charge_mah_cm2 (the switch after step k at t_k = sum_{j<=k} 3600 q / i_j, so the
    switch times move with the currents), the last one held to the end; sigmoid steps of width
    switch_width_s.

Charge passed is the time integral of the Faradaic current, in mAh/cm^2: below the cutoff it is
the schedule's own; a run that hits the cutoff (beyond the limiting current) passes less.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import coefficients
from dendrax.physics import electrolytes
from dendrax.physics import observables as obs
from dendrax.physics import parameters
from dendrax.physics import simulate

MA_CM2_PER_A_M2 = 0.1              # 1 A/m^2 = 0.1 mA/cm^2

PROTOCOLS = ('constant_current', 'pulse', 'three_stage', 'multistep')
MAX_STEPS = 12                     # most step currents a 'multistep' schedule takes


def step_name(k: int) -> str:
  """Name of the k-th (from 1) current of a 'multistep' schedule."""
  return f'step{k}_current_ma_cm2'


# The values each protocol needs; 'multistep' needs the first two steps and takes up to MAX_STEPS.
SCHEDULE_VARIABLES: dict[str, tuple[str, ...]] = {
    'constant_current': ('current_ma_cm2',),
    'pulse': ('pulse_on_time_s', 'pulse_duty', 'pulse_amplitude_ma_cm2'),
    'three_stage': ('stage1_current_ma_cm2', 'stage2_current_ma_cm2', 'stage3_current_ma_cm2',
                    'switch1_s', 'switch2_s'),
    'multistep': ('step_charge_mah_cm2', step_name(1), step_name(2)),
}
OPTIONAL_SCHEDULE_VARIABLES: dict[str, tuple[str, ...]] = {
    'multistep': tuple(step_name(k) for k in range(3, MAX_STEPS + 1))}
# Physical parameters a design may set (the field strength is the schedule's current, and the
# number of defects is discrete: it may be fixed, not designed).
PHYSICAL_VARIABLES = tuple(n for n in parameters.PARAMETER_NAMES
                           if n != 'field_strength_kv_per_m')
UNITS = {s.name: s.unit for s in parameters.PARAMETER_SPECS}
UNITS.update(current_ma_cm2='mA/cm^2', pulse_on_time_s='s', pulse_duty='1',
             pulse_amplitude_ma_cm2='mA/cm^2', stage1_current_ma_cm2='mA/cm^2',
             stage2_current_ma_cm2='mA/cm^2', stage3_current_ma_cm2='mA/cm^2',
             switch1_s='s', switch2_s='s', step_charge_mah_cm2='mAh/cm^2',
             **{step_name(k): 'mA/cm^2' for k in range(1, MAX_STEPS + 1)})
# Physical values not set by a design: 1 M LiPF6-like electrolyte at 298 K, the middle of the
# dataset's concentration-gradient range (a 182 um Nernst layer above the window), 3 nuclei.
# The field strength is replaced by the schedule's peak current (`physical_params`).
DEFAULT_PHYSICAL = dict(zip(parameters.PARAMETER_NAMES, (298.15, 5.5, 0.1, 1000.0, 0.5, 316.2,
                                                         3.0)))


@dataclasses.dataclass(frozen=True)
class SimulatorSettings:
  """How the design's simulations run (hashable: static under jit).

  Attributes:
    sim: electroneutral `SimulationConfig` (grid, dt, frames, chemistry, cutoff max_voltage_v);
      its protocol is replaced by the design's schedule and t_end_s by `max_time_s`.
    max_time_s: charging time limit (s): the simulation's end.
    pulse_edge_s: smoothing time of the pulse edges, s.
    switch_width_s: width of the sigmoid stage switches of 'three_stage' and 'multistep'.
    noise_seed: PRNG seed of nuclei and noise, fixed for every run (common random numbers).
  """
  sim: simulate.SimulationConfig
  max_time_s: float
  pulse_edge_s: float = 0.1
  switch_width_s: float = 0.5
  noise_seed: int = 0

  def config(self) -> simulate.SimulationConfig:
    if self.sim.model != 'electroneutral':
      raise ValueError(f'simulation.model={self.sim.model!r}: the design drives the '
                       "electroneutral model's current ('electroneutral')")
    # cc_current_fraction 1: the accuracy bound reads the schedule's peak as the CC current.
    return dataclasses.replace(self.sim, protocol='constant_current', cc_current_fraction=1.0,
                               t_end_s=self.max_time_s).checked()


def target_current_ma_cm2(values: Mapping, protocol: str, t, settings: SimulatorSettings):
  """Target current density i(t) of the schedule in `values`, mA/cm^2 (numpy or jax `t`)."""
  xp = jnp if isinstance(t, jax.Array) or any(isinstance(v, jax.Array)
                                              for v in values.values()) else np
  sig = (lambda z: jax.nn.sigmoid(z)) if xp is jnp else (lambda z: 1.0 / (1.0 + np.exp(-z)))
  if protocol == 'constant_current':
    return values['current_ma_cm2'] * xp.ones_like(t)
  if protocol == 'pulse':
    period = values['pulse_on_time_s'] / values['pulse_duty']
    phase = t / period - xp.round(t / period)          # in [-1/2, 1/2]; |phase| continuous
    half_on, edge = 0.5 * values['pulse_on_time_s'], settings.pulse_edge_s
    on = (sig((half_on - period * xp.abs(phase)) / edge)               # this period's pulse
          + sig((half_on - period * (1.0 - xp.abs(phase))) / edge))    # the nearest neighbour's
    return values['pulse_amplitude_ma_cm2'] * on
  if protocol == 'three_stage':
    w = settings.switch_width_s
    i1, i2, i3 = (values[f'stage{k}_current_ma_cm2'] for k in (1, 2, 3))
    return (i1 + (i2 - i1) * sig((t - values['switch1_s']) / w)
            + (i3 - i2) * sig((t - values['switch2_s']) / w))
  if protocol == 'multistep':
    currents = step_currents(values)
    switches = multistep_switch_times_s(values)
    i = currents[0] * xp.ones_like(t)
    for k, t_k in enumerate(switches):
      i = i + (currents[k + 1] - currents[k]) * sig((t - t_k) / settings.switch_width_s)
    return i
  raise ValueError(f'protocol={protocol!r}; expected one of {PROTOCOLS}')


def step_currents(values: Mapping) -> list:
  """The step currents of a 'multistep' schedule in order: step1, step2, ... while present."""
  currents = []
  while step_name(len(currents) + 1) in values:
    currents.append(values[step_name(len(currents) + 1)])
  return currents


def multistep_switch_times_s(values: Mapping) -> list:
  """Times (s) at which a 'multistep' schedule leaves each step but the last: step k lasts
  3600 q / i_k seconds, q = step_charge_mah_cm2 (traceable in the currents)."""
  currents = step_currents(values)
  times, t = [], 0.0
  for i_k in currents[:-1]:
    t = t + 3600.0 * values['step_charge_mah_cm2'] / i_k
    times.append(t)
  return times


def current_scale_ma_cm2(values: Mapping, protocol: str):
  """The largest current density of the schedule, mA/cm^2: sets the field-strength parameter
  (J = sigma_nom E) that the accuracy bound and CNN-2 read."""
  if protocol == 'constant_current':
    return values['current_ma_cm2']
  if protocol == 'pulse':
    return values['pulse_amplitude_ma_cm2']
  if protocol == 'multistep':
    currents = step_currents(values)
    peak = currents[0]
    for i_k in currents[1:]:
      peak = jnp.maximum(peak, i_k)
    return peak
  return jnp.maximum(jnp.maximum(values['stage1_current_ma_cm2'],
                                 values['stage2_current_ma_cm2']),
                     values['stage3_current_ma_cm2'])


def nominal_charge_mah_cm2(values: Mapping, protocol: str, settings: SimulatorSettings,
                           time_s: float | None = None) -> float:
  """Charge the schedule asks for by `time_s` (default max_time_s): integral of i(t), mAh/cm^2."""
  t_end = settings.max_time_s if time_s is None else time_s
  t = np.linspace(0.0, t_end, max(2001, int(t_end / settings.sim.dt_s) + 1))
  i = target_current_ma_cm2({k: float(v) for k, v in values.items()}, protocol, t, settings)
  return float(np.trapezoid(i, t)) / 3600.0


def physical_params(values: Mapping, protocol: str, dtype):
  """`PhysicalParams` of a design: its physical values, defaults elsewhere; the field strength
  is the schedule's peak current (J = sigma_nom E: what the accuracy bound and CNN-2 read)."""
  d = dict(DEFAULT_PHYSICAL)
  d.update({k: v for k, v in values.items() if k in PHYSICAL_VARIABLES})
  missing = [n for n in SCHEDULE_VARIABLES[protocol] if n not in values]
  if missing:
    raise ValueError(f'values {sorted(values)} lack the {protocol!r} schedule\'s {missing}')
  peak_a_m2 = current_scale_ma_cm2(values, protocol) / MA_CM2_PER_A_M2
  d['field_strength_kv_per_m'] = peak_a_m2 / (electrolytes.NOMINAL_CONDUCTIVITY_S_M * 1e3)
  return parameters.PhysicalParams(**{k: jnp.asarray(v, dtype) for k, v in d.items()})


def validate(values: Mapping, protocol: str, settings: SimulatorSettings) -> None:
  """The simulator's own checks (ValueError naming the field) for concrete values."""
  params = physical_params({k: float(v) for k, v in values.items()}, protocol, np.float32)
  simulate.validate(params, settings.config())


def _schedule_a_m2(values: Mapping, protocol: str, settings: SimulatorSettings):
  return lambda t: target_current_ma_cm2(values, protocol, t, settings) / MA_CM2_PER_A_M2


def _rollout(values: Mapping, protocol: str, settings: SimulatorSettings) -> dict:
  """Frames of one run under the design's schedule: fields and series with a leading [T] axis."""
  config = settings.config()
  dtype = jnp.dtype(config.dtype)
  values = {k: jnp.asarray(v, dtype) for k, v in values.items()}
  traj = simulate.rollout(physical_params(values, protocol, dtype), config,
                          jax.random.key(settings.noise_seed),
                          current_schedule=_schedule_a_m2(values, protocol, settings))
  return dict(time_s=traj.time_s, xi=traj.xi, voltage_v=traj.voltage_v, stage=traj.stage,
              current_ma_cm2=traj.current_a_m2 * MA_CM2_PER_A_M2,
              charge_mah_cm2=(traj.observables['charge_c_per_m2']
                              / coefficients.C_PER_M2_PER_MAH_CM2),
              shorted=traj.shorted)


def initial_fields(values: Mapping, protocol: str, settings: SimulatorSettings) -> dict:
  """Fields at t = 0 (xi, concentration, potential_v [H, W]), as the dataset saves them: a
  surrogate's first frame."""
  config = settings.config()
  dtype = jnp.dtype(config.dtype)
  params = physical_params({k: jnp.asarray(v, dtype) for k, v in values.items()}, protocol,
                           dtype)
  frame = simulate.initial_frame(params, config, jax.random.key(settings.noise_seed))
  return dict(xi=frame['xi'], concentration=frame['concentration'],
              potential_v=frame['potential_v'])


def nominal_charge_series(values: Mapping, protocol: str, settings: SimulatorSettings,
                          times_s):
  """Charge the schedule asks for by each of `times_s`, mAh/cm^2.

  Traceable; trapezoid rule at the simulator's dt, read at the step nearest each time.
  """
  config = settings.config()
  dtype = jnp.dtype(config.dtype)
  t = jnp.arange(config.num_steps + 1, dtype=dtype) * config.dt_s
  i = target_current_ma_cm2(values, protocol, t, settings)
  q = jnp.concatenate([jnp.zeros((1,), dtype),
                       jnp.cumsum(0.5 * (i[1:] + i[:-1]) * config.dt_s)]) / 3600.0
  steps = np.clip(np.round(np.asarray(times_s) / config.dt_s).astype(int), 0, config.num_steps)
  return q[steps]


def observe_frames(xi_T, config: simulate.SimulationConfig) -> dict:
  """Morphology series of frames xi [T, H, W]: smooth length, max tip height, interface length."""
  front = obs.front_height_um(xi_T, config.dx_um)
  return dict(
      length_um=obs.dendrite_length_um(xi_T, config.dx_um, config.electrode_height_um,
                                       config.length_softness_um),
      max_tip_height_um=jnp.max(front, axis=-1) - config.electrode_height_um,
      interface_length_um=obs.interface_length_um(xi_T, config.dx_um))


class Simulator(NamedTuple):
  """What the design code receives: `observe(values) -> {series [T]}` (jax-traceable, pure)."""
  protocol: str
  settings: SimulatorSettings
  fixed: Mapping[str, float]
  observe: Callable[[Mapping], dict]
  target_current_ma_cm2: Callable
  validate: Callable[[Mapping], None]


def make_simulator(settings: SimulatorSettings, protocol: str,
                   fixed: Mapping[str, float]) -> Simulator:
  """A `Simulator` for `protocol` whose values not designed come from `fixed`.

  `observe(values)` returns time_s, xi, voltage_v, stage, current_ma_cm2, charge_mah_cm2,
  shorted, target_current_ma_cm2, length_um, max_tip_height_um, interface_length_um, each [T] (xi
  [T, H, W]); it is differentiable with respect to every value.
  """
  if protocol not in PROTOCOLS:
    raise ValueError(f'protocol={protocol!r}; expected one of {PROTOCOLS}')
  fixed = dict(fixed)
  config = settings.config()

  def full(values):
    return {**fixed, **values}

  def observe(values):
    v = full(values)
    frames = _rollout(v, protocol, settings)
    frames.update(observe_frames(frames['xi'], config))
    frames['target_current_ma_cm2'] = target_current_ma_cm2(v, protocol, frames['time_s'],
                                                            settings)
    return frames

  return Simulator(protocol=protocol, settings=settings, fixed=fixed, observe=observe,
                   target_current_ma_cm2=lambda values, t: target_current_ma_cm2(
                       full(values), protocol, t, settings),
                   validate=lambda values: validate(full(values), protocol, settings))
