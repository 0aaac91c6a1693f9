"""Rollouts: `run` (one parameter set) and `run_batch` (vmap over a batch), saving frames every 30 s.

    traj = simulate.run(params, SimulationConfig.for_dataset(), jax.random.key(0))
    traj.observables['length_um']        # [8] at t = 0, 30, ..., 210 s

The time loop is `lax.scan` over frames, over checkpointed chunks of `checkpoint_every_steps`
steps, over steps. Forward mode (`jax.jvp`, `jax.jacfwd`) therefore needs memory independent of the
number of steps; reverse mode (`jax.grad`) stores one state per chunk and recomputes inside it.
Physical parameters are an explicit argument all the way down, so derivatives reach them;
`n_defects` is rounded (no derivative).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import coefficients as coef
from dendrax.physics import electrodeposition
from dendrax.physics import electrolytes
from dendrax.physics import electroneutral
from dendrax.physics import observables as obs
from dendrax.physics import parameters
from dendrax.physics.config import SimulationConfig  # re-exported

__all__ = ['SimulationConfig', 'Trajectory', 'run', 'run_batch', 'run_batch_with_tangents',
           'rollout', 'rollout_with_tangents', 'initial_frame', 'validate', 'coefficients_for', 'migration_dt_bound', 'stable_time_step',
           'concentration_violation']


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Trajectory:
  """Saved frames of one rollout (leading [B] axis added by `run_batch`). T = config.num_frames."""
  time_s: jax.Array             # [T]
  stage: jax.Array              # [T] int32, index into parameters.STAGES
  xi: jax.Array                 # [T, ny, nx]
  concentration: jax.Array      # [T, ny, nx], c / c0
  potential_v: jax.Array        # [T, ny, nx]
  observables: dict             # key of schema.OBSERVABLE_KEYS -> [T]
  pixel_size_um: jax.Array      # scalar
  electrode_height_um: jax.Array  # scalar
  voltage_v: jax.Array          # [T] applied electrode potential in the step before the frame
  current_a_m2: jax.Array       # [T] Faradaic current density of that step
  deposit_thickness_um: jax.Array   # [T] metal per electrode width, sum(xi) dx^2 / width
  dissolved_thickness_um: jax.Array  # [T] dissolved ions, sum(c~) dx^2 / width (c~ um)
  shorted: jax.Array            # [T] bool: deposit reached the bulk side; fields frozen since


def coefficients_for(params: parameters.PhysicalParams, config: SimulationConfig):
  """The coefficients the step reads, in the config's dtype, as a pair (coeffs, rates).

  electroneutral: (`electrolytes.ElectrolyteCoefficients`,) twice; hong2018:
  (`coefficients.ModelCoefficients`, `electrodeposition.Rates`).
  """
  dtype = jnp.dtype(config.dtype)
  params = jax.tree_util.tree_map(lambda x: jnp.asarray(x).astype(dtype), params)
  if config.model == 'electroneutral':
    e = electrolytes.electrolyte_coefficients(params, config.chemistry,
                                              interface_width_um=config.interface_width_um)
    e = jax.tree_util.tree_map(lambda x: jnp.asarray(x).astype(dtype), e)
    return e, e
  c = coef.model_coefficients(params, config.chemistry,
                              interface_width_um=config.interface_width_um,
                              domain_height_um=config.height_um)
  c = jax.tree_util.tree_map(lambda x: jnp.asarray(x).astype(dtype), c)
  r = jax.tree_util.tree_map(lambda x: jnp.asarray(x).astype(dtype),
                             electrodeposition.rates_from(c, config))
  return c, r


def _is_concrete(tree) -> bool:
  return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))


def migration_dt_bound(param_vector, config: SimulationConfig) -> float:
  """Largest stable dt (s) of the explicit migration for one parameter vector [7] under `config`.

  Explicit central migration with implicit diffusion is stable for dt <= 2 D / u^2 with
  u = D f |V| / H, for the bulk field the protocol aims at: V_cv under voltage control; the
  ohmic voltage of the target current (a fraction of sigma_l E) under current control.
  Transients of the controller and the field in the gap ahead of a tip are kept stable by the
  drift clip of `electrodeposition` (inactive wherever this bound holds).
  """
  one = parameters.PhysicalParams.from_vector(np.asarray(param_vector, np.float32))
  c = jax.tree_util.tree_map(float, coefficients_for(one, config)[1])
  v_max = {'constant_voltage': abs(c.applied_voltage_v),
           'constant_current': config.cc_current_fraction * abs(c.applied_voltage_v),
           'three_stage': max(config.cv_voltage_fraction,
                              config.cc_current_fraction) * abs(c.applied_voltage_v),
           }[config.protocol]
  drift = c.electrolyte_diffusivity_um2_s * c.f_per_v * v_max / config.height_um
  return 2.0 * c.electrolyte_diffusivity_um2_s / drift**2 if drift > 0 else math.inf


def accuracy_dt_bound(param_vector, config: SimulationConfig) -> float:
  """Largest dt (s) the electroneutral scheme is accurate at, for one parameter vector [7].

  At the largest current the protocol can draw (galvanostatic J, or the Butler-Volmer current of
  the fresh electrolyte at cv_voltage_v; docs/physics.md measures the dt-convergence and the
  stability limit these encode on the dataset preset):
  * a flat front moves at most FRONT_CELLS_PER_STEP of a cell per step;
  * one step's salt demand t_- J dt / (z F) takes at most DEPLETION_PER_STEP of the salt held
    in the interface (c0 times its width), so the locally implicit reaction is not what limits
    the current.
  """
  one = parameters.PhysicalParams.from_vector(np.asarray(param_vector, np.float64))
  e = jax.tree_util.tree_map(float, coefficients_for(one, config)[0])
  fraction = {'constant_voltage': 0.0, 'constant_current': config.cc_current_fraction,
              'three_stage': max(config.cc_current_fraction, config.trickle_current_fraction),
              'pulse': config.pulse_amplitude_fraction}[config.protocol]
  current = fraction * e.target_current_a_m2
  if config.protocol in ('constant_voltage', 'three_stage'):
    # Butler-Volmer current of the fresh electrolyte at the potentiostatic potential.
    f_eta = e.f_per_v * abs(config.cv_voltage_v)
    current = max(current, e.exchange_current_a_m2 * (
        math.exp(e.alpha * f_eta) - math.exp(-(1.0 - e.alpha) * f_eta)))
  flux = current / e.current_scale_a_m2     # c~ um / s
  if flux <= 0:
    return math.inf
  front_um_s = flux / e.site_ratio
  return min(FRONT_CELLS_PER_STEP * config.dx_um / front_um_s,
             DEPLETION_PER_STEP * config.interface_width_um / (e.anion_transference * flux))


# Measured on the dataset preset with the coupled step (docs/physics.md): at 50 mA/cm^2
# (0.068 um/s, 0.0068 cells per 0.1 s step) the length at 210 s moves <= 1.2 % when dt halves.
# (Before the coupled solve dt = 0.1 s diverged there and this was 0.005; before the reaction
# weight was closed on the metal side a constant-voltage stage diverged at 0.1 s too.)
FRONT_CELLS_PER_STEP = 0.01
DEPLETION_PER_STEP = 0.5


# Physical bounds of the electroneutral model's salt concentration in the electrolyte (cells with
# xi < 1/2), in units of c0: within [-CONCENTRATION_TOLERANCE, MAX_CONCENTRATION]. 3 c0 is above
# the solubility of the electrolytes (LiPF6 ~ 2-3 M in carbonates, ZnSO4 ~ 3 M); the tolerance
# allows the round-off of the iterative solves. Asserted by the dataset builder and by
# `experiments.simulate`; a run outside them is unstable or unphysical, whatever its bounds said.
MAX_CONCENTRATION = 3.0
CONCENTRATION_TOLERANCE = 1e-3


def concentration_violation(xi, concentration, time_s=None) -> str | None:
  """None, or 'concentration: ...' naming the first frame of one trajectory's frames `[T, H, W]`
  (numpy) whose electrolyte c/c0 leaves the physical bounds."""
  xi, c = np.asarray(xi), np.asarray(concentration)
  for k in range(xi.shape[0]):
    electrolyte = xi[k] < 0.5
    if not electrolyte.any():
      continue
    lo, hi = float(c[k][electrolyte].min()), float(c[k][electrolyte].max())
    if lo < -CONCENTRATION_TOLERANCE or hi > MAX_CONCENTRATION:
      at = f'frame {k}' + (f' (t = {float(np.asarray(time_s)[k]):g} s)' if time_s is not None
                           else '')
      return (f'concentration: c/c0 in the electrolyte spans [{lo:.4g}, {hi:.4g}] at {at}, '
              f'outside [0, {MAX_CONCENTRATION}]')
  return None


def stable_time_step(param_vectors, config: SimulationConfig, safety: float = 0.9) -> float:
  """The largest dt <= config.dt_s that divides `save_every_s` into whole steps and is at most
  `safety` x `migration_dt_bound` for every row of `param_vectors` [N, 7].

  The dataset builder calls it once per (chemistry, protocol) group, so every trajectory of a
  group shares one dt (one compiled program) that is stable for all of them.
  """
  bound_fn = accuracy_dt_bound if config.model == 'electroneutral' else migration_dt_bound
  bound = min(bound_fn(v, config) for v in np.atleast_2d(param_vectors))
  dt_max = min(config.dt_s, safety * bound)
  steps_per_save = math.ceil(round(config.save_every_s / dt_max, 9))
  periods = ((config.pulse_on_s, config.pulse_off_s) if config.protocol == 'pulse' else ())
  for k in range(steps_per_save, 100 * steps_per_save):   # pulse times must be whole steps too
    dt = config.save_every_s / k
    if all(abs(p / dt - round(p / dt)) < 1e-6 * (p / dt) for p in periods):
      return dt
  raise ValueError(f'no dt <= {dt_max:.3g} s divides save_every_s and the pulse times '
                   f'{periods}; choose commensurate pulse_on_s / pulse_off_s')


def validate(params: parameters.PhysicalParams, config: SimulationConfig) -> None:
  """Raises ValueError naming the field if `params` (scalars or [B]) or `config` is unphysical
  or would make the explicit parts of the scheme unstable. Needs concrete values."""
  config.checked()
  vectors = np.atleast_2d(np.asarray(params.to_vector(), np.float64))
  for row, v in enumerate(vectors):
    where = f' (batch row {row})' if vectors.shape[0] > 1 else ''
    try:
      parameters.validate_physical(dict(zip(parameters.PARAMETER_NAMES, v.tolist())))
    except ValueError as e:
      raise ValueError(f'{e}{where}') from None
    if v[6] > config.max_defects or v[6] != round(v[6]):
      raise ValueError(f'n_defects={v[6]}{where}: must be a whole number <= '
                       f'SimulationConfig.max_defects={config.max_defects} (nuclei are not '
                       'clamped silently)')
    if config.model == 'electroneutral':
      bound = accuracy_dt_bound(v, config)
      if config.dt_s > bound:
        raise ValueError(
            f'SimulationConfig.dt_s={config.dt_s} exceeds the accuracy bound {bound:.3g} s for '
            f'these params{where} (field_strength_kv_per_m={v[2]}, ion_concentration_mol_m3='
            f'{v[3]}: the front may move <= {FRONT_CELLS_PER_STEP} cells and take <= '
            f'{DEPLETION_PER_STEP} of the interface salt per step); reduce dt_s')
      continue
    bound = migration_dt_bound(v, config)
    if config.dt_s > bound:
      raise ValueError(
          f'SimulationConfig.dt_s={config.dt_s} exceeds the migration stability bound '
          f'2 D / (D f E)^2 = {bound:.3g} s for these params{where} (field_strength_kv_per_m='
          f'{v[2]}, fluidity_per_pa_s={v[5]}, temperature_k={v[0]}); reduce dt_s '
          '(simulate.stable_time_step picks one)')
  if config.defect_radius_um >= config.height_um - config.electrode_height_um:
    raise ValueError('SimulationConfig.defect_radius_um: nuclei taller than the domain')


def _model(config: SimulationConfig, current_schedule=None):
  """(init_fn(coeffs, rates, n_defects, key), step_fn(state, rates, key)) of config.model."""
  # Built inside each trace (not cached): the solvers hold arrays that must belong to the trace.
  if config.model == 'electroneutral':
    init_fn, step_fn = electroneutral.make_model(config, current_schedule)
    return (lambda coeffs, rates, n, key: init_fn(rates, n, key)), step_fn
  if current_schedule is not None:
    raise ValueError("current_schedule: only the electroneutral model takes a current "
                     f"schedule; SimulationConfig.model={config.model!r}")
  return electrodeposition.make_model(config)


def _chunk(config: SimulationConfig) -> int:
  """Largest divisor of steps_per_frame not above checkpoint_every_steps."""
  n = config.steps_per_frame
  return max(d for d in range(1, min(n, config.checkpoint_every_steps) + 1) if n % d == 0)


def _frame(state: electrodeposition.State, config: SimulationConfig):
  dx2w = config.dx_um**2 / config.width_um
  concentration = state.concentration
  if config.model == 'electroneutral':
    # Salt per volume of cell: c~ times the electrolyte fraction (0 in the metal, where c~ is
    # only the smoothed-boundary extension of the electrolyte field).
    concentration = concentration * electroneutral.electrolyte_fraction(
        state.xi, config.electrolyte_fraction_min)
  return dict(time_s=state.time_s, stage=state.stage, xi=state.xi,
              concentration=concentration, potential_v=state.potential_v,
              voltage_v=state.voltage_v, current_a_m2=state.current_a_m2,
              charge_c_per_m2=state.charge_c_per_m2, shorted=state.shorted,
              deposit_thickness_um=jnp.sum(state.xi) * dx2w,
              dissolved_thickness_um=jnp.sum(state.concentration) * dx2w)


def initial_frame(params: parameters.PhysicalParams, config: SimulationConfig, key) -> dict:
  """The t = 0 frame `rollout` would save (xi, concentration, potential_v, ... [ny, nx]) for the
  same key: a surrogate's first input, without stepping."""
  init_fn, _ = _model(config)
  coeffs, rates = coefficients_for(params, config)
  key_init, _ = jax.random.split(key)
  return _frame(init_fn(coeffs, rates, params.n_defects, key_init), config)


def rollout(params: parameters.PhysicalParams, config: SimulationConfig, key,
            current_schedule=None) -> Trajectory:
  """`run` without jit or validation: for callers that trace it themselves (a design's
  objective under their own jit/grad), optionally driven by a `current_schedule` (traceable
  time_s -> target current density A/m^2; `electroneutral.make_model`) instead of the config's
  protocol. Validate concrete inputs with `validate` first."""
  init_fn, step_fn = _model(config, current_schedule)
  coeffs, rates = coefficients_for(params, config)
  key_init, key_noise = jax.random.split(key)
  state = init_fn(coeffs, rates, params.n_defects, key_init)
  chunk = _chunk(config)

  @jax.checkpoint
  def run_chunk(state, _):
    def one(state, _):
      return step_fn(state, rates, jax.random.fold_in(key_noise, state.step)), None
    return jax.lax.scan(one, state, None, length=chunk)[0], None

  def run_frame(state, _):
    state = jax.lax.scan(run_chunk, state, None, length=config.steps_per_frame // chunk)[0]
    return state, _frame(state, config)

  first = _frame(state, config)
  _, rest = jax.lax.scan(run_frame, state, None, length=config.num_frames - 1)
  f = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
  dtype = jnp.dtype(config.dtype)
  observables = obs.all_observables(f['xi'], config.dx_um, config.electrode_height_um,
                                    softness_um=config.length_softness_um,
                                    charge_c_per_m2=f['charge_c_per_m2'])
  return Trajectory(
      time_s=f['time_s'], stage=f['stage'], xi=f['xi'], concentration=f['concentration'],
      potential_v=f['potential_v'], observables=observables,
      pixel_size_um=jnp.asarray(config.dx_um, dtype),
      electrode_height_um=jnp.asarray(config.electrode_height_um, dtype),
      voltage_v=f['voltage_v'], current_a_m2=f['current_a_m2'],
      deposit_thickness_um=f['deposit_thickness_um'],
      dissolved_thickness_um=f['dissolved_thickness_um'], shorted=f['shorted'])


_run_jit = jax.jit(rollout, static_argnames='config')


def run(params: parameters.PhysicalParams, config: SimulationConfig, key) -> Trajectory:
  """One rollout from t = 0 to config.t_end_s; frames every config.save_every_s.

  Args:
    params: `PhysicalParams` with scalar leaves (physical units).
    config: `SimulationConfig` (static).
    key: PRNG key: nuclei placement and Langevin noise (deterministic given the key).
  Validates (ValueError naming the field) when the values are concrete; under jit/jvp/grad the
  caller is responsible for having validated.
  """
  if _is_concrete(params):
    validate(params, config)
  return _run_jit(params, config, key)


def rollout_with_tangents(params: parameters.PhysicalParams, config: SimulationConfig, key
                          ) -> tuple[Trajectory, jax.Array]:
  """(`rollout`, d xi / d ln P_k [K, T, ny, nx]) for P_k in `CONTINUOUS_PARAMETERS`.

  One forward-mode pass (`jax.jvp`, the K directions vmapped, the primal computed once) through
  the whole rollout, with the solves' implicit derivatives: the simulator's exact tangents of
  every saved frame, which the derivative-informed loss (`dendrax/train/derivative_loss.py`)
  matches. About 20x the cost of the rollout (6 directions, 64 x 64, measured 2026-12-03).
  """
  params = jax.tree.map(lambda x: jnp.asarray(x, jnp.result_type(float)), params)
  def xi_and_trajectory(p):
    traj = rollout(p, config, key)
    return traj.xi, traj

  push = lambda t: jax.jvp(xi_and_trajectory, (params,), (t,), has_aux=True)
  _, d_xi, traj = jax.vmap(push, out_axes=(None, 0, None))(
      parameters.log_directions(params))
  return traj, d_xi


@functools.partial(jax.jit, static_argnames='config')
def _run_batch_tangents_jit(params, config, keys):
  return jax.vmap(rollout_with_tangents, in_axes=(0, None, 0))(params, config, keys)


def run_batch_with_tangents(params: parameters.PhysicalParams, config: SimulationConfig, keys
                            ) -> tuple[Trajectory, jax.Array]:
  """`run_batch` plus the xi tangents [B, K, T, ny, nx] of `rollout_with_tangents`."""
  _check_batch(params)
  if _is_concrete(params):
    validate(params, config)
  return _run_batch_tangents_jit(params, config, keys)


@functools.partial(jax.jit, static_argnames='config')
def _run_batch_jit(params, config, keys):
  return jax.vmap(rollout, in_axes=(0, None, 0))(params, config, keys)


def run_batch(params: parameters.PhysicalParams, config: SimulationConfig, keys) -> Trajectory:
  """`run` vmapped over a batch: `params` leaves `[B]`, `keys` `[B]` (or raw `[B, 2]`)."""
  _check_batch(params)
  if _is_concrete(params):
    validate(params, config)
  return _run_batch_jit(params, config, keys)


def _check_batch(params: parameters.PhysicalParams) -> None:
  b = np.shape(params.temperature_k)
  if len(b) != 1:
    raise ValueError(f'run_batch: params leaves must have shape [B]; temperature_k has {b}')
  for name in parameters.PARAMETER_NAMES:
    if np.shape(getattr(params, name)) != b:
      raise ValueError(f'run_batch: params.{name} has shape {np.shape(getattr(params, name))}, '
                       f'expected {b}')
