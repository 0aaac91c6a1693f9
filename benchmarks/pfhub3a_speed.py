r"""PFHub 3a wall time: today's production path against the new one, in one invocation.

  python -m benchmarks.pfhub3a_speed                      # both paths, 960^2 to t = 1500
  python -m benchmarks.pfhub3a_speed --paths=new,new_full  # the active window against no window
  python -m benchmarks.pfhub3a_speed --t_end=300           # a shorter run

Paths (each compiled and run from scratch, compile time included in its wall time):
  today     5-point face stencil, dt = 0.125, the whole 960^2 domain every step (the path this
            change replaces; 126.5 s on a quiet machine, docs/benchmarks.md)
  new       configs/pfhub3a.py as it stands: isotropic stencil, dt = 0.25, active window
  new_full  the same numerics without the window (the reference for the window's tolerance)

Prints each path's wall time and CPU time, its ratio to the first path, cell-updates per second
(effective: 960^2 cells every step; computed: the cells actually updated), the load average
before and after (the machine is shared: compare ratios, not absolute times), and for every later
path the largest relative difference of its tip, solid fraction and free energy series from the
`new_full` or `today` series where those ran.
"""

import os
import time

from absl import app
from absl import flags
import numpy as np

from configs import pfhub3a as pfhub3a_config
from experiments import pfhub3a as experiment

_PATHS = flags.DEFINE_list('paths', ['today', 'new'], 'Paths to run, in order (today, new, '
                           'new_full); ratios are against the first.')
_T_END = flags.DEFINE_float('t_end', 1500.0, 'Simulated end time (a multiple of 10).')


def path_config(name: str, t_end: float):
  """The config of one path (see the module docstring)."""
  config = pfhub3a_config.get_config()
  config.t_end = t_end
  if name == 'today':
    config.numerics.stencil = 'face'
    config.numerics.dt = 0.125
    config.window.enabled = False
  elif name == 'new_full':
    config.window.enabled = False
  elif name != 'new':
    raise ValueError(f'path {name!r}; expected one of today, new, new_full')
  return config


def main(argv):
  del argv
  print(f'load average before: {os.getloadavg()}')
  results = {}
  for name in _PATHS.value:
    config = path_config(name, _T_END.value)
    cpu0 = time.process_time()
    out, _, info = experiment.run_pfhub3a(config)
    cpu = time.process_time() - cpu0
    results[name] = (out, info, cpu)
    wall = info['wall_s']
    print(f'{name:>9}: wall {wall:7.1f} s, CPU {cpu:7.1f} s, cell-updates/s effective '
          f'{info["effective_cell_updates"] / wall / 1e6:6.1f} M, computed '
          f'{info["computed_cell_updates"] / wall / 1e6:6.1f} M, load {os.getloadavg()[0]:.1f}')
  first = _PATHS.value[0]
  print(f'load average after: {os.getloadavg()}')
  for name, (out, info, cpu) in results.items():
    base_wall, base_cpu = results[first][1]['wall_s'], results[first][2]
    print(f'{name:>9}: {info["wall_s"]:.1f} s wall ({base_wall / info["wall_s"]:.2f}x faster '
          f'than {first}), {cpu:.1f} s CPU ({base_cpu / cpu:.2f}x)')
  for other in ('new_full', 'today'):
    if other not in results:
      continue
    for name, (out, _, _) in results.items():
      if name == other:
        continue
      ref = results[other][0]
      diffs = {k: float(np.max(np.abs(out[k][1:] / ref[k][1:] - 1)))
               for k in ('tip_position_x', 'solid_fraction', 'free_energy')}
      print(f'{name} vs {other}: largest relative difference ' +
            ', '.join(f'{k} {v:.2e}' for k, v in diffs.items()))


if __name__ == '__main__':
  app.run(main)
