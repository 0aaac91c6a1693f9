r"""PFHub benchmark 3a: 2-D dendritic solidification of a pure undercooled melt (Karma-Rappel).

Validates dendrax's anisotropic interface machinery (`dendrax.physics.anisotropy`) against a
community benchmark: the same operator drives the electrodeposition model.

Model (PFHub benchmark 3; A. Karma and W.-J. Rappel, Phys. Rev. E 57 (1998) 4323), dimensionless:
$\phi \in [-1, 1]$ (+1 solid), $U = (T - T_m)/(L/c_p)$,

$$ \tau(n)\,\partial_t\phi = \phi - \phi^3 - \lambda U (1 - \phi^2)^2
      - \delta/\delta\phi \int \tfrac12 W(n)^2 |\nabla\phi|^2, \qquad
   \partial_t U = D \nabla^2 U + \tfrac12 \partial_t \phi, $$

$W(n) = W_0 a(n)$, $\tau(n) = \tau_0 a(n)^2$, $a(n) = 1 + \epsilon_4 \cos 4\theta$,
$\lambda = D\tau_0 / (0.6267 W_0^2)$. Benchmark values: $W_0 = \tau_0 = 1$, $\epsilon_4 = 0.05$,
$D = 10$, $U(t=0) = \Delta = -0.3$; a quarter seed of radius 8 in the corner $(0, 0)$ of a
$960^2$ square with no-flux walls; run to $t = 1500$ (pages.nist.gov/pfhub, benchmark 3a).

Numerics. Cell-centred grid of spacing `dx` on $[0, L]^2$, mirror (Neumann) walls, so the corner
walls are the dendrite's symmetry axes. $\phi$: explicit Euler with the flux-form anisotropic
operator, either on the cell faces only (`stencil='face'`, the 5-point form) or mixed 2/3 faces +
1/3 corners (`stencil='isotropic'`), which cancels the O(dx^2) lattice anisotropy: at dx = W0 the
face form's lattice anisotropy opposes eps4 and slows the tip by ~12 % (docs/benchmarks.md).
$U$: `diffusion_substeps` explicit Euler sub-steps per $\phi$ step, each with the $\phi$ source
spread evenly, so $\int (U - \phi/2)\,dA$ (enthalpy) is conserved to round-off. Sub-cycling
the cheap 5-point Laplacian costs far less on CPU than a semi-implicit DCT solve (measured in
docs/benchmarks.md) and keeps the scheme explicit. `ActiveWindow` / `run_windowed` compute only
the corner square where the fields have left their far-field values.

Observables (PFHub submission quantities): tip position along $x$ (the $\phi = 0$ crossing on
the symmetry line $y = 0$, linearly interpolated between cells; the row at $y = 0$ is
extrapolated from the two first rows using mirror symmetry, $\phi(y) = \phi_0 + O(y^2)$), solid
area $\int (1 + \phi)/2\,dA$, and free energy
$\int [\tfrac12 W^2 |\nabla\phi|^2 + f(\phi, U)]\,dA$.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import anisotropy, stencils

_BC = ('neumann', 'neumann')
# Karma-Rappel thin-interface constant a1 * a2 ... as written in lambda = D tau0 / (a W0^2).
KARMA_RAPPEL_COUPLING = 0.6267
# Stability margin of the explicit diffusion sub-steps: dt_sub <= margin * dx^2 / (4 D).
_DIFFUSION_MARGIN = 0.9
# The phi operator for each `PFHub3aNumerics.stencil` (an explicit dict, so it greps).
_OPERATORS = {'face': anisotropy.anisotropic_gradient_term,
              'isotropic': anisotropy.anisotropic_gradient_term_isotropic}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PFHub3aParams:
  """Physical (dimensionless) parameters: a pytree, so `jax.grad`/`jax.jvp` reach each one.

  Defaults are the benchmark's. Lengths in units of W0, times in units of tau0.
  """
  w0: jax.Array | float = 1.0              # interface width W0
  tau0: jax.Array | float = 1.0            # relaxation time tau0
  eps4: jax.Array | float = 0.05           # anisotropy strength epsilon_4
  diffusivity: jax.Array | float = 10.0    # thermal diffusivity D
  undercooling: jax.Array | float = -0.3   # Delta = U(t = 0)
  seed_radius: jax.Array | float = 8.0     # radius of the phi = 0 contour of the seed

  @property
  def coupling(self):
    """lambda = D tau0 / (0.6267 W0^2) (Karma-Rappel thin-interface choice, no kinetics)."""
    return self.diffusivity * self.tau0 / (KARMA_RAPPEL_COUPLING * self.w0**2)


@dataclasses.dataclass(frozen=True)
class PFHub3aNumerics:
  """Static discretisation (hashable; fixed under jit).

  domain_size: side L of the computed square [0, L]^2 (benchmark: 960).
  dx: cell size (units of W0). dt: phi time step (units of tau0).
  diffusion_substeps: U sub-steps per phi step; 0 picks the fewest stable ones.
  mode: symmetry order m of a(n) (benchmark: 4). dtype: 'float32' or 'float64'.
  stencil: 'isotropic' (faces + corners, lattice anisotropy cancelled at O(dx^2)) or 'face'.
  """
  domain_size: float = 960.0
  dx: float = 0.8
  dt: float = 0.08
  diffusion_substeps: int = 0
  mode: int = 4
  dtype: str = 'float32'
  stencil: str = 'isotropic'

  def __post_init__(self):
    if not self.domain_size > 0:
      raise ValueError(f'domain_size={self.domain_size!r}; expected > 0')
    if not 0 < self.dx <= self.domain_size / 8:
      raise ValueError(f'dx={self.dx!r}; expected 0 < dx <= domain_size / 8')
    if not self.dt > 0:
      raise ValueError(f'dt={self.dt!r}; expected > 0')
    if not isinstance(self.diffusion_substeps, int) or self.diffusion_substeps < 0:
      raise ValueError(f'diffusion_substeps={self.diffusion_substeps!r}; expected an int >= 0')
    if self.dtype not in ('float32', 'float64'):
      raise ValueError(f"dtype={self.dtype!r}; expected 'float32' or 'float64'")
    if self.stencil not in _OPERATORS:
      raise ValueError(f'stencil={self.stencil!r}; expected one of {tuple(_OPERATORS)}')

  @property
  def n(self) -> int:
    """Cells per side (domain_size / dx, rounded)."""
    return int(round(self.domain_size / self.dx))

  def substeps(self, diffusivity: float) -> int:
    """U sub-steps per phi step: the given number, or the fewest with dt_sub < dx^2 / (4 D)."""
    if self.diffusion_substeps:
      return self.diffusion_substeps
    return max(1, math.ceil(self.dt * 4 * diffusivity / (_DIFFUSION_MARGIN * self.dx**2)))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PFHub3aState:
  """phi `[n, n]` (row index y, column x), U `[n, n]`, and the number of phi steps taken."""
  phi: jax.Array
  u: jax.Array
  step: jax.Array


class Record(NamedTuple):
  """Saved observables, each `[num_saves + 1]` (the first entry is t = 0)."""
  time: jax.Array
  tip_position: jax.Array
  solid_area: jax.Array
  free_energy: jax.Array


def cell_centres(numerics: PFHub3aNumerics) -> jax.Array:
  """x (= y) coordinates of the cell centres, `[n]`: (i + 1/2) dx."""
  dtype = jnp.dtype(numerics.dtype)
  return (jnp.arange(numerics.n, dtype=dtype) + 0.5) * jnp.asarray(numerics.dx, dtype)


def seed_profile(numerics: PFHub3aNumerics, params: PFHub3aParams) -> jax.Array:
  """Quarter seed in the corner: phi = -tanh((r - r0) / (sqrt(2) W0)), the 1-D equilibrium."""
  x = cell_centres(numerics)
  r = jnp.sqrt(x[None, :]**2 + x[:, None]**2)
  return -jnp.tanh((r - params.seed_radius) / (jnp.sqrt(2.0) * params.w0)).astype(x.dtype)


def driving_force(phi, u, coupling):
  """-df/dphi = phi - phi^3 - lambda U (1 - phi^2)^2 for the benchmark's double well."""
  one_minus_sq = 1.0 - phi * phi
  return phi * one_minus_sq - coupling * u * one_minus_sq * one_minus_sq


def bulk_free_energy(phi, u, coupling):
  """f = -phi^2/2 + phi^4/4 + lambda U phi (1 - 2 phi^2/3 + phi^4/5)."""
  p2 = phi * phi
  return -0.5 * p2 + 0.25 * p2 * p2 + coupling * u * phi * (1.0 - 2.0 / 3.0 * p2 + 0.2 * p2 * p2)


def pfhub3a(numerics: PFHub3aNumerics) -> tuple[Callable, Callable]:
  """Returns `(init_fn, step_fn)` for PFHub 3a.

  init_fn(params) -> PFHub3aState: the quarter seed, U = Delta everywhere.
  step_fn(state, params) -> PFHub3aState: one phi step of `numerics.dt` with its U sub-steps.
  `params` (PFHub3aParams) is an argument, never closed over. The number of U sub-steps is
  chosen from the default diffusivity when `diffusion_substeps = 0`; pass it explicitly when
  differentiating or varying D upwards.
  """
  dx, dt, mode = numerics.dx, numerics.dt, numerics.mode
  dtype = jnp.dtype(numerics.dtype)
  n_sub = numerics.substeps(PFHub3aParams().diffusivity)
  operator = _OPERATORS[numerics.stencil]

  def init_fn(params: PFHub3aParams) -> PFHub3aState:
    phi = seed_profile(numerics, params)
    u = jnp.full_like(phi, params.undercooling)
    return PFHub3aState(phi=phi, u=u, step=jnp.zeros((), jnp.int32))

  def step_fn(state: PFHub3aState, params: PFHub3aParams) -> PFHub3aState:
    phi, u = state.phi, state.u
    a = anisotropy.anisotropy_factor(phi, dx, _BC, eps=params.eps4, mode=mode)
    tau = params.tau0 * a * a
    grad_term = params.w0**2 * operator(phi, dx, _BC, eps=params.eps4, mode=mode)
    dphi = (dt / tau) * (driving_force(phi, u, params.coupling) + grad_term)
    phi_new = (phi + dphi).astype(dtype)
    dt_sub = dt / n_sub
    source = 0.5 * dphi / n_sub
    # A loop, not unrolled: same speed, and about half the compile time (one program per window).
    u = jax.lax.fori_loop(
        0, n_sub,
        lambda _, v: v + dt_sub * params.diffusivity * stencils.laplacian(v, dx, _BC) + source, u)
    return PFHub3aState(phi=phi_new, u=u.astype(dtype), step=state.step + 1)

  return init_fn, step_fn


def tip_position(phi: jax.Array, dx: float) -> jax.Array:
  """x of the outermost phi = 0 crossing on the line y = 0 (linear interpolation), scalar.

  The y = 0 line is the lower wall (a mirror plane); phi there is extrapolated from the first two
  rows, phi(0) = (9 phi(dx/2) - phi(3dx/2)) / 8, exact for phi even and quadratic in y.
  Returns 0 if no cell on the line is solid.
  """
  line = (9.0 * phi[0] - phi[1]) / 8.0
  x = (jnp.arange(line.shape[0], dtype=line.dtype) + 0.5) * dx
  crossing = (line[:-1] > 0) & (line[1:] <= 0)
  # Outermost crossing: the last index where `crossing` holds.
  i = line.shape[0] - 2 - jnp.argmax(crossing[::-1])
  p0, p1 = line[i], line[i + 1]
  x_tip = x[i] + dx * p0 / (p0 - p1)
  return jnp.where(jnp.any(crossing), x_tip, 0.0)


def solid_area(phi: jax.Array, dx: float) -> jax.Array:
  """int (1 + phi)/2 dA over the computed domain (units of W0^2)."""
  return 0.5 * jnp.sum(1.0 + phi) * dx * dx


def free_energy(state: PFHub3aState, params: PFHub3aParams, numerics: PFHub3aNumerics):
  """F = int [1/2 W(n)^2 |grad phi|^2 + f(phi, U)] dA, central gradients at cell centres."""
  dx = numerics.dx
  gy, gx = stencils.gradient(state.phi, dx, _BC)
  a = anisotropy.anisotropy_factor(state.phi, dx, _BC, eps=params.eps4, mode=numerics.mode)
  density = (0.5 * (params.w0 * a)**2 * (gx * gx + gy * gy)
             + bulk_free_energy(state.phi, state.u, params.coupling))
  return jnp.sum(density) * dx * dx


def enthalpy(state: PFHub3aState, dx: float) -> jax.Array:
  """int (U - phi/2) dA: conserved by the model under no-flux walls."""
  return jnp.sum(state.u - 0.5 * state.phi) * dx * dx


def rollout(step_fn: Callable, state: PFHub3aState, params: PFHub3aParams,
            numerics: PFHub3aNumerics, *, steps_per_save: int, num_saves: int
            ) -> tuple[PFHub3aState, Record]:
  """Runs `steps_per_save * num_saves` steps with `lax.scan`, recording observables.

  Returns the final state and a `Record` of `num_saves + 1` entries (t = 0 first).
  Jit it with `steps_per_save`, `num_saves`, `numerics` and `step_fn` static.
  """
  dx = numerics.dx

  def observe(s):
    return (s.step.astype(s.phi.dtype) * numerics.dt, tip_position(s.phi, dx),
            solid_area(s.phi, dx), free_energy(s, params, numerics))

  def block(s, _):
    s = jax.lax.fori_loop(0, steps_per_save, lambda _, x: step_fn(x, params), s)
    return s, observe(s)

  first = observe(state)
  state, rec = jax.lax.scan(block, state, None, length=num_saves)
  rec = Record(*(jnp.concatenate([f[None], r]) for f, r in zip(first, rec)))
  return state, rec


def steps_for(numerics: PFHub3aNumerics, t_end: float, save_every: float) -> tuple[int, int]:
  """(steps_per_save, num_saves) covering [0, t_end] with saves every `save_every`.

  Raises ValueError if the intervals are not whole multiples of dt.
  """
  steps_per_save = round(save_every / numerics.dt)
  num_saves = round(t_end / save_every)
  if (abs(steps_per_save * numerics.dt - save_every) > 1e-9 * save_every
      or abs(num_saves * save_every - t_end) > 1e-9 * t_end):
    raise ValueError(f'save_every={save_every} and t_end={t_end} must be whole multiples of '
                     f'dt={numerics.dt} and of save_every respectively')
  return steps_per_save, num_saves


def make_run(numerics: PFHub3aNumerics, *, t_end: float, save_every: float) -> Callable:
  """Jitted `run(params) -> (final_state, Record)` from the seed to `t_end`.

  Compile separately with `make_run(...).lower(params).compile()` to time the run alone.
  """
  init_fn, step_fn = pfhub3a(numerics)
  steps_per_save, num_saves = steps_for(numerics, t_end, save_every)

  @jax.jit
  def run(params: PFHub3aParams):
    return rollout(step_fn, init_fn(params), params, numerics,
                   steps_per_save=steps_per_save, num_saves=num_saves)

  return run


@dataclasses.dataclass(frozen=True)
class ActiveWindow:
  """The computed square [0, n dx]^2 grows with the thermal field instead of covering the domain.

  Outside the window the fields sit at their far-field values (phi = -1, U = Delta), a fixed point
  of the model, so they need no computing. The window's outer walls are no-flux, like the domain's;
  that is exact while the fields there are still at the far field. After every save interval the
  largest deviation max(|U - Delta|, |phi + 1|) over the outer `band_cells` rows and columns is
  measured; above `tolerance` the window grows by `growth` (rounded up to a multiple of
  `multiple` cells, capped at the domain), padded with the far-field values.

  initial_cells: side of the first window (cells). growth: size factor per enlargement (> 1).
  multiple: window sides are multiples of this (bounds the number of compiled shapes).
  tolerance: largest far-field deviation allowed in the band. band_cells: width of that band.
  Measured (docs/benchmarks.md): tolerance 1e-3 gives the whole-domain tip, solid area and free
  energy to < 1e-4 relative; the full benchmark then updates 21 % of the domain's cells.
  """
  initial_cells: int = 128
  growth: float = 1.25
  multiple: int = 32
  tolerance: float = 1e-3
  band_cells: int = 16

  def __post_init__(self):
    if not self.initial_cells >= 2 * self.band_cells:
      raise ValueError(f'initial_cells={self.initial_cells!r}; expected >= 2 * band_cells')
    if not self.growth > 1:
      raise ValueError(f'growth={self.growth!r}; expected > 1')
    if not self.multiple >= 1:
      raise ValueError(f'multiple={self.multiple!r}; expected >= 1')
    if not self.tolerance > 0:
      raise ValueError(f'tolerance={self.tolerance!r}; expected > 0')
    if not self.band_cells >= 1:
      raise ValueError(f'band_cells={self.band_cells!r}; expected >= 1')

  def next_size(self, n: int, n_max: int) -> int:
    """The enlarged side: growth * n rounded up to a multiple of `multiple`, at most n_max."""
    m = self.multiple
    return min(n_max, max(n + m, math.ceil(n * self.growth / m) * m))


def far_field_free_energy_density(params: PFHub3aParams) -> jax.Array:
  """f(phi = -1, U = Delta): the free energy per unit area of the untouched melt."""
  return bulk_free_energy(-1.0, params.undercooling, params.coupling)


def far_field_deviation(state: PFHub3aState, params: PFHub3aParams, band: int) -> jax.Array:
  """max(|U - Delta|, |phi + 1|) over the outer `band` rows and columns (away from the seed)."""
  dev = jnp.maximum(jnp.abs(state.u - params.undercooling), jnp.abs(state.phi + 1.0))
  return jnp.maximum(jnp.max(dev[-band:, :]), jnp.max(dev[:, -band:]))


def grow_state(state: PFHub3aState, params: PFHub3aParams, n: int) -> PFHub3aState:
  """Pads `state` to `[n, n]` with the far field (phi = -1, U = Delta) beyond its outer walls."""
  extra = n - state.phi.shape[0]
  widths = ((0, extra), (0, extra))
  return PFHub3aState(
      phi=jnp.pad(state.phi, widths, constant_values=-1.0),
      u=jnp.pad(state.u, widths, constant_values=params.undercooling), step=state.step)


def run_windowed(numerics: PFHub3aNumerics, params: PFHub3aParams, window: ActiveWindow, *,
                 t_end: float, save_every: float) -> tuple[PFHub3aState, Record, np.ndarray]:
  """The benchmark from the seed to `t_end` on an `ActiveWindow` of the `numerics.n`^2 domain.

  Returns the final (window-sized) state, a `Record` of numpy arrays for the whole domain (solid
  area and free energy include the far field outside the window), and the window side used for
  each save interval, `[num_saves]` (cells computed = sum(side^2) * steps_per_save).
  One program is compiled per window side (jit's cache); the host checks the far-field band
  once per save interval.
  """
  init_fn, step_fn = pfhub3a(numerics)
  steps_per_save, num_saves = steps_for(numerics, t_end, save_every)
  dx, n_max = numerics.dx, numerics.n

  def observe(s, p):
    area_cells = s.phi.shape[0] * s.phi.shape[1]
    far = (n_max * n_max - area_cells) * dx * dx * far_field_free_energy_density(p)
    return (tip_position(s.phi, dx), solid_area(s.phi, dx),
            free_energy(s, p, numerics) + far, far_field_deviation(s, p, window.band_cells))

  @jax.jit
  def chunk(s, p):
    s = jax.lax.fori_loop(0, steps_per_save, lambda _, x: step_fn(x, p), s)
    return s, observe(s, p)

  n = min(window.initial_cells, n_max)
  first = init_fn(params)
  state = PFHub3aState(phi=first.phi[:n, :n], u=first.u[:n, :n], step=first.step)
  obs = [jax.device_get(jax.jit(observe)(state, params))]
  sizes = []
  for _ in range(num_saves):
    sizes.append(n)
    state, o = chunk(state, params)
    o = jax.device_get(o)
    obs.append(o)
    if n < n_max and o[3] > window.tolerance:
      n = window.next_size(n, n_max)
      state = grow_state(state, params, n)
  tip, area, energy, _ = (np.asarray(v) for v in zip(*obs))
  time = np.arange(num_saves + 1) * steps_per_save * numerics.dt
  return state, Record(time, tip, area, energy), np.asarray(sizes)


REFERENCE_COLUMNS = ('time', 'tip_position_x', 'solid_fraction')
# Other spellings of the reference columns in published PFHub 3a files (PFHub's own upload
# layout names the tip column `tip_position`).
_COLUMN_ALIASES = {'tip_position': 'tip_position_x'}


def load_reference(path: str) -> dict[str, np.ndarray]:
  """Reads a PFHub 3a result CSV (columns `time, tip_position_x` or `tip_position`,
  `solid_fraction`, ...), sorted by time.

  Raises ValueError naming a missing column.
  """
  data = np.genfromtxt(path, delimiter=',', names=True)
  columns = {_COLUMN_ALIASES.get(name, name): np.asarray(data[name], float)
             for name in data.dtype.names}
  for name in REFERENCE_COLUMNS:
    if name not in columns:
      raise ValueError(f'{path}: column {name!r} missing; found {data.dtype.names}')
  order = np.argsort(columns['time'], kind='stable')
  return {name: value[order] for name, value in columns.items()}


def interpolate_reference(reference: dict[str, np.ndarray], column: str, t) -> np.ndarray:
  """`column` at times `t`: linear interpolation, linear extrapolation past the last sample
  (the MOOSE reference ends at t = 1497.03, just short of 1500)."""
  time, value = reference['time'], reference[column]
  t = np.asarray(t, float)
  slope = (value[-1] - value[-2]) / (time[-1] - time[-2])
  return np.where(t > time[-1], value[-1] + slope * (t - time[-1]), np.interp(t, time, value))
