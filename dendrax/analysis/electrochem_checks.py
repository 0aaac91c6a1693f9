r"""Checks of the electroneutral model against analytic electrochemistry (flat electrode, 1-D).

Each function runs the model's own step (`column_rollout`) and returns validation entries
(dicts) with `measured`, `reference`, `rel_error`, `tolerance`, `passed`, `kind` and `inputs`:
every constant the reference formula uses, in SI units named in the key, so the reference can
be recomputed by hand. `kind` is 'validation' (a law from outside the code) or 'regression'
(true by construction of the scheme).

References (`electrolytes`): Sand t_S = pi D (z c0 F)^2 / (4 (J t_-)^2); Cottrell
i(t) = z F c0 sqrt(D / (pi t)) / t_-; limiting current i_lim = z F D c0 / (t_- L); Tafel slope
ln(10) R T / (alpha z F) (Bard & Faulkner, Electrochemical Methods, 2nd ed., ch. 1, 3, 5, 8;
Newman & Thomas-Alyea ch. 19 for the binary-electrolyte t_- factor).
"""

from __future__ import annotations

import math

import numpy as np

from dendrax.analysis import column_rollout as cr
from dendrax.physics import electrolytes as el
from dendrax.physics import electroneutral
from dendrax.physics import fluxes
from dendrax.physics import simulate


def entry(measured, reference, tolerance, inputs, kind='validation', **extra):
  """One check: |measured / reference - 1| <= tolerance."""
  measured, reference = float(measured), float(reference)
  rel = abs(measured - reference) / abs(reference) if reference != 0 else abs(measured)
  ok = bool(np.isfinite(measured) and rel <= tolerance)
  return dict(measured=measured, reference=reference, rel_error=rel, tolerance=tolerance,
              passed=ok, kind=kind, inputs=inputs, **extra)


def _electrolyte_inputs(coeffs, chemistry, concentration_mol_m3):
  e = el.get_electrolyte(chemistry)
  return dict(diffusivity_m2_s=float(coeffs.salt_diffusivity_um2_s) * 1e-12,
              transference_number=float(coeffs.anion_transference),
              cation_transference_number=1.0 - float(coeffs.anion_transference),
              charge_number=e.charge_number, concentration_mol_m3=float(concentration_mol_m3),
              faraday_c_mol=el.FARADAY)


def _zero_crossing(t, c, high=0.1, low=0.01):
  """Time at which c(t) reaches 0: least-squares line through the records with low < c < high,
  extrapolated (c falls about linearly near t_Sand: c = 1 - sqrt(t / t_S))."""
  ok = np.isfinite(c) & (c < high) & (c > low)
  first_bad = np.nonzero(~np.isfinite(c) | (c <= low))[0]
  if first_bad.size:
    ok &= np.arange(c.size) < first_bad[0]
  if ok.sum() < 2:
    return float('nan')
  slope, icpt = np.polyfit(t[ok], c[ok], 1)
  return -icpt / slope if slope < 0 else float('nan')


# ---- Sand ---------------------------------------------------------------------------------------

def _sand_column(current_density_ma_cm2, concentration_mol_m3, cfg, chemistry):
  """(J in A/m^2, Sand's time t_S, diffusion length sqrt(D t_S) in um, rows ny of a column whose
  bulk top sits cfg.height_factor diffusion lengths above cfg.electrode_height_um)."""
  e = el.get_electrolyte(chemistry)
  j = current_density_ma_cm2 * 10.0
  t_s = el.sand_time_s(j, e.salt_diffusivity_m2_s, concentration_mol_m3,
                       1.0 - e.cation_transference, e.charge_number)
  ld_um = math.sqrt(e.salt_diffusivity_m2_s * t_s) * 1e6
  ny = int(math.ceil((cfg.height_factor * ld_um + cfg.electrode_height_um) / cfg.dx_um))
  return j, t_s, ld_um, ny


def sand_steps(j, t_s, concentration_mol_m3, accuracy_bound_s, sand_cfg, chemistry='Li'):
  """(steps per t_S, fraction of the interface's salt c0 l that one step takes) for a Sand run
  at J (A/m^2): at least steps_per_sand_time, dt within 0.9 x the model's accuracy bound, and at
  most max_depletion_per_step of c0 l per step. Sand's time is when that salt runs out, so its
  dt error scales with this fraction (it binds below ~10 mA/cm^2 at 1 M), not with dt / t_S."""
  e = el.get_electrolyte(chemistry)
  # Time in which J takes one c0 l of salt from the interface (salt loss rate t_- J / zF).
  salt_time = (sand_cfg.interface_width_um * 1e-6 * concentration_mol_m3 * e.charge_number
               * el.FARADAY / ((1.0 - e.cation_transference) * j))
  steps = max(sand_cfg.steps_per_sand_time, int(math.ceil(t_s / (0.9 * accuracy_bound_s))),
              int(math.ceil(t_s / (sand_cfg.max_depletion_per_step * salt_time))))
  return steps, t_s / steps / salt_time


def sand_time(current_density_ma_cm2, concentration_mol_m3, sand_cfg, chemistry='Li'):
  """Galvanostatic J on a flat electrode under a tall 'bulk' top (height_factor sqrt(D t_S)).

  Measured: the time at which the salt minimum next to the interface (the minimum of c~ over
  the column: the sink sits in the interface) reaches 0, by linear extrapolation of c_min(t)
  over 0.01 < c_min < 0.1; also reported: the same for c~ at the xi = 1/2 level, and the time the
  galvanostatic potential runs away (first non-finite or |V| >= max_voltage_v record).
  """
  j, t_s, ld_um, ny = _sand_column(current_density_ma_cm2, concentration_mol_m3, sand_cfg,
                                   chemistry)
  dx = sand_cfg.dx_um
  params = cr.params_for(current_density_ma_cm2, concentration_mol_m3, chemistry=chemistry)

  def config(dt):
    return cr.column_config(ny=ny, dx_um=dx, interface_width_um=sand_cfg.interface_width_um,
                            electrode_height_um=sand_cfg.electrode_height_um, dt_s=dt,
                            t_end_s=dt, save_every_s=dt, chemistry=chemistry,
                            potential_iterations=sand_cfg.solver_iterations,
                            transport_iterations=sand_cfg.solver_iterations)
  bound = simulate.accuracy_dt_bound(np.asarray(params.to_vector()), config(1.0))
  steps, salt_per_step = sand_steps(j, t_s, concentration_mol_m3, bound, sand_cfg, chemistry)
  dt = t_s / steps
  cfg = config(dt)
  every = max(1, steps // 200)
  rec = cr.rollout(params, cfg, sand_cfg.end_fraction * t_s, record_every=every)
  _, c_half = cr.interface_values(rec.xi, rec.concentration, dx)
  c_min = np.min(rec.concentration, axis=1)
  measured = _zero_crossing(rec.time_s, c_min)
  runaway = ~np.isfinite(rec.voltage_v) | (np.abs(rec.voltage_v) >= cfg.max_voltage_v - 1e-9)
  t_runaway = float(rec.time_s[np.argmax(runaway)]) if runaway.any() else float('nan')
  inputs = _electrolyte_inputs(rec.coefficients, chemistry, concentration_mol_m3)
  inputs['current_density_a_m2'] = j
  return entry(measured, t_s, sand_cfg.tolerance, inputs,
               t_half_level_s=_zero_crossing(rec.time_s, c_half),
               t_potential_runaway_s=t_runaway,
               numerics=dict(dx_um=dx, ny=ny, height_um=ny * dx, dt_s=dt, steps_per_sand_time=steps,
                             interface_salt_per_step=salt_per_step,
                             interface_width_um=cfg.interface_width_um,
                             electrode_height_um=cfg.electrode_height_um,
                             diffusion_length_um=ld_um))


def tip_speed_ratio(t, front_max, front_mean, window):
  """(t at window centres, v_tip / v_mean): speeds of the tallest deposit and of the mean front
  over `window` records (finite differences of the recorded heights)."""
  t, hi, lo = (np.asarray(a, np.float64) for a in (t, front_max, front_mean))
  if t.size <= window:
    return np.zeros(0), np.zeros(0)
  dt = t[window:] - t[:-window]
  v_tip = (hi[window:] - hi[:-window]) / dt
  v_mean = (lo[window:] - lo[:-window]) / dt
  ratio = np.where(v_mean > 0, v_tip / np.where(v_mean > 0, v_mean, 1.0), np.nan)
  return 0.5 * (t[window:] + t[:-window]), ratio


def sand_transition(current_density_ma_cm2, concentration_mol_m3, tcfg, chemistry='Li'):
  """Bai et al. 2016 (Energy Environ. Sci. 9, 3221): below Sand's time Li grows compact or
  mossy from its roots; at t_Sand tip-growing dendrites take over. Galvanostatic J on an
  electrode with `nuclei` seeded nuclei under a tall 'bulk' top, noise on: the tallest deposit's
  speed over the mean front's speed (windows of `window_fraction` t_S), and the crossover: the
  first time after `search_from_fraction` t_S at which that ratio reaches `tip_ratio`.
  Measured: t_cross / t_S (NaN if it never does within `end_fraction` t_S); passes within a
  factor `factor` of 1. The galvanostatic potential is bounded by `max_voltage_v` (a cycler's
  compliance): past t_S the current falls below J once it binds (recorded).
  """
  j, t_s, ld_um, ny = _sand_column(current_density_ma_cm2, concentration_mol_m3, tcfg,
                                   chemistry)
  dx = tcfg.dx_um
  nx = int(round(tcfg.width_um / dx))
  params = cr.params_for(current_density_ma_cm2, concentration_mol_m3, chemistry=chemistry,
                         n_defects=float(tcfg.nuclei))
  dt = t_s / tcfg.steps_per_sand_time
  cfg = cr.column_config(nx=nx, ny=ny, dx_um=dx, interface_width_um=tcfg.interface_width_um,
                         electrode_height_um=tcfg.electrode_height_um, dt_s=dt, t_end_s=dt,
                         save_every_s=dt, chemistry=chemistry, noise_amplitude=tcfg.noise,
                         max_defects=tcfg.nuclei, defect_radius_um=tcfg.nucleus_radius_um,
                         max_voltage_v=tcfg.max_voltage_v, dtype=tcfg.dtype,
                         profile_relaxation_per_s=tcfg.profile_relaxation_per_s,
                         potential_iterations=tcfg.solver_iterations,
                         transport_iterations=tcfg.solver_iterations,
                         reaction_xi_min=tcfg.reaction_xi_min, salt_sink=tcfg.salt_sink,
                         sink_final_solve=tcfg.sink_final_solve,
                         sink_derivative_iterations=tcfg.sink_derivative_iterations)
  every = max(1, tcfg.steps_per_sand_time // 200)
  rec = cr.rollout(params, cfg, tcfg.end_fraction * t_s, record_every=every,
                   check_accuracy_bound=False)
  window = max(1, int(round(tcfg.window_fraction * tcfg.steps_per_sand_time / every)))
  t_mid, ratio = tip_speed_ratio(rec.time_s, rec.front_max_um, rec.front_mean_um, window)
  x = t_mid / t_s
  after = x >= tcfg.search_from_fraction
  hit = np.nonzero(after & (ratio >= tcfg.tip_ratio))[0]
  measured = float(x[hit[0]]) if hit.size else float('nan')
  ok = bool(np.isfinite(measured) and 1.0 / tcfg.factor <= measured <= tcfg.factor)
  at = lambda f: float(np.interp(f, x, ratio)) if x.size else float('nan')
  bound = np.abs(rec.voltage_v) >= tcfg.max_voltage_v - 1e-6
  inputs = _electrolyte_inputs(rec.coefficients, chemistry, concentration_mol_m3)
  inputs['current_density_a_m2'] = j
  return dict(measured=measured, reference=1.0,
              rel_error=abs(measured - 1.0) if np.isfinite(measured) else float('nan'),
              tolerance=f'within a factor {tcfg.factor:g} of t_Sand', passed=ok,
              kind='validation', inputs=inputs, sand_time_s=t_s,
              tip_ratio_threshold=tcfg.tip_ratio,
              tip_speed_ratio_at=dict(**{f'{f:g}_t_sand': at(f) for f in (0.5, 0.9, 1.2, 1.5)}),
              # Where the tips gain most on the mean front (reported; the check is the takeover).
              tip_speed_ratio_peak=float(ratio[after][np.argmax(ratio[after])])
              if after.any() else float('nan'),
              tip_speed_ratio_peak_t_sand=float(x[after][np.argmax(ratio[after])])
              if after.any() else float('nan'),
              cutoff_reached_t_sand=float(rec.time_s[np.argmax(bound)] / t_s)
              if bound.any() else float('nan'),
              current_at_end_a_m2=float(rec.current_a_m2[-1]),
              series=dict(t_over_t_sand=x.tolist(), tip_speed_ratio=ratio.tolist(),
                          front_max_um=rec.front_max_um.tolist(),
                          front_mean_um=rec.front_mean_um.tolist(),
                          record_t_over_t_sand=(rec.time_s / t_s).tolist()),
              numerics=dict(dx_um=dx, nx=nx, ny=ny, dt_s=dt, nuclei=tcfg.nuclei,
                            noise_amplitude=tcfg.noise, dtype=tcfg.dtype,
                            reaction_xi_min=cfg.reaction_xi_min, salt_sink=cfg.salt_sink,
                            sink_final_solve=cfg.sink_final_solve,
                            sink_derivative_iterations=cfg.sink_derivative_iterations))


# ---- Cottrell and limiting current ------------------------------------------------------------

def cottrell(ccfg, chemistry='Li'):
  """Potentiostatic step to ccfg.voltage_v; i(t) against Cottrell over [t_start, t_end] s.

  The potential must be deep in the transport-limited range (surface concentration ~0 from the
  start); the model couples the potential and the reaction implicitly (Newton,
  ccfg.coupling_iterations), which a step from fresh electrolyte to such a potential needs.

  The window: after the kinetic/ohmic start-up and once sqrt(pi D t) >> interface width, and
  while the diffusion layer is far from the top (height >= sqrt(6 D t_end)). Measured: the
  largest relative deviation over the window (reported as `measured` = i / i_Cottrell at that
  time, reference 1).
  """
  e = el.get_electrolyte(chemistry)
  cfg = cr.column_config(ny=int(round(ccfg.height_um / ccfg.dx_um)), dx_um=ccfg.dx_um,
                         interface_width_um=ccfg.interface_width_um,
                         electrode_height_um=ccfg.electrode_height_um, dt_s=ccfg.dt_s,
                         t_end_s=ccfg.dt_s, save_every_s=ccfg.dt_s, protocol='constant_voltage',
                         cv_voltage_v=ccfg.voltage_v, chemistry=chemistry,
                         potential_iterations=ccfg.solver_iterations,
                         transport_iterations=ccfg.solver_iterations,
                         coupling_iterations=ccfg.coupling_iterations)
  params = cr.params_for(1.0, ccfg.concentration_mol_m3, chemistry=chemistry)
  every = max(1, int(round(ccfg.record_every_s / ccfg.dt_s)))
  rec = cr.rollout(params, cfg, ccfg.t_end_s, record_every=every, check_accuracy_bound=False)
  inputs = _electrolyte_inputs(rec.coefficients, chemistry, ccfg.concentration_mol_m3)
  window = (rec.time_s >= ccfg.t_start_s - 1e-9) & (rec.time_s <= ccfg.t_end_s + 1e-9)
  t = rec.time_s[window]
  ref = np.array([el.cottrell_current_a_m2(ti, inputs['diffusivity_m2_s'],
                                           ccfg.concentration_mol_m3,
                                           inputs['transference_number'], e.charge_number)
                  for ti in t])
  ratio = rec.current_a_m2[window] / ref
  worst = int(np.argmax(np.abs(ratio - 1.0)))
  inputs.update(time_window_s=[ccfg.t_start_s, ccfg.t_end_s], voltage_v=ccfg.voltage_v)
  return entry(ratio[worst], 1.0, ccfg.tolerance, inputs,
               worst_time_s=float(t[worst]),
               current_a_m2=[float(x) for x in rec.current_a_m2[window][::4]],
               cottrell_a_m2=[float(x) for x in ref[::4]], times_s=[float(x) for x in t[::4]],
               numerics=dict(dx_um=cfg.dx_um, height_um=cfg.height_um, dt_s=cfg.dt_s,
                             interface_width_um=cfg.interface_width_um))


def limiting_current(lcfg, chemistry='Li'):
  """Limiting current with the bulk held at distance L above the interface.

  Potentiostatic steps into the transport-limited regime blow up in the model (NaN within a
  step at |V| >~ 0.45 V from fresh electrolyte, for any dt: the electrolyte potential lags one
  step, docs/validation.md), so the limiting current is measured galvanostatically: at a
  current J below it the steady linear profile gives c~_s = 1 - J / i_lim, so
  i_lim = J / (1 - c~_s), with c~_s at the xi = 1/2 level and L = H - y(xi = 1/2) at t_end
  (several L^2 / D: steady; the front moves by ~ c0 / (t_- c_s) of L per diffusion time).
  """
  e = el.get_electrolyte(chemistry)
  h = lcfg.length_um + lcfg.electrode_height_um
  cfg = cr.column_config(ny=int(round(h / lcfg.dx_um)), dx_um=lcfg.dx_um,
                         interface_width_um=lcfg.interface_width_um,
                         electrode_height_um=lcfg.electrode_height_um, dt_s=lcfg.dt_s,
                         t_end_s=lcfg.dt_s, save_every_s=lcfg.dt_s, chemistry=chemistry,
                         potential_iterations=lcfg.solver_iterations,
                         transport_iterations=lcfg.solver_iterations)
  params = cr.params_for(lcfg.current_density_ma_cm2, lcfg.concentration_mol_m3,
                         chemistry=chemistry)
  rec = cr.rollout(params, cfg, lcfg.t_end_s, record_every=max(1, int(round(1.0 / lcfg.dt_s))))
  y, c_s = cr.interface_values(rec.xi, rec.concentration, cfg.dx_um)
  length_m = (cfg.height_um - float(y[-1])) * 1e-6
  j = 10.0 * lcfg.current_density_ma_cm2
  measured = j / (1.0 - c_s[-1])
  inputs = _electrolyte_inputs(rec.coefficients, chemistry, lcfg.concentration_mol_m3)
  inputs.update(length_m=length_m, current_density_a_m2=j, time_s=float(rec.time_s[-1]),
                surface_concentration_ratio=float(c_s[-1]))
  ref = el.limiting_current_a_m2(inputs['diffusivity_m2_s'], lcfg.concentration_mol_m3,
                                 inputs['transference_number'], length_m, e.charge_number)
  drift = abs(c_s[-1] - c_s[-6])
  return entry(measured, ref, lcfg.tolerance, inputs,
               method='galvanostatic: i_lim = J / (1 - c_s / c0) at steady state',
               surface_concentration_change_last_5_s=float(drift),
               numerics=dict(dx_um=cfg.dx_um, height_um=cfg.height_um, dt_s=cfg.dt_s,
                             interface_width_um=cfg.interface_width_um))


# ---- Tafel --------------------------------------------------------------------------------------

def tafel(tcfg, chemistry='Li'):
  """Galvanostatic steps J_k; after t_s (transport still fast: c~ ~ 1), eta = V - phi and c~
  at the xi = 1/2 level. Slope of eta against log10 of the kinetic current
  i / (c~^(1-alpha) (1 - exp(f eta))) (Butler-Volmer with the concentration and anodic branch
  divided out), fitted over the J_k, against ln(10) R T / (alpha z F)."""
  e = el.get_electrolyte(chemistry)
  etas, logs, raw = [], [], []
  coeffs = None
  for j in tcfg.current_densities_ma_cm2:
    cfg = cr.column_config(ny=int(round(tcfg.height_um / tcfg.dx_um)), dx_um=tcfg.dx_um,
                           interface_width_um=tcfg.interface_width_um,
                           electrode_height_um=tcfg.electrode_height_um, dt_s=tcfg.dt_s,
                           t_end_s=tcfg.dt_s, save_every_s=tcfg.dt_s, chemistry=chemistry,
                           potential_iterations=tcfg.solver_iterations,
                           transport_iterations=tcfg.solver_iterations)
    params = cr.params_for(j, tcfg.concentration_mol_m3, chemistry=chemistry,
                           temperature_k=tcfg.temperature_k)
    rec = cr.rollout(params, cfg, tcfg.t_s, record_every=max(1, int(round(tcfg.t_s / tcfg.dt_s))))
    coeffs = rec.coefficients
    _, phi = cr.interface_values(rec.xi[-1:], rec.potential_v[-1:], cfg.dx_um)
    _, c = cr.interface_values(rec.xi[-1:], rec.concentration[-1:], cfg.dx_um)
    eta = float(rec.voltage_v[-1] - phi[0])
    f, alpha = float(coeffs.f_per_v), float(coeffs.alpha)
    i = float(rec.current_a_m2[-1])
    etas.append(eta)
    logs.append(math.log10(i / (c[0]**(1.0 - alpha) * (1.0 - math.exp(f * eta)))))
    raw.append(math.log10(i))
  slope = -np.polyfit(logs, etas, 1)[0]
  raw_slope = -np.polyfit(raw[-3:], etas[-3:], 1)[0]
  alpha = float(coeffs.alpha)
  ref = el.tafel_slope_v_per_decade(tcfg.temperature_k, alpha, e.charge_number)
  inputs = dict(temperature_k=tcfg.temperature_k, transfer_coefficient=alpha,
                charge_number=e.charge_number, gas_constant_j_mol_k=el.GAS_CONSTANT,
                faraday_c_mol=el.FARADAY,
                current_density_a_m2=[10.0 * j for j in tcfg.current_densities_ma_cm2],
                exchange_current_a_m2=float(coeffs.exchange_current_a_m2))
  return entry(slope, ref, tcfg.tolerance, inputs, overpotential_v=etas,
               uncorrected_slope_v_per_decade_top3=float(raw_slope),
               numerics=dict(dx_um=tcfg.dx_um, interface_width_um=tcfg.interface_width_um,
                             dt_s=tcfg.dt_s, time_s=tcfg.t_s))


# ---- Faraday and electroneutrality --------------------------------------------------------------

def charge_balance_residual(state, coeffs, config, previous=None):
  """Relative residual |div(eps sigma c~ grad phi) - r dxi/dt - div(eps 2 sigma t_-/f grad c~)|
  / |r dxi/dt + div(...)| with the model's face weights (fluxes): the charge balance of the step
  that produced `state`. The coupled step (coupling_iterations > 0) solves it on the fields at
  the start of the step (`previous`: xi, c~) with the step's reaction; the lagged one on the
  step's new fields."""
  fields = previous if (previous is not None and config.coupling_iterations) else state
  eps = electroneutral.electrolyte_fraction(fields.xi, config.electrolyte_fraction_min)
  sigma = coeffs.conductivity_um2_v_s
  dx = config.dx_um
  c = fields.concentration
  fw = fluxes.face_weights(eps * sigma * np.maximum(c, electroneutral.C_FLOOR), dx, 'dirichlet')
  fw_d = fluxes.face_weights(eps * 2.0 * sigma * coeffs.anion_transference / coeffs.f_per_v,
                             dx, 'closed')
  source = coeffs.site_ratio * state.dxi_dt + fluxes.div_w_grad(c, fw_d, dx)
  res = fluxes.div_w_grad(state.potential_v, fw, dx, 0.0) - source
  return float(np.linalg.norm(res) / np.linalg.norm(source))


def faraday(fcfg, chemistry='Li'):
  """Regression (true by construction): metal deposited c_s (thickness change) against
  integral J dt / (z F), on a 2-D galvanostatic run with nuclei; plus the charge-balance
  residual of the final fields at the configured PCG iterations (reported, not a pass/fail)."""
  e = el.get_electrolyte(chemistry)
  cfg = cr.column_config(nx=fcfg.n, ny=fcfg.n, dx_um=fcfg.dx_um, dt_s=fcfg.dt_s,
                         t_end_s=fcfg.dt_s, save_every_s=fcfg.dt_s, max_defects=2,
                         interface_width_um=fcfg.interface_width_um, electrode_height_um=6.0,
                         defect_radius_um=3.0, noise_amplitude=0.1, chemistry=chemistry,
                         potential_iterations=fcfg.potential_iterations,
                         transport_iterations=fcfg.potential_iterations,
                         concentration_top='diffusion_layer')
  params = cr.params_for(fcfg.current_density_ma_cm2, 1000.0, chemistry=chemistry, n_defects=2.0)
  steps = int(round(fcfg.t_end_s / cfg.dt_s))
  rec = cr.rollout(params, cfg, (steps - 1) * cfg.dt_s, record_every=steps - 1)
  last = cr.rollout(params, cfg, cfg.dt_s, record_every=1, state0=rec.final_state)
  metal = e.site_density_mol_m3 * (last.deposit_um[-1] - rec.deposit_um[0]) * 1e-6
  charge = float(last.charge_c_per_m2[-1])
  inputs = dict(charge_c_m2=charge, charge_number=e.charge_number, faraday_c_mol=el.FARADAY,
                site_density_mol_m3=e.site_density_mol_m3,
                current_density_a_m2=10.0 * fcfg.current_density_ma_cm2, time_s=fcfg.t_end_s)
  out = entry(metal, charge / (e.charge_number * el.FARADAY), fcfg.tolerance, inputs,
              kind='regression')
  residual = charge_balance_residual(last.final_state, last.coefficients, cfg,
                                     previous=rec.final_state)
  return out, dict(measured=residual, kind='reported', passed=None,
                   inputs=dict(potential_iterations=cfg.potential_iterations, grid=[cfg.ny, cfg.nx],
                               time_s=fcfg.t_end_s),
                   note='relative residual of the last step\'s charge-balance (electroneutral '
                        'current) solve, recomputed with fluxes.div_w_grad')
