r"""Electroneutral binary-electrolyte phase-field electrodeposition, as (init_fn, step_fn).

Fields on `[ny, nx]` (y = 0 the current collector, x periodic): the order parameter xi (1 metal,
0 electrolyte), the salt concentration c~ = c / c0 (cation = anion: electroneutral), and the
electrolyte potential phi (V, measured by a reference electrode of the same metal in the bulk).
The metal is an equipotential at the electrode potential V(t).

Equations (docs/physics.md derives them; Newman's concentrated-solution form with a unit
thermodynamic factor, in the smoothed-boundary form with electrolyte fraction
eps = eps_min + (1 - eps_min)(1 - h(xi))):

    d xi/dt = -L_s [W g'(xi) - kappa div(a(n)^2 grad xi)] + R,
    R       = k0 h'(xi) c~^(1-alpha) [exp(-alpha f eta) - exp((1-alpha) f eta)],  eta = V - phi
    d c~/dt = div(eps D grad c~) - t_- r d xi/dt                          (salt; r = c_s / c0)
    div(eps sigma c~ grad phi) = r d xi/dt + div(eps (2 sigma t_- / f) grad c~)    (charge)

The second line is the anion balance with the current eliminated (t_- constant), so the salt
equation carries no migration term; the third is charge conservation: ionic current
i = -kappa grad phi + (2 kappa t_- / f) grad ln c equals the Faradaic source, so ohmic and
diffusion currents are one current. R with eta against the bulk reference is Butler-Volmer with
the Nernst shift of the local equilibrium potential built in (c~^(1-alpha) prefactor; the
identity with Chen 2015's form is in docs/physics.md).

One step of dt (IMEX; every implicit solve is a fixed number of warm-started PCG iterations):
1. Control: galvanostatic stages solve sum(R) = J / (z F c_s) for V by Newton on the scalar V
   (exact current every step); potentiostatic stages hold V.
2. Reaction, locally implicit in c~ (cathodic part), so one step cannot take more salt than a
   cell holds: c_r = (c~ + tau A') / (1 + tau B'), tau = t_- r dt.
3. Interface relaxation: stabilised semi-implicit solve (exact spectral inverse), then the
   reaction increment dt R added *outside* the stabilisation, so the growth rate is not slowed
   by the factor 1 + 2 dt L_s W (which the hong2018 step does: docs/physics.md).
4. Salt: backward Euler, conservative faces; bottom no flux, top to the bulk through the
   diffusion layer L_N (or Dirichlet / closed).
5. Potential: charge balance with the step's d xi / dt and the new c~ (phi = 0 on the top face).
The potential enters the next step's eta (one step lag; dt-convergence measured in docs).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from dendrax.physics import electrodeposition as ed
from dendrax.physics import electrolytes as el
from dendrax.physics import fluxes
from dendrax.physics import protocols
from dendrax.physics import spectral
from dendrax.physics import stencils
from dendrax.physics.config import SimulationConfig

# Conductivity floor: sigma c~ is evaluated at max(c~, C_FLOOR) (a depleted cell still conducts
# by the diffusion current; the floor only keeps the operator definite).
C_FLOOR = 1e-3
_SQRT3 = 3.0**0.5

State = ed.State


def electrolyte_fraction(xi, eps_min):
  """eps = eps_min + (1 - eps_min)(1 - h(clip(xi))): 1 in the electrolyte, eps_min in metal."""
  h = ed.interpolation(jnp.clip(xi, 0.0, 1.0))
  return eps_min + (1.0 - eps_min) * (1.0 - h)


def interface_density(xi, width_um):
  """delta(xi) = 4 xi (1 - xi) / l: |grad xi| of the equilibrium tanh profile, integrating to 1
  across the interface, and the profile's translation mode, so a reaction distributed with it
  moves the interface without changing its shape (the relaxation then neither adds nor removes
  any of it: the deposited volume equals the reacted one)."""
  xi = jnp.clip(xi, 0.0, 1.0)
  # Zero below xi = 1e-6: the weight is linear in xi, so round-off xi (~1e-16) left by the
  # spectral relaxation in the bulk electrolyte would otherwise grow exponentially under a
  # cathodic potential and nucleate spurious deposits at the top of the window (measured: a
  # parasitic layer took current from 0.45 t_Sand at 40 mA/cm^2).
  return jnp.where(xi > 1e-6, 4.0 * xi * (1.0 - xi) / width_um, 0.0)


def reaction_terms(xi, c, v, phi, coeffs, tau, noise=None, capillary_v=0.0):
  """Butler-Volmer rate R (1/s) with the cathodic part implicit in c~ over `tau` (s c~ per 1/s).

  Returns (R, c_r): R = k delta(xi) [B c_r c~^-alpha - A c~^(1-alpha)], c_r = c~ - tau R, with
  eta = V - phi + capillary_v (the Gibbs-Thomson shift of the metal's equilibrium potential).
  """
  f, alpha = coeffs.f_per_v, coeffs.alpha
  k = coeffs.reaction_velocity_um_s * interface_density(xi, coeffs.interface_width_um)
  if noise is not None:
    k = k * noise
  # f eta bounded at +-80 (e^80 ~ 1e35 still fits float32): beyond it the rates are transport-
  # limited anyway, and the bound keeps exp finite when a controller runs into its limit.
  f_eta = jnp.clip(f * (v - phi + capillary_v), -80.0, 80.0)
  c_pos = jnp.maximum(c, 0.0)
  # Anodic rate A c~^(1-alpha) (explicit, adds salt) and the cathodic rate per c~ written through
  # its inverse 1/B = exp(alpha f eta) c~^alpha / k, which goes to infinity (not 0 * inf) where
  # k = 0 and stays finite when B overflows: B c_r = (c~ + tau A) / (tau + 1/B).
  anodic = k * jnp.exp((1.0 - alpha) * f_eta) * (c_pos + 1e-12)**(1.0 - alpha)
  # Where k = 0 (outside the interface) 1/B would overflow and poison tangents with inf * 0:
  # divide by 1 there and zero the rate (the double-where keeps jvp and grad finite).
  active = k > 0
  inv_b = jnp.exp(alpha * f_eta) * (c_pos + 1e-12)**alpha / jnp.where(active, k, 1.0)
  cathodic = jnp.where(active, (c_pos + tau * anodic) / (tau + inv_b), 0.0)
  c_r = c_pos + tau * anodic - tau * cathodic
  return cathodic - anodic, c_r


def profile_curvature_term(xi, dx):
  """(|grad xi| div(n), div(n)), n = grad xi / |grad xi|: the curvature part of lap(xi), which the
  profile relaxation subtracts so that it keeps the tanh profile without moving the interface
  by curvature (Sun & Beckermann, J. Comput. Phys. 220 (2007) 626), and the curvature itself
  (-div n is the metal's mean curvature, 1/um). Face normals from two-point differences."""
  bc = ed.XI_BC
  (gx_x, gy_x), (gx_y, gy_y) = stencils.face_gradients(xi, dx, bc)
  tiny = 1e-6 / dx
  nx_x = gx_x / jnp.sqrt(gx_x**2 + gy_x**2 + tiny**2)
  ny_y = gy_y / jnp.sqrt(gx_y**2 + gy_y**2 + tiny**2)
  curvature = stencils.divergence_of_face_fluxes(nx_x, ny_y, dx, bc)
  gy, gx = stencils.gradient(xi, dx, bc)
  # sqrt has an infinite derivative at 0 (flat regions): regularise like the face normals.
  return jnp.sqrt(gx**2 + gy**2 + tiny**2) * curvature, curvature


def make_model(config: SimulationConfig):
  """Returns `(init_fn, step_fn)`.

  init_fn(coeffs, n_defects, key) -> State
  step_fn(state, coeffs, key) -> State      (one step of config.dt_s)
  `coeffs` is `electrolytes.ElectrolyteCoefficients` (explicit, so jvp/grad reach it).
  """
  dtype = jnp.dtype(config.dtype)
  dx, dt = config.dx_um, config.dt_s
  eps_min = config.electrolyte_fraction_min
  xi_solve = spectral.make_helmholtz_solver(config.ny, config.nx, dx, ('neumann', 'neumann'),
                                            dtype=dtype)
  salt_top = {'bulk': 'dirichlet', 'closed': 'closed',
              'diffusion_layer': 'robin'}[config.concentration_top]
  salt_solve = fluxes.make_implicit_solver(config.ny, config.nx, dx, salt_top, dtype)
  phi_solve = fluxes.make_implicit_solver(config.ny, config.nx, dx, 'dirichlet', dtype)
  y_centres = ed.cell_centres(config, dtype)[0]
  short_height = config.short_circuit_fraction * config.height_um
  width_cells = config.nx

  def column_mean(a):
    """Per unit electrode width: mean over x of the column sum times dx (um per 1/s)."""
    return jnp.sum(a) * dx / width_cells

  def salt_weights(xi, coeffs):
    eps = electrolyte_fraction(xi, eps_min)
    w = coeffs.salt_diffusivity_um2_s * eps
    return fluxes.face_weights(w, dx, salt_top, outer_length_um=coeffs.supply_length_um,
                               outer_weight=coeffs.salt_diffusivity_um2_s)

  def potential(phi0, xi, c, dxi_dt, coeffs, iterations):
    eps = electrolyte_fraction(xi, eps_min)
    sigma = coeffs.conductivity_um2_v_s
    fw = fluxes.face_weights(eps * sigma * jnp.maximum(c, C_FLOOR), dx, 'dirichlet')
    # Diffusion current: div(eps (2 sigma t_- / f) grad c~), top face at the bulk value 1
    # (no diffusion current through the top when c~ = 1 there; Dirichlet is the bulk side).
    fw_d = fluxes.face_weights(eps * 2.0 * sigma * coeffs.anion_transference / coeffs.f_per_v,
                               dx, 'closed')
    source = coeffs.site_ratio * dxi_dt + fluxes.div_w_grad(c, fw_d, dx)
    # div(w grad phi) = source  <=>  (0 - 1 div(w grad)) phi = -source, phi = 0 on top.
    return phi_solve(-source, phi0, fw, 0.0, 1.0, sigma, 0.0, iterations)

  def init_fn(coeffs, n_defects, key) -> State:
    xi = ed.initial_order_parameter(n_defects, config, key, dtype)
    c = jnp.ones_like(xi)
    v, stage = protocols.initial_stage(config)
    zero = jnp.zeros((), dtype)
    phi = jnp.zeros_like(xi)
    return State(xi=xi, concentration=c, potential_v=phi, dxi_dt=jnp.zeros_like(xi),
                 voltage_v=jnp.asarray(v, dtype), stage=stage, current_a_m2=zero,
                 charge_c_per_m2=zero, time_s=zero, step=jnp.int32(0),
                 shorted=jnp.asarray(False))

  def capillary_shift_v(xi, coeffs):
    # Gibbs-Thomson: a convex deposit (mean curvature -div n > 0) is harder to plate onto by
    # gamma Omega kappa / (z F) volts (~2e-5 V at 3 um radius for Li: negligible at this scale).
    return coeffs.capillary_length_v_um * (-profile_curvature_term(xi, dx)[1])

  def control(state, coeffs, tau, noise, capillary):
    """(V, stage, target current A/m^2) for the coming step."""
    target, stage, holds_voltage = protocols.stage_and_target(
        state.time_s, state.stage, state.voltage_v, coeffs.target_current_a_m2, config)
    xi, c, phi = state.xi, state.concentration, state.potential_v
    # Deposition flux per unit width (c~ um/s) that the target current asks for.
    want = target / coeffs.current_scale_a_m2 / coeffs.site_ratio

    def rate(v):
      return column_mean(reaction_terms(xi, c, v, phi, coeffs, tau, noise, capillary)[0])

    def newton(v, _):
      r, dr = jax.jvp(rate, (v,), (jnp.ones_like(v),))
      step = -(r - want) / jnp.where(jnp.abs(dr) > 1e-30, dr, 1e-30)
      step = jnp.clip(step, -config.control_step_v, config.control_step_v)
      return jnp.clip(v + step, -config.max_voltage_v, config.max_voltage_v), None

    v_gal, _ = jax.lax.scan(newton, state.voltage_v, None, length=config.control_iterations)
    v = jnp.where(holds_voltage, config.cv_voltage_v, v_gal)
    # Three-stage: once the galvanostatic potential passes the CV limit, hold it there.
    stage = protocols.latch_constant_voltage(stage, v, config)
    v = jnp.where(stage == protocols.CONSTANT_VOLTAGE, config.cv_voltage_v, v)
    return v.astype(state.voltage_v.dtype), stage

  def _step(state: State, coeffs, key) -> State:
    xi, c = state.xi, state.concentration
    tau = coeffs.anion_transference * coeffs.site_ratio * dt
    noise = None
    if config.noise_amplitude > 0:
      noise = 1.0 + config.noise_amplitude * jax.random.uniform(key, xi.shape, dtype, -_SQRT3,
                                                                 _SQRT3)
    capillary = capillary_shift_v(xi, coeffs)
    v, stage = control(state, coeffs, tau, noise, capillary)
    reaction, c_r = reaction_terms(xi, c, v, state.potential_v, coeffs, tau, noise, capillary)
    # Profile relaxation without curvature motion, stabilised semi-implicit; the reaction is
    # added after the solve.
    rate = config.profile_relaxation_per_s
    ell2 = config.interface_width_um**2 / 8.0              # kappa / W of the tanh profile
    stab = 2.0 * rate
    normal_curvature, _ = profile_curvature_term(xi, dx)
    relax = rate * (-ed.double_well_derivative(xi) - ell2 * normal_curvature)
    rhs = xi + dt * (stab * xi + relax)
    xi_relaxed = xi_solve(rhs, 1.0 + dt * stab, dt * rate * ell2)
    # Volume-preserving (Rubinstein & Sternberg 1992): the relaxation only reshapes the profile;
    # its net change is returned along the interface density, so the metal grows exactly by
    # the Faradaic reaction and the relaxation exchanges no ions.
    density = interface_density(xi, config.interface_width_um)
    change = xi_relaxed - xi
    xi_relaxed = xi_relaxed - density * jnp.sum(change) / (jnp.sum(density) + 1e-30)
    xi_new = xi_relaxed + dt * reaction
    d_xi = xi_new - xi
    c_star = c_r
    fw = salt_weights(xi_new, coeffs)
    c_new, _ = salt_solve(c_star, c_star, fw, 1.0, dt, coeffs.salt_diffusivity_um2_s, 1.0,
                          config.transport_iterations)
    # Exact salt balance: what the faces exchanged with the bulk minus what PCG returned, put
    # back on the electrolyte (weight eps) so conservation does not depend on convergence.
    influx = jnp.sum(fw.top[0] * (1.0 - c_new[-1]))
    defect = jnp.sum(c_star) + dt * influx / dx - jnp.sum(c_new)
    eps = electrolyte_fraction(xi_new, eps_min)
    c_new = c_new + defect * eps / jnp.sum(eps)
    phi, _ = potential(state.potential_v, xi_new, c_new, reaction, coeffs,
                       config.potential_iterations)
    current = coeffs.current_scale_a_m2 * coeffs.site_ratio * column_mean(reaction)
    return State(xi=xi_new, concentration=c_new, potential_v=phi, dxi_dt=reaction,
                 voltage_v=v, stage=stage, current_a_m2=current,
                 charge_c_per_m2=state.charge_c_per_m2 + current * dt,
                 time_s=((state.step + 1) * dt).astype(dtype), step=state.step + 1,
                 shorted=state.shorted)

  def step_fn(state: State, coeffs, key) -> State:
    """One step; once the deposit front passes short_circuit_fraction * H the fields freeze."""
    new = _step(state, coeffs, key)
    front = jnp.max(jnp.where(new.xi > 0.5, y_centres, 0.0))
    shorted = state.shorted | (front > short_height)
    frozen = jax.tree_util.tree_map(lambda a, b: jnp.where(shorted, a, b), state, new)
    return dataclasses.replace(frozen, time_s=new.time_s, step=new.step, shorted=shorted)

  return init_fn, step_fn
