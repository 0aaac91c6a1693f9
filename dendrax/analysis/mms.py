r"""Method of manufactured solutions for the coupled salt + charge-balance discretisation.

The electroneutral step (`electroneutral`) advances the salt by backward Euler and solves the
charge balance with the new salt, both on the conservative face operators of `fluxes` and the
PCG solver with the spectral preconditioner. This harness runs those same operators and the same
face-weight choices as `electroneutral.make_model` (salt: w = eps D, Dirichlet c~ = 1 on top;
charge: w = eps sigma c~ with a Dirichlet phi = 0 top, diffusion current with a closed top), adds
manufactured source terms, and measures the error against the exact fields:

  c(x, y, t)   = 1 + a(t) cos(k x + 0.3) cos^2(pi y / 2H)        (c = 1, dc/dy = 0 on top;
  phi(x, y, t) = b(t) cos(k x) cos(pi y / 2H)                      no flux at y = 0)
  xi(x, y, t)  = 0.4 + 0.2 (1 + 0.5 sin t) sin(k x) cos(pi y / 2H)^2   (prescribed; eps(xi))

  (c_n+1 - c_n) / dt = div(eps D grad c_n+1) - t_- r dxi/dt + S_c(t_n+1)
  div(eps sigma c_n+1 grad phi) = r dxi/dt + div(eps 2 sigma t_- / f grad c_n+1) + S_phi

with S_c, S_phi the residuals of the exact fields in the continuous equations (jax autodiff).
The linear solves run to convergence (the verified thing is the discretisation; the fixed
iteration counts of the model are reported separately as the electroneutrality residual).
The phase-field relaxation is not part of this MMS (prescribed xi).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import electroneutral
from dendrax.physics import fluxes

# Coefficients of the MMS problem (dimensionless; unit square, unit time).
D, SIGMA, T_MINUS, F, R, EPS_MIN = 1.0, 0.7, 0.62, 2.0, 0.5, 1e-3
K = 2.0 * math.pi        # x period 1


def _a(t):
  return 0.3 * (1.0 + 0.5 * jnp.sin(2.0 * t))


def _b(t):
  return 0.2 * jnp.cos(t)


def exact_c(x, y, t):
  return 1.0 + _a(t) * jnp.cos(K * x + 0.3) * jnp.cos(0.5 * math.pi * y)**2


def exact_phi(x, y, t):
  return _b(t) * jnp.cos(K * x) * jnp.cos(0.5 * math.pi * y)


def exact_xi(x, y, t):
  return 0.4 + 0.2 * (1.0 + 0.5 * jnp.sin(t)) * jnp.sin(K * x) * jnp.cos(0.5 * math.pi * y)**2


def _eps(x, y, t):
  return electroneutral.electrolyte_fraction(exact_xi(x, y, t), EPS_MIN)


def _div_w_grad(w_fn, u_fn):
  """Pointwise div(w grad u) of scalar functions of (x, y, t)."""
  def flux(x, y, t):
    gx, gy = jax.grad(u_fn, argnums=(0, 1))(x, y, t)
    return w_fn(x, y, t) * gx, w_fn(x, y, t) * gy
  def div(x, y, t):
    return (jax.grad(lambda s: flux(s, y, t)[0])(x) + jax.grad(lambda s: flux(x, s, t)[1])(y))
  return div


def _dxi_dt(x, y, t):
  return jax.grad(exact_xi, argnums=2)(x, y, t)


def salt_source(x, y, t):
  dcdt = jax.grad(exact_c, argnums=2)(x, y, t)
  return (dcdt - _div_w_grad(lambda *a: _eps(*a) * D, exact_c)(x, y, t)
          + T_MINUS * R * _dxi_dt(x, y, t))


def charge_source(x, y, t):
  cond = _div_w_grad(lambda *a: _eps(*a) * SIGMA * exact_c(*a), exact_phi)(x, y, t)
  diff = _div_w_grad(lambda *a: _eps(*a) * 2.0 * SIGMA * T_MINUS / F, exact_c)(x, y, t)
  return cond - R * _dxi_dt(x, y, t) - diff


def _on_grid(fn, n, t):
  dx = 1.0 / n
  y, x = jnp.meshgrid((jnp.arange(n) + 0.5) * dx, (jnp.arange(n) + 0.5) * dx, indexing='ij')
  return jax.vmap(jax.vmap(fn, (0, 0, None)), (0, 0, None))(x, y, jnp.asarray(t, x.dtype))


def solve(n: int, steps: int, t_end: float, iterations: int = 200, fields: bool = False):
  """Runs the discrete scheme on n x n cells for `steps` steps; returns (err_c, err_phi):
  max-norm errors at t_end relative to the max of the exact perturbations (and, if `fields`,
  the numerical (c, phi) too)."""
  dx, dt = 1.0 / n, t_end / steps
  with jax.enable_x64(True):
    dtype = jnp.float64
    salt_solve = fluxes.make_implicit_solver(n, n, dx, 'dirichlet', dtype)
    phi_solve = fluxes.make_implicit_solver(n, n, dx, 'dirichlet', dtype)

    def step(carry, k):
      c, phi = carry
      t_new = (k + 1) * dt
      t_mid = (k + 0.5) * dt
      xi_new = _on_grid(exact_xi, n, t_new)
      # The model's sink uses the step's increment d_xi = xi_new - xi_old.
      d_xi = xi_new - _on_grid(exact_xi, n, k * dt)
      eps = electroneutral.electrolyte_fraction(xi_new, EPS_MIN)
      c_star = c - T_MINUS * R * d_xi + dt * _on_grid(salt_source, n, t_new)
      fw = fluxes.face_weights(eps * D, dx, 'dirichlet')
      c_new, _ = salt_solve(c_star, c_star, fw, 1.0, dt, D, 1.0, iterations)
      fw_phi = fluxes.face_weights(eps * SIGMA * c_new, dx, 'dirichlet')
      fw_d = fluxes.face_weights(eps * 2.0 * SIGMA * T_MINUS / F, dx, 'closed')
      source = (R * d_xi / dt + fluxes.div_w_grad(c_new, fw_d, dx)
                + _on_grid(charge_source, n, t_new))
      phi_new, _ = phi_solve(-source, phi, fw_phi, 0.0, 1.0, SIGMA, 0.0, iterations)
      del t_mid
      return (c_new, phi_new), None

    c0 = _on_grid(exact_c, n, 0.0)
    phi0 = _on_grid(exact_phi, n, 0.0)
    (c, phi), _ = jax.lax.scan(step, (c0, phi0), jnp.arange(steps))
    ce, pe = _on_grid(exact_c, n, t_end), _on_grid(exact_phi, n, t_end)
    err_c = float(jnp.max(jnp.abs(c - ce)) / jnp.max(jnp.abs(ce - 1.0)))
    err_phi = float(jnp.max(jnp.abs(phi - pe)) / jnp.max(jnp.abs(pe)))
    if fields:
      return err_c, err_phi, np.asarray(c), np.asarray(phi)
  return err_c, err_phi


def observed_orders(errors, refinements):
  """log(e_k / e_k+1) / log(refinement) between successive entries."""
  return [math.log(errors[i] / errors[i + 1]) / math.log(refinements[i + 1] / refinements[i])
          for i in range(len(errors) - 1)]


def space_order(grids=(16, 32, 64), dt_factor=0.5, t_end=0.5):
  """Errors and observed orders under dx refinement with dt = dt_factor dx^2 (so the first-order
  time error also falls as dx^2)."""
  errs = []
  for n in grids:
    steps = max(1, int(math.ceil(t_end / (dt_factor / n**2))))
    errs.append(solve(n, steps, t_end))
  ec, ep = [e[0] for e in errs], [e[1] for e in errs]
  return dict(grids=list(grids), err_c=ec, err_phi=ep,
              order_c=observed_orders(ec, grids), order_phi=observed_orders(ep, grids))


def time_order(steps=(4, 8, 16), n=64, t_end=0.5):
  """Observed order under dt refinement on one grid, from successive differences
  |u(dt) - u(dt/2)| (the grid's own spatial error cancels; the errors against the exact fields
  are reported too). `steps` doubles: (s, 2s, 4s, ...)."""
  runs = [solve(n, s, t_end, fields=True) for s in steps]
  dc = [float(np.max(np.abs(a[2] - b[2]))) for a, b in zip(runs[:-1], runs[1:])]
  dp = [float(np.max(np.abs(a[3] - b[3]))) for a, b in zip(runs[:-1], runs[1:])]
  return dict(steps=list(steps), grid=n, err_c=[r[0] for r in runs],
              err_phi=[r[1] for r in runs], diff_c=dc, diff_phi=dp,
              order_c=observed_orders(dc, steps[:-1]), order_phi=observed_orders(dp, steps[:-1]))
