"""Files of a checkpoint evaluation: parity plots (Fig. 4), morphology maps (Fig. 6), videos,
metrics JSON and a Markdown summary.

Inputs are the outputs of `evaluation.evaluate`: `score` results and `Rollouts` per model and
split. Morphology maps and videos are drawn by `plots` with `figures.show_frame` (deposit red,
electrolyte blue, electrode at the bottom), titled with the simulated and predicted dendrite
lengths, the trajectory's parameters and its id, with a colourbar.

`per_trajectory.csv`: one row per model, split and trajectory, the worst first within each
(model, split): the trajectory's id and parameters, its simulated and predicted length at the last
frame, its squared length error summed over the marks after t = 0 and that error's share of the
split's total, and the share of the simulated deposit that is a diffuse partial phase at the last
frame (`true_diffuse_fraction`; above 0.05 the simulation grew unresolved material past Sand's
time, docs/physics.md). It says which trajectories a poor R comes from (a split's R can hinge on
a few).

`metrics.json`:

    {'settings': {...},
     'model': <label of the first model>, 'checkpoint_step': ..., 'splits': {split: score},
     'models': {label: {'workdir', 'checkpoint_step', 'splits': {split: score}}}}

where a `score` (`dendrax.train.evaluation.score`) holds, for every mark ('t030s' ... 't210s',
'all'), each metric (`length_r`, `length_r2`, `length_mse_um2`, `xi_vrmse`, `deposit_iou`, ...)
as {'value', 'ci_low', 'ci_high'} (95 % bootstrap over trajectories); top-level `splits` is the
first model's, in the layout of training's own `metrics.json`.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from dendrax.analysis import dataset_stats
from dendrax.analysis import evaluation
from dendrax.analysis import plots
from dendrax.analysis import report
from dendrax.physics import parameters
from dendrax.train import evaluation as ev

SUMMARY_FILE = 'summary.md'
METRICS_FILE = 'metrics.json'
PARITY_FILE = 'parity.png'
MORPHOLOGY_FILE = 'morphology.png'
PER_TRAJECTORY_FILE = 'per_trajectory.csv'


def parity_panels(results, rollouts, splits: Sequence[str]) -> dict[str, tuple]:
  """{'<model> / <split>': (simulated, predicted, metrics of 'all', time)} over the marks after
  t = 0 (one frame count per split: its largest group)."""
  panels = {}
  for model, per_split in rollouts.items():
    for split in splits:
      if split in per_split:
        r = evaluation.largest_group(per_split[split])
        time_s = np.broadcast_to(np.asarray(r.time_s), r.true_len.shape)[:, 1:]
        panels[f'{model} / {split}'] = (r.true_len[:, 1:], r.pred_len[:, 1:],
                                        results[model][split]['marks'][ev.ALL], time_s)
  return panels


def morphology_rows(rollouts: Mapping[str, Mapping[str, Sequence[ev.Rollouts]]], split: str,
                    times_s: Sequence[float], *, trajectory_id: int = -1,
                    quantile: float = 0.9, rank_by: str = 'roughness',
                    index: int | None = None) -> dict[str, Any]:
  """Frames for Fig. 6 at `times_s`, one trajectory: {'frames': {'simulation': [k, H, W],
  model: [k, H, W]}, 'lengths': {...: [k]}, 'times', 'trajectory_id', 'pixel_size_um',
  'params'} (models in sorted label order: CNN-1, CNN-2, concat).

  All models must have been evaluated on the same trajectories of `split` (checked by id). The
  trajectory is `index` (position), else `evaluation.pick_trajectory(trajectory_id, quantile,
  rank_by)`.
  """
  names = [m for m in rollouts if split in rollouts[m]]
  if not names:
    raise ValueError(f'no model was evaluated on split {split!r}')
  ref = evaluation.largest_group(rollouts[names[0]][split])
  groups = {m: evaluation.largest_group(rollouts[m][split]) for m in names}
  for m in names[1:]:
    if not np.array_equal(groups[m].trajectory_id, ref.trajectory_id):
      raise ValueError(f'{m} and {names[0]} were evaluated on different {split} trajectories')
  i = index if index is not None else evaluation.pick_trajectory(
      ref, trajectory_id=trajectory_id, quantile=quantile, rank_by=rank_by)
  time_i = np.broadcast_to(np.asarray(ref.time_s), ref.true_len.shape)[i]
  idx = [evaluation.frame_index(time_i, t) for t in times_s]
  frames = {'simulation': ref.true_xi[i, idx]}
  lengths = {'simulation': ref.true_len[i, idx]}
  for m in sorted(names):                       # CNN-1 before CNN-2, as in the paper
    frames[m] = groups[m].pred_xi[i, idx]
    lengths[m] = groups[m].pred_len[i, idx]
  picked = ('' if index is not None or trajectory_id >= 0
            else f'{quantile:g} quantile of the final simulated {rank_by}')
  return {'frames': frames, 'lengths': lengths, 'times': [float(time_i[k]) for k in idx],
          'trajectory_id': int(ref.trajectory_id[i]), 'pixel_size_um': float(ref.pixel_size_um[i]),
          'params': np.asarray(ref.params[i]), 'index': i, 'picked': picked}


def _title(split: str, rows: Mapping[str, Any]) -> str:
  picked = f' ({rows["picked"]})' if rows.get('picked') else ''
  return (f'{split} trajectory {rows["trajectory_id"]}{picked}\n'
          f'{plots.parameters_text(rows["params"])}')


def write_figures(out_dir: str, results, rollouts, *, parity_splits: Sequence[str],
                  morphology_split: str, morphology_times_s: Sequence[float],
                  trajectory_id: int = -1, quantile: float = 0.9, rank_by: str = 'roughness',
                  video_start_s: float = 0.0,
                  video_format: str = 'gif') -> dict[str, str]:
  """Parity plot, morphology map and rollout video; returns the paths written."""
  paths = {}
  panels = parity_panels(results, rollouts, parity_splits)
  paths['parity'] = plots.save(plots.parity_figure(panels), os.path.join(out_dir, PARITY_FILE))
  pick = dict(trajectory_id=trajectory_id, quantile=quantile, rank_by=rank_by)
  rows = morphology_rows(rollouts, morphology_split, morphology_times_s, **pick)
  fig = plots.morphology_figure(rows['frames'], rows['times'], rows['pixel_size_um'],
                                title=_title(morphology_split, rows), lengths_um=rows['lengths'])
  paths['morphology'] = plots.save(fig, os.path.join(out_dir, MORPHOLOGY_FILE))
  ref = evaluation.largest_group(next(iter(rollouts.values()))[morphology_split])
  time_i = np.broadcast_to(np.asarray(ref.time_s), ref.true_len.shape)[rows['index']]
  start = evaluation.frame_index(time_i, video_start_s)
  video_rows = morphology_rows(rollouts, morphology_split, list(time_i[start:]),
                               index=rows['index'])
  video = os.path.join(out_dir, f'rollout_{morphology_split}_{rows["trajectory_id"]}.'
                       f'{video_format}')
  plots.comparison_video(video_rows['frames'], video_rows['times'], rows['pixel_size_um'], video,
                         lengths_um=video_rows['lengths'], title=_title(morphology_split, rows))
  paths['video'] = video
  return paths


def summary_markdown(results, settings: Mapping[str, Any], paths: Mapping[str, str],
                     splits: Sequence[str]) -> str:
  """The short Markdown summary: comparison table, per-mark R, files, settings."""
  rows = evaluation.comparison_rows(results, splits)
  forced = any(r.get('teacher_forcing') for per in results.values() for r in per.values())
  lines = ['# Checkpoint evaluation', '',
           'Autoregressive rollouts from t = 0 (every field fed back; '
           + ('TEACHER-FORCED non-xi input fields' if forced else 'no teacher forcing')
           + '); dendrite length (`dendrite_length_um` of the predicted and the simulated '
           'frames) at every 30 s mark after t = 0, pooled. R: Pearson; R^2: 1 - SS_res/SS_tot; '
           'MSE in um^2; xi VRMSE: RMSE of the xi field over its standard deviation (1 = '
           'predicting the frame mean); deposit IoU above the initial electrode. Brackets: 95 % '
           'bootstrap interval over trajectories. Seconds per trajectory of rollout after '
           'compilation.', '', report.markdown_table(rows), '']
  for model, per_split in results.items():
    for split in splits:
      if split in per_split:
        marks = per_split[split]['marks']
        lines.append(f'- {model} / {split}, length R per mark: ' + ', '.join(
            f'{k} {ev.format_ci(v["length_r"])}' for k, v in marks.items() if k != ev.ALL))
  lines += ['', '## Files', '']
  lines += [f'- {k}: `{os.path.basename(v)}`' for k, v in paths.items()]
  lines += ['', '## Settings', '']
  lines += [f'- {k}: `{v}`' for k, v in settings.items()]
  return '\n'.join(lines) + '\n'


def metrics_json(results, settings: Mapping[str, Any],
                 surrogates: Sequence[evaluation.Surrogate]) -> dict[str, Any]:
  """The content of metrics.json (module docstring)."""
  models = {s.name: {'workdir': s.workdir, 'checkpoint_step': s.step,
                     'model_name': s.config.model_name, 'splits': results[s.name]}
            for s in surrogates if s.name in results}
  first = next(iter(models))
  return {'settings': dict(settings), 'model': first,
          'checkpoint_step': models[first]['checkpoint_step'], 'splits': models[first]['splits'],
          'models': models}


def _diffuse_fraction(g: ev.Rollouts, i: int) -> float:
  """Share of trajectory i's simulated deposit that is a diffuse partial phase at its last
  frame (`dataset_stats.diffuse_deposit`: unresolved growth past Sand's time); NaN without
  fields."""
  if g.true_xi is None:
    return float('nan')
  return dataset_stats.diffuse_deposit(g.true_xi[i, -1], g.true_xi[i, 0],
                                       float(g.pixel_size_um[i]))['diffuse_deposit_fraction']


def per_trajectory_rows(rollouts: Mapping[str, Mapping[str, Sequence[ev.Rollouts]]]
                        ) -> list[dict[str, Any]]:
  """The rows of `per_trajectory.csv` (module docstring), worst first per (model, split)."""
  rows = []
  for model, by_split in rollouts.items():
    for split, groups in by_split.items():
      block = []
      for g in groups:
        sq = np.sum((np.asarray(g.pred_len, np.float64) - g.true_len)[:, 1:] ** 2, axis=1)
        for i, tid in enumerate(g.trajectory_id):
          block.append({'model': model, 'split': split, 'trajectory_id': int(tid),
                        **dict(zip(parameters.PARAMETER_NAMES, np.asarray(g.params[i], float))),
                        'final_true_um': float(g.true_len[i, -1]),
                        'final_pred_um': float(g.pred_len[i, -1]),
                        'sq_error_um2': float(sq[i]),
                        'true_diffuse_fraction': _diffuse_fraction(g, i)})
      total = sum(r['sq_error_um2'] for r in block)
      for r in block:
        r['share_of_split'] = r['sq_error_um2'] / total if total > 0 else float('nan')
      rows += sorted(block, key=lambda r: -r['sq_error_um2'])
  return rows


def write_evaluation(out_dir: str, results, rollouts, settings: Mapping[str, Any],
                     surrogates: Sequence[evaluation.Surrogate], *,
                     figures_too: bool = True, **figure_options) -> dict[str, str]:
  """Writes every evaluation file under `out_dir`; returns {name: path}."""
  paths = {}
  if figures_too:
    paths.update(write_figures(out_dir, results, rollouts, **figure_options))
  paths['metrics'] = os.path.join(out_dir, METRICS_FILE)
  report.write_json(paths['metrics'], metrics_json(results, settings, surrogates))
  paths['per_trajectory'] = os.path.join(out_dir, PER_TRAJECTORY_FILE)
  report.write_csv(paths['per_trajectory'], per_trajectory_rows(rollouts))
  paths['summary'] = os.path.join(out_dir, SUMMARY_FILE)
  splits = list(dict.fromkeys(s for r in results.values() for s in r))
  report.write_text(paths['summary'], summary_markdown(results, settings, paths, splits))
  return paths
