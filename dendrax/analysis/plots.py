"""Plots of the analysis outputs: parity (Fig. 4), sensitivity bars (Fig. 5), side-by-side
morphology maps and rollout videos of simulation and surrogates (Fig. 6), sweep summaries.

Single-trajectory pictures and videos belong to `dendrax.analysis.figures`; this module adds
the comparison chart types of the reports and draws every frame with `figures.show_frame`
(deposit red, electrolyte blue, electrode at the bottom). Figure functions return a matplotlib
Figure (Agg backend); `report.figure_html` embeds it.
"""

from __future__ import annotations

import os
import tempfile
from typing import Mapping, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from matplotlib import animation  # pylint: disable=g-import-not-at-top,wrong-import-position

from dendrax.analysis import figures  # pylint: disable=g-import-not-at-top
from dendrax.physics import parameters  # pylint: disable=g-import-not-at-top

_SHORT = {
    'temperature_k': 'T',
    'concentration_gradient_mol_m3_per_um': 'grad c',
    'field_strength_kv_per_m': 'E field',
    'ion_concentration_mol_m3': 'c0',
    'surface_energy_j_m2': 'gamma',
    'fluidity_per_pa_s': 'fluidity',
    'n_defects': 'defects (FD)',
}
# Colours of the two sides of Fig. 5 and of the finite-difference check.
_COLOURS = {'physics': '#c0392b', 'model': '#2471a3', 'finite difference': '#7f8c8d'}


def short_name(parameter: str) -> str:
  """A compact axis label for a parameter name."""
  return _SHORT.get(parameter, parameter)


def parity_figure(panels: Mapping[str, tuple[np.ndarray, np.ndarray, Mapping[str, float]]],
                  *, unit: str = 'um', quantity: str = 'dendrite length'):
  """Predicted vs simulated scatter, one panel per entry, with the identity line and metrics.

  Args:
    panels: {title: (simulated [n], predicted [n], metrics with 'r', 'r2', 'mse')}, e.g.
      'CNN-2 / test'. Panels are laid out in rows of up to four.
  """
  n = max(len(panels), 1)
  cols = min(n, 4)
  rows = -(-n // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.5 * rows), squeeze=False)
  for ax in axes.flat[n:]:
    ax.axis('off')
  for ax, (title, (truth, pred, m)) in zip(axes.flat, panels.items()):
    truth = np.asarray(truth, np.float64).ravel()
    pred = np.asarray(pred, np.float64).ravel()
    ok = np.isfinite(truth) & np.isfinite(pred)
    ax.scatter(truth[ok], pred[ok], s=9, alpha=0.6, color='#2471a3', edgecolors='none')
    if np.any(ok):
      lo = min(truth[ok].min(), pred[ok].min())
      hi = max(truth[ok].max(), pred[ok].max())
      pad = 0.05 * (hi - lo + 1e-9)
      ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], 'k--', lw=0.8)
      ax.set_xlim(lo - pad, hi + pad)
      ax.set_ylim(lo - pad, hi + pad)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f'simulated {quantity} ({unit})')
    ax.set_ylabel(f'predicted ({unit})')
    ax.text(0.04, 0.96, f"R = {m.get('r', np.nan):.3f}\nR$^2$ = {m.get('r2', np.nan):.3f}\n"
            f"MSE = {m.get('mse', np.nan):.3g}", transform=ax.transAxes, va='top', fontsize=8,
            bbox=dict(facecolor='white', alpha=0.8, lw=0))
  fig.tight_layout()
  return fig


def sensitivity_figure(table: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
                       observable: str, summaries: Sequence[str],
                       names: Sequence[str] = parameters.PARAMETER_NAMES):
  """Grouped bars of elasticities per parameter, one panel per summary (overall, stages).

  Args:
    table: {series label: {parameter: {observable: {summary: value}}}}, e.g. labels 'physics',
      'model', 'finite difference'; a missing or NaN value draws no bar.
    observable: which observable to draw.
    summaries: e.g. ('overall', 'trickle', 'constant_current', 'constant_voltage').
  """
  labels = list(table)
  fig, axes = plt.subplots(1, len(summaries), figsize=(4.2 * len(summaries), 3.6),
                           squeeze=False, sharey=False)
  x = np.arange(len(names))
  width = 0.8 / max(len(labels), 1)
  for ax, summary in zip(axes[0], summaries):
    for k, label in enumerate(labels):
      vals = [_lookup(table[label], n, observable, summary) for n in names]
      ax.bar(x + (k - (len(labels) - 1) / 2) * width, np.nan_to_num(vals, nan=0.0), width,
             label=label, color=_COLOURS.get(label, f'C{k}'),
             hatch='//' if label == 'finite difference' else None)
    ax.axhline(0, color='k', lw=0.6)
    if all(not np.isfinite(_lookup(table[l], n, observable, summary))
           for l in labels for n in names):
      ax.text(0.5, 0.5, 'no frames in this stage', transform=ax.transAxes, ha='center',
              color='#555')
    ax.set_xticks(x)
    ax.set_xticklabels([short_name(n) for n in names], rotation=45, ha='right', fontsize=8)
    ax.set_title(f'{observable}: {summary}', fontsize=10)
    ax.set_ylabel('d ln O / d ln P')
  axes[0][0].legend(fontsize=8)
  fig.tight_layout()
  return fig


def _lookup(per_param, name, observable, summary) -> float:
  try:
    return float(per_param[name][observable][summary])
  except (KeyError, TypeError):
    return float('nan')


def sweep_figure(rows: Sequence[Mapping[str, float]], metric: str):
  """Mean +- standard deviation of `metric` over folds, one horizontal bar per setting.

  Args:
    rows: dicts with 'setting', f'{metric}_mean', f'{metric}_std', 'folds'.
  """
  names = [str(r['setting']) for r in rows]
  means = np.array([float(r.get(f'{metric}_mean', np.nan)) for r in rows])
  stds = np.array([float(r.get(f'{metric}_std', np.nan)) for r in rows])
  fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(rows) + 1.2))
  y = np.arange(len(rows))
  ax.barh(y, np.nan_to_num(means), xerr=np.nan_to_num(stds), color='#2471a3', alpha=0.8,
          capsize=3)
  ax.set_yticks(y)
  ax.set_yticklabels(names, fontsize=8)
  ax.invert_yaxis()
  ax.set_xlabel(f'{metric} (mean +- std over folds)')
  fig.tight_layout()
  return fig


def morphology_figure(rows: Mapping[str, np.ndarray], times_s: Sequence[float],
                      pixel_size_um: float, *, title: str = ''):
  """Frames side by side: one column per source ('simulation', 'CNN-1', ...), one row per time.

  Args:
    rows: {label: [k, H, W]} frames at `times_s` (k of them), in column order.
  """
  labels = list(rows)
  k = len(times_s)
  fig, axes = plt.subplots(k, len(labels), figsize=(2.7 * len(labels) + 1.0, 2.8 * k),
                           squeeze=False, layout='constrained')
  im = None
  for c, label in enumerate(labels):
    for r, t in enumerate(times_s):
      im = figures.show_frame(axes[r][c], rows[label][r], pixel_size_um, f'{label}, {t:g} s')
      if c == 0:
        axes[r][c].set_ylabel('y (um)', fontsize=8)
  fig.colorbar(im, ax=axes, shrink=0.8, label='xi (1 deposit, 0 electrolyte)')
  if title:
    fig.suptitle(title)
  return fig


def comparison_video(frames: Mapping[str, np.ndarray], times_s: Sequence[float],
                     pixel_size_um: float, path: str, *, fps: float = 2.0) -> str:
  """Writes a GIF or MP4 (by `path`'s extension) of sources side by side over time.

  Args:
    frames: {label: [T, H, W]} frames at `times_s`.
    path: ends in '.gif' (Pillow) or '.mp4' (ffmpeg from imageio-ffmpeg).
  """
  ext = os.path.splitext(path)[1].lower()
  if ext not in ('.gif', '.mp4'):
    raise ValueError(f'video path {path!r} must end in .gif or .mp4')
  labels = list(frames)
  fig, axes = plt.subplots(1, len(labels), figsize=(2.8 * len(labels), 3.0), squeeze=False)
  images = [figures.show_frame(ax, frames[l][0], pixel_size_um, f'{l}, {times_s[0]:g} s')
            for ax, l in zip(axes[0], labels)]

  def update(i):
    for ax, im, l in zip(axes[0], images, labels):
      im.set_data(np.asarray(frames[l][i]))
      ax.set_title(f'{l}, {times_s[i]:g} s', fontsize=9)
    return images

  anim = animation.FuncAnimation(fig, update, frames=len(times_s), blit=False)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if ext == '.gif':
    writer = animation.PillowWriter(fps=fps)
  else:
    import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
    matplotlib.rcParams['animation.ffmpeg_path'] = imageio_ffmpeg.get_ffmpeg_exe()
    writer = animation.FFMpegWriter(fps=fps)
  folder = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-', suffix=ext)
  os.close(fd)
  anim.save(tmp, writer=writer, dpi=100)
  plt.close(fig)
  os.chmod(tmp, 0o644)
  os.replace(tmp, path)      # a reader never sees half a video
  return path
