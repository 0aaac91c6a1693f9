r"""Simulates one configuration and writes frames, observables, a picture and a GIF.

  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/sim_li
  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/x \
      --config.params.temperature_k=310

Writes to --workdir (each file atomically):
  frames.npz        time_s [T], stage [T], xi / concentration / potential_v [T, ny, nx],
                    voltage_v [T], pixel_size_um, electrode_height_um, params [7]
  observables.csv   one row per saved frame (0, 30, ..., 210 s): time_s, stage, length_um,
                    density, branches, interface_length_um, charge_c_per_m2, charge_mah_cm2,
                    voltage_v, current_a_m2 (of the step before the frame; charge_c_per_m2 is
                    its integral over the steps), shorted (the deposit reached the bulk side:
                    fields frozen, also logged as a warning), diffuse_deposit_fraction (the
                    share of the deposit that is a diffuse partial phase away from the
                    electrode's solid: above 0.05, logged as a warning, the growth past Sand's
                    time is not resolved on this grid; docs/physics.md)
  growth.png        frames side by side (deposit red, electrolyte blue, electrode at the bottom);
                    frames of a shorted cell titled 'shorted by t = X s: frozen' in red, and
                    the figure's title says when it shorted
  growth.gif        the same as an animation
"""

from __future__ import annotations

import csv
import io
import os
import time

from absl import app
from absl import flags
from absl import logging
import jax
import numpy as np
from ml_collections import config_flags

from dendrax import files
from dendrax.analysis import dataset_stats
from dendrax.analysis import figures
from dendrax.data import schema
from dendrax.physics import coefficients
from dendrax.physics import parameters
from dendrax.physics import simulate

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Simulation config file.',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Output directory.')

CSV_COLUMNS = (('time_s', 'stage') + schema.OBSERVABLE_KEYS
               + ('charge_mah_cm2', 'voltage_v', 'current_a_m2', 'shorted',
                  'diffuse_deposit_fraction'))


def _atomic_write_bytes(path: str, data: bytes) -> None:
  with files.atomic_write(path, 'wb') as f:
    f.write(data)


def params_from_config(config) -> parameters.PhysicalParams:
  """The seven parameters of `config.params`; ValueError naming a missing or unknown one."""
  given = dict(config.params)
  missing = [n for n in parameters.PARAMETER_NAMES if n not in given]
  unknown = sorted(set(given) - set(parameters.PARAMETER_NAMES))
  if missing or unknown:
    raise ValueError(f'config.params: missing {missing}, unknown {unknown}')
  values = {n: float(given[n]) for n in parameters.PARAMETER_NAMES}
  with np.errstate(over='ignore', under='ignore'):
    lost = [n for n, v in values.items()   # the simulator computes in float32
            if not np.isfinite(np.float32(v)) or (v != 0 and np.float32(v) == 0)]
  if lost:
    raise ValueError(f'config.params.{lost[0]}: must be finite and non-zero in float32 (the '
                     f'simulator\'s precision); got {values[lost[0]]}')
  parameters.validate_physical(values)
  return parameters.PhysicalParams(**values)


def short_time_s(time_s, shorted) -> float | None:
  """Time (s) of the first frame at which the cell is shorted, or None: the short happened in the
  frame interval ending there, and every later frame repeats its fields."""
  first = np.flatnonzero(np.asarray(shorted))
  return float(np.asarray(time_s)[first[0]]) if first.size else None


def simulate_and_write(config, workdir: str) -> simulate.Trajectory:
  """Runs `config` and writes frames.npz, observables.csv, growth.png, growth.gif.

  `workdir` is created only once there is something to write: a config that fails validation
  or a simulation that fails leaves no empty folder behind.
  """
  sim_config = simulate.SimulationConfig.from_dict(config.sim)
  params = params_from_config(config)
  start = time.time()
  traj = jax.device_get(simulate.run(params, sim_config, jax.random.key(config.seed)))
  logging.info('simulated %s s on %dx%d in %.1f s', sim_config.t_end_s, sim_config.ny,
               sim_config.nx, time.time() - start)
  if not all(np.isfinite(np.asarray(x)).all() for x in (traj.xi, traj.concentration)):
    raise FloatingPointError('the simulation produced non-finite fields; reduce dt_s')
  if sim_config.model == 'electroneutral':   # hong2018 has no electroneutrality to bound c
    problem = simulate.concentration_violation(traj.xi, traj.concentration, traj.time_s)
    if problem:
      raise FloatingPointError(f'the simulation left its physical bounds: {problem}; reduce '
                               'sim.dt_s')
  os.makedirs(workdir, exist_ok=True)

  buf = io.BytesIO()
  np.savez_compressed(
      buf, time_s=traj.time_s, stage=traj.stage, xi=traj.xi,
      concentration=traj.concentration, potential_v=traj.potential_v,
      voltage_v=traj.voltage_v, pixel_size_um=traj.pixel_size_um,
      electrode_height_um=traj.electrode_height_um, params=np.asarray(params.to_vector()),
      **{k: traj.observables[k] for k in schema.OBSERVABLE_KEYS})
  _atomic_write_bytes(os.path.join(workdir, 'frames.npz'), buf.getvalue())

  diffuse = [dataset_stats.diffuse_deposit(traj.xi[i], traj.xi[0], float(traj.pixel_size_um))[
      'diffuse_deposit_fraction'] for i in range(len(traj.time_s))]
  text = io.StringIO()
  writer = csv.writer(text)
  writer.writerow(CSV_COLUMNS)
  for i in range(len(traj.time_s)):
    row = [f'{float(traj.time_s[i]):.6g}', parameters.STAGES[int(traj.stage[i])]]
    row += [f'{float(traj.observables[k][i]):.6g}' for k in schema.OBSERVABLE_KEYS]
    charge = float(traj.observables['charge_c_per_m2'][i]) / coefficients.C_PER_M2_PER_MAH_CM2
    row += [f'{charge:.6g}', f'{float(traj.voltage_v[i]):.6g}',
            f'{float(traj.current_a_m2[i]):.6g}', str(bool(traj.shorted[i])),
            f'{diffuse[i]:.6g}']
    writer.writerow(row)
  if diffuse[-1] > dataset_stats.DIFFUSE_FLAG:
    logging.warning('%.0f %% of the deposit at t = %.6g s is a diffuse partial phase away from '
                    'the electrode\'s solid: growth past Sand\'s time that this grid does not '
                    'resolve (docs/physics.md, "Past Sand\'s time")',
                    100 * diffuse[-1], float(traj.time_s[-1]))
  shorted_from_s = short_time_s(traj.time_s, traj.shorted)
  if shorted_from_s is not None:
    logging.warning('the deposit shorted the cell before t = %.6g s: the fields are frozen from '
                    'then on (rows with shorted=True in observables.csv, frames titled '
                    '"shorted" in growth.png / growth.gif)', shorted_from_s)
  _atomic_write_bytes(os.path.join(workdir, 'observables.csv'), text.getvalue().encode())

  px = float(traj.pixel_size_um)
  suptitle = f'{sim_config.chemistry}, {sim_config.protocol}'
  if shorted_from_s is not None:
    suptitle += f' (shorted by t = {shorted_from_s:.0f} s: later frames frozen)'
  figures.growth_strip(traj.xi, traj.time_s, px, os.path.join(workdir, 'growth.png'),
                       lengths_um=traj.observables['length_um'], suptitle=suptitle,
                       shorted_from_s=shorted_from_s)
  figures.growth_animation(traj.xi, traj.time_s, px, os.path.join(workdir, 'growth.gif'),
                           fps=int(config.get('gif_fps', 2)), shorted_from_s=shorted_from_s)
  return traj


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  simulate_and_write(_CONFIG.value, _WORKDIR.value)


if __name__ == '__main__':
  flags.mark_flags_as_required(['config', 'workdir'])
  app.run(main)
