r"""The nonlinear phase-field electrodeposition model (Chen 2015 / Hong 2018) as (init_fn, step_fn).

Equations (1)-(4) and the parameter mapping are in `coefficients`; the discretisation of one step
of length dt (docs/physics.md has the same text for re-implementers):

1. Potential: `potential.solve` (warm-started PCG) for div(s grad phi) = q_phi * (d xi/dt)_prev with
   s = 1 + (rho - 1) h(clip(xi, 0, 1)), phi = V on the electrode face, 0 on the bulk face.
2. Butler-Volmer with eta = phi, locally implicit in c~ (the 76x consumption c_s/c0 makes the
   reaction stiff): c_r = (c~ + r dt k A) / (1 + r dt k B), R = k (c_r B - A), with
   k = L_e h'(xi), A = exp((1-alpha) f eta), B = exp(-alpha f eta), r = c_s/c0. A step can never
   consume more ions than a cell holds (dt R <= c~ / r).
3. Order parameter, stabilised semi-implicit (S = 2 L_s W bounds |L_s W g''|):
   (1 + dt S - dt L_s kappa Lap) xi' = xi + dt [S xi - L_s W g'(xi)
        + L_s kappa (A_aniso(xi) - Lap xi) + R] + sqrt(dt) a_noise zeta 16 xi^2 (1-xi)^2
   Lap the 5-point Laplacian (Neumann in y, periodic in x), inverted exactly by `spectral`;
   A_aniso = `anisotropy.anisotropic_gradient_term` (its excess over Lap is explicit).
   zeta ~ U(-sqrt 3, sqrt 3) (unit variance; uniform like MOOSE's LangevinNoise, and ~3x cheaper
   to draw than a normal) per cell from the step's PRNG key.
4. Ion consumption, exactly the xi change: c* = c~ - r (xi' - xi).
5. Transport: backward Euler for the variable-D diffusion, explicit migration (`transport`):
   (1 - dt div D grad) c~' = c* + dt div(D c* f grad phi), solved by warm-started PCG and applied
   in flux form on faces (no flux at y = 0; c~ = 1 on the bulk face, or no flux when 'closed').
   The explicit migration needs dt <~ 2 D / u^2, u = D f E.

Total Li, sum(c~ + r xi), changes only by the bulk-face flux, which is accumulated as the charge
passed (n F c0 x flux): Faraday's law and conservation hold to rounding by construction of 4-5.
The reported current is that flux's current (the cell current: cations carry all of it here), so
the charge is exactly the sum of current x dt over the steps. The Butler-Volmer term R is not: it
differs from it by the cations piling up in (or leaving) the electrolyte, which this model's lack
of electroneutrality allows (on the tiny test grid at -0.07 V, 37 against 4700 A/m^2).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from dendrax.physics import anisotropy
from dendrax.physics import coefficients as coef
from dendrax.physics import krylov
from dendrax.physics import potential
from dendrax.physics import protocols
from dendrax.physics import spectral
from dendrax.physics import stencils
from dendrax.physics.config import SimulationConfig

XI_BC = ('neumann', 'periodic')
HPRIME_MAX = 1.875        # max of h'(xi) = 30 xi^2 (1 - xi)^2, at xi = 1/2
_SQRT3 = 3.0**0.5         # U(-sqrt 3, sqrt 3) has unit variance


def interpolation(xi):
  """h(xi) = xi^3 (6 xi^2 - 15 xi + 10): 0 in the electrolyte, 1 in the metal."""
  return xi**3 * (6.0 * xi**2 - 15.0 * xi + 10.0)


def interpolation_derivative(xi):
  """h'(xi) = 30 xi^2 (1 - xi)^2."""
  return 30.0 * xi**2 * (1.0 - xi)**2


def conductivity(xi, conductivity_ratio):
  """s = sigma / sigma_l = 1 + (rho - 1) h(clip(xi, 0, 1)): 1 in the electrolyte, rho in the metal.

  h is evaluated at the clipped xi because xi undershoots 0 (and overshoots 1) by a few per cent
  at a moving front and h(-e) = -10 e^3 + O(e^4): with rho = 1e3, xi = -0.05 gave s < 0 on a
  face, an indefinite potential operator on which PCG diverges (regression test in
  tests/physics/test_potential.py). Hong & Viswanathan's input evaluates S1 h + S2 (1 - h) at the
  unclipped h (docs/hong2018.md lists it as a deviation we fix).
  """
  return 1.0 + (conductivity_ratio - 1.0) * interpolation(jnp.clip(xi, 0.0, 1.0))


def double_well_derivative(xi):
  """g'(xi) for g = xi^2 (1 - xi)^2 (the barrier height W multiplies it)."""
  return 2.0 * xi * (1.0 - xi) * (1.0 - 2.0 * xi)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Rates:
  """The rates the step uses, derived from `coefficients.ModelCoefficients` (um, s, V, c/c0).

  Scalar leaves (or [B] under vmap), differentiable w.r.t. the physical parameters.
  """
  f_per_v: jax.Array                 # nF/(RT), 1/V
  alpha: jax.Array                   # charge-transfer coefficient
  barrier_rate_per_s: jax.Array      # L_s W
  gradient_diffusivity_um2_s: jax.Array  # L_s kappa
  reaction_rate_per_s: jax.Array     # L_e
  reference_ratio: jax.Array         # c0 / c_ref in the Butler-Volmer reduction term
  electrolyte_diffusivity_um2_s: jax.Array  # D_l
  electrode_diffusivity_um2_s: jax.Array    # D_s
  site_ratio: jax.Array              # c_s / c0
  conductivity_ratio: jax.Array      # rho = sigma_s / sigma_l used in the potential equation
  potential_source_v_s_um2: jax.Array  # (c_s/c0) / (f D_l): charge balance source per d xi/dt
  electrolyte_conductivity_s_m: jax.Array  # sigma_l = n F f D_l c0 (Nernst-Einstein), S/m
  applied_voltage_v: jax.Array       # V_cv = -E H
  charge_density_c_m3: jax.Array     # n F c0: turns c~ um / m^2 into C/m^2 (times 1e-6)


def rates_from(coeffs: coef.ModelCoefficients, config: SimulationConfig) -> Rates:
  """`Rates` of `coeffs` under `config` (adds the conductivity ratio and derived quantities)."""
  chem = coef.get_chemistry(config.chemistry)
  f = coeffs.thermal_factor_per_v
  d_l = coeffs.liquid_diffusivity_um2_s
  c0 = coeffs.reference_ratio * coef.REFERENCE_CONCENTRATION_MOL_M3
  nfc0 = chem.electrons * coef.FARADAY * c0
  return Rates(
      f_per_v=f, alpha=coeffs.transfer_coefficient,
      barrier_rate_per_s=coeffs.interface_mobility_per_s * coeffs.barrier_height,
      gradient_diffusivity_um2_s=coeffs.interface_mobility_per_s * coeffs.gradient_coefficient_um2,
      reaction_rate_per_s=coeffs.reaction_rate_per_s, reference_ratio=coeffs.reference_ratio,
      electrolyte_diffusivity_um2_s=d_l, electrode_diffusivity_um2_s=coeffs.solid_diffusivity_um2_s,
      site_ratio=coeffs.site_ratio,
      conductivity_ratio=jnp.full_like(f, config.conductivity_ratio),
      potential_source_v_s_um2=coeffs.site_ratio / (f * d_l),
      electrolyte_conductivity_s_m=nfc0 * f * d_l * 1e-12,
      applied_voltage_v=coeffs.cell_voltage_v, charge_density_c_m3=nfc0)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class State:
  """Fields and bookkeeping of one simulation at one time. Maps are `[ny, nx]`."""
  xi: jax.Array               # order parameter, 1 metal, 0 electrolyte
  concentration: jax.Array    # c~ = c / c0
  potential_v: jax.Array      # phi, V
  dxi_dt: jax.Array           # last step's d xi / dt, 1/s (source of the potential equation)
  voltage_v: jax.Array        # electrode potential V(t), V
  stage: jax.Array            # int32 index into parameters.STAGES
  current_a_m2: jax.Array     # last step's current density through the bulk face, A/m^2
  charge_c_per_m2: jax.Array  # charge through the bulk face since t = 0, C/m^2 (sum current dt)
  time_s: jax.Array
  step: jax.Array             # int32
  shorted: jax.Array          # bool: the deposit reached short_circuit_fraction of the height


def cell_centres(config: SimulationConfig, dtype):
  """(y[ny, 1], x[1, nx]) cell-centre coordinates, um (y = 0 the electrode face)."""
  y = (jnp.arange(config.ny, dtype=dtype) + 0.5) * config.dx_um
  x = (jnp.arange(config.nx, dtype=dtype) + 0.5) * config.dx_um
  return y[:, None], x[None, :]


def _profile(distance_um, width_um):
  """Equilibrium tanh profile: 1 inside (distance < 0), 0 outside; 10-90% width ~ width_um/2."""
  return 0.5 * (1.0 - jnp.tanh(2.0 * distance_um / width_um))


def uniform_draw(key, shape, dtype, minval=0.0, maxval=1.0):
  """U[minval, maxval) drawn in float32 and cast to `dtype`: the nuclei and the noise are the
  same realisation in float32 and float64 (drawn in float64, JAX's bits give another one, and
  a precision comparison past Sand's time then compared noise realisations: docs/physics.md)."""
  return jax.random.uniform(key, shape, jnp.float32, minval, maxval).astype(dtype)


def initial_order_parameter(n_defects, config: SimulationConfig, key, dtype):
  """Flat electrode of thickness electrode_height_um plus round(n_defects) semicircular nuclei.

  Nucleus k (k < max_defects) sits on the surface at x_k ~ U[0, width) drawn from `key`, and is
  present iff k < round(n_defects) (a discrete, key-derived placement: no derivative w.r.t.
  n_defects). Shapes are joined by the smooth union 1 - prod(1 - xi_i).
  """
  y, x = cell_centres(config, dtype)
  w = config.width_um
  xi_flat = _profile(y - config.electrode_height_um, config.interface_width_um)
  xk = uniform_draw(key, (config.max_defects,), dtype) * w
  count = jnp.round(jax.lax.stop_gradient(jnp.asarray(n_defects, dtype)))
  present = (jnp.arange(config.max_defects) < count).astype(dtype)
  dxp = jnp.mod(x[None] - xk[:, None, None] + 0.5 * w, w) - 0.5 * w          # periodic x
  r = jnp.sqrt(dxp**2 + (y[None] - config.electrode_height_um)**2)
  nuclei = _profile(r - config.defect_radius_um, config.interface_width_um) * present[:, None, None]
  return 1.0 - (1.0 - xi_flat) * jnp.prod(1.0 - nuclei, axis=0)


def freeze_if_shorted(state: State, new: State, y_centres, short_height_um) -> State:
  """`new`, or once the deposit front (xi > 1/2) of `new` passes `short_height_um` (or the cell
  was shorted already), `state` with only the clock advanced: a shorted cell stops plating, as a
  real one does. The current of a frozen step is 0, so the charge stays its integral. Both
  models' step_fn end here; `y_centres` is `cell_centres(...)[0]`."""
  front = jnp.max(jnp.where(new.xi > 0.5, y_centres, 0.0))
  shorted = state.shorted | (front > short_height_um)
  frozen = jax.tree_util.tree_map(lambda a, b: jnp.where(shorted, a, b), state, new)
  return dataclasses.replace(frozen, time_s=new.time_s, step=new.step, shorted=shorted,
                             current_a_m2=jnp.where(shorted, 0.0, new.current_a_m2))


def make_model(config: SimulationConfig):
  """Returns `(init_fn, step_fn)`.

  init_fn(coeffs, rates, n_defects, key) -> State
  step_fn(state, rates, key) -> State        (one step of config.dt_s)
  `coeffs` is `coefficients.ModelCoefficients`, `rates = rates_from(coeffs, config)` (scalar
  leaves), explicit arguments so jvp/grad reach them.
  """
  dtype = jnp.dtype(config.dtype)
  dx, dt = config.dx_um, config.dt_s
  chem = coef.get_chemistry(config.chemistry)
  xi_solve = spectral.make_helmholtz_solver(config.ny, config.nx, dx, ('neumann', 'neumann'),
                                            dtype=dtype)
  closed = config.concentration_top == 'closed'
  c_solve = spectral.make_helmholtz_solver(
      config.ny, config.nx, dx, ('neumann', 'neumann' if closed else 'dirichlet'), dtype=dtype)
  pot = potential.make_problem(config.ny, config.nx, dx, config.potential_top)

  def init_fn(coeffs, rates, n_defects, key) -> State:
    xi = initial_order_parameter(n_defects, config, key, dtype)
    y, _ = cell_centres(config, dtype)
    c_bulk = coef.initial_concentration_profile(config.height_um - y, coeffs)
    c = jnp.broadcast_to(c_bulk, xi.shape)
    v, stage = protocols.initial_control(rates, config)
    v = jnp.asarray(v, dtype)
    if config.potential_top == 'grounded':
      guess = v * (1.0 - jnp.broadcast_to(y, xi.shape) / config.height_um)
    else:
      guess = jnp.full(xi.shape, v, dtype)
    phi, _ = potential.solve(guess, conductivity(xi, rates.conductivity_ratio),
                             jnp.zeros_like(xi), v, pot, config.initial_potential_iterations)
    zero = jnp.zeros((), dtype)
    return State(xi=xi, concentration=c.astype(dtype), potential_v=phi,
                 dxi_dt=jnp.zeros_like(xi), voltage_v=v, stage=stage, current_a_m2=zero,
                 charge_c_per_m2=zero, time_s=zero, step=jnp.int32(0),
                 shorted=jnp.asarray(False))

  def diffusivity(xi, coeffs):
    # xi overshoots [0, 1] by a few per cent at a fast front and h(1 + e) = 1 + 10 e^3 > 1
    # would make D negative (measured: xi = 1.06 gave D < 0 and a NaN step); clip first.
    h = interpolation(jnp.clip(xi, 0.0, 1.0))
    return coeffs.electrode_diffusivity_um2_s * h + coeffs.electrolyte_diffusivity_um2_s * (1 - h)

  def drift(d_face, grad_phi, f):
    """Migration velocity D f grad(phi) on faces, clipped to the explicit-stability speed.

    Explicit central migration with implicit diffusion is stable for dt <= 2 D / u^2. The bulk
    field always satisfies it (`simulate.validate` checks), but as a dendrite nears the top the
    field in the shrinking gap grows without bound and the scheme would blow up (negative c).
    Clipping |u| at sqrt(2 D / dt) keeps it stable; it is inactive wherever the bound holds, so
    it changes nothing in the regime the validation covers (docs/physics.md).
    """
    u = d_face * f * grad_phi
    u_max = jnp.sqrt(2.0 * d_face / dt)
    return jnp.clip(u, -u_max, u_max)

  def face_fluxes(c, phi, d, coeffs, c_top, diffusion: bool, migration: bool):
    """Face fluxes D grad c (diffusion) and/or D c f grad phi (migration), x and y faces.

    Returns (x-face flux [ny, nx] at i+1/2, y-face flux [ny + 1, nx]); y = 0 face zero (no
    flux into the current collector), top face from c~ = c_top on the bulk face (0 if closed).
    """
    f = coeffs.f_per_v
    d_xf = 0.5 * (d + jnp.roll(d, -1, axis=-1))
    d_yf = 0.5 * (d[1:] + d[:-1])
    g_x = jnp.zeros_like(c)
    g_in = jnp.zeros_like(c[1:])
    g_top = jnp.zeros_like(c[:1])
    if diffusion:
      g_x = g_x + d_xf * (jnp.roll(c, -1, axis=-1) - c) / dx
      g_in = g_in + d_yf * (c[1:] - c[:-1]) / dx
      if not closed:
        g_top = g_top + d[-1:] * (c_top - c[-1:]) / (0.5 * dx)
    if migration:
      c_xf = 0.5 * (c + jnp.roll(c, -1, axis=-1))
      c_yf = 0.5 * (c[1:] + c[:-1])
      g_x = g_x + c_xf * drift(d_xf, (jnp.roll(phi, -1, axis=-1) - phi) / dx, f)
      g_in = g_in + c_yf * drift(d_yf, (phi[1:] - phi[:-1]) / dx, f)
      if not closed and config.potential_top == 'grounded':
        g_top = g_top + 1.0 * drift(d[-1:], (0.0 - phi[-1:]) / (0.5 * dx), f)
    g_y = jnp.concatenate([jnp.zeros_like(g_top), g_in, g_top], axis=0)
    return g_x, g_y

  def divergence(g_x, g_y):
    return (g_x - jnp.roll(g_x, 1, axis=-1) + g_y[1:] - g_y[:-1]) / dx

  def transport(c_star, xi, phi, coeffs):
    """Backward-Euler variable-D diffusion + explicit migration, in exactly conservative form.

    Solves (1 - dt div D grad) c~' = c* + dt div(D c* f grad phi) by `transport_iterations`
    PCG steps (preconditioner: the exact inverse with D = D_l; warm start: the semi-implicit
    D_l step). The ion content PCG leaves unbalanced (its residual's sum) is returned to the
    electrolyte with weight 1 - h, so the total c~ changes by exactly dt x the bulk-face flux
    however far PCG is from convergence. Returns (c~', inward flux through the bulk face [nx]).
    """
    d = diffusivity(xi, coeffs)
    d_l = coeffs.electrolyte_diffusivity_um2_s
    mig = face_fluxes(c_star, phi, d, coeffs, 1.0, diffusion=False, migration=True)
    rhs = c_star + dt * divergence(*mig)
    # Warm start: D_l implicit, (D - D_l) explicit (exact in the electrolyte).
    corr_x, corr_y = face_fluxes(c_star, phi, d - d_l, coeffs, 1.0, diffusion=True,
                                 migration=False)
    rhs0 = rhs + dt * divergence(corr_x, corr_y)
    if not closed:
      rhs0 = rhs0.at[-1].add(dt * d_l * 2.0 / dx**2)
    c0 = c_solve(rhs0, 1.0, dt * d_l)
    homog = lambda c: c - dt * divergence(*face_fluxes(c, phi, d, coeffs, 0.0, True, False))
    lift = dt * divergence(*face_fluxes(jnp.zeros_like(c_star), phi, d, coeffs, 1.0, True, False))
    c_pcg, _ = krylov.pcg(homog, rhs + lift, c0, lambda r: c_solve(r, 1.0, dt * d_l),
                          config.transport_iterations)
    dif = face_fluxes(c_pcg, phi, d, coeffs, 1.0, diffusion=True, migration=False)
    g_top = dif[1][-1] + mig[1][-1]
    # Ion balance: what the fluxes say the cells hold minus what PCG returned (= -sum of the
    # linear residual); put back on the electrolyte, weighted by 1 - h, so the balance is exact.
    defect = jnp.sum(c_star) + dt * jnp.sum(g_top) / dx - jnp.sum(c_pcg)
    w = 1.0 - interpolation(jnp.clip(xi, 0.0, 1.0))     # >= 0 where xi overshoots 1
    c_new = c_pcg + defect * w / jnp.sum(w)
    return c_new, g_top

  y_centres = cell_centres(config, dtype)[0]
  short_height = config.short_circuit_fraction * config.height_um

  def step_fn(state: State, coeffs, key) -> State:
    """One step, frozen once the cell is shorted (`freeze_if_shorted`)."""
    return freeze_if_shorted(state, _step(state, coeffs, key), y_centres, short_height)

  def _step(state: State, coeffs, key) -> State:
    xi, c = state.xi, state.concentration
    voltage, stage = protocols.update_control(state.voltage_v, state.stage, state.time_s,
                                              state.current_a_m2, coeffs, config)
    # 1. Potential.
    s = conductivity(xi, coeffs.conductivity_ratio)
    phi, _ = potential.solve(state.potential_v, s, coeffs.potential_source_v_s_um2 * state.dxi_dt,
                             voltage, pot, config.potential_iterations)
    # 2. Butler-Volmer, locally implicit in c~.
    f, alpha, r = coeffs.f_per_v, coeffs.alpha, coeffs.site_ratio
    k = coeffs.reaction_rate_per_s * interpolation_derivative(xi)
    a_ox = jnp.exp((1.0 - alpha) * f * phi)
    # Reduction ~ (c0/c_ref) c exp(-alpha f eta). Written with inv_b = 1/B, which underflows to 0
    # instead of overflowing when |eta| is large (Zn at -3 V: alpha f |eta| ~ 120).
    inv_b = jnp.exp(alpha * f * phi) / coeffs.reference_ratio
    c_r_times_b = (c + r * dt * k * a_ox) / (inv_b + r * dt * k + 1e-30)
    reaction = k * (c_r_times_b - a_ox)
    # 3. Order parameter.
    stab = 2.0 * coeffs.barrier_rate_per_s
    lap = stencils.laplacian(xi, dx, XI_BC)
    aniso = anisotropy.anisotropic_gradient_term(
        xi, dx, XI_BC, eps=chem.anisotropy_eps, mode=chem.anisotropy_mode)
    drive = (-coeffs.barrier_rate_per_s * double_well_derivative(xi)
             + coeffs.gradient_diffusivity_um2_s * (aniso - lap) + reaction)
    rhs = xi + dt * (stab * xi + drive)
    if config.noise_amplitude > 0:
      rhs = rhs + (config.noise_amplitude * jnp.sqrt(dt) * 16.0 * xi**2 * (1.0 - xi)**2
                   * uniform_draw(key, xi.shape, dtype, -_SQRT3, _SQRT3))
    xi_new = xi_solve(rhs, 1.0 + dt * stab, dt * coeffs.gradient_diffusivity_um2_s)
    # 4. Consumption.
    d_xi = xi_new - xi
    c_star = c - r * d_xi
    # 5. Transport.
    c_new, g_top = transport(c_star, xi, phi, coeffs)
    # Bookkeeping: the cell current, n F c0 x the mean inward cation flux through the bulk face
    # (c~ um / s; cations carry all the current in this model, so this is the current the
    # external circuit carries), and the charge, its integral over the steps.
    current = coeffs.charge_density_c_m3 * 1e-6 * jnp.mean(g_top)
    charge = state.charge_c_per_m2 + dt * current
    return State(xi=xi_new, concentration=c_new, potential_v=phi, dxi_dt=d_xi / dt,
                 voltage_v=voltage, stage=stage, current_a_m2=current,
                 charge_c_per_m2=charge, time_s=((state.step + 1) * dt).astype(dtype), step=state.step + 1,
                 shorted=state.shorted)

  return init_fn, step_fn


def total_li_um(state_xi, state_c, coeffs, dx_um, width_um):
  """Total Li per electrode width in c~ um (dissolved c~ + metal (c_s/c0) xi), for checks."""
  return (jnp.sum(state_c) + coeffs.site_ratio * jnp.sum(state_xi)) * dx_um**2 / width_um
