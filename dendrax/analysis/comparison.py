"""The paper's comparison table: CNN-1, CNN-2, random forest and SVM on the same splits.

Every model is scored by the one evaluation module (`dendrax.train.evaluation.score`) against the
same numbers: the dendrite length of the simulated frames (`observables.dendrite_length_um`, as
training's evaluation measures it) at each 30 s mark after t = 0, on the same trajectories, with
the same bootstrap resamples of them for the 95 % intervals. The simulator's own cost of
producing those lengths is added as a reference row by the caller (`baselines.simulator_cost`).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import jax

from dendrax.analysis import baselines
from dendrax.analysis import evaluation
from dendrax.analysis import report


def compare(surrogates: Sequence[evaluation.Surrogate], sources: Mapping[str, Any], *,
            hparams: Mapping[str, Mapping[str, Any]] | None = None,
            max_trajectories: int = 0, batch_size: int = 16, bootstrap_samples: int = 1000,
            seed: int = 0) -> dict[str, Any]:
  """Fits RF and SVM on `sources['train']`, rolls out the surrogates, scores all and the
  persistence forecast on every split.

  Returns:
    {'rows': table rows (`evaluation.comparison_rows`), 'metrics': {model: {split: score}},
     'fit_s': {method: seconds}}.
  """
  if 'train' not in sources:
    raise ValueError(f'compare needs a train split to fit the baselines; got {sorted(sources)}')
  from dendrax.physics import observables  # pylint: disable=g-import-not-at-top
  splits = list(sources)
  length_fn = jax.jit(jax.vmap(observables.dendrite_length_um, in_axes=(0, None, None)))
  tables = {s: baselines.length_table(src, max_examples=max_trajectories or None,
                                      length_fn=length_fn) for s, src in sources.items()}
  base = baselines.evaluate(baselines.METHODS + (baselines.PERSISTENCE,), tables['train'],
                            {s: tables[s] for s in splits if s != 'train'}, hparams,
                            bootstrap_samples=bootstrap_samples, seed=seed)
  results = {name: {s: r['splits'][s]['score'] for s in splits} for name, r in base.items()}
  if surrogates:
    cnn, _ = evaluation.evaluate(surrogates, sources, max_trajectories=max_trajectories,
                                 batch_size=batch_size, bootstrap_samples=bootstrap_samples,
                                 seed=seed)
    results = {**cnn, **results}
  return {'rows': evaluation.comparison_rows(results, splits), 'metrics': results,
          'fit_s': {k: v['fit_s'] for k, v in base.items()}}


def write_comparison(out_dir: str, comparison: Mapping[str, Any], extra: Mapping[str, Any],
                     *, title: str) -> dict[str, str]:
  """Writes baselines.md / .csv / .json; `extra` (settings, simulator cost) goes in the JSON."""
  paths = {k: os.path.join(out_dir, f'baselines.{k}') for k in ('md', 'csv', 'json')}
  rows = comparison['rows']
  columns = ['model', 'split', 'R', 'R2', 'MSE_um2', 'trajectories', 'n', 's_per_trajectory']
  report.write_csv(paths['csv'], rows)
  report.write_json(paths['json'], {**extra, **comparison})
  report.write_text(paths['md'], (
      f'# {title}\n\nDendrite length at the 30 s marks after t = 0, pooled over marks: R '
      '(Pearson), R^2 (1 - SS_res/SS_tot), MSE (um^2), each with its 95 % bootstrap interval '
      'over trajectories in brackets; n = (trajectory, mark) pairs; seconds per trajectory of '
      f'prediction after compilation on {jax.devices()[0].platform}. RF and SVM see only the '
      'parameters (+ chemistry, time); the CNNs roll out from the first frame, every field '
      'autoregressive; persistence keeps the t = 0 length (the floor to beat).\n\n'
      + report.markdown_table(rows, columns) + '\n'))
  return paths
