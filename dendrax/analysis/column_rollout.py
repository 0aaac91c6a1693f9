r"""Fine-grained rollouts of the electroneutral model for the validation checks.

`simulate.run` saves whole frames every `save_every_s`; the analytic checks (Sand, Cottrell,
limiting current, Tafel) need the electrode potential, the current and the electrolyte next to
the interface at many times. `rollout` runs the model's own `step_fn` (no copy of the scheme)
under `lax.scan` and records, every `record_every` steps, one column of the fields (x index 0:
the 1-D cases use a narrow, x-uniform strip) and the scalars of the state.

`interface_values` reads the electrolyte state at the interface of a 1-D column: the position of
the xi = 1/2 level (linear interpolation between cell centres) and c~, phi there.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import electroneutral
from dendrax.physics import electrolytes
from dendrax.physics import observables
from dendrax.physics import parameters
from dendrax.physics import simulate


@dataclasses.dataclass(frozen=True)
class ColumnRecord:
  """Recorded every `record_every` steps (R records; ny cells of the column at x index 0)."""
  time_s: np.ndarray          # [R]
  voltage_v: np.ndarray       # [R] electrode potential of the step
  current_a_m2: np.ndarray    # [R] Faradaic current density of the step (cathodic > 0)
  charge_c_per_m2: np.ndarray  # [R] integral of the current
  xi: np.ndarray              # [R, ny]
  concentration: np.ndarray   # [R, ny] c~ = c / c0 (electrolyte field, not times eps)
  potential_v: np.ndarray     # [R, ny] electrolyte potential phi
  deposit_um: np.ndarray      # [R] metal per electrode width: sum(xi) dx^2 / width
  salt_um: np.ndarray         # [R] salt per width, sum(eps c~) dx^2 / width (c~ um)
  front_max_um: np.ndarray    # [R] tallest deposit: max over x of the front height (2-D runs)
  front_mean_um: np.ndarray   # [R] mean over x of the front height
  final_state: object = None  # electroneutral.State after the last step (full fields)
  coefficients: object = None  # the ElectrolyteCoefficients of the run


def params_for(current_density_ma_cm2: float = 10.0, concentration_mol_m3: float = 1000.0,
               temperature_k: float = 298.15, chemistry: str = 'Li',
               **overrides) -> parameters.PhysicalParams:
  """Physical parameters that put the preset electrolyte at its reference state (D, t+, kappa,
  i0 exactly the tabulated ones at T = T_ref) with galvanostatic current J (mA/cm^2)."""
  el = electrolytes.get_electrolyte(chemistry)
  d = dict(temperature_k=temperature_k, concentration_gradient_mol_m3_per_um=1.0,
           field_strength_kv_per_m=electrolytes.field_for_current_density(current_density_ma_cm2),
           ion_concentration_mol_m3=concentration_mol_m3, surface_energy_j_m2=0.5,
           fluidity_per_pa_s=el.reference_fluidity_per_pa_s, n_defects=0.0)
  d.update(overrides)
  return parameters.PhysicalParams(**d)


def column_config(**overrides) -> simulate.SimulationConfig:
  """A flat electrode in a narrow x-periodic strip (1-D physics): no nuclei, no noise, float64."""
  d = dict(model='electroneutral', nx=4, ny=400, dx_um=1.0, dt_s=0.05, t_end_s=1.0,
           save_every_s=1.0, interface_width_um=2.5, electrode_height_um=6.0,
           defect_radius_um=1.0, max_defects=0, noise_amplitude=0.0,
           protocol='constant_current', cc_current_fraction=1.0, concentration_top='bulk',
           potential_iterations=60, transport_iterations=60, control_iterations=12,
           short_circuit_fraction=1.0, dtype='float64')
  d.update(overrides)
  return simulate.SimulationConfig(**d).checked()


@functools.partial(jax.jit, static_argnames=('config', 'num_records', 'record_every'))
def _rollout(params, config, num_records, record_every, state0=None):
  init_fn, step_fn = electroneutral.make_model(config)
  coeffs, _ = simulate.coefficients_for(params, config)
  key = jax.random.key(0)
  state = init_fn(coeffs, params.n_defects, key) if state0 is None else state0
  eps_min = config.electrolyte_fraction_min
  dx2w = config.dx_um**2 / config.width_um

  front = functools.partial(observables.front_height_um, pixel_size_um=config.dx_um)

  def record(state):
    eps = electroneutral.electrolyte_fraction(state.xi, eps_min)
    return dict(time_s=state.time_s, voltage_v=state.voltage_v,
                current_a_m2=state.current_a_m2, charge_c_per_m2=state.charge_c_per_m2,
                xi=state.xi[:, 0], concentration=state.concentration[:, 0],
                potential_v=state.potential_v[:, 0],
                deposit_um=jnp.sum(state.xi) * dx2w,
                salt_um=jnp.sum(eps * state.concentration) * dx2w,
                front_max_um=jnp.max(front(state.xi)), front_mean_um=jnp.mean(front(state.xi)))

  def chunk(state, _):
    state = jax.lax.scan(lambda s, _: (step_fn(s, coeffs, jax.random.fold_in(key, s.step)),
                                       None), state, None, length=record_every)[0]
    return state, record(state)

  first = record(state)
  last, rest = jax.lax.scan(chunk, state, None, length=num_records)
  return (jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, rest),
          last, coeffs)


def rollout(params: parameters.PhysicalParams, config: simulate.SimulationConfig,
            t_end_s: float, record_every: int = 1,
            check_accuracy_bound: bool = True, state0=None) -> ColumnRecord:
  """Runs from t = 0 to about t_end_s (whole records) and returns the `ColumnRecord`.

  check_accuracy_bound: `simulate.validate` (dt against `simulate.accuracy_dt_bound`). Off for
    the transport-limited potentiostatic checks: the bound assumes the Butler-Volmer current of
    fresh electrolyte at cv_voltage_v (~1e7 A/m^2 at -0.8 V), while the measured current is the
    diffusion-limited one (~1e2-1e3 A/m^2), which the chosen dt resolves.
  """
  if check_accuracy_bound:
    simulate.validate(params, config)
  else:
    config.checked()
  steps = max(1, int(round(t_end_s / config.dt_s)))
  num_records = max(1, steps // record_every)
  with jax.enable_x64(config.dtype == 'float64'):
    dtype = jnp.dtype(config.dtype)
    p = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), params)
    if state0 is not None:
      state0 = jax.tree_util.tree_map(jnp.asarray, state0)
    out, last, coeffs = jax.device_get(
        _rollout(p, config, num_records, record_every, state0))
  return ColumnRecord(**{k: np.asarray(v) for k, v in out.items()}, final_state=last,
                      coefficients=coeffs)


def interface_values(xi_col, field_col, dx_um: float):
  """(y of the xi = 1/2 level in um, field there) on each record of a 1-D column.

  xi_col, field_col: [R, ny]. The level is the last crossing from xi >= 1/2 to xi < 1/2 going up;
  the field is interpolated linearly between the two cell centres.
  """
  xi_col = np.atleast_2d(xi_col)
  field_col = np.atleast_2d(field_col)
  ys, vals = [], []
  for xi, f in zip(xi_col, field_col):
    above = np.nonzero(xi >= 0.5)[0]
    k = int(above[-1]) if above.size else 0
    k = min(k, xi.size - 2)
    w = (xi[k] - 0.5) / (xi[k] - xi[k + 1]) if xi[k] != xi[k + 1] else 0.0
    ys.append((k + 0.5 + w) * dx_um)
    vals.append((1.0 - w) * f[k] + w * f[k + 1])
  return np.asarray(ys), np.asarray(vals)
