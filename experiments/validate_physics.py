r"""Longer physics validations of the simulator; prints one table (numbers go to docs/physics.md).

  python -m experiments.validate_physics                 # dataset grid, ~10 min on 2 CPU cores
  python -m experiments.validate_physics --standard      # adds Faraday/conservation on 200 x 200
  python -m experiments.validate_physics --sweep=16      # dataset preset: lengths and timing

Checks:
  faraday        charge through the bulk face / nF vs metal deposited + dissolved-ion change
  conservation   total Li (c~ + (c_s/c0) xi) with no-flux boundaries, relative drift
  morphology     interface length / electrode width at -0.45 V vs -0.2 V (constant voltage)
  grid           dendrite length at 60 s, constant -0.3 V, interface 7.8 um, dx = 6.25 / 3.125 /
                 1.5625 um (fixed physical interface width), relative change
  time step      the same length at dt = 0.05 / 0.025 s
"""

from __future__ import annotations

import time

from absl import app
from absl import flags
import jax
import numpy as np

from dendrax.physics import coefficients as coef
from dendrax.physics import parameters
from dendrax.physics import simulate

_STANDARD = flags.DEFINE_bool('standard', False, 'Also run Faraday/conservation on 200 x 200.')
_SWEEP = flags.DEFINE_integer('sweep', 0, 'If > 0: only run the dataset preset on this many '
                              'random parameter sets (length distribution, timing) and exit.')


def _params(**kw) -> parameters.PhysicalParams:
  d = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=0.0,
           field_strength_kv_per_m=2.25, ion_concentration_mol_m3=1000.0,
           surface_energy_j_m2=0.5, fluidity_per_pa_s=316.2, n_defects=3.0)
  d.update(kw)
  return parameters.PhysicalParams(**d)


def _run(params, cfg, seed=0):
  start = time.time()
  traj = jax.device_get(simulate.run(params, cfg, jax.random.key(seed)))
  return traj, time.time() - start


def faraday_and_conservation(cfg: simulate.SimulationConfig) -> list[tuple[str, str]]:
  rows = []
  params = _params()
  traj, secs = _run(params, cfg)
  chem = coef.get_chemistry(cfg.chemistry)
  metal = chem.site_density_mol_m3 * (traj.deposit_thickness_um[-1]
                                      - traj.deposit_thickness_um[0]) * 1e-6
  dissolved = 1000.0 * (traj.dissolved_thickness_um[-1] - traj.dissolved_thickness_um[0]) * 1e-6
  q_nf = float(traj.observables['charge_c_per_m2'][-1]) / (chem.electrons * coef.FARADAY)
  rows.append((f'faraday {cfg.ny}x{cfg.nx} ({secs:.0f} s)',
               f'Q/nF = {q_nf:.5g} mol/m^2; metal {metal:.5g} + dissolved {dissolved:.4g}; '
               f'rel. error {abs(metal + dissolved - q_nf) / abs(q_nf):.2e}; '
               f'metal/(Q/nF) = {metal / q_nf:.3f}'))
  closed = simulate.SimulationConfig(**{**cfg.to_dict(), 'concentration_top': 'closed'})
  traj, secs = _run(params, closed)
  _, rates = simulate.coefficients_for(params, closed)
  total = traj.dissolved_thickness_um + float(rates.site_ratio) * traj.deposit_thickness_um
  moved = float(rates.site_ratio) * (traj.deposit_thickness_um[-1] - traj.deposit_thickness_um[0])
  rows.append((f'conservation {cfg.ny}x{cfg.nx} ({secs:.0f} s)',
               f'max |total Li - initial| / initial = '
               f'{np.max(np.abs(total - total[0])) / total[0]:.2e} (float32); metal plated '
               f'{moved / total[0]:.2%} of the inventory'))
  return rows


def morphology(cfg: simulate.SimulationConfig) -> list[tuple[str, str]]:
  rows = []
  for volts in (0.45, 0.2):
    field = volts / (cfg.height_um * 1e-6) / 1e3
    traj, secs = _run(_params(field_strength_kv_per_m=field), cfg)
    ratio = np.asarray(traj.observables['interface_length_um']) / cfg.width_um
    last = int(np.argmax(np.asarray(traj.shorted))) if np.any(traj.shorted) else -1
    rows.append((f'morphology -{volts} V ({secs:.0f} s)',
                 'interface/width per frame ' + ' '.join(f'{r:.2f}' for r in ratio)
                 + f'; branches {np.asarray(traj.observables["branches"]).astype(int).tolist()}'
                 + (f'; shorted at frame {last}' if last >= 0 else '')))
  return rows


def convergence() -> list[tuple[str, str]]:
  rows = []
  lengths = {}
  for n, dx in ((32, 6.25), (64, 3.125), (128, 1.5625)):
    cfg = simulate.SimulationConfig.for_dataset(
        nx=n, ny=n, dx_um=dx, protocol='constant_voltage', t_end_s=60.0, save_every_s=30.0,
        interface_width_um=7.8 if dx < 6 else 13.0, electrode_height_um=12.5, defect_radius_um=7.0,
        potential_iterations=3, transport_iterations=3, noise_amplitude=0.0)
    traj, secs = _run(_params(field_strength_kv_per_m=1.5), cfg)
    lengths[dx] = float(traj.observables['length_um'][-1])
    rows.append((f'grid dx={dx} um ({secs:.0f} s)', f'length at 60 s = {lengths[dx]:.2f} um'))
  for dt in (0.05, 0.025):
    cfg = simulate.SimulationConfig.for_dataset(
        protocol='constant_voltage', t_end_s=60.0, save_every_s=30.0, dt_s=dt,
        potential_iterations=3, transport_iterations=3, noise_amplitude=0.0)
    traj, secs = _run(_params(field_strength_kv_per_m=1.5), cfg)
    rows.append((f'time step dt={dt} s ({secs:.0f} s)',
                 f'length at 60 s = {float(traj.observables["length_um"][-1]):.2f} um'))
  return rows


def random_params(n: int, seed: int = 0) -> parameters.PhysicalParams:
  """n parameter sets, uniform (log-uniform where log_scale) over PARAMETER_SPECS."""
  rng = np.random.default_rng(seed)
  cols = []
  for spec in parameters.PARAMETER_SPECS:
    u = rng.uniform(size=n)
    if spec.log_scale:
      v = np.exp(np.log(spec.low) + u * (np.log(spec.high) - np.log(spec.low)))
    else:
      v = spec.low + u * (spec.high - spec.low)
    cols.append(np.round(v) if spec.name == 'n_defects' else v)
  return parameters.PhysicalParams.from_vector(np.stack(cols, -1).astype(np.float32))


def dataset_sweep(n: int) -> None:
  """Length at 210 s over n random parameter sets with the dataset preset, and the time."""
  from scipy import stats  # pylint: disable=g-import-not-at-top
  cfg = simulate.SimulationConfig.for_dataset()
  params = random_params(n)
  start = time.time()
  jax.block_until_ready(simulate.run_batch(params, cfg, jax.random.split(jax.random.key(0), n)))
  first = time.time() - start
  start = time.time()
  traj = jax.device_get(simulate.run_batch(params, cfg, jax.random.split(jax.random.key(1), n)))
  secs = time.time() - start
  length = np.asarray(traj.observables['length_um'])[:, -1]
  vec = np.asarray(params.to_vector())
  print(f'dataset preset, {n} random parameter sets: first call {first:.1f} s (with compile), '
        f'second {secs:.1f} s = {secs / n:.2f} s per trajectory')
  print(f'length at 210 s: min {length.min():.1f} / median {np.median(length):.1f} / max '
        f'{length.max():.1f} um; shorted {int(np.asarray(traj.shorted)[:, -1].sum())}; '
        f'finite {bool(np.isfinite(np.asarray(traj.xi)).all())}')
  for i, name in enumerate(parameters.PARAMETER_NAMES):
    rho = stats.spearmanr(vec[:, i], length).correlation
    print(f'  Spearman(length, {name}) = {rho:+.2f}')


def main(argv):
  del argv
  if _SWEEP.value > 0:
    dataset_sweep(_SWEEP.value)
    return
  rows = []
  dataset = simulate.SimulationConfig.for_dataset(protocol='constant_voltage')
  rows += faraday_and_conservation(dataset)
  rows += morphology(dataset)
  rows += convergence()
  if _STANDARD.value:
    rows += faraday_and_conservation(simulate.SimulationConfig.standard(dt_s=0.05))
  width = max(len(k) for k, _ in rows)
  print('check'.ljust(width), '| result')
  for k, v in rows:
    print(k.ljust(width), '|', v)


if __name__ == '__main__':
  app.run(main)
