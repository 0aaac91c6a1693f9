r"""Linear-solver residuals of dendrax's electroneutral step, and its agreement with the FiPy peer.

dendrax runs a fixed number of warm-started PCG iterations per step for the salt
(`transport_iterations`) and the charge balance (`potential_iterations`); the FiPy peer solves to
a relative tolerance. To compare like with like, `solve_residuals` replays a step's two solves
with dendrax's own solver (`fluxes.make_implicit_solver`, same inputs and warm start) for a list
of iteration counts and returns the TRUE relative residual |b - A x| / |b| of each result,
evaluated in float64 with numpy (the criterion FiPy's scipy CG stops on). `iterations_for` then
picks the smallest counts that reach a tolerance over a window of steps. (The interface
relaxation is an exact spectral solve in dendrax: no iteration count.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import electroneutral
from dendrax.physics import fluxes


def _np_apply(u, fw, a, b, dx):
  """(a - b div(w grad)) u in float64 numpy, zero boundary value (as `fluxes.div_w_grad`)."""
  fwx, fwy, gtop = (np.asarray(t, np.float64) for t in (fw.x, fw.y, fw.top))
  fx = fwx * (np.roll(u, -1, axis=-1) - u) / dx
  fy = np.concatenate([np.zeros_like(gtop), fwy * (u[1:] - u[:-1]) / dx, -gtop * u[-1:]])
  div = (fx - np.roll(fx, 1, axis=-1) + fy[1:] - fy[:-1]) / dx
  return a * u - b * div


def _true_residual(x, rhs, fw, a, b, u_top, dx):
  rhs = np.array(rhs, np.float64)
  rhs[-1] += b * np.asarray(fw.top[0], np.float64) * u_top / dx
  r = rhs - _np_apply(np.asarray(x, np.float64), fw, a, b, dx)
  return float(np.linalg.norm(r) / np.linalg.norm(rhs))


def make_replay(config):
  """Returns `replay(prev, new, coeffs, n_salt, n_potential) -> {'salt': res, 'potential': res}`:
  the true relative residuals of the salt and charge-balance solves of the step prev -> new
  when given n_salt / n_potential PCG iterations (noise-free config)."""
  dx, dt = config.dx_um, config.dt_s
  eps_min = config.electrolyte_fraction_min
  dtype = jnp.dtype(config.dtype)
  salt_solve = fluxes.make_implicit_solver(config.ny, config.nx, dx, 'robin', dtype)
  phi_solve = fluxes.make_implicit_solver(config.ny, config.nx, dx, 'dirichlet', dtype)

  @jax.jit
  def solves(prev, new, coeffs, n_salt, n_potential):
    tau = coeffs.anion_transference * coeffs.site_ratio * dt
    capillary = -coeffs.capillary_length_v_um * electroneutral.profile_curvature_term(
        prev.xi, dx)[1]
    _, c_r = electroneutral.reaction_terms(prev.xi, prev.concentration, new.voltage_v,
                                           prev.potential_v, coeffs, tau, capillary_v=capillary)
    eps = electroneutral.electrolyte_fraction(new.xi, eps_min)
    d = coeffs.salt_diffusivity_um2_s
    fw_s = fluxes.face_weights(d * eps, dx, 'robin', outer_length_um=coeffs.supply_length_um,
                               outer_weight=d)
    sigma = coeffs.conductivity_um2_v_s
    if config.coupling_iterations:
      # The coupled step's charge balance, (r g - div(w grad)) phi = -(r (R - g phi_k) +
      # div(w_d grad c~)), at the iterate (V of the step, phi of the last step) with the old
      # xi and c~: the system of its Newton iteration (exact in CV stages, where V is held).
      c_r = jnp.maximum(prev.concentration, 0.0) - tau * new.dxi_dt
      eps_p, c_p = electroneutral.electrolyte_fraction(prev.xi, eps_min), prev.concentration
      rate_of = lambda phi: electroneutral.reaction_terms(
          prev.xi, c_p, new.voltage_v, phi, coeffs, tau, capillary_v=capillary)[0]
      r_k, g = jax.jvp(rate_of, (prev.potential_v,), (jnp.ones_like(prev.potential_v),))
      a = coeffs.site_ratio * g
    else:
      eps_p, c_p, a = eps, new.concentration, jnp.zeros_like(new.xi)
    c, _ = salt_solve(c_r, c_r, fw_s, 1.0, dt, d, 1.0, n_salt)
    fw_p = fluxes.face_weights(eps_p * sigma * jnp.maximum(c_p, electroneutral.C_FLOOR), dx,
                               'dirichlet')
    fw_d = fluxes.face_weights(eps_p * 2.0 * sigma * coeffs.anion_transference / coeffs.f_per_v,
                               dx, 'closed')
    diffusion_current = fluxes.div_w_grad(c_p, fw_d, dx)
    if config.coupling_iterations:
      rhs = -(coeffs.site_ratio * (r_k - g * prev.potential_v) + diffusion_current)
    else:
      rhs = -(coeffs.site_ratio * new.dxi_dt + diffusion_current)
    phi, _ = phi_solve(rhs, prev.potential_v, fw_p, a, 1.0, sigma, 0.0, n_potential)
    return (c_r, c, fw_s, d), (rhs, phi, fw_p, a)

  def replay(prev, new, coeffs, n_salt, n_potential):
    # Traced iteration counts: one compilation serves every count (fori_loop -> while_loop).
    (c_r, c, fw_s, d), (rhs_p, phi, fw_p, a) = solves(prev, new, coeffs, jnp.int32(n_salt),
                                                      jnp.int32(n_potential))
    return {'salt': _true_residual(c, c_r, fw_s, 1.0, dt, 1.0, dx),
            'potential': _true_residual(phi, rhs_p, fw_p, np.asarray(a, np.float64), 1.0, 0.0,
                                        dx)}

  return replay


def dendrax_steps(params, config, steps, *, seed=0, replay_iterations=None, replay_steps=None):
  """Steps dendrax (noise-free `config`) one jitted step at a time from `simulate.run`'s initial
  state. Returns voltage/current per step, the final fields, the true residuals of its own
  solves at every step, and at the steps in `replay_steps` (default all) for each entry of
  `replay_iterations` (n, or (n_salt, n_potential)) those of the same solves given that many
  PCG iterations: `replays` is a list of {n: {'salt': r, 'potential': r}}, keyed by the entry."""
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  coeffs = simulate.coefficients_for(params, config)[0]
  key_init, key_noise = jax.random.split(jax.random.key(seed))
  init_fn, step_fn = electroneutral.make_model(config)
  state = init_fn(coeffs, params.n_defects, key_init)
  step = jax.jit(step_fn)
  replay = make_replay(config)
  out = dict(voltage_v=[], current_a_m2=[], residuals=[], replays=[])
  for i in range(steps):
    new = step(state, coeffs, jax.random.fold_in(key_noise, i))
    out['voltage_v'].append(float(new.voltage_v))
    out['current_a_m2'].append(float(new.current_a_m2))
    out['residuals'].append(replay(state, new, coeffs, config.transport_iterations,
                                   config.potential_iterations))
    if replay_iterations and (replay_steps is None or i in replay_steps):
      pairs = {n: (n if isinstance(n, tuple) else (n, n)) for n in replay_iterations}
      out['replays'].append({n: replay(state, new, coeffs, *p) for n, p in pairs.items()})
    state = new
  out['fields'] = {k: np.asarray(getattr(state, k), np.float64)
                   for k in ('xi', 'concentration', 'potential_v')}
  out['voltage_v'] = np.asarray(out['voltage_v'])
  out['current_a_m2'] = np.asarray(out['current_a_m2'])
  return out


def iterations_for(tolerance, replays):
  """Smallest (transport, potential) iteration counts whose replayed residuals are <= tolerance
  at every step of `replays` (a list of {n: {'salt': r, 'potential': r}}, n an int or a pair
  (n_salt, n_potential)); None for a system that no entry brings there."""
  pick = {}
  for j, name in enumerate(('salt', 'potential')):
    count = lambda n: n[j] if isinstance(n, tuple) else n  # pylint: disable=cell-var-from-loop
    ok = sorted(count(n) for n in replays[0]
                if max(rep[n][name] for rep in replays) <= tolerance)
    pick[name] = ok[0] if ok else None
  return pick['salt'], pick['potential']


def agreement(ref, fi, config, initial_xi):
  """Relative differences between a dendrax run (`dendrax_steps`) and a FiPy run (`run`)."""
  dx2w = config.dx_um**2 / config.width_um
  a, b = ref['fields'], fi['fields']
  dep_a = (a['xi'].sum() - initial_xi.sum()) * dx2w
  dep_b = (b['xi'].sum() - initial_xi.sum()) * dx2w
  rel = lambda x, y: abs(x - y) / max(abs(y), 1e-30)
  norm = lambda u: float(np.linalg.norm(u))
  return dict(
      deposit_um=(dep_a, dep_b, rel(dep_a, dep_b)),
      mean_current_a_m2=(ref['current_a_m2'].mean(), fi['current_a_m2'].mean(),
                         rel(ref['current_a_m2'].mean(), fi['current_a_m2'].mean())),
      final_voltage_v=(ref['voltage_v'][-1], fi['voltage_v'][-1],
                       rel(ref['voltage_v'][-1], fi['voltage_v'][-1])),
      depletion_norm=(norm(1 - a['concentration']), norm(1 - b['concentration']),
                      rel(norm(1 - a['concentration']), norm(1 - b['concentration']))),
      potential_norm=(norm(a['potential_v']), norm(b['potential_v']),
                      rel(norm(a['potential_v']), norm(b['potential_v']))),
      max_abs_diff=dict(xi=float(np.abs(a['xi'] - b['xi']).max()),
                        concentration=float(np.abs(a['concentration']
                                                   - b['concentration']).max()),
                        potential_v=float(np.abs(a['potential_v'] - b['potential_v']).max())))


def agreement_lines(ag):
  out = []
  for k, v in ag.items():
    if k == 'max_abs_diff':
      out.append('    max |dendrax - FiPy|: ' + ', '.join(f'{n} {d:.2e}' for n, d in v.items()))
    else:
      out.append(f'    {k}: dendrax {v[0]:.6g} vs FiPy {v[1]:.6g} ({100 * v[2]:.3f} %)')
  return out
