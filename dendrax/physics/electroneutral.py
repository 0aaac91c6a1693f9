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

One step of dt (IMEX; every implicit solve is a fixed number of warm-started PCG iterations,
two-level preconditioned: `fluxes.balanced_preconditioner`):
1. Control: galvanostatic stages solve sum(R) = J / (z F c_s) for V* by Newton on the scalar V
   with the last potential; potentiostatic stages hold V.
2. Potential and reaction together: R linearised in phi about (V*, phi^n), so the charge balance
   becomes (r g - div(w grad)) phi = ... (g = dR/dphi >= 0), solved for phi and, in galvanostatic
   stages, the correction dV that keeps the current exact (two right-hand sides, one operator).
   The reaction is locally implicit in c~ (cathodic part), so one step cannot take more salt
   than a cell holds: c_r = c~ - tau R, tau = t_- r dt.
3. Interface relaxation: stabilised semi-implicit solve (exact spectral inverse), then the
   reaction increment dt R added *outside* the stabilisation, so the growth rate is not slowed
   by the factor 1 + 2 dt L_s W (which the hong2018 step does: docs/physics.md).
4. Salt: backward Euler, conservative faces; bottom no flux, top to the bulk through the
   diffusion layer L_N (or Dirichlet / closed). With `salt_sink='implicit'` the cathodic sink
   sits inside this solve (and R, and the growth of 3, follow from it), with a Newton shift of
   the electrode potential keeping a galvanostatic stage's current: past Sand's time the split
   sink of 2 smears the reaction over sqrt(D dt) (docs/physics.md, "Past Sand's time: a
   converged scheme").
Conductivity and diffusion current are taken at the start of the step (c~^n, xi^n).
"""

from __future__ import annotations

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


# Below XI_NUCLEUS the reaction weight ramps to zero (full weight from 2 XI_NUCLEUS): the weight
# is linear in xi, so xi far ahead of the deposit (round-off, or what the relaxation solve spreads
# into the bulk) would otherwise grow exponentially, at (4 k0 / l) exp(alpha f |eta|) ~ 0.7 /s at
# eta = -0.3 V, and nucleate metal in the electrolyte, where no electron can reach it (measured:
# a bulk sink of salt that took half the current 30 s into a -0.8 V step). The tanh tail below it
# carries ~XI_NUCLEUS of the interface's weight. The same ramp closes the metal side (above
# 1 - XI_NUCLEUS): deep in the metal there is no electrolyte, c~ and phi there are only
# extensions, and a weight left on them let phi drift to -1 V at the bottom of the electrode
# under constant voltage; the anodic rate on that weight then dissolved the electrode
# (measured: c/c0 in [-59, 1420] 45 s into a -0.1 V hold at dt 0.1 s, docs/physics.md).
XI_NUCLEUS = 1e-3


def interface_density(xi, width_um, xi_min=XI_NUCLEUS):
  """delta(xi) = 4 xi (1 - xi) / l: |grad xi| of the equilibrium tanh profile, integrating to 1
  across the interface, and the profile's translation mode, so a reaction distributed with it
  moves the interface without changing its shape (the relaxation then neither adds nor removes
  any of it: the deposited volume equals the reacted one). Ramped to 0 below `xi_min` and
  above 1 - `xi_min` (full weight from 2 xi_min to 1 - 2 xi_min). The ramps remove 3 xi_min of
  the integral; a wider ramp than XI_NUCLEUS's is scaled up to the same integral, 1 - 3
  XI_NUCLEUS, so that the exchange current per unit of interface does not depend on xi_min."""
  xi = jnp.clip(xi, 0.0, 1.0)
  ramp = (jnp.clip(xi / xi_min - 1.0, 0.0, 1.0)
          * jnp.clip((1.0 - xi) / xi_min - 1.0, 0.0, 1.0))
  scale = (1.0 - 3.0 * XI_NUCLEUS) / (1.0 - 3.0 * xi_min)   # exactly 1.0 at the default
  return scale * ramp * 4.0 * xi * (1.0 - xi) / width_um


def rate_coefficients(xi, c, v, phi, coeffs, noise=None, capillary_v=0.0, xi_min=XI_NUCLEUS):
  """(active, anodic, inv_b) of the Butler-Volmer rate R = B c~ - anodic at eta = V - phi +
  capillary_v, B = k delta(xi) exp(-alpha f eta) c~^-alpha: `anodic` = k delta A c~^(1-alpha)
  (1/s) and `inv_b` = 1/B (s), which goes to infinity (not 0 * inf) where the weight is 0
  (`active` False) and stays finite when B overflows. `xi_min`: `interface_density`'s ramp."""
  f, alpha = coeffs.f_per_v, coeffs.alpha
  k = coeffs.reaction_velocity_um_s * interface_density(xi, coeffs.interface_width_um, xi_min)
  if noise is not None:
    k = k * noise
  # f eta bounded at +-80 (e^80 ~ 1e35 still fits float32): beyond it the rates are transport-
  # limited anyway, and the bound keeps exp finite when a controller runs into its limit.
  f_eta = jnp.clip(f * (v - phi + capillary_v), -80.0, 80.0)
  c_pos = jnp.maximum(c, 0.0)
  anodic = k * jnp.exp((1.0 - alpha) * f_eta) * (c_pos + 1e-12)**(1.0 - alpha)
  # Where k = 0 (outside the interface) 1/B would overflow and poison tangents with inf * 0:
  # divide by 1 there and zero the rate (the double-where keeps jvp and grad finite).
  active = k > 0
  inv_b = jnp.exp(alpha * f_eta) * (c_pos + 1e-12)**alpha / jnp.where(active, k, 1.0)
  return active, anodic, inv_b


def reaction_terms(xi, c, v, phi, coeffs, tau, noise=None, capillary_v=0.0, xi_min=XI_NUCLEUS):
  """Butler-Volmer rate R (1/s) with the cathodic part implicit in c~ over `tau` (s c~ per 1/s).

  Returns (R, c_r): R = k delta(xi) [B c_r c~^-alpha - A c~^(1-alpha)], c_r = c~ - tau R, with
  eta = V - phi + capillary_v (the Gibbs-Thomson shift of the metal's equilibrium potential):
  B c_r = (c~ + tau A) / (tau + 1/B).
  """
  active, anodic, inv_b = rate_coefficients(xi, c, v, phi, coeffs, noise, capillary_v, xi_min)
  c_pos = jnp.maximum(c, 0.0)
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


def derivative_iterations(iterations: int) -> int:
  """PCG iterations for the second right-hand sides (d/dV of the potential and the salt)."""
  return max(1, iterations // 2) if iterations else 0


def make_model(config: SimulationConfig, current_schedule=None):
  """Returns `(init_fn, step_fn)`.

  init_fn(coeffs, n_defects, key) -> State
  step_fn(state, coeffs, key) -> State      (one step of config.dt_s)
  `coeffs` is `electrolytes.ElectrolyteCoefficients` (explicit, so jvp/grad reach it).

  `current_schedule`, if given, replaces the config's protocol: a traceable function of the
  step's start time (s) giving the galvanostatic target current density (A/m^2, >= 0; stage
  'rest' where it is 0), bounded by the cutoff max_voltage_v like any galvanostatic stage. Its
  values may be traced (a design's pulse on time, duty, amplitude): derivatives reach them.
  """
  if current_schedule is not None and config.protocol == 'three_stage':
    raise ValueError("current_schedule replaces the protocol; SimulationConfig.protocol must "
                     "not be 'three_stage' (its CV latch would hold the potential)")
  dtype = jnp.dtype(config.dtype)
  dx, dt = config.dx_um, config.dt_s
  eps_min = config.electrolyte_fraction_min
  xi_solve = spectral.make_helmholtz_solver(config.ny, config.nx, dx, ('neumann', 'neumann'),
                                            dtype=dtype)
  salt_top = {'bulk': 'dirichlet', 'closed': 'closed',
              'diffusion_layer': 'robin'}[config.concentration_top]
  salt_solve = fluxes.make_implicit_solver(config.ny, config.nx, dx, salt_top, dtype,
                                           two_level=config.coarse_correction)
  phi_solve = fluxes.make_implicit_solver(config.ny, config.nx, dx, 'dirichlet', dtype,
                                          two_level=config.coarse_correction)
  y_centres = ed.cell_centres(config, dtype)[0]
  short_height = config.short_circuit_fraction * config.height_um
  width_cells = config.nx
  xi_min = config.reaction_xi_min

  def column_mean(a):
    """Per unit electrode width: mean over x of the column sum times dx (um per 1/s)."""
    return jnp.sum(a) * dx / width_cells

  def salt_weights(xi, coeffs):
    eps = electrolyte_fraction(xi, eps_min)
    w = coeffs.salt_diffusivity_um2_s * eps
    return fluxes.face_weights(w, dx, salt_top, outer_length_um=coeffs.supply_length_um,
                               outer_weight=coeffs.salt_diffusivity_um2_s)

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
    """(V*, stage, holds_voltage, wanted rate): V* solves the galvanostatic target with the last
    step's potential (Newton on the scalar V; the coupled correction follows in `_step`)."""
    if current_schedule is None:
      target, stage, holds_voltage = protocols.stage_and_target(
          state.time_s, state.stage, state.voltage_v, coeffs.target_current_a_m2, config)
    else:
      target = jnp.asarray(current_schedule(state.time_s), state.voltage_v.dtype)
      stage = jnp.where(target > 0, protocols.CONSTANT_CURRENT, protocols.REST).astype(jnp.int32)
      holds_voltage = jnp.asarray(False)
    xi, c, phi = state.xi, state.concentration, state.potential_v
    # Deposition flux per unit width (c~ um/s) that the target current asks for.
    want = target / coeffs.current_scale_a_m2 / coeffs.site_ratio

    def rate(v):
      return column_mean(reaction_terms(xi, c, v, phi, coeffs, tau, noise, capillary,
                                         xi_min)[0])

    def newton(v, _):
      r, dr = jax.jvp(rate, (v,), (jnp.ones_like(v),))
      step = -(r - want) / jnp.where(jnp.abs(dr) > 1e-30, dr, 1e-30)
      step = jnp.clip(step, -config.control_step_v, config.control_step_v)
      return jnp.clip(v + step, -config.max_voltage_v, config.max_voltage_v), None

    v_gal, _ = jax.lax.scan(newton, state.voltage_v, None, length=config.control_iterations)
    v = jnp.where(holds_voltage, config.cv_voltage_v, v_gal)
    return v.astype(state.voltage_v.dtype), stage, holds_voltage, want

  def coupled_potential(state, coeffs, tau, noise, capillary):
    """(V, stage, phi, R): the charge balance solved together with the reaction, and for
    galvanostatic stages with V, by Newton iterations on the linearised Butler-Volmer rate.

    With R ~ R_k + g (dphi - dV) (g = dR/dphi >= 0 at the iterate V_k, phi_k) the charge balance
    div(w grad phi) = r R + div(w_d grad c~) is linear in (phi, dV): phi = phi_A + dV phi_B with
        (r g - div(w grad)) phi_A = -(r (R_k - g phi_k) + div(w_d grad c~)),
        (r g - div(w grad)) phi_B = r g,
    and the galvanostatic target fixes dV by the column mean of R. Each iteration moves phi by
    at most coupling_step_v (the exponential is linear only within ~1/(alpha f)). The reaction
    and the potential of a step are one consistent solution (no one-step lag): the lagged
    scheme went unstable (NaN) at potentiostatic steps beyond |V| ~ 0.45 V and at dt 0.1 s.
    """
    xi, c = state.xi, state.concentration
    v_star, stage0, holds_voltage, want = control(state, coeffs, tau, noise, capillary)
    r = coeffs.site_ratio
    eps = electrolyte_fraction(xi, eps_min)
    sigma = coeffs.conductivity_um2_v_s
    fw = fluxes.face_weights(eps * sigma * jnp.maximum(c, C_FLOOR), dx, 'dirichlet')
    # Diffusion current div(eps (2 sigma t_- / f) grad c~); no diffusion current through the top.
    fw_d = fluxes.face_weights(eps * 2.0 * sigma * coeffs.anion_transference / coeffs.f_per_v,
                               dx, 'closed')
    diffusion_current = fluxes.div_w_grad(c, fw_d, dx)
    trust = config.coupling_step_v

    def newton(carry, _):
      v_k, phi_k, _, _ = carry

      def rate_of(phi):
        return reaction_terms(xi, c, v_k, phi, coeffs, tau, noise, capillary, xi_min)[0]

      r_k, g = jax.jvp(rate_of, (phi_k,), (jnp.ones_like(phi_k),))
      phi_a = phi_solve(-(r * (r_k - g * phi_k) + diffusion_current), phi_k, fw, r * g, 1.0,
                        sigma, 0.0, config.potential_iterations)[0]
      # phi_B only sets the galvanostatic dV (whose error the next step's control absorbs):
      # half the iterations.
      phi_b = phi_solve(r * g, jnp.zeros_like(phi_k), fw, r * g, 1.0, sigma, 0.0,
                        derivative_iterations(config.potential_iterations))[0]
      # Galvanostatic: mean R(dV) = want; d(mean R)/d(dV) = mean(g (phi_B - 1)) <= 0.
      base = column_mean(r_k + g * (phi_a - phi_k))
      slope = column_mean(g * (phi_b - 1.0))
      d_v = jnp.clip((want - base) / jnp.where(slope < -1e-30, slope, -1e-30), -trust, trust)
      v = jnp.clip(v_k + d_v, -config.max_voltage_v, config.max_voltage_v)
      # Three-stage: once the galvanostatic potential passes the CV limit, hold it there.
      stage = protocols.latch_constant_voltage(stage0, v, config)
      holds = holds_voltage | (stage == protocols.CONSTANT_VOLTAGE)
      v = jnp.where(holds, config.cv_voltage_v, v).astype(v_k.dtype)
      d_v = v - v_k
      d_phi = jnp.clip(phi_a + d_v * phi_b - phi_k, -trust, trust)
      reaction = r_k + g * (d_phi - d_v)
      return (v, phi_k + d_phi, reaction, stage), None

    init = (v_star, state.potential_v, jnp.zeros_like(c), stage0)
    (v, phi, reaction, stage), _ = jax.lax.scan(newton, init, None,
                                                length=config.coupling_iterations)
    # The linearisation may not take more salt than the cell holds (the implicit bound of R).
    reaction = jnp.minimum(reaction, jnp.maximum(c, 0.0) / tau)
    return v, stage, phi, reaction, want

  def lagged_potential_step(state, coeffs, tau, noise, capillary):
    """(V, stage, R) with the last step's phi (coupling_iterations = 0); phi follows the salt."""
    v, stage, holds_voltage, _ = control(state, coeffs, tau, noise, capillary)
    stage = protocols.latch_constant_voltage(stage, v, config)
    v = jnp.where(stage == protocols.CONSTANT_VOLTAGE, config.cv_voltage_v, v).astype(v.dtype)
    reaction, _ = reaction_terms(state.xi, state.concentration, v, state.potential_v, coeffs, tau,
                                 noise, capillary, xi_min)
    return v, stage, reaction

  def potential(phi0, xi, c, dxi_dt, coeffs):
    """Charge balance div(eps sigma c~ grad phi) = r dxi/dt + div(w_d grad c~), phi = 0 on top."""
    eps = electrolyte_fraction(xi, eps_min)
    sigma = coeffs.conductivity_um2_v_s
    fw = fluxes.face_weights(eps * sigma * jnp.maximum(c, C_FLOOR), dx, 'dirichlet')
    fw_d = fluxes.face_weights(eps * 2.0 * sigma * coeffs.anion_transference / coeffs.f_per_v,
                               dx, 'closed')
    source = coeffs.site_ratio * dxi_dt + fluxes.div_w_grad(c, fw_d, dx)
    return phi_solve(-source, phi0, fw, 0.0, 1.0, sigma, 0.0, config.potential_iterations)[0]

  def salt_with_implicit_sink(state, coeffs, tau, noise, capillary, v, phi, stage, want, fw,
                              guess):
    """(R, c~', V): the salt step with the cathodic sink implicit, at the potential phi.

    (1 + tau s B - dt div(D eps grad)) c~' = c~ + tau A s^-(1-alpha)/alpha,
    R = s B c~' - A s^-(1-alpha)/alpha, where s = exp(-alpha f dV) shifts the electrode potential
    by dV (B and A from `rate_coefficients` at V, phi; c~^-alpha of the step's start).
    Galvanostatic stages solve for ln s by Newton (`sink_iterations`; one more solve per
    iteration gives the derivative) so that the current is the target's, within the voltage
    bounds; voltage-held stages keep s = 1. A final solve at the last ln s closes the step, or
    (`sink_final_solve` False) the last iteration's linear prediction. The salt each cell
    receives by diffusion within the step is the salt it can plate, so the sink is not smeared
    over sqrt(D dt) as in the split step."""
    xi, c = state.xi, state.concentration
    alpha, f = coeffs.alpha, coeffs.f_per_v
    active, anodic, inv_b = rate_coefficients(xi, c, v, phi, coeffs, noise, capillary, xi_min)
    # tau B, bounded at 1e12 (a cell that empties within the step either way).
    tau_b = jnp.where(active, tau / (inv_b + tau * 1e-12), 0.0)
    expo = (1.0 - alpha) / alpha
    c_pos = jnp.maximum(c, 0.0)
    d_salt = coeffs.salt_diffusivity_um2_s
    top_source = dt * fw.top[0] * 1.0 / dx   # what the solver adds for the bulk value on top
    holds = stage == protocols.CONSTANT_VOLTAGE
    # ln s within the voltage bounds: V - ln s / (alpha f) in [-max, max].
    lo = alpha * f * (v - config.max_voltage_v)
    hi = alpha * f * (v + config.max_voltage_v)
    derivative_solve_iterations = (config.sink_derivative_iterations
                                   or derivative_iterations(config.transport_iterations))

    def solve(log_s, guess, iterations):
      s_b, s_a = jnp.exp(log_s), jnp.exp(-expo * log_s)
      a = 1.0 + tau_b * s_b
      rhs = c_pos + tau * anodic * s_a
      c_new = salt_solve(rhs, guess, fw, a, dt, d_salt, 1.0, iterations)[0]
      return c_new, a, s_b, s_a

    def newton(carry, _):
      log_s, guess, _ = carry
      c_new, a, s_b, s_a = solve(log_s, guess, config.transport_iterations)
      # d c~'/d ln s: (a - dt div(D grad)) dc = -tau_b s c~' - expo tau A s_a (no bulk term).
      drhs = -(tau_b * s_b * c_new + expo * tau * anodic * s_a)
      drhs = drhs.at[-1].add(-top_source)
      dc = salt_solve(drhs, jnp.zeros_like(c_new), fw, a, dt, d_salt, 1.0,
                      derivative_solve_iterations)[0]
      rate = column_mean(tau_b * s_b * c_new / tau - anodic * s_a)
      slope = column_mean((tau_b * s_b * (c_new + dc)) / tau + expo * anodic * s_a)
      step = -(rate - want) / jnp.maximum(slope, 1e-30)
      step = jnp.where(holds, 0.0, jnp.clip(step, -2.0, 2.0))
      new_log_s = jnp.clip(log_s + step, lo, hi)
      # The next solve's guess, and the linear prediction at the shift actually taken.
      return (new_log_s, c_new + step * dc, c_new + (new_log_s - log_s) * dc), None

    if config.sink_final_solve:
      log_s0 = jnp.zeros_like(v)          # from the coupled potential step's V
    else:
      # From the last step's electrode potential (after the first step): held at the cutoff the
      # shift is then already at its bound, and the last Newton step, which the linear closure
      # extrapolates, is small (from V, Zn past Sand's time plated up to 17 % below the
      # cutoff's current).
      warm = jnp.clip(alpha * f * (v - state.voltage_v), lo, hi)
      log_s0 = jnp.where(holds | (state.step == 0), 0.0, warm)
    (log_s, guess, predicted), _ = jax.lax.scan(newton, (log_s0, guess, guess), None,
                                                length=config.sink_iterations)
    if config.sink_final_solve or not config.sink_iterations:
      c_new = solve(log_s, guess, config.transport_iterations)[0]
    else:
      c_new = predicted
    s_b, s_a = jnp.exp(log_s), jnp.exp(-expo * log_s)
    reaction = tau_b * s_b * c_new / tau - anodic * s_a
    return reaction, c_new, (v - log_s / (alpha * f)).astype(v.dtype)

  def _step(state: State, coeffs, key) -> State:
    xi, c = state.xi, state.concentration
    tau = coeffs.anion_transference * coeffs.site_ratio * dt
    noise = None
    if config.noise_amplitude > 0:
      noise = 1.0 + config.noise_amplitude * ed.uniform_draw(key, xi.shape, dtype, -_SQRT3,
                                                             _SQRT3)
    capillary = capillary_shift_v(xi, coeffs)
    if config.coupling_iterations:
      v, stage, phi, reaction, want = coupled_potential(state, coeffs, tau, noise, capillary)
    else:
      v, stage, reaction = lagged_potential_step(state, coeffs, tau, noise, capillary)
    c_r = jnp.maximum(c, 0.0) - tau * reaction
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
    fw = salt_weights(xi_new, coeffs)
    if config.salt_sink == 'implicit':
      reaction, c_new, v = salt_with_implicit_sink(state, coeffs, tau, noise, capillary, v,
                                                   phi, stage, want, fw, c_r)
      xi_new = xi_relaxed + dt * reaction
      c_r = jnp.maximum(c, 0.0) - tau * reaction
    else:
      c_new, _ = salt_solve(c_r, c_r, fw, 1.0, dt, coeffs.salt_diffusivity_um2_s, 1.0,
                            config.transport_iterations)
    # Exact salt balance: what the faces exchanged with the bulk minus what PCG returned, put
    # back on the electrolyte (weight eps) so conservation does not depend on convergence.
    influx = jnp.sum(fw.top[0] * (1.0 - c_new[-1]))
    defect = jnp.sum(c_r) + dt * influx / dx - jnp.sum(c_new)
    eps = electrolyte_fraction(xi_new, eps_min)
    c_new = c_new + defect * eps / jnp.sum(eps)
    if not config.coupling_iterations:
      phi = potential(state.potential_v, xi_new, c_new, reaction, coeffs)
    current = coeffs.current_scale_a_m2 * coeffs.site_ratio * column_mean(reaction)
    return State(xi=xi_new, concentration=c_new, potential_v=phi, dxi_dt=reaction,
                 voltage_v=v, stage=stage, current_a_m2=current,
                 charge_c_per_m2=state.charge_c_per_m2 + current * dt,
                 time_s=((state.step + 1) * dt).astype(dtype), step=state.step + 1,
                 shorted=state.shorted)

  def step_fn(state: State, coeffs, key) -> State:
    """One step; once the deposit front passes short_circuit_fraction * H the fields freeze and
    the current is 0 (`electrodeposition.freeze_if_shorted`)."""
    return ed.freeze_if_shorted(state, _step(state, coeffs, key), y_centres, short_height)

  return init_fn, step_fn
