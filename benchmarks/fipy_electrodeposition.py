r"""The electroneutral dendrax model in FiPy 4 (scipy solvers): the peer baseline for speed.

  python -m benchmarks.fipy_electrodeposition --steps 10             # standard 200 x 200 grid
  python -m benchmarks.fipy_electrodeposition --steps 10 --compare   # + agreement with dendrax

The same discrete problem as `dendrax.physics.electroneutral` (read its docstring), on the same
grid (`PeriodicGrid2DLeftRight`: x periodic, y = 0 the current collector), time step,
coefficients (`simulate.coefficients_for`) and initial state (dendrax's own `init_fn` with the key
split of `simulate.run`, so the nuclei sit in the same place). Per step of dt, in FiPy's
finite-volume terms (face coefficients are FiPy's `faceValue`, the arithmetic mean of the two
cells on this uniform grid, as in `dendrax.physics.fluxes`):

1. Control: galvanostatic stages solve column_mean(R(V)) = J / (z F c_s) for V by the same
   number of clipped Newton steps as dendrax (`control_iterations`, analytic dR/dV, the last
   step's phi); the stage logic is dendrax's `protocols` (the protocol is part of the problem,
   not of the solver).
2. Potential and reaction together (`coupling_iterations` Newton iterations, as dendrax): with
   Butler-Volmer R linearised in phi (g = dR/dphi, analytic), the charge balance
   DiffusionTerm(eps sigma max(c~, C_FLOOR)) - ImplicitSourceTerm(r g) == r (R_k - g phi_k)
   + div(eps 2 sigma t_- / f grad c~) (the diffusion current, FiPy face gradients, closed top;
   phi = 0 on the top face), and the same operator with right-hand side -r g for the response
   to dV; dV from the galvanostatic target, 50 mV trust region, CV latch. R is locally implicit
   in c~ (the same algebraic update: it defines the stiff sink), and the post-reaction salt is
   c_r = c~ - tau R. eta = V - phi + the Gibbs-Thomson shift gamma Omega (-div n) / (z F), with
   div n from FiPy's face normals (as below). The reaction weight is dendrax's, ramped to 0
   below XI_NUCLEUS.
3. Profile relaxation: TransientTerm == DiffusionTerm(rate l^2/8) - ImplicitSourceTerm(2 rate)
   + explicit [2 rate xi - rate g'(xi) - rate l^2/8 |grad xi| div(n)] (the curvature-free
   stabilised step; n = faceGrad / |faceGrad|), then the volume-preserving correction along the
   interface density, then + dt R.
4. Salt: TransientTerm == DiffusionTerm(eps D) + exchange with the bulk through the top face
   (conductance 1 / (dx / (2 eps D) + L_N / D), an implicit source on the top row: FiPy has no
   Robin constraint), from c_r; then the same exact-balance correction as dendrax.
5. With `coupling_iterations = 0` (dendrax's previous, lagged scheme) steps 1-2 use the last
   step's phi and the charge balance is solved after the salt instead.

Langevin noise is off (`noise_amplitude = 0`; compare with dendrax run the same way) and the
short-circuit freeze is not modelled (the windows compared are far from it). Every linear system
is symmetric positive definite: FiPy's `LinearPCGSolver` (scipy CG), stopped at
|b - A x| <= tolerance |b| (FiPy's default 'RHS' criterion), the same relative residual that
`benchmarks.dendrax_residuals` measures on dendrax's fixed-iteration PCG. Preconditioner
(`--precon`): a diagonal scaling by default, FiPy's fastest option here (docs/benchmarks.md
compares it with FiPy's Jacobi, ILU and none); the equations are built once and their
coefficient variables updated every step.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import threadpoolctl

# The standard case's parameters: Li, 1 M, J = 10 mA/cm^2 (E = 0.1 kV/m), diffusion layer
# c0 / G = 1 mm, three defects (SimulationConfig.standard() sets grid, dt and protocol).
STANDARD_PARAMS = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=1.0,
                       field_strength_kv_per_m=0.1, ion_concentration_mol_m3=1000.0,
                       surface_energy_j_m2=0.5, fluidity_per_pa_s=316.2, n_defects=3.0)


def standard_params():
  from dendrax.physics import parameters  # pylint: disable=g-import-not-at-top
  return parameters.PhysicalParams(**STANDARD_PARAMS)


def dendrax_initial_state(params, config, seed: int = 0):
  """(state, coeffs): dendrax's initial `State` and its coefficients as Python floats."""
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.physics import electroneutral, simulate  # pylint: disable=g-import-not-at-top
  coeffs = simulate.coefficients_for(params, config)[0]
  key_init, _ = jax.random.split(jax.random.key(seed))
  state = electroneutral.make_model(config)[0](coeffs, params.n_defects, key_init)
  return state, jax.tree_util.tree_map(float, coeffs)


def _density(xi, width_um):
  """electroneutral.interface_density: 4 xi (1 - xi) / l, ramped to 0 below XI_NUCLEUS and
  above 1 - XI_NUCLEUS."""
  from dendrax.physics import electroneutral  # pylint: disable=g-import-not-at-top
  x = np.clip(xi, 0.0, 1.0)
  ramp = (np.clip(x / electroneutral.XI_NUCLEUS - 1.0, 0.0, 1.0)
          * np.clip((1.0 - x) / electroneutral.XI_NUCLEUS - 1.0, 0.0, 1.0))
  return ramp * 4.0 * x * (1.0 - x) / width_um


def h(xi):
  return xi**3 * (6.0 * xi**2 - 15.0 * xi + 10.0)


def g_prime(xi):
  return 2.0 * xi * (1.0 - xi) * (1.0 - 2.0 * xi)


PRECONDITIONERS = ('diagonal', 'jacobi', 'ilu', 'none')


def _diagonal_preconditioner_class():
  from fipy.solvers.scipy.preconditioners import scipyPreconditioner  # pylint: disable=g-import-not-at-top
  from scipy.sparse import linalg  # pylint: disable=g-import-not-at-top

  class Diagonal(scipyPreconditioner.ScipyPreconditioner):
    """Jacobi as a diagonal scaling. FiPy's own `JacobiPreconditioner` applies the inverse of
    the diagonal by a sparse LU solve (`spsolve`) at every CG iteration, which costs more than
    the CG iteration itself on 200 x 200; this is the same preconditioner, applied cheaply."""

    def _applyToMatrix(self, matrix):
      inv = 1.0 / matrix.diagonal()
      return linalg.LinearOperator(matrix.shape, lambda x: inv * x), matrix

  return Diagonal


def DiagonalPreconditioner():  # pylint: disable=invalid-name
  return _diagonal_preconditioner_class()()


class FipyModel:
  """FiPy variables, terms and solvers of one run; `step()` advances by dt."""

  def __init__(self, config, state, coeffs, *, precon='diagonal', tolerance=1e-6,
               max_iterations=5000):
    import fipy  # pylint: disable=g-import-not-at-top
    from fipy.solvers import scipy as fsolvers  # pylint: disable=g-import-not-at-top
    from dendrax.physics import electroneutral  # pylint: disable=g-import-not-at-top
    if config.noise_amplitude != 0:
      raise ValueError('FipyModel: config.noise_amplitude must be 0 (the peer has no noise)')
    if config.concentration_top != 'diffusion_layer':
      raise ValueError("FipyModel: only concentration_top='diffusion_layer' is implemented")
    self.fp, self.config, self.k = fipy, config, coeffs
    self.dt, self.dx = config.dt_s, config.dx_um
    self.c_floor = electroneutral.C_FLOOR
    mesh = fipy.PeriodicGrid2DLeftRight(nx=config.nx, ny=config.ny, dx=self.dx, dy=self.dx)
    self.mesh = mesh
    flat = lambda a: np.asarray(a, np.float64).reshape(-1)          # [y, x] -> x fastest
    self.xi = fipy.CellVariable(mesh=mesh, value=flat(state.xi), hasOld=True)
    self.c = fipy.CellVariable(mesh=mesh, value=flat(state.concentration), hasOld=True)
    self.phi = fipy.CellVariable(mesh=mesh, value=flat(state.potential_v))
    self.phi.constrain(0.0, mesh.facesTop)
    self.voltage, self.stage = float(state.voltage_v), int(state.stage)
    self.current, self.charge = 0.0, 0.0
    pre = {'jacobi': fsolvers.JacobiPreconditioner, 'ilu': fsolvers.ILUPreconditioner,
           'diagonal': DiagonalPreconditioner, 'none': lambda: None}[precon]
    self.solver = lambda: fsolvers.LinearPCGSolver(tolerance=tolerance,
                                                   iterations=max_iterations, precon=pre())
    self.time_s, self.steps = 0.0, 0
    self.max_iterations = max_iterations
    self.iterations = {'xi': 0, 'salt': 0, 'potential': 0}          # summed over the steps
    self.unconverged = 0                                            # solves that hit the cap
    self._build_equations()

  def _build_equations(self):
    """The three equations, built once on coefficient variables that `step` updates (FiPy's
    idiom: rebuilding terms every step costs more than the solves on small grids)."""
    fp, cfg, k, mesh = self.fp, self.config, self.k, self.mesh
    cell = lambda: fp.CellVariable(mesh=mesh, value=0.0)
    rate = cfg.profile_relaxation_per_s
    ell2 = cfg.interface_width_um**2 / 8.0
    self.xi_explicit = cell()
    self.eq_xi = (fp.TransientTerm(var=self.xi)
                  == fp.DiffusionTerm(coeff=rate * ell2, var=self.xi)
                  - fp.ImplicitSourceTerm(coeff=2.0 * rate, var=self.xi) + self.xi_explicit)
    self.salt_w, self.exchange = cell(), cell()
    self.eq_salt = (fp.TransientTerm(var=self.c)
                    == fp.DiffusionTerm(coeff=self.salt_w.faceValue, var=self.c)
                    + self.exchange - fp.ImplicitSourceTerm(coeff=self.exchange, var=self.c))
    # Charge balance div(w grad phi) - r g phi = source (g = dR/dphi of the linearised
    # reaction, 0 for the lagged scheme); phi_b: the response to dV (second right-hand side).
    self.phi_w, self.phi_shift, self.phi_source = cell(), cell(), cell()
    self.eq_phi = (fp.DiffusionTerm(coeff=self.phi_w.faceValue, var=self.phi)
                   - fp.ImplicitSourceTerm(coeff=self.phi_shift, var=self.phi) == self.phi_source)
    self.phi_b = fp.CellVariable(mesh=mesh, value=0.0)
    self.phi_b.constrain(0.0, mesh.facesTop)
    self.eq_phi_b = (fp.DiffusionTerm(coeff=self.phi_w.faceValue, var=self.phi_b)
                     - fp.ImplicitSourceTerm(coeff=self.phi_shift, var=self.phi_b)
                     == -self.phi_shift)
    w_d = 2.0 * k.conductivity_um2_v_s * k.anion_transference / k.f_per_v
    self.eps_var = cell()
    self.diffusion_current = ((w_d * self.eps_var).faceValue * self.c.faceGrad).divergence
    # Face normals n = grad xi / |grad xi| (regularised as dendrax), div n and |grad xi|.
    tiny = 1e-6 / self.dx
    grad = self.xi.faceGrad
    self.div_n = (grad / (grad.dot(grad) + tiny**2)**0.5).divergence
    self.grad_mag = (self.xi.grad.dot(self.xi.grad) + tiny**2)**0.5   # regularised as dendrax

  def _solve(self, eq, var, name, dt=None):
    solver = self.solver()
    eq.solve(var=var, dt=dt, solver=solver)
    self.iterations[name] += solver.convergence.iterations
    self.unconverged += int(solver.convergence.iterations >= self.max_iterations)

  def eps(self, xi):
    e = self.config.electrolyte_fraction_min
    return e + (1.0 - e) * (1.0 - h(np.clip(xi, 0.0, 1.0)))

  # -- Butler-Volmer and the control of V (electroneutral.reaction_terms, control) -----------
  def reaction(self, xi, c, phi, v, tau, capillary):
    """(R, c_r, dR/dV) with the cathodic part implicit in c~ over tau; eta = V - phi +
    capillary (the Gibbs-Thomson shift)."""
    k, f, a = self.k, self.k.f_per_v, self.k.alpha
    rate = k.reaction_velocity_um_s * _density(xi, k.interface_width_um)
    f_eta_raw = f * (v - phi + capillary)
    f_eta = np.clip(f_eta_raw, -80.0, 80.0)
    d_f_eta = f * (np.abs(f_eta_raw) < 80.0)
    c_pos = np.maximum(c, 0.0)
    anodic = rate * np.exp((1.0 - a) * f_eta) * (c_pos + 1e-12)**(1.0 - a)
    inv_b = np.exp(a * f_eta) * (c_pos + 1e-12)**a / (rate + 1e-30)
    cathodic = (c_pos + tau * anodic) / (tau + inv_b)
    d_anodic = (1.0 - a) * d_f_eta * anodic
    d_cathodic = (tau * d_anodic - cathodic * a * d_f_eta * inv_b) / (tau + inv_b)
    c_r = c_pos + tau * anodic - tau * cathodic
    return cathodic - anodic, c_r, d_cathodic - d_anodic

  def control(self, xi, c, phi, tau, capillary):
    """(V*, stage, holds_voltage, wanted rate) as `electroneutral`'s control: clipped Newton
    steps on V with the last step's phi; the CV latch follows in the step."""
    import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
    from dendrax.physics import protocols  # pylint: disable=g-import-not-at-top
    cfg, k = self.config, self.k
    target, stage, holds = protocols.stage_and_target(
        jnp.float32(self.time_s), jnp.int32(self.stage), self.voltage,
        jnp.float32(k.target_current_a_m2), cfg)
    want = float(target) / k.current_scale_a_m2 / k.site_ratio
    v = self.voltage
    for _ in range(cfg.control_iterations):
      r, _, dr = self.reaction(xi, c, phi, v, tau, capillary)
      r, dr = self.column_mean(r), self.column_mean(dr)
      step = -(r - want) / (dr if abs(dr) > 1e-30 else 1e-30)
      step = float(np.clip(step, -cfg.control_step_v, cfg.control_step_v))
      v = float(np.clip(v + step, -cfg.max_voltage_v, cfg.max_voltage_v))
    v = cfg.cv_voltage_v if bool(holds) else v
    return v, int(stage), bool(holds), want

  def column_mean(self, a):
    return float(np.sum(a)) * self.dx / self.config.nx

  def latch(self, stage, v):
    import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
    from dendrax.physics import protocols  # pylint: disable=g-import-not-at-top
    return int(protocols.latch_constant_voltage(jnp.int32(stage), jnp.float32(v), self.config))

  def coupled_potential(self, xi, c, phi, tau, capillary):
    """(V, stage, phi, R): `electroneutral`'s coupled potential-reaction Newton iterations."""
    from dendrax.physics import protocols  # pylint: disable=g-import-not-at-top
    cfg, k = self.config, self.k
    v_k, stage0, holds_voltage, want = self.control(xi, c, phi, tau, capillary)
    r = k.site_ratio
    eps = self.eps(xi)
    self.eps_var.value = eps                       # diffusion current of the step's c~
    self.phi_w.value = eps * k.conductivity_um2_v_s * np.maximum(c, self.c_floor)
    diffusion_current = np.asarray(self.diffusion_current.value)
    trust = cfg.coupling_step_v
    phi_k, stage, reaction = phi, stage0, np.zeros_like(c)
    for _ in range(cfg.coupling_iterations):
      r_k, _, dr_dv = self.reaction(xi, c, phi_k, v_k, tau, capillary)
      g = -dr_dv                                   # dR/dphi: eta = V - phi + capillary
      self.phi_shift.value = r * g
      self.phi_source.value = r * (r_k - g * phi_k) + diffusion_current
      self.phi.value = phi_k
      self._solve(self.eq_phi, self.phi, 'potential')
      phi_a = np.asarray(self.phi.value)
      self.phi_b.value = 0.0
      self._solve(self.eq_phi_b, self.phi_b, 'potential')
      phi_b = np.asarray(self.phi_b.value)
      base = self.column_mean(r_k + g * (phi_a - phi_k))
      slope = self.column_mean(g * (phi_b - 1.0))
      d_v = float(np.clip((want - base) / (slope if slope < -1e-30 else -1e-30), -trust, trust))
      v = float(np.clip(v_k + d_v, -cfg.max_voltage_v, cfg.max_voltage_v))
      stage = self.latch(stage0, v)
      if holds_voltage or stage == protocols.CONSTANT_VOLTAGE:
        v = cfg.cv_voltage_v
      d_v = v - v_k
      d_phi = np.clip(phi_a + d_v * phi_b - phi_k, -trust, trust)
      reaction = r_k + g * (d_phi - d_v)
      v_k, phi_k = v, phi_k + d_phi
    reaction = np.minimum(reaction, np.maximum(c, 0.0) / tau)
    return v_k, stage, phi_k, reaction

  def profile_curvature_term(self):
    """(|grad xi| div(n), div(n)), n = faceGrad / |faceGrad| regularised as in dendrax."""
    div_n = np.asarray(self.div_n.value)
    return np.asarray(self.grad_mag.value) * div_n, div_n

  # -- one step ------------------------------------------------------------------------------
  def step(self):
    cfg, k, dt, dx = self.config, self.k, self.dt, self.dx
    xi, c, phi = (np.array(v.value) for v in (self.xi, self.c, self.phi))
    tau = k.anion_transference * k.site_ratio * dt
    normal_curvature, div_n = self.profile_curvature_term()
    capillary = -k.capillary_length_v_um * div_n
    # 1-2. Control, potential and reaction (coupled; or the lagged scheme).
    from dendrax.physics import protocols  # pylint: disable=g-import-not-at-top
    if cfg.coupling_iterations:
      self.voltage, self.stage, phi_new, reaction = self.coupled_potential(xi, c, phi, tau,
                                                                           capillary)
      c_r = np.maximum(c, 0.0) - tau * reaction
    else:
      v, stage, _, _ = self.control(xi, c, phi, tau, capillary)
      stage = self.latch(stage, v)
      self.voltage = cfg.cv_voltage_v if stage == protocols.CONSTANT_VOLTAGE else v
      self.stage = stage
      reaction, c_r, _ = self.reaction(xi, c, phi, self.voltage, tau, capillary)
    # 3. Profile relaxation (curvature-free, stabilised), volume-preserving, then + dt R.
    rate = cfg.profile_relaxation_per_s
    ell2 = cfg.interface_width_um**2 / 8.0
    stab = 2.0 * rate
    self.xi_explicit.value = stab * xi + rate * (-g_prime(xi) - ell2 * normal_curvature)
    self.xi.updateOld()
    self._solve(self.eq_xi, self.xi, 'xi', dt)
    density = _density(xi, cfg.interface_width_um)
    relaxed = np.asarray(self.xi.value)
    relaxed = relaxed - density * np.sum(relaxed - xi) / (np.sum(density) + 1e-30)
    xi_new = relaxed + dt * reaction
    self.xi.value = xi_new
    # 4. Salt: backward Euler from c_r, bulk exchange through the top face.
    eps = self.eps(xi_new)
    d = k.salt_diffusivity_um2_s
    g_top = 1.0 / (0.5 * dx / (d * eps[-cfg.nx:]) + k.supply_length_um / d)
    exchange = np.zeros_like(eps)
    exchange[-cfg.nx:] = g_top / dx                 # per unit volume: g A / V
    self.salt_w.value = d * eps
    self.exchange.value = exchange
    self.c.value = c_r
    self.c.updateOld()
    self._solve(self.eq_salt, self.c, 'salt', dt)
    c_new = np.asarray(self.c.value)
    influx = np.sum(g_top * (1.0 - c_new[-cfg.nx:]))
    defect = np.sum(c_r) + dt * influx / dx - np.sum(c_new)
    c_new = c_new + defect * eps / np.sum(eps)
    self.c.value = c_new
    # 5. Lagged scheme only: charge balance with the new salt (phi = 0 on the top face).
    if cfg.coupling_iterations:
      self.phi.value = phi_new
    else:
      self.eps_var.value = eps
      self.phi_w.value = eps * k.conductivity_um2_v_s * np.maximum(c_new, self.c_floor)
      self.phi_shift.value = 0.0
      self.phi_source.value = k.site_ratio * reaction + np.asarray(self.diffusion_current.value)
      self._solve(self.eq_phi, self.phi, 'potential')
    self.current = k.current_scale_a_m2 * k.site_ratio * np.sum(reaction) * dx / cfg.nx
    self.charge += self.current * dt
    self.time_s += dt
    self.steps += 1

  # -- observables --------------------------------------------------------------------------
  def fields(self):
    shape = (self.config.ny, self.config.nx)
    return {name: np.asarray(getattr(self, var).value).reshape(shape)
            for name, var in (('xi', 'xi'), ('concentration', 'c'), ('potential_v', 'phi'))}


def run(config, params, *, seed=0, steps, precon='diagonal', tolerance=1e-6, log_every=0):
  """Runs FiPy from dendrax's initial state for `steps` steps. Returns a dict: wall times, the
  per-step voltage and current, the final fields and the summed solver iterations."""
  t0 = time.perf_counter()
  state, coeffs = dendrax_initial_state(params, config, seed)
  model = FipyModel(config, state, coeffs, precon=precon, tolerance=tolerance)
  t1 = time.perf_counter()
  voltage, current = [], []
  # One BLAS thread: scipy's sparse kernels are serial anyway, and OpenBLAS's threads made each
  # dot product of the CG ~70x slower on the loaded 2-core machine (1.7 ms vs 24 us, measured).
  with warnings.catch_warnings(), threadpoolctl.threadpool_limits(1, user_api='blas'):
    warnings.simplefilter('ignore')          # FiPy's per-solve convergence notices
    for i in range(steps):
      model.step()
      voltage.append(model.voltage)
      current.append(model.current)
      if log_every and (i + 1) % log_every == 0:
        print(f'  fipy step {i + 1}/{steps}: {(time.perf_counter() - t1) / (i + 1):.3f} s/step',
              flush=True)
  t2 = time.perf_counter()
  return dict(setup_s=t1 - t0, run_s=t2 - t1, steps=steps, voltage_v=np.asarray(voltage),
              current_a_m2=np.asarray(current), fields=model.fields(),
              iterations=dict(model.iterations), unconverged=model.unconverged, model=model)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--steps', type=int, default=10)
  parser.add_argument('--nx', type=int, default=200)
  parser.add_argument('--ny', type=int, default=200)
  parser.add_argument('--precon', default='diagonal', choices=PRECONDITIONERS)
  parser.add_argument('--tolerance', type=float, default=1e-6)
  parser.add_argument('--compare', action='store_true', help='also run dendrax and compare')
  args = parser.parse_args()
  from benchmarks import dendrax_residuals as dr  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  config = simulate.SimulationConfig.standard(nx=args.nx, ny=args.ny, noise_amplitude=0.0)
  out = run(config, standard_params(), steps=args.steps, precon=args.precon,
            tolerance=args.tolerance, log_every=5)
  cells = config.nx * config.ny
  print(f'FiPy {config.ny} x {config.nx}, {out["steps"]} steps of {config.dt_s} s: setup '
        f'{out["setup_s"]:.1f} s, run {out["run_s"]:.1f} s ({out["run_s"] / out["steps"]:.3f} '
        f's/step, {cells * out["steps"] / out["run_s"] / 1e6:.4f} M cell-updates/s); PCG '
        f'iterations per step {({k: v / out["steps"] for k, v in out["iterations"].items()})}')
  if args.compare:
    ref = dr.dendrax_steps(standard_params(), config, args.steps)
    initial = np.asarray(dendrax_initial_state(standard_params(), config)[0].xi, np.float64)
    for line in dr.agreement_lines(dr.agreement(ref, out, config, initial)):
      print(line)


if __name__ == '__main__':
  main()
