"""Files of a checkpoint evaluation: parity plots (Fig. 4), morphology maps (Fig. 6), videos,
metrics JSON and a Markdown summary.

Inputs are the outputs of `evaluation.evaluate`: metric dicts and `SplitPredictions` per model
and split. Morphology maps and videos are drawn by `plots` with `figures.show_frame` (deposit
red, electrolyte blue, electrode at the bottom).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from dendrax.analysis import evaluation
from dendrax.analysis import plots
from dendrax.analysis import report

SUMMARY_FILE = 'summary.md'
METRICS_FILE = 'metrics.json'
PARITY_FILE = 'parity.png'
MORPHOLOGY_FILE = 'morphology.png'


def parity_panels(results, preds, splits: Sequence[str]) -> dict[str, tuple]:
  """{'<model> / <split>': (simulated, predicted, metrics)} over the marks after t = 0."""
  panels = {}
  for model, per_split in preds.items():
    for split in splits:
      if split in per_split:
        p = per_split[split]
        panels[f'{model} / {split}'] = (p.true_length_um[:, 1:], p.pred_length_um[:, 1:],
                                        results[model][split]['all'])
  return panels


def _save(fig, path: str) -> str:
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=120, bbox_inches='tight')
  plt.close(fig)
  return path


def morphology_rows(preds: Mapping[str, Mapping[str, evaluation.SplitPredictions]], split: str,
                    times_s: Sequence[float], index: int | None = None
                    ) -> tuple[dict[str, np.ndarray], list[float], int, float]:
  """Frames for Fig. 6: {'simulation': [k, H, W], model: [k, H, W]} at `times_s`, one trajectory
  (models in sorted label order: CNN-1, CNN-2, concat).

  All models must have been evaluated on the same trajectories of `split` (checked by id).
  `index` defaults to the trajectory with the median final length. Returns (frames, times,
  trajectory id, pixel size in um).
  """
  names = [m for m in preds if split in preds[m]]
  if not names:
    raise ValueError(f'no model was evaluated on split {split!r}')
  ref = preds[names[0]][split]
  for m in names[1:]:
    if not np.array_equal(preds[m][split].trajectory_id, ref.trajectory_id):
      raise ValueError(f'{m} and {names[0]} were evaluated on different {split} trajectories')
  i = evaluation.pick_trajectory(ref) if index is None else index
  idx = [evaluation.frame_index(ref.time_s, t) for t in times_s]
  rows = {'simulation': ref.true_xi[i, idx]}
  for m in sorted(names):                       # CNN-1 before CNN-2, as in the paper
    rows[m] = preds[m][split].pred_xi[i, idx]
  return (rows, [float(ref.time_s[k]) for k in idx], int(ref.trajectory_id[i]),
          float(ref.pixel_size_um[i]))


def write_figures(out_dir: str, results, preds, *, parity_splits: Sequence[str],
                  morphology_split: str, morphology_times_s: Sequence[float],
                  video_start_s: float, video_format: str) -> dict[str, str]:
  """Parity plot, morphology map and rollout video; returns the paths written."""
  paths = {}
  panels = parity_panels(results, preds, parity_splits)
  paths['parity'] = _save(plots.parity_figure(panels), os.path.join(out_dir, PARITY_FILE))
  rows, times, tid, pixel = morphology_rows(preds, morphology_split, morphology_times_s)
  fig = plots.morphology_figure(rows, times, pixel, title=f'{morphology_split} trajectory {tid}')
  paths['morphology'] = _save(fig, os.path.join(out_dir, MORPHOLOGY_FILE))
  ref = next(iter(preds.values()))[morphology_split]
  start = evaluation.frame_index(ref.time_s, video_start_s)
  frames, _, _, _ = morphology_rows(preds, morphology_split, list(ref.time_s[start:]))
  video = os.path.join(out_dir, f'rollout_{morphology_split}_{tid}.{video_format}')
  plots.comparison_video(frames, [float(t) for t in ref.time_s[start:]], pixel, video)
  paths['video'] = video
  return paths


def summary_markdown(results, settings: Mapping[str, Any], paths: Mapping[str, str],
                     splits: Sequence[str]) -> str:
  """The short Markdown summary: comparison table, per-mark test R, files, settings."""
  rows = evaluation.comparison_rows(results, splits)
  lines = ['# Checkpoint evaluation', '',
           'Autoregressive rollouts from t = 0; dendrite length (`dendrite_length_um` of the '
           'predicted and the simulated frames) at every 30 s mark after t = 0, pooled. '
           'R: Pearson; R^2: 1 - SS_res/SS_tot; MSE in um^2; seconds per trajectory of rollout '
           'after compilation.', '', report.markdown_table(rows), '']
  for model, per_split in results.items():
    for split in splits:
      if split in per_split and split != 'train':
        marks = per_split[split]['per_mark']
        lines.append(f'- {model} / {split}, R per mark: ' + ', '.join(
            f'{k} {report.format_value(v["r"], 3)}' for k, v in marks.items()))
  lines += ['', '## Files', '']
  lines += [f'- {k}: `{os.path.basename(v)}`' for k, v in paths.items()]
  lines += ['', '## Settings', '']
  lines += [f'- {k}: `{v}`' for k, v in settings.items()]
  return '\n'.join(lines) + '\n'


def write_evaluation(out_dir: str, results, preds, settings: Mapping[str, Any], *,
                     parity_splits: Sequence[str] = ('train', 'test'),
                     morphology_split: str = 'test',
                     morphology_times_s: Sequence[float] = (30.0, 180.0),
                     video_start_s: float = 30.0, video_format: str = 'gif',
                     figures_too: bool = True) -> dict[str, str]:
  """Writes every evaluation file under `out_dir`; returns {name: path}."""
  paths = {}
  if figures_too:
    paths.update(write_figures(out_dir, results, preds, parity_splits=parity_splits,
                               morphology_split=morphology_split,
                               morphology_times_s=morphology_times_s,
                               video_start_s=video_start_s, video_format=video_format))
  paths['metrics'] = os.path.join(out_dir, METRICS_FILE)
  report.write_json(paths['metrics'], {'settings': settings, 'length': results})
  paths['summary'] = os.path.join(out_dir, SUMMARY_FILE)
  splits = list(dict.fromkeys(s for r in results.values() for s in r))
  report.write_text(paths['summary'], summary_markdown(results, settings, paths, splits))
  return paths
