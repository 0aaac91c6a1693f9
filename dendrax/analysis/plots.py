"""Plots of the analysis outputs: parity (Fig. 4), sensitivity bars (Fig. 5), side-by-side
morphology maps and rollout videos of simulation and surrogates (Fig. 6), sweep summaries,
fidelity parity and rollout skill against horizon.

Made for slides: fonts of 11-13 pt, full parameter names (as in the tables), legends outside
the data, colourbars on every image, and files at `figures.DPI` (200 dpi). Single-trajectory
pictures and videos belong to `dendrax.analysis.figures`; this module adds the comparison chart
types of the reports and draws every frame with `figures.show_frame` (deposit red, electrolyte
blue, electrode at the bottom). Figure functions return a matplotlib Figure (Agg backend);
`report.figure_html` embeds it, `save` writes it.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from matplotlib import animation  # pylint: disable=g-import-not-at-top,wrong-import-position

from dendrax import files  # pylint: disable=g-import-not-at-top
from dendrax.analysis import figures  # pylint: disable=g-import-not-at-top
from dendrax.physics import parameters  # pylint: disable=g-import-not-at-top

FONT = {'font.size': 11, 'axes.titlesize': 12, 'axes.labelsize': 11, 'xtick.labelsize': 10,
        'ytick.labelsize': 10, 'legend.fontsize': 10, 'figure.titlesize': 13}
plt.rcParams.update(FONT)

# Colours of the two sides of Fig. 5 and of the finite-difference check.
_COLOURS = {'physics': '#c0392b', 'model': '#2471a3', 'finite difference': '#7f8c8d'}
# Units of the parameters, for figure titles.
_UNITS = {'temperature_k': 'K', 'concentration_gradient_mol_m3_per_um': 'mol/m3/um',
          'field_strength_kv_per_m': 'kV/m', 'ion_concentration_mol_m3': 'mol/m3',
          'surface_energy_j_m2': 'J/m2', 'fluidity_per_pa_s': '1/(Pa s)', 'n_defects': ''}


def short_name(parameter: str) -> str:
  """The label of a parameter in figures and tables: its snake_case name, as in the CSV."""
  return parameter


def save(fig, path: str, dpi: int = figures.DPI, close: bool = True) -> str:
  """Writes `fig` to `path` atomically at `dpi`; closes it unless `close` is False."""
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=dpi, bbox_inches='tight')
  if close:
    plt.close(fig)
  return path


def parameters_text(params: Sequence[float], per_line: int = 3) -> str:
  """'temperature_k=300 K, ...' (missing ones left out), `per_line` parameters per line."""
  out = []
  for name, v in zip(parameters.PARAMETER_NAMES, params):
    if v is not None and np.isfinite(v):
      out.append(f'{name}={float(v):.4g}{(" " + _UNITS[name]) if _UNITS.get(name) else ""}')
  return '\n'.join(', '.join(out[i:i + per_line]) for i in range(0, len(out), per_line))


def _ci_text(m: Mapping, key: str, label: str, digits: int = 3) -> str:
  v = m.get(key)
  if isinstance(v, Mapping):
    text = f'{label} = {v["value"]:.{digits}f}'
    lo, hi = v.get('ci_low'), v.get('ci_high')
    if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
      text += f' [{lo:.{digits}f}, {hi:.{digits}f}]'
    return text
  return f'{label} = {np.nan if v is None else v:.{digits}g}'


def parity_figure(panels: Mapping[str, tuple], *, unit: str = 'um',
                  quantity: str = 'dendrite length'):
  """Predicted vs simulated scatter, one panel per entry, points coloured by time.

  Args:
    panels: {title: (simulated [N, M], predicted [N, M], metrics[, time_s [N, M]])}, e.g.
      'CNN-2 / test'. Metrics: `evaluation.score` marks entries ('length_r', 'length_r2',
      'length_mse_um2' as {'value', 'ci_low', 'ci_high'}) or plain {'r', 'r2', 'mse'}. Rows of
      up to four panels.
  """
  n = max(len(panels), 1)
  cols = min(n, 4)
  rows = -(-n // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols + 0.8, 4.2 * rows), squeeze=False,
                           layout='constrained')
  for ax in axes.flat[n:]:
    ax.axis('off')
  sc = None
  for ax, (title, panel) in zip(axes.flat, panels.items()):
    truth, pred, m = panel[:3]
    time_s = panel[3] if len(panel) > 3 else None
    truth = np.asarray(truth, np.float64).ravel()
    pred = np.asarray(pred, np.float64).ravel()
    ok = np.isfinite(truth) & np.isfinite(pred)
    if time_s is not None:
      c = np.broadcast_to(np.asarray(time_s, np.float64), np.shape(panel[0])).ravel()[ok]
      sc = ax.scatter(truth[ok], pred[ok], s=14, c=c, cmap='viridis', alpha=0.8,
                      edgecolors='none', vmin=0)
    else:
      ax.scatter(truth[ok], pred[ok], s=14, alpha=0.7, color='#2471a3', edgecolors='none')
    if np.any(ok):
      lo = min(truth[ok].min(), pred[ok].min())
      hi = max(truth[ok].max(), pred[ok].max())
      pad = 0.05 * (hi - lo + 1e-9)
      ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], 'k--', lw=0.8)
      ax.set_xlim(lo - pad, hi + pad)
      ax.set_ylim(lo - pad, hi + pad)
    ax.set_title(title)
    ax.set_xlabel(f'simulated {quantity} ({unit})')
    ax.set_ylabel(f'predicted ({unit})')
    if 'length_r' in m:
      text = '\n'.join([_ci_text(m, 'length_r', 'R'), _ci_text(m, 'length_r2', 'R$^2$'),
                        _ci_text(m, 'length_mse_um2', 'MSE', 3)])
    else:
      text = (f"R = {m.get('r', np.nan):.3f}\nR$^2$ = {m.get('r2', np.nan):.3f}\n"
              f"MSE = {m.get('mse', np.nan):.3g}")
    ax.text(0.03, 0.97, text, transform=ax.transAxes, va='top', fontsize=9,
            bbox=dict(facecolor='white', alpha=0.85, lw=0))
  if sc is not None:
    fig.colorbar(sc, ax=axes, shrink=0.8, label='time (s)')
  return fig


def sensitivity_figure(table: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
                       observable: str, summaries: Sequence[str],
                       names: Sequence[str] = parameters.PARAMETER_NAMES, *,
                       label: str | None = None):
  """Grouped horizontal bars of elasticities per parameter (names on the left, in full), one
  panel per summary (overall, stages).

  Summaries without a finite value in any series (a stage the protocol never reached) get no
  panel; the caller says which were left out (`sensitivity_report`). Panels go two to a row, so
  the figure stays about as wide as a report page and is not shrunk in it; the legend sits below
  the panels, clear of the bars.

  Args:
    table: {series label: {parameter: {observable: {summary: value}}}}, e.g. labels 'physics',
      'model', 'finite difference'; a missing or NaN value draws no bar.
    observable: which observable to draw.
    summaries: e.g. ('overall', 'trickle', 'constant_current', 'constant_voltage').
    label: the observable's name in the titles (default `observable`).
  """
  labels = list(table)
  shown = [s for s in summaries
           if any(np.isfinite(_lookup(table[l], n, observable, s)) for l in labels for n in names)]
  shown = shown or list(summaries[:1])
  cols = min(len(shown), 2)
  rows = -(-len(shown) // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols + 2.6, 0.42 * len(names) * rows + 1.4),
                           squeeze=False, sharex=True, sharey=True, layout='constrained')
  for ax in axes.flat[len(shown):]:
    ax.set_visible(False)
  y = np.arange(len(names))
  height = 0.8 / max(len(labels), 1)
  for ax, summary in zip(axes.flat, shown):
    for k, series in enumerate(labels):
      vals = np.array([_lookup(table[series], n, observable, summary) for n in names])
      ax.barh(y + (k - (len(labels) - 1) / 2) * height, np.where(np.isfinite(vals), vals, 0.0),
              height, label=series, color=_COLOURS.get(series, f'C{k}'),
              hatch='//' if series == 'finite difference' else None)
    ax.axvline(0, color='k', lw=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_ylim(len(names) - 0.5, -0.5)       # first parameter on top (axes share y)
    ax.set_title(f'{label or observable}: {summary}')
    ax.grid(axis='x', lw=0.4, alpha=0.5)
    ax.tick_params(axis='x', labelbottom=True)
  for i, ax in enumerate(axes.flat[:len(shown)]):
    if i + cols >= len(shown):                # the lowest panel of its column
      ax.set_xlabel('elasticity d ln O / d ln P')
  handles, texts = axes[0][0].get_legend_handles_labels()
  fig.legend(handles, texts, loc='outside lower center', ncol=len(labels), frameon=False)
  return fig


def _lookup(per_param, name, observable, summary) -> float:
  try:
    return float(per_param[name][observable][summary])
  except (KeyError, TypeError, ValueError):
    return float('nan')


def sweep_figure(rows: Sequence[Mapping[str, float]], metric: str):
  """Mean +- standard deviation of `metric` over folds, one horizontal bar per setting, with the
  95 % interval of the mean (`sweeps.fold_mean_interval`) as a red line where there is one.

  Args:
    rows: dicts with 'setting', f'{metric}_mean', f'{metric}_std', 'folds' and optionally
      f'{metric}_ci_low', f'{metric}_ci_high'.
  """
  names = [str(r['setting']) for r in rows]
  col = lambda suffix: np.array([float(r.get(f'{metric}_{suffix}', np.nan)) for r in rows])
  means, stds, lo, hi = col('mean'), col('std'), col('ci_low'), col('ci_high')
  fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.6))
  y = np.arange(len(rows))
  ax.barh(y, np.nan_to_num(means), xerr=np.nan_to_num(stds), color='#2471a3', alpha=0.8,
          capsize=3, error_kw={'ecolor': '#666666'}, label='mean ± std over folds')
  has_ci = np.isfinite(lo) & np.isfinite(hi)
  if has_ci.any():
    ax.hlines(y[has_ci] + 0.25, lo[has_ci], hi[has_ci], color='#c0392b', linewidth=3,
              label='95 % interval of the mean (trajectories)')
    ax.legend(fontsize=8, loc='lower left', bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False)
  ax.set_yticks(y)
  ax.set_yticklabels(names)
  ax.invert_yaxis()
  ax.set_xlabel(f'{metric}\n(mean ± std over folds' + ('; red: 95 % interval)' if has_ci.any()
                                                       else ')'))
  fig.tight_layout()
  return fig


def morphology_figure(rows: Mapping[str, np.ndarray], times_s: Sequence[float],
                      pixel_size_um: float, *, title: str = '',
                      lengths_um: Mapping[str, Sequence[float]] | None = None):
  """Frames side by side: one column per source ('simulation', 'CNN-1', ...), one row per time.

  Args:
    rows: {label: [k, H, W]} frames at `times_s` (k of them), in column order.
    lengths_um: {label: [k]} dendrite lengths, shown in the panel titles.
  """
  labels = list(rows)
  k = len(times_s)
  fig, axes = plt.subplots(k, len(labels), figsize=(3.2 * len(labels) + 1.2, 3.3 * k),
                           squeeze=False, layout='constrained')
  im = None
  for c, label in enumerate(labels):
    for r, t in enumerate(times_s):
      text = f'{label}, {t:g} s'
      if lengths_um is not None and label in lengths_um:
        text += f'\nL = {float(lengths_um[label][r]):.1f} um'
      im = figures.show_frame(axes[r][c], rows[label][r], pixel_size_um, text)
      if c == 0:
        axes[r][c].set_ylabel('y (um)')
  fig.colorbar(im, ax=axes, shrink=0.8, label='xi (1 deposit, 0 electrolyte)')
  if title:
    fig.suptitle(title)
  return fig


def comparison_video(frames: Mapping[str, np.ndarray], times_s: Sequence[float],
                     pixel_size_um: float, path: str, *, fps: float = 2.0,
                     lengths_um: Mapping[str, Sequence[float]] | None = None,
                     title: str = '') -> str:
  """Writes a GIF or MP4 (by `path`'s extension) of sources side by side over time.

  Args:
    frames: {label: [T, H, W]} frames at `times_s`.
    path: ends in '.gif' (Pillow) or '.mp4' (ffmpeg from imageio-ffmpeg).
    lengths_um: {label: [T]} dendrite lengths, shown in the titles.
  """
  ext = os.path.splitext(path)[1].lower()
  if ext not in ('.gif', '.mp4'):
    raise ValueError(f'video path {path!r} must end in .gif or .mp4')
  labels = list(frames)

  def caption(label, i):
    text = f'{label}, {times_s[i]:g} s'
    if lengths_um is not None and label in lengths_um:
      text += f'\nL = {float(lengths_um[label][i]):.1f} um'
    return text

  fig, axes = plt.subplots(1, len(labels), figsize=(3.3 * len(labels) + 1.2, 3.9),
                           squeeze=False, layout='constrained')
  images = [figures.show_frame(ax, frames[l][0], pixel_size_um, caption(l, 0))
            for ax, l in zip(axes[0], labels)]
  axes[0][0].set_ylabel('y (um)')
  fig.colorbar(images[-1], ax=axes, shrink=0.8, label='xi')
  if title:
    fig.suptitle(title, fontsize=10)

  def update(i):
    for ax, im, l in zip(axes[0], images, labels):
      im.set_data(np.asarray(frames[l][i]))
      ax.set_title(caption(l, i), fontsize=10)
    return images

  anim = animation.FuncAnimation(fig, update, frames=len(times_s), blit=False)
  if ext == '.gif':
    writer = animation.PillowWriter(fps=fps)
  else:
    import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
    matplotlib.rcParams['animation.ffmpeg_path'] = imageio_ffmpeg.get_ffmpeg_exe()
    writer = animation.FFMpegWriter(fps=fps)
  with files.atomic_path(path) as tmp:      # a reader never sees half a video
    anim.save(tmp, writer=writer, dpi=figures.VIDEO_DPI)
  plt.close(fig)
  return path


def fidelity_parity_figure(rows: Sequence[Mapping[str, float]], *, relevant: float = 0.05):
  """Surrogate elasticity against the simulator's, one point per (panel point, parameter,
  summary): colour by parameter, marker by summary (210 s or a stage's mean); symlog axes (linear
  within +-`relevant`), the y = x line and the +-`relevant` band of negligible physics."""
  markers = {'overall': 'o', 'trickle': 'v', 'constant_current': 's', 'constant_voltage': 'D'}
  cmap = plt.get_cmap('tab10')
  fig, ax = plt.subplots(figsize=(11.5, 6.5))
  fig.subplots_adjust(left=0.08, right=0.58, bottom=0.1, top=0.93)
  p_all = np.array([r['physics'] for r in rows], np.float64)
  m_all = np.array([r['surrogate'] for r in rows], np.float64)
  ok = np.isfinite(p_all) & np.isfinite(m_all)
  lim = max(float(np.max(np.abs(np.concatenate([p_all[ok], m_all[ok]])))) if ok.any() else 1.0,
            1.0) * 1.2
  for i, name in enumerate(parameters.CONTINUOUS_PARAMETERS):
    for summary, marker in markers.items():
      sel = [r for r in rows if r['parameter'] == name and r['summary'] == summary
             and np.isfinite(r['physics']) and np.isfinite(r['surrogate'])]
      if sel:
        ax.scatter([r['physics'] for r in sel], [r['surrogate'] for r in sel], s=22,
                   marker=marker, color=cmap(i), alpha=0.75,
                   label=name if summary == 'overall' else None)
  ax.plot([-lim, lim], [-lim, lim], color='k', lw=0.8)
  ax.axvspan(-relevant, relevant, color='#bbb', alpha=0.3, lw=0)
  ax.set_xscale('symlog', linthresh=relevant)
  ax.set_yscale('symlog', linthresh=relevant)
  ax.set_xlim(-lim, lim)
  ax.set_ylim(-lim, lim)
  ticks = [t for k in range(-1, 3) for t in (-10.0**k, 10.0**k) if 10.0**k < lim] + [0.0]
  for axis in (ax.xaxis, ax.yaxis):
    axis.set_ticks(sorted(ticks), labels=[f'{t:g}' for t in sorted(ticks)])
  ax.set_xlabel('simulator elasticity d ln L / d ln P')
  ax.set_ylabel('surrogate elasticity d ln L / d ln P')
  handles = [plt.Line2D([], [], marker=m, ls='', color='k', label=s) for s, m in markers.items()]
  fig.legend(loc='upper left', bbox_to_anchor=(0.6, 0.93), title='parameter')
  fig.legend(handles=handles, loc='lower left', bbox_to_anchor=(0.6, 0.1), title='summary')
  ax.set_title('Sensitivity fidelity: exact elasticities, surrogate vs simulator')
  return fig


def horizon_figure(rows: Sequence[Mapping], training_horizon_s: float, threshold: float):
  """Rollout length R and xi VRMSE against time (`experiments.long_horizon` rows: `time_s`,
  `length_r`, `xi_vrmse` and their `_ci`), with 95 % bands; training horizon dashed."""
  t = np.array([r['time_s'] for r in rows])
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
  for ax, key, label in ((axes[0], 'length_r', 'dendrite length R'),
                         (axes[1], 'xi_vrmse', 'xi VRMSE')):
    v = np.array([r[key] for r in rows])
    lo, hi = (np.array([r[f'{key}_ci'][j] for r in rows]) for j in (0, 1))
    ax.fill_between(t, lo, hi, alpha=0.25, label='95 % interval')
    ax.plot(t, v, 'o-', label=label)
    ax.axvline(training_horizon_s, ls='--', c='k', lw=1, label='training horizon')
    if key == 'length_r':
      ax.axhline(threshold, ls=':', c='r', lw=1, label=f'R = {threshold}')
    ax.set_xlabel('time (s)')
    ax.set_ylabel(label)
    ax.legend(loc='best')
  return fig
