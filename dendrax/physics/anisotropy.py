r"""Anisotropic interface energy: the operator shared by electrodeposition and PFHub 3a.

The gradient energy is $F = \int \tfrac12 a(\theta)^2 |\nabla f|^2\,dA$ with
$a(\theta) = 1 + \epsilon \cos(m(\theta - \theta_0))$ and $\theta$ the angle of $\nabla f$.
Its negative variational derivative (Kobayashi 1993; Karma & Rappel 1998; PFHub benchmark 3) is

$$ -\frac{\delta F}{\delta f} = \nabla\cdot(a^2 \nabla f)
    - \partial_x(a a' \partial_y f) + \partial_y(a a' \partial_x f), \qquad a' = da/d\theta. $$

It is evaluated in flux form on cell faces (conservative, no checkerboard modes). The angle is
never formed with `atan2`: with the regularised unit normal $n = \nabla f / \sqrt{|\nabla f|^2 +
\delta}$, $\cos m(\theta-\theta_0) + i \sin m(\theta-\theta_0) = ((n_x + i n_y) e^{-i\theta_0})^m$,
which is smooth everywhere, so forward- and reverse-mode derivatives stay finite in the bulk where
$\nabla f = 0$ (there the anisotropy fades smoothly to zero, as does the term it multiplies).
Typical values: Li $\epsilon = 0.1, m = 4$; Zn (hexagonal) $\epsilon = 0.04, m = 6$; PFHub 3a
$\epsilon = 0.05, m = 4$.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import jax
import jax.numpy as jnp

from dendrax.physics import stencils

# Regularisation of |grad f|^2, in units of (f per cell)^2: far below any interface gradient.
_GRAD_EPS_PER_CELL2 = 1e-10


def _harmonics(gx, gy, dx, mode: int, theta0):
  """cos and sin of mode * (theta - theta0), faded smoothly to zero where the gradient vanishes.

  Real arithmetic for (n_x + i n_y)^mode e^{-i mode theta0}: `mode - 1` complex products of
  the regularised unit normal, no complex dtypes (same cost, works in float32 and float64).
  """
  inv_norm = jax.lax.rsqrt(gx * gx + gy * gy + _GRAD_EPS_PER_CELL2 / dx**2)
  nx, ny = gx * inv_norm, gy * inv_norm
  if not (isinstance(theta0, (int, float)) and theta0 == 0):
    c0, s0 = jnp.cos(theta0), jnp.sin(theta0)      # rotate the normal by -theta0
    nx, ny = nx * c0 + ny * s0, ny * c0 - nx * s0
  if mode == 0:
    return jnp.ones_like(nx), jnp.zeros_like(nx)
  re, im = nx, ny
  for _ in range(mode - 1):
    re, im = re * nx - im * ny, re * ny + im * nx
  return re, im


def _check_mode(mode) -> int:
  """`mode` must be a static non-negative integer (it sets the number of complex products)."""
  if isinstance(mode, bool) or not isinstance(mode, numbers.Integral) or mode < 0:
    raise ValueError(f'mode={mode!r}; expected a non-negative integer (4 cubic, 6 hexagonal)')
  return int(mode)


def anisotropy_factor(f: jax.Array, dx: float, bc: Sequence[str], *, eps, mode: int,
                      theta0=0.0) -> jax.Array:
  """a(theta) = 1 + eps cos(mode (theta - theta0)) at cell centres, `[ny, nx]`."""
  gy, gx = stencils.gradient(f, dx, bc)
  cos_m, _ = _harmonics(gx, gy, dx, _check_mode(mode), theta0)
  return 1.0 + eps * cos_m


def interface_angle(f: jax.Array, dx: float, bc: Sequence[str]) -> jax.Array:
  """Angle of the interface normal grad f, `atan2(df/dy, df/dx)`, radians (for plots/analysis)."""
  gy, gx = stencils.gradient(f, dx, bc)
  return jnp.arctan2(gy, gx)


def _face_flux(gx, gy, dx, eps, mode, theta0):
  """(flux_x, flux_y) = a^2 grad f + a a' (-df/dy, df/dx) at one set of faces."""
  cos_m, sin_m = _harmonics(gx, gy, dx, mode, theta0)
  a = 1.0 + eps * cos_m
  a_prime = -eps * mode * sin_m
  return a * a * gx - a * a_prime * gy, a * a * gy + a * a_prime * gx


def anisotropic_gradient_term(f: jax.Array, dx: float, bc: Sequence[str], *, eps, mode: int,
                              theta0=0.0) -> jax.Array:
  """-dF/df for F = int 1/2 a(theta)^2 |grad f|^2, at cell centres, `[ny, nx]`.

  With eps = 0 this is exactly the 5-point Laplacian. On Neumann axes the boundary-face fluxes are
  zero, so the integral of the result over the domain vanishes (no-flux walls).
  """
  mode = _check_mode(mode)
  (xgx, xgy), (ygx, ygy) = stencils.face_gradients(f, dx, bc)
  jx, _ = _face_flux(xgx, xgy, dx, eps, mode, theta0)
  _, jy = _face_flux(ygx, ygy, dx, eps, mode, theta0)
  return stencils.divergence_of_face_fluxes(jx, jy, dx, bc)


# Weight of the corner (diagonal) evaluation in the isotropic operator: 2/3 faces + 1/3 corners
# cancels the O(dx^2) lattice anisotropy of the Laplacian part (the isotropic 9-point Laplacian,
# error dx^2/12 lap^2 f instead of dx^2/12 (f_xxxx + f_yyyy)).
_CORNER_WEIGHT = 1.0 / 3.0


def anisotropic_gradient_term_isotropic(f: jax.Array, dx: float, bc: Sequence[str], *, eps,
                                        mode: int, theta0=0.0) -> jax.Array:
  """-dF/df as `anisotropic_gradient_term`, with the lattice anisotropy cancelled at O(dx^2).

  The flux a^2 grad f + a a' (-f_y, f_x) is evaluated both on the cell faces (as in
  `anisotropic_gradient_term`) and at the cell corners (`stencils.corner_gradients`), and the two
  divergences are mixed 2/3 : 1/3. With eps = 0 this is the isotropic 9-point Laplacian
  (4 sum(edges) + sum(corners) - 20 f) / (6 dx^2). The 5-point face form alone adds an O(dx^2)
  four-fold anisotropy of its own, which at dx ~ W0 acts as a sizeable error in eps4 (PFHub 3a:
  the tip lags the grid-converged one by ~12 % at dx = W0); this form removes it. Conservative
  (no-flux walls: the integral vanishes), about 1.5x the cost of the face form.
  """
  mode = _check_mode(mode)
  faces = anisotropic_gradient_term(f, dx, bc, eps=eps, mode=mode, theta0=theta0)
  gx, gy = stencils.corner_gradients(f, dx, bc)
  jx, jy = _face_flux(gx, gy, dx, eps, mode, theta0)
  corners = stencils.divergence_of_corner_fluxes(jx, jy, dx, bc)
  return (1.0 - _CORNER_WEIGHT) * faces + _CORNER_WEIGHT * corners
