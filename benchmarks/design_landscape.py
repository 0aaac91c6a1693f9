r"""How flat is the design landscape? Constant current against pulses at equal charge.

  python -m benchmarks.design_landscape --charge_mah_cm2=1.0 --max_time_s=420 --max_voltage_v=2.0
  python -m benchmarks.design_landscape --resolved --currents 20 30 --amplitudes 40 --duties 0.5 \
      --on_times 5

A diagnostic of issue 12's flat objectives, not a timing: on the pulse problem's cell
(configs/design/pulse.py: Li, the 64 x 64 dataset cell under a 182 um Nernst layer, limiting
current ~20 mA/cm^2 at 1 M), it simulates constant current at each of `--currents` and pulses at
each amplitude x duty x on time whose mean current delivers the charge in time, and prints, per
run, the dendrite length, the highest tip and the interface length when the charge passed
reaches Q (`dendrax.design.problem.value_at_charge`, the design objective), the time it took,
the charge reached by the end (below the schedule's where the voltage cutoff capped the current,
i.e. past Sand's time, or where the cell shorted), and the share of the deposit that is a diffuse
partial phase away from the electrode's solid at the first frame past Q and at the end
(`dendrax.analysis.dataset_stats.diffuse_deposit`: past Sand's time the dataset cell's diffuse
interface grows one, so lengths there are not a resolved morphology). One JSON line per run
(also written to `--out` if given).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from configs.design import pulse as pulse_config
from dendrax import files
from dendrax.analysis import dataset_stats
from dendrax.design import problem as problem_lib
from dendrax.design import simulator_adapter as sa
from dendrax.design import study


def at_charge(frames, q: float) -> dict[str, float]:
  """The design's observables when the charge passed first reaches `q` (NaN if never)."""
  charge = jnp.asarray(frames['charge_mah_cm2'])
  reached = bool(charge[-1] >= q)
  out = {f'{k}_at_q': float(problem_lib.value_at_charge(jnp.asarray(frames[k]), charge, q))
         if reached else float('nan')
         for k in ('length_um', 'max_tip_height_um', 'interface_length_um', 'time_s')}
  out['final_charge_mah_cm2'] = float(charge[-1])
  return out


def scan(settings: sa.SimulatorSettings, fixed: dict, q: float, currents, amplitudes, duties,
         on_times) -> list[dict]:
  runs = [('constant_current', {'current_ma_cm2': j}) for j in currents]
  runs += [('pulse', {'pulse_on_time_s': on, 'pulse_duty': d, 'pulse_amplitude_ma_cm2': a})
           for a in amplitudes for d in duties for on in on_times
           if a * d * settings.max_time_s / 3600.0 >= q]          # delivers Q in time
  observe = {p: jax.jit(sa.make_simulator(settings, p, fixed).observe)
             for p in {p for p, _ in runs}}
  rows = []
  for protocol, values in runs:
    t0 = time.perf_counter()
    frames = jax.device_get(observe[protocol]({k: jnp.float32(v) for k, v in values.items()}))
    row = {'protocol': protocol, **values, **at_charge(frames, q),
           'diffuse_fraction_at_q': dataset_stats.diffuse_fraction_at_charge(
               frames['xi'], frames['charge_mah_cm2'], q, settings.sim.dx_um),
           'diffuse_fraction_end': dataset_stats.diffuse_deposit(
               frames['xi'][-1], frames['xi'][0], settings.sim.dx_um)['diffuse_deposit_fraction'],
           'shorted': bool(frames['shorted'][-1]),
           'seconds': round(time.perf_counter() - t0, 1)}
    print(json.dumps(row), flush=True)
    rows.append(row)
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--charge_mah_cm2', type=float, default=1.0)
  parser.add_argument('--max_time_s', type=float, default=420.0)
  parser.add_argument('--max_voltage_v', type=float, default=0.5, help='voltage cutoff')
  parser.add_argument('--currents', type=float, nargs='+', default=[5, 10, 20, 30, 40])
  parser.add_argument('--amplitudes', type=float, nargs='+', default=[20, 40])
  parser.add_argument('--duties', type=float, nargs='+', default=[0.25, 0.5])
  parser.add_argument('--on_times', type=float, nargs='+', default=[1, 5])
  parser.add_argument('--resolved', action='store_true',
                      help='half the cell and the interface and a quarter of the step (0.5 um, '
                           '1.25 um, 0.025 s): growth past Sand\'s time resolved as tips '
                           '(benchmarks.past_sand_resolution); ~16x the cost')
  parser.add_argument('--out', default=None, help='JSON file for the rows (optional)')
  args = parser.parse_args()
  config = pulse_config.get_config()
  config.problem.max_time_s = args.max_time_s
  config.simulation.max_voltage_v = args.max_voltage_v
  if args.resolved:
    config.simulation.update(pulse_config.RESOLVED_SIMULATION)
  rows = scan(study.simulator_settings(config), dict(config.problem.fixed), args.charge_mah_cm2,
              args.currents, args.amplitudes, args.duties, args.on_times)
  lengths = np.array([r['length_um_at_q'] for r in rows])
  ok = np.isfinite(lengths)
  if ok.any():
    print(f'{ok.sum()} runs reach Q = {args.charge_mah_cm2} mAh/cm^2: length at Q '
          f'{lengths[ok].min():.3f}-{lengths[ok].max():.3f} um (span '
          f'{100 * (lengths[ok].max() / lengths[ok].min() - 1):.1f} %)')
  if args.out:
    files.write_text(args.out, json.dumps(rows, indent=1))


if __name__ == '__main__':
  main()
