r"""Runs PFHub benchmark 3a to t = 1500, compares it with published submissions, writes PFHub files.

  python -m experiments.pfhub3a --config configs/pfhub3a.py --output_dir runs/pfhub3a
  python -m experiments.pfhub3a --config configs/pfhub3a.py --config.window.enabled=False

Writes to `<output_dir>`:
  pfhub3a_tip.csv          time, tip_position_x, solid_fraction, solid_area, free_energy
  pfhub3a_tip.png          tip and solid fraction against the references
  tip_position.csv, solid_fraction.csv, free_energy.csv, phase_field_1500.csv, meta.yaml
                           the PFHub upload set (benchmark 3a submission guidelines: three
                           time series, the ordered phi = 0 contour at t = 1500, and the
                           metadata of the run: machine, cores, wall time, memory)
and prints, for each of `config.references`, the tip and solid-fraction errors at
`config.report_times`, the range of the errors over every reference sample with
`compare_from` <= t <= `t_end`, PASS/FAIL against `config.target_rel_error` (tip: or one grid
cell, where larger), the wall time and cell-updates per second (effective: the whole domain
every step; computed: the cells actually updated).
Exit status 0 whatever the result (it is a measurement); the test suite holds the assertions.
"""

import csv
import datetime
import os
import platform
import resource
import subprocess
import time

from absl import app
from absl import flags
import jax
from ml_collections import config_flags
import numpy as np

from dendrax import files

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/pfhub3a.py', 'PFHub 3a config.',
                                          lock_config=True)
_OUTPUT_DIR = flags.DEFINE_string('output_dir', 'runs/pfhub3a', 'Where the results go.')

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_pfhub3a(config):
  """Runs the benchmark (compile included in the wall time).

  Returns (out, final_state, info): `out` a dict of numpy series for the whole domain, the final
  state (window-sized when the window is on), and `info` with wall_s, steps, the window side per
  save interval and the cell-updates (effective: whole domain; computed: what was updated).
  """
  if config.numerics.dtype == 'float64':
    jax.config.update('jax_enable_x64', True)
  from dendrax.physics import pfhub3a  # pylint: disable=g-import-not-at-top
  numerics = pfhub3a.PFHub3aNumerics(**config.numerics)
  params = pfhub3a.PFHub3aParams(**config.params)
  steps_per_save, num_saves = pfhub3a.steps_for(numerics, config.t_end, config.save_every)
  t0, cpu0 = time.perf_counter(), time.process_time()
  if config.window.enabled:
    window = pfhub3a.ActiveWindow(**{k: v for k, v in config.window.items() if k != 'enabled'})
    state, rec, sizes = pfhub3a.run_windowed(numerics, params, window, t_end=config.t_end,
                                             save_every=config.save_every)
  else:
    run = pfhub3a.make_run(numerics, t_end=config.t_end, save_every=config.save_every)
    state, rec = jax.block_until_ready(run(params))
    sizes = np.full(num_saves, numerics.n)
  rec = jax.tree.map(lambda a: np.asarray(a, float), rec)
  wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
  out = {
      'time': rec.time,
      'tip_position_x': rec.tip_position,
      'solid_fraction': rec.solid_area / config.reference_domain_size**2,
      'solid_area': rec.solid_area,
      'free_energy': rec.free_energy,
  }
  steps = steps_per_save * num_saves
  info = {
      'wall_s': wall_s, 'cpu_s': cpu_s, 'steps': steps, 'sizes': sizes, 'n': numerics.n,
      'effective_cell_updates': float(numerics.n)**2 * steps,
      'computed_cell_updates': float(np.sum(np.asarray(sizes, float)**2)) * steps_per_save,
      'substeps': numerics.substeps(params.diffusivity), 'dx': numerics.dx,
  }
  sides = sorted(set(np.asarray(sizes).tolist()))
  print(f'grid {numerics.n} x {numerics.n} (dx = {numerics.dx}, L = {numerics.domain_size}), '
        f'dt = {numerics.dt}, U sub-steps = {info["substeps"]}, stencil {numerics.stencil}, '
        f'{numerics.dtype}, {jax.devices()[0].platform}, window '
        f'{"sides " + str(sides) if config.window.enabled else "off"}')
  return out, state, info


def run_benchmark(config):
  """(out, compile_s, run_s), the interface benchmarks/physics_speed.py uses.

  The compile happens inside the run (one program per window side), so compile_s is 0 and run_s
  is the whole wall time.
  """
  out, _, info = run_pfhub3a(config)
  return out, 0.0, info['wall_s']


def tip_errors(out, config, reference):
  """[(t, tip, reference tip, relative error)] at `config.report_times` within the run."""
  from dendrax.physics import pfhub3a  # pylint: disable=g-import-not-at-top
  rows = []
  for t in config.report_times:
    if t > out['time'][-1] + 1e-9:
      continue
    tip = float(np.interp(t, out['time'], out['tip_position_x']))
    ref = float(pfhub3a.interpolate_reference(reference, 'tip_position_x', t))
    rows.append((t, tip, ref, tip / ref - 1))
  return rows


def pfhub3a_references(config):
  """[(label, reference)] for `config.references` (CSV paths relative to the repository root)."""
  from dendrax.physics import pfhub3a  # pylint: disable=g-import-not-at-top
  return [(label, pfhub3a.load_reference(os.path.join(_REPO_ROOT, path)))
          for label, path in config.references]


def pfhub3a_reference(config):
  """The first of `config.references`: the benchmark's reference."""
  return pfhub3a_references(config)[0][1]


def series_errors(out, reference, t_min, t_max):
  """Relative errors at every reference sample with t_min <= t <= t_max.

  Returns a dict of arrays: time, tip, tip_ref, tip_rel, sf_rel (ours linearly interpolated to
  the reference times).
  """
  t = reference['time']
  keep = (t >= t_min) & (t <= min(t_max, out['time'][-1]))
  t = t[keep]
  tip = np.interp(t, out['time'], out['tip_position_x'])
  sf = np.interp(t, out['time'], out['solid_fraction'])
  tip_ref, sf_ref = reference['tip_position_x'][keep], reference['solid_fraction'][keep]
  return {'time': t, 'tip': tip, 'tip_ref': tip_ref, 'tip_rel': tip / tip_ref - 1,
          'sf_rel': sf / sf_ref - 1}


def phase_field_contour(phi, dx):
  """The longest phi = 0 contour line, `[m, 2]` (x, y) in traversal order (contourpy)."""
  import contourpy  # pylint: disable=g-import-not-at-top
  phi = np.asarray(phi, float)
  centres = (np.arange(phi.shape[0]) + 0.5) * dx
  lines = contourpy.contour_generator(centres, centres, phi).lines(0.0)
  return max(lines, key=len)


def _write_csv(path, header, rows):
  with files.atomic_write(path, newline='') as fh:
    writer = csv.writer(fh)
    writer.writerow(header)
    writer.writerows(rows)


def _git_version():
  try:
    return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=_REPO_ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return 'unknown'


def _clock_ghz():
  """The CPU clock from /proc/cpuinfo, GHz as a string ('' where unknown)."""
  try:
    with open('/proc/cpuinfo') as fh:
      mhz = [float(line.split(':')[1]) for line in fh if line.startswith('cpu MHz')]
    return f'{mhz[0] / 1000:.2f}' if mhz else ''
  except OSError:
    return ''


def meta_yaml(info, config):
  """The PFHub `meta.yaml` (the layout of the published 3a submissions) as a dict."""
  series = [
      ('free_energy', 'free_energy.csv', 'free_energy', 'Free energy versus time'),
      ('solid_fraction', 'solid_fraction.csv', 'solid_fraction', 'Solid fraction versus time'),
      ('tip_position', 'tip_position.csv', 'tip_position', 'Tip position versus time'),
  ]
  data = [
      {'name': 'run_time', 'values': [{'wall_time': f'{info["wall_s"]:.1f}',
                                       'sim_time': f'{config.t_end:g}'}]},
      {'name': 'memory_usage', 'values': [{
          'unit': 'KB', 'value': str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)}]},
  ]
  for name, url, column, description in series:
    data.append({'name': name, 'url': url,
                 'format': {'type': 'csv', 'parse': {'time': 'number', column: 'number'}},
                 'description': description, 'type': 'line',
                 'transform': [{'type': 'formula', 'expr': 'datum.time', 'as': 'x'},
                               {'type': 'formula', 'expr': f'datum.{column}', 'as': 'y'}]})
  data.append({'name': 'phase_field_1500', 'url': 'phase_field_1500.csv',
               'format': {'type': 'csv', 'parse': {'x': 'number', 'y': 'number'}},
               'description': 'phi = 0 contour at t = 1500', 'type': 'line',
               'transform': [{'type': 'formula', 'expr': 'datum.x', 'as': 'x'},
                             {'type': 'formula', 'expr': 'datum.y', 'as': 'y'}]})
  window = (f'active window (sides {min(info["sizes"])}-{max(info["sizes"])} cells, tolerance '
            f'{config.window.tolerance:g})' if config.window.enabled else 'whole domain')
  return {
      'metadata': {
          'author': {'first': 'dendrax', 'last': 'developers', 'email': '', 'github_id': ''},
          'timestamp': datetime.date.today().strftime('%d %B, %Y'),
          'summary': (f'{info["n"]}x{info["n"]} uniform grid (dx = {info["dx"]:g} W0), explicit '
                      f'finite differences in JAX (isotropic 9-point anisotropic operator, dt = '
                      f'{config.numerics.dt:g}, {info["substeps"]} U sub-steps), {window}, '
                      f'{config.numerics.dtype} on CPU; {info["cpu_s"]:.0f} CPU-seconds'),
          'implementation': {'name': 'dendrax (JAX)', 'repo': {'url': '', 'version':
                                                               _git_version()},
                             'container_url': ''},
          'hardware': {'cpu_architecture': platform.machine(), 'acc_architecture': 'none',
                       'parallel_model': 'threaded', 'clock_rate': _clock_ghz(),
                       'cores': str(os.cpu_count()), 'nodes': '1'},
      },
      'benchmark': {'id': '3a', 'version': '1'},
      'data': data,
  }


def write_pfhub(out, state, info, config, output_dir):
  """Writes the PFHub upload set (three series, the t = 1500 contour, meta.yaml)."""
  import yaml  # pylint: disable=g-import-not-at-top
  t = out['time']
  _write_csv(os.path.join(output_dir, 'tip_position.csv'), ['time', 'tip_position'],
             zip(t, out['tip_position_x']))
  _write_csv(os.path.join(output_dir, 'solid_fraction.csv'), ['time', 'solid_fraction'],
             zip(t, out['solid_fraction']))
  _write_csv(os.path.join(output_dir, 'free_energy.csv'), ['time', 'free_energy'],
             zip(t, out['free_energy']))
  if abs(t[-1] - 1500.0) < 1e-6:
    _write_csv(os.path.join(output_dir, 'phase_field_1500.csv'), ['x', 'y'],
               phase_field_contour(state.phi, info['dx']))
  with files.atomic_write(os.path.join(output_dir, 'meta.yaml')) as fh:
    yaml.safe_dump(meta_yaml(info, config), fh, sort_keys=False)


def compare(out, info, config, label, reference):
  """Prints the errors against one reference; returns its `series_errors` plus `passed`."""
  err = series_errors(out, reference, config.compare_from, config.t_end)
  print(f'against {label}:')
  if not len(err['time']):
    print(f'  no reference sample in {config.compare_from:g} <= t <= {config.t_end:g}')
    return dict(err, passed=None)
  print(f'{"t":>7} {"tip":>9} {"reference":>9} {"tip err":>8} {"solid err":>9}')
  for t in config.report_times:
    if t <= err['time'][-1] + 20:
      i = int(np.argmin(np.abs(err['time'] - t)))
      print(f'{err["time"][i]:7.1f} {err["tip"][i]:9.2f} {err["tip_ref"][i]:9.2f} '
            f'{100 * err["tip_rel"][i]:+7.2f}% {100 * err["sf_rel"][i]:+8.2f}%')
  target = config.target_rel_error
  tip_ok = np.abs(err['tip_rel']) <= np.maximum(target, info['dx'] / err['tip_ref'])
  sf_ok = np.abs(err['sf_rel']) <= target
  i_tip, i_sf = np.argmax(np.abs(err['tip_rel'])), np.argmax(np.abs(err['sf_rel']))
  print(f'  whole series ({len(err["time"])} reference samples, {config.compare_from:g} <= t <= '
        f'{err["time"][-1]:.0f}): tip error {100 * err["tip_rel"].min():+.2f}% to '
        f'{100 * err["tip_rel"].max():+.2f}% (largest at t = {err["time"][i_tip]:.0f}; '
        f'{"PASS" if tip_ok.all() else "FAIL"}, {int((~tip_ok).sum())} samples outside '
        f'{100 * target:g}% / one cell); solid-fraction error {100 * err["sf_rel"].min():+.2f}% '
        f'to {100 * err["sf_rel"].max():+.2f}% (largest at t = {err["time"][i_sf]:.0f}; '
        f'{"PASS" if sf_ok.all() else "FAIL"})')
  return dict(err, passed=bool(tip_ok.all() and sf_ok.all()))


def report(out, state, info, config, output_dir):
  """Writes the CSVs, PFHub files and plot; prints the comparison with every reference; returns
  {label: `compare` result}."""
  references = pfhub3a_references(config)
  os.makedirs(output_dir, exist_ok=True)
  csv_path = os.path.join(output_dir, 'pfhub3a_tip.csv')
  _write_csv(csv_path, list(out), zip(*out.values()))
  write_pfhub(out, state, info, config, output_dir)
  errors = {label: compare(out, info, config, label, reference)
            for label, reference in references}
  wall = info['wall_s']
  print(f'wall time {wall:.1f} s (compile included; {info["cpu_s"]:.1f} CPU-seconds, load '
        f'average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores), {info["steps"]} phi steps; '
        f'cell-updates/s: '
        f'effective {info["effective_cell_updates"] / wall / 1e6:.1f} M, computed '
        f'{info["computed_cell_updates"] / wall / 1e6:.1f} M (computed/effective '
        f'{info["computed_cell_updates"] / info["effective_cell_updates"]:.3f})')

  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for (label, reference), style in zip(references, ('k-', 'b:', 'g-.', 'm:')):
    axes[0].plot(reference['time'], reference['tip_position_x'], style, label=label)
    axes[1].plot(reference['time'], reference['solid_fraction'], style, label=label)
  axes[0].plot(out['time'], out['tip_position_x'], 'r--', label='dendrax')
  axes[0].set(xlabel='t / tau0', ylabel='tip position x / W0', title='PFHub 3a tip')
  axes[1].plot(out['time'], out['solid_fraction'], 'r--', label='dendrax')
  axes[1].set(xlabel='t / tau0', ylabel='solid fraction (of 960^2)', title='PFHub 3a solid')
  for ax in axes:
    ax.legend()
  fig.tight_layout()
  png_path = os.path.join(output_dir, 'pfhub3a_tip.png')
  with files.atomic_path(png_path) as tmp:
    fig.savefig(tmp, dpi=200)
  print(f'written: {csv_path}, {png_path}, PFHub files and meta.yaml in {output_dir}')
  return errors


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  config = _CONFIG.value
  out, state, info = run_pfhub3a(config)
  report(out, state, info, config, _OUTPUT_DIR.value)


if __name__ == '__main__':
  app.run(main)
