"""Plots of the analysis outputs: parity (Fig. 4), sensitivity bars (Fig. 5), sweep summaries.

Morphology maps and videos (deposit red, electrolyte blue) live in `dendrax.analysis.figures`;
this module holds the chart types the reports add. Every function returns a matplotlib Figure
(Agg backend, no display needed); `report.figure_html` embeds and closes it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

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
