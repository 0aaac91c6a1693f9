"""The one module that knows the simulator API: a design's values -> per-frame observables.

    sim = make_simulator(SimulatorSettings(...), protocol='pulse', fixed={...})
    obs = sim.observe({'pulse_on_time_s': 2.0, 'pulse_duty': 0.5, ...})   # traceable
    obs['charge_mah_cm2'], obs['length_um'], obs['current_ma_cm2']        # [T] each

Everything else in `dendrax.design` sees only `observe` (a pure, jax-differentiable function of
a dict of scalars) and the schedule helpers below; switching to the rewritten physics (physical
current units and a PULSE protocol in `dendrax.physics`) means replacing `_rollout` by a call of
the new `simulate.run` and reading its per-frame current density, charge and stage.

Until then the protocols are driven here, on top of the current model's `(init_fn, step_fn)`:
the model runs under 'constant_voltage' and the electrode potential of every step is set through
the `rates.applied_voltage_v` argument of `step_fn` by a galvanostatic integral controller that
tracks the target current density i(t) of the design (mA/cm^2):

    V <- clip(V - dt k V_s (i(t) - i_F) / i_s, [-max_voltage_v, 0]),  V_s = i_s H / sigma_l

with i_F the Faradaic current of the last step, i_s the largest current of the schedule and k
`controller_rate_per_s` (the same law as `physics.protocols`, in physical units). Every time
dependence is smooth, so derivatives reach on times, duties and switch times:

  * 'constant_current': i = current_ma_cm2.
  * 'pulse': i = amplitude * sigmoid((on / 2 - P |t / P - round(t / P)|) / edge_s), with the
    period P = on / duty: on for `on` seconds centred on every multiple of P (t = 0 included),
    edges smoothed over ~edge_s (a few dt, much shorter than the on and off times, so the mean
    current is amplitude * duty).
  * 'three_stage': i1, then i2 after switch1_s, then i3 after switch2_s (sigmoid steps of width
    switch_width_s).

Charge passed is the time integral of the Faradaic current (electrode charge), in mAh/cm^2.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import electrodeposition
from dendrax.physics import observables as obs
from dendrax.physics import parameters
from dendrax.physics import simulate

MA_CM2_PER_A_M2 = 0.1              # 1 A/m^2 = 0.1 mA/cm^2
C_M2_PER_MAH_CM2 = 36000.0         # 1 mAh/cm^2 = 3.6 C/cm^2 = 36000 C/m^2

PROTOCOLS = ('constant_current', 'pulse', 'three_stage')
SCHEDULE_VARIABLES: dict[str, tuple[str, ...]] = {
    'constant_current': ('current_ma_cm2',),
    'pulse': ('pulse_on_time_s', 'pulse_duty', 'pulse_amplitude_ma_cm2'),
    'three_stage': ('stage1_current_ma_cm2', 'stage2_current_ma_cm2', 'stage3_current_ma_cm2',
                    'switch1_s', 'switch2_s'),
}
# Physical parameters a design may set (the field strength is the controller's business, and the
# number of defects is discrete: it may be fixed, not designed).
PHYSICAL_VARIABLES = tuple(n for n in parameters.PARAMETER_NAMES
                           if n != 'field_strength_kv_per_m')
UNITS = {s.name: s.unit for s in parameters.PARAMETER_SPECS}
UNITS.update(current_ma_cm2='mA/cm^2', pulse_on_time_s='s', pulse_duty='1',
             pulse_amplitude_ma_cm2='mA/cm^2', stage1_current_ma_cm2='mA/cm^2',
             stage2_current_ma_cm2='mA/cm^2', stage3_current_ma_cm2='mA/cm^2',
             switch1_s='s', switch2_s='s')
# Physical values not set by a design: the dataset's reference point, no initial depletion.
DEFAULT_PHYSICAL = dict(zip(parameters.PARAMETER_NAMES, (300.0, 0.0, 2.25, 1000.0, 0.5, 316.2,
                                                         3.0)))


@dataclasses.dataclass(frozen=True)
class SimulatorSettings:
  """How the design's simulations run (hashable: static under jit).

  Attributes:
    sim: `SimulationConfig` (grid, dt, frames, chemistry); its protocol is replaced by the
      controller here and t_end_s by `max_time_s`.
    max_time_s: charging time limit (s): the simulation's end.
    controller_rate_per_s: integral gain k of the current controller.
    max_voltage_v: |V| bound of the controller (also sets the stability bound's field).
    pulse_edge_s: smoothing time of the pulse edges, s.
    switch_width_s: width of the sigmoid stage switches of 'three_stage'.
    noise_seed: PRNG seed of nuclei and noise, fixed for every run (common random numbers).
  """
  sim: simulate.SimulationConfig
  max_time_s: float
  controller_rate_per_s: float = 5.0
  max_voltage_v: float = 1.0
  pulse_edge_s: float = 0.1
  switch_width_s: float = 0.5
  noise_seed: int = 0

  def config(self) -> simulate.SimulationConfig:
    return dataclasses.replace(self.sim, protocol='constant_voltage',
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
    on = sig((0.5 * values['pulse_on_time_s'] - period * xp.abs(phase)) / settings.pulse_edge_s)
    return values['pulse_amplitude_ma_cm2'] * on
  if protocol == 'three_stage':
    w = settings.switch_width_s
    i1, i2, i3 = (values[f'stage{k}_current_ma_cm2'] for k in (1, 2, 3))
    return (i1 + (i2 - i1) * sig((t - values['switch1_s']) / w)
            + (i3 - i2) * sig((t - values['switch2_s']) / w))
  raise ValueError(f'protocol={protocol!r}; expected one of {PROTOCOLS}')


def current_scale_ma_cm2(values: Mapping, protocol: str):
  """The largest current density of the schedule (the controller's scale i_s), mA/cm^2."""
  if protocol == 'constant_current':
    return values['current_ma_cm2']
  if protocol == 'pulse':
    return values['pulse_amplitude_ma_cm2']
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


def physical_params(values: Mapping, settings: SimulatorSettings, dtype):
  """`PhysicalParams` of a design: its physical values, defaults elsewhere; E = max |V| / H."""
  config = settings.sim
  d = dict(DEFAULT_PHYSICAL)
  d.update({k: v for k, v in values.items() if k in PHYSICAL_VARIABLES})
  d['field_strength_kv_per_m'] = settings.max_voltage_v / (config.height_um * 1e-6) / 1e3
  return parameters.PhysicalParams(**{k: jnp.asarray(v, dtype) for k, v in d.items()})


def validate(values: Mapping, settings: SimulatorSettings) -> None:
  """The simulator's own checks (ValueError naming the field) for concrete values."""
  params = physical_params({k: float(v) for k, v in values.items()}, settings, np.float32)
  simulate.validate(params, settings.config())


def _initial(values: Mapping, protocol: str, settings: SimulatorSettings):
  """(config, values as arrays, rates, controller scales (i_s A/m^2, V_s), initial voltage,
  initial state, noise key, step_fn)."""
  config = settings.config()
  dtype = jnp.dtype(config.dtype)
  values = {k: jnp.asarray(v, dtype) for k, v in values.items()}
  params = physical_params(values, settings, dtype)
  coeffs, rates = simulate.coefficients_for(params, config)
  init_fn, step_fn = electrodeposition.make_model(config)
  h_m = config.height_um * 1e-6
  i_s = current_scale_ma_cm2(values, protocol) / MA_CM2_PER_A_M2           # A/m^2
  v_s = i_s * h_m / rates.electrolyte_conductivity_s_m
  i0 = target_current_ma_cm2(values, protocol, jnp.zeros((), dtype), settings) / MA_CM2_PER_A_M2
  v0 = jnp.clip(-i0 * h_m / rates.electrolyte_conductivity_s_m, -settings.max_voltage_v, 0.0)
  key_init, key_noise = jax.random.split(jax.random.key(settings.noise_seed))
  state = init_fn(coeffs, dataclasses.replace(rates, applied_voltage_v=v0), params.n_defects,
                  key_init)
  return config, values, rates, (i_s, v_s), v0, state, key_noise, step_fn


def _rollout(values: Mapping, protocol: str, settings: SimulatorSettings) -> dict:
  """Frames of one controlled run: fields and series with a leading [T] axis."""
  config, values, rates, (i_s, v_s), v0, state, key_noise, step_fn = _initial(
      values, protocol, settings)
  dtype = jnp.dtype(config.dtype)
  target = lambda t: target_current_ma_cm2(values, protocol, t, settings) / MA_CM2_PER_A_M2
  dt, k = config.dt_s, settings.controller_rate_per_s

  def one(carry, _):
    state, q = carry
    err = (target(state.time_s) - state.current_a_m2) / i_s
    v = jnp.clip(state.voltage_v - dt * k * v_s * err, -settings.max_voltage_v, 0.0)
    v = jnp.where(state.step == 0, v0, v)
    new = step_fn(state, dataclasses.replace(rates, applied_voltage_v=v),
                  jax.random.fold_in(key_noise, state.step))
    q = q + jnp.where(new.shorted, 0.0, new.current_a_m2) * dt
    return (new, q), None

  n = config.steps_per_frame
  chunk = max(d for d in range(1, min(n, config.checkpoint_every_steps) + 1) if n % d == 0)

  @jax.checkpoint
  def run_chunk(carry, _):
    return jax.lax.scan(one, carry, None, length=chunk)[0], None

  def frame(carry):
    state, q = carry
    return dict(time_s=state.time_s, xi=state.xi, voltage_v=state.voltage_v,
                current_ma_cm2=state.current_a_m2 * MA_CM2_PER_A_M2,
                charge_mah_cm2=q / C_M2_PER_MAH_CM2, shorted=state.shorted)

  def run_frame(carry, _):
    carry = jax.lax.scan(run_chunk, carry, None, length=n // chunk)[0]
    return carry, frame(carry)

  carry = (state, jnp.zeros((), dtype))
  first = frame(carry)
  _, rest = jax.lax.scan(run_frame, carry, None, length=config.num_frames - 1)
  return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)


def initial_fields(values: Mapping, protocol: str, settings: SimulatorSettings) -> dict:
  """Fields at t = 0 (xi, concentration, potential_v [H, W]): a surrogate's first frame."""
  state = _initial(values, protocol, settings)[5]
  return dict(xi=state.xi, concentration=state.concentration, potential_v=state.potential_v)


def nominal_charge_series(values: Mapping, protocol: str, settings: SimulatorSettings,
                          times_s=None):
  """Charge the schedule asks for by each of `times_s` (default: the frames), mAh/cm^2.

  Traceable; trapezoid rule at the simulator's dt, read at the step nearest each time.
  """
  config = settings.config()
  dtype = jnp.dtype(config.dtype)
  t = jnp.arange(config.num_steps + 1, dtype=dtype) * config.dt_s
  i = target_current_ma_cm2(values, protocol, t, settings)
  q = jnp.concatenate([jnp.zeros((1,), dtype),
                       jnp.cumsum(0.5 * (i[1:] + i[:-1]) * config.dt_s)]) / 3600.0
  if times_s is None:
    return q[::config.steps_per_frame]
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

  `observe(values)` returns time_s, xi, voltage_v, current_ma_cm2, charge_mah_cm2, shorted,
  target_current_ma_cm2, length_um, max_tip_height_um, interface_length_um, each [T] (xi
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
                   validate=lambda values: validate(full(values), settings))
