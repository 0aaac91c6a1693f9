r"""The dendrax electrodeposition model in FiPy 4 (scipy solvers): the peer baseline for speed.

  python -m benchmarks.fipy_electrodeposition --t_end_s 0.4            # 20 steps, standard grid
  python -m benchmarks.fipy_electrodeposition --t_end_s 2 --compare    # + agreement with dendrax

Same model as `dendrax.physics.electrodeposition` (docs/physics.md), on the same grid with the same
boundary conditions, time step and coefficients (read from `dendrax.physics.simulate.
coefficients_for`, i.e. `dendrax.physics.coefficients`), from the same initial state (dendrax's
`init_fn`: electrode, nuclei, concentration and potential). Per step of dt, in FiPy's natural
finite-volume form on a `PeriodicGrid2DLeftRight` (x periodic, y = 0 the electrode):

1. potential: div(s grad phi) = q (d xi/dt)_prev, s = 1 + (rho - 1) h(xi) (arithmetic face mean),
   phi = V on the electrode face, 0 on the bulk face; solved to `--tolerance` (dendrax instead
   runs a fixed number of warm-started PCG iterations).
2. Butler-Volmer reaction R, locally implicit in c (the same algebraic update as dendrax: it is
   part of the model's definition of the stiff consumption term).
3. order parameter, implicit anisotropic diffusion (face coefficient L_s kappa a^2) + explicit
   anisotropic cross flux L_s kappa a a' (-d_y xi, d_x xi) on faces (FiPy's own dendrite-example
   idiom) + stabilised double well (implicit -S xi, explicit S xi - L_s W g'(xi)) + R.
   dendrax keeps only the isotropic Laplacian implicit: the two differ at O(dt).
4. consumption c* = c - (c_s/c0) (xi' - xi).
5. transport: backward-Euler diffusion with D = D_s h + D_l (1 - h) on faces, explicit
   migration div(D c* f grad phi); c = 1 on the bulk face, no flux on the electrode face.

Langevin noise is off here (`noise_amplitude = 0`); compare with dendrax run the same way.
Every linear system is symmetric positive definite: FiPy's `LinearPCGSolver` (scipy CG) with a
Jacobi or ILU preconditioner (`--precon`), its best scipy option for SPD systems.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings

import numpy as np

STANDARD_PARAMS = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=1.0,
                       field_strength_kv_per_m=2.25, ion_concentration_mol_m3=1000.0,
                       surface_energy_j_m2=0.5, fluidity_per_pa_s=316.2, n_defects=3.0)


def standard_params():
  """The standard case's physical parameters (Li, 2.25 kV/m over 200 um = -0.45 V)."""
  from dendrax.physics import parameters  # pylint: disable=g-import-not-at-top
  return parameters.PhysicalParams(**STANDARD_PARAMS)


def dendrax_initial_state(params, config, seed: int):
  """dendrax's initial state (numpy `[ny, nx]` maps) and its `Rates` as Python floats.

  Uses the same key split as `dendrax.physics.simulate.run`, so the nuclei sit in the same place.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.physics import electrodeposition, simulate  # pylint: disable=g-import-not-at-top
  coeffs, rates = simulate.coefficients_for(params, config)
  key_init, _ = jax.random.split(jax.random.key(seed))
  init_fn, _ = electrodeposition.make_model(config)
  state = init_fn(coeffs, rates, params.n_defects, key_init)
  maps = {k: np.asarray(getattr(state, k), np.float64)
          for k in ('xi', 'concentration', 'potential_v')}
  rates = {f.name: float(getattr(rates, f.name)) for f in dataclasses.fields(rates)}
  return maps, rates, float(state.voltage_v)


class FipyModel:
  """FiPy variables, equations and solvers for one run; `step()` advances by dt."""

  def __init__(self, config, maps, rates, voltage_v, *, precon='jacobi', tolerance=1e-6,
               max_iterations=2000):
    import fipy  # pylint: disable=g-import-not-at-top
    from fipy.solvers import scipy as fsolvers  # pylint: disable=g-import-not-at-top
    from dendrax.physics import coefficients as coef  # pylint: disable=g-import-not-at-top
    self.fp = fipy
    self.config, self.r = config, rates
    self.dt, self.dx = config.dt_s, config.dx_um
    chem = coef.get_chemistry(config.chemistry)
    self.eps, self.mode = chem.anisotropy_eps, chem.anisotropy_mode
    self.voltage = voltage_v
    nx, ny = config.nx, config.ny
    mesh = fipy.PeriodicGrid2DLeftRight(nx=nx, ny=ny, dx=self.dx, dy=self.dx)
    self.mesh = mesh
    flat = lambda a: np.asarray(a, np.float64).reshape(-1)          # [y, x] -> x fastest
    self.xi = fipy.CellVariable(mesh=mesh, value=flat(maps['xi']), hasOld=True)
    self.c = fipy.CellVariable(mesh=mesh, value=flat(maps['concentration']), hasOld=True)
    self.phi = fipy.CellVariable(mesh=mesh, value=flat(maps['potential_v']))
    self.phi.constrain(voltage_v, mesh.facesBottom)
    if config.potential_top == 'grounded':
      self.phi.constrain(0.0, mesh.facesTop)
    if config.concentration_top == 'bulk':
      self.c.constrain(1.0, mesh.facesTop)
    self.dxi_dt = fipy.CellVariable(mesh=mesh, value=0.0)
    pre = {'jacobi': fsolvers.JacobiPreconditioner, 'ilu': fsolvers.ILUPreconditioner,
           'none': lambda: None}[precon]
    self.solver = lambda: fsolvers.LinearPCGSolver(tolerance=tolerance,
                                                   iterations=max_iterations, precon=pre())
    self.time_s, self.steps = 0.0, 0

  # -- model functions (the same formulas as dendrax.physics.electrodeposition) --------------
  @staticmethod
  def h(xi):
    return xi**3 * (6.0 * xi**2 - 15.0 * xi + 10.0)

  @staticmethod
  def h_prime(xi):
    return 30.0 * xi**2 * (1.0 - xi)**2

  @staticmethod
  def g_prime(xi):
    return 2.0 * xi * (1.0 - xi) * (1.0 - 2.0 * xi)

  def _anisotropy_on_faces(self):
    """(a^2, a a') on faces from the face gradient of xi (regularised as in dendrax)."""
    grad = np.asarray(self.xi.faceGrad.value)
    gx, gy = grad[0], grad[1]
    inv = 1.0 / np.sqrt(gx * gx + gy * gy + 1e-10 / self.dx**2)
    z = (gx * inv + 1j * gy * inv)**self.mode
    a = 1.0 + self.eps * z.real
    a_prime = -self.eps * self.mode * z.imag
    return a * a, a * a_prime

  def step(self):
    fp, r, dt = self.fp, self.r, self.dt
    xi_old = np.array(self.xi.value)
    c_old = np.array(self.c.value)
    # 1. Potential.
    s = fp.CellVariable(mesh=self.mesh,
                        value=1.0 + (r['conductivity_ratio'] - 1.0) * self.h(xi_old))
    source = r['potential_source_v_s_um2'] * self.dxi_dt
    (fp.DiffusionTerm(coeff=s.faceValue, var=self.phi) - source).solve(
        var=self.phi, solver=self.solver())
    phi = np.asarray(self.phi.value)
    # 2. Butler-Volmer, locally implicit in c.
    f, alpha, ratio = r['f_per_v'], r['alpha'], r['site_ratio']
    k = r['reaction_rate_per_s'] * self.h_prime(xi_old)
    a_ox = np.exp((1.0 - alpha) * f * phi)
    inv_b = np.exp(alpha * f * phi) / r['reference_ratio']
    reaction = k * ((c_old + ratio * dt * k * a_ox) / (inv_b + ratio * dt * k + 1e-30) - a_ox)
    # 3. Order parameter.
    stab = 2.0 * r['barrier_rate_per_s']
    gdiff = r['gradient_diffusivity_um2_s']
    a2, aap = self._anisotropy_on_faces()
    grad = np.asarray(self.xi.faceGrad.value)
    cross = fp.FaceVariable(mesh=self.mesh, rank=1,
                            value=gdiff * aap * np.stack([-grad[1], grad[0]]))
    explicit = fp.CellVariable(
        mesh=self.mesh, value=stab * xi_old - r['barrier_rate_per_s'] * self.g_prime(xi_old)
        + reaction)
    self.xi.updateOld()
    eq = (fp.TransientTerm(var=self.xi)
          == fp.DiffusionTerm(coeff=fp.FaceVariable(mesh=self.mesh, value=gdiff * a2), var=self.xi)
          + cross.divergence + explicit - fp.ImplicitSourceTerm(coeff=stab, var=self.xi))
    eq.solve(var=self.xi, dt=dt, solver=self.solver())
    d_xi = np.asarray(self.xi.value) - xi_old
    # 4. Consumption.
    self.c.value = c_old - ratio * d_xi
    self.c.updateOld()
    # 5. Transport: implicit diffusion, explicit migration with c*.
    hxi = self.h(np.asarray(self.xi.value))
    d = fp.CellVariable(mesh=self.mesh, value=r['electrode_diffusivity_um2_s'] * hxi
                        + r['electrolyte_diffusivity_um2_s'] * (1.0 - hxi))
    migration = (d.faceValue * self.c.faceValue * f * self.phi.faceGrad).divergence
    (fp.TransientTerm(var=self.c) == fp.DiffusionTerm(coeff=d.faceValue, var=self.c)
     + fp.CellVariable(mesh=self.mesh, value=np.asarray(migration.value))).solve(
         var=self.c, dt=dt, solver=self.solver())
    self.dxi_dt.value = d_xi / dt
    self.time_s += dt
    self.steps += 1

  # -- observables --------------------------------------------------------------------------
  def deposit_thickness_um(self):
    """Metal per electrode width, sum(xi) dx^2 / width (as dendrax's Trajectory)."""
    return float(np.sum(self.xi.value)) * self.dx / self.config.nx

  def total_li_um(self):
    """Dissolved + metal Li per width in c~ um; its change is the charge through the bulk face."""
    return ((float(np.sum(self.c.value)) + self.r['site_ratio'] * float(np.sum(self.xi.value)))
            * self.dx / self.config.nx)

  def fields(self):
    shape = (self.config.ny, self.config.nx)
    return {'xi': np.asarray(self.xi.value).reshape(shape),
            'concentration': np.asarray(self.c.value).reshape(shape),
            'potential_v': np.asarray(self.phi.value).reshape(shape)}


def run(config, params, *, seed=0, t_end_s, precon='jacobi', tolerance=1e-6, log_every=0):
  """Runs FiPy from dendrax's initial state to `t_end_s`. Returns a dict with wall times."""
  t0 = time.perf_counter()
  maps, rates, voltage = dendrax_initial_state(params, config, seed)
  model = FipyModel(config, maps, rates, voltage, precon=precon, tolerance=tolerance)
  t1 = time.perf_counter()
  steps = int(round(t_end_s / config.dt_s))
  li0, dep0 = model.total_li_um(), model.deposit_thickness_um()
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')          # FiPy's per-solve convergence notices
    for i in range(steps):
      model.step()
      if log_every and (i + 1) % log_every == 0:
        print(f'  fipy step {i + 1}/{steps}: t = {model.time_s:.3f} s, '
              f'{(time.perf_counter() - t1) / (i + 1):.3f} s/step', flush=True)
  t2 = time.perf_counter()
  return dict(setup_s=t1 - t0, run_s=t2 - t1, steps=steps, time_s=model.time_s,
              deposit_change_um=model.deposit_thickness_um() - dep0,
              li_change_um=model.total_li_um() - li0, fields=model.fields(), model=model)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--t_end_s', type=float, default=0.4)
  parser.add_argument('--nx', type=int, default=200)
  parser.add_argument('--ny', type=int, default=200)
  parser.add_argument('--precon', default='jacobi', choices=('jacobi', 'ilu', 'none'))
  parser.add_argument('--tolerance', type=float, default=1e-6)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  config = simulate.SimulationConfig.standard(nx=args.nx, ny=args.ny, noise_amplitude=0.0)
  out = run(config, standard_params(), seed=args.seed, t_end_s=args.t_end_s,
            precon=args.precon, tolerance=args.tolerance, log_every=10)
  cells = config.nx * config.ny
  print(f'FiPy {config.ny} x {config.nx}, {out["steps"]} steps of {config.dt_s} s: setup '
        f'{out["setup_s"]:.1f} s, run {out["run_s"]:.1f} s ({out["run_s"] / out["steps"]:.3f} '
        f's/step, {cells * out["steps"] / out["run_s"] / 1e6:.3f} M cell-steps/s); deposit '
        f'+{out["deposit_change_um"]:.4f} um, Li balance +{out["li_change_um"]:.4f} c~um')


if __name__ == '__main__':
  main()
