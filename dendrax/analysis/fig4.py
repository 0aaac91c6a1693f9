"""The like-for-like Fig. 4 table: CNN-1, CNN-2 and concat on one build, one selection rule,
several seeds each, as mean +- spread over seeds with bootstrap intervals.

`plan(config)` turns a Fig. 4 config (`configs/fig4.py`) into sweep runs (one per model and
seed, `dendrax.analysis.sweeps`: resumable, shardable); `evaluate_runs` loads the checkpoint
each run selected and scores it with the one evaluation module on splits loaded once (so every
run is scored on the same trajectories of the same build, with the same bootstrap resamples);
`aggregate` gives, per model, split, mark and metric:

  * `mean`, `std` (ddof = 1) and `values` over seeds: the spread from training randomness;
  * `ci_low`, `ci_high`: the 2.5 / 97.5 percentiles over the bootstrap resamples of the
    trajectories of the seed mean (each resample's metric averaged over the seeds): the
    uncertainty from which trajectories the split holds.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Mapping, Sequence

import ml_collections
import numpy as np

from dendrax.analysis import evaluation
from dendrax.analysis import report
from dendrax.analysis import sweeps
from dendrax.train import evaluation as ev

TABLE_METRICS = (('length_r', 'R'), ('length_r2', 'R^2'), ('length_mse_um2', 'MSE (um^2)'),
                 ('xi_vrmse', 'xi VRMSE'), ('deposit_iou', 'deposit IoU'),
                 ('spurious_deposit', 'spurious deposit (%)'))
PERCENT = frozenset({'spurious_deposit'})   # shown x 100 (shares of a few per mille)


def sweep_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The sweep (`sweeps.plan`) of a Fig. 4 config: one setting per (model, seed), no folds."""
  s = ml_collections.ConfigDict()
  s.base_config = config.base_config
  s.workdir = config.workdir
  s.num_folds = 0
  s.fold_seed = 0
  s.fold_fields = {}
  common = config.common_overrides.to_dict() if config.get('common_overrides') else {}
  common = sweeps._deep_merge(common, {'data': {'name': config.dataset}})   # pylint: disable=protected-access
  s.common_overrides = common
  settings = {}
  for model in config.models:
    for seed in config.seeds:
      settings[f'{model}_seed{seed}'] = {'overrides': {'model_name': model, 'seed': int(seed)}}
  s.settings = settings
  s.order = tuple(settings)
  s.metrics = ('splits/test/marks/all/length_r/value',)
  return s


def plan(config: ml_collections.ConfigDict, *, base_dir: str = '.',
         data_dir: str | None = None) -> list[sweeps.Run]:
  """Every (model, seed) run; all on `config.dataset` and one selection rule (checked)."""
  runs = sweeps.plan(sweep_config(config), base_dir=base_dir)
  if data_dir:
    for r in runs:
      r.config.data.data_dir = data_dir
  for key in ('data.name', 'data.train_split', 'data.validation_split', 'eval.select_metric'):
    section, name = key.split('.')
    values = {str(r.config[section][name]) for r in runs}
    if len(values) != 1:
      raise ValueError(f'the Fig. 4 runs must share config.{key}; got {sorted(values)}')
  return runs


def fingerprint(sources: Mapping[str, Any]) -> str:
  """A short hash of the trajectories (ids and frames) of every split: the build evaluated."""
  h = hashlib.sha1()
  for split in sorted(sources):
    src = sources[split]
    for i in range(len(src)):
      ex = src[i]
      h.update(split.encode())
      h.update(np.int64(ex['trajectory_id']).tobytes())
      h.update(np.ascontiguousarray(np.asarray(ex['xi'], np.float32)).tobytes())
  return h.hexdigest()[:12]


def evaluate_runs(runs: Sequence[sweeps.Run], sources: Mapping[str, Any], *, which: str,
                  batch_size: int, bootstrap_samples: int, seed: int) -> dict[str, Any]:
  """{run setting: {'model', 'seed', 'step', 'scores': {split: score with '_replicates'}}}."""
  out = {}
  for run in runs:
    s = evaluation.load_surrogate(run.workdir, which=which)
    results, _ = evaluation.evaluate([s], sources, batch_size=batch_size,
                                     bootstrap_samples=bootstrap_samples, seed=seed,
                                     teacher_forcing=bool(run.config.eval.teacher_forcing),
                                     return_replicates=True)
    out[run.setting] = {'model': run.config.model_name, 'seed': int(run.config.seed),
                        'step': s.step, 'workdir': run.workdir, 'scores': results[s.name]}
  return out


def aggregate(per_run: Mapping[str, Mapping[str, Any]], models: Sequence[str],
              splits: Sequence[str], confidence: float = 0.95) -> dict[str, Any]:
  """{model: {split: {mark: {metric: {'mean', 'std', 'values', 'seeds', 'ci_low',
  'ci_high'}}}}} over the seeds of each model (module docstring)."""
  lo_q, hi_q = 50 * (1 - confidence), 50 * (1 + confidence)
  out = {}
  for model in models:
    mine = [r for r in per_run.values() if r['model'] == model]
    out[model] = {}
    for split in splits:
      scored = [r for r in mine if split in r['scores']]
      scores = [r['scores'][split] for r in scored]
      if not scores:
        continue
      out[model][split] = {}
      for mark in scores[0]['marks']:
        entry = {}
        for metric in ev.METRICS:
          vals = np.array([s['marks'][mark][metric]['value'] for s in scores], np.float64)
          finite = vals[np.isfinite(vals)]
          e = {'values': vals.tolist(), 'seeds': [r['seed'] for r in scored],
               'mean': float(finite.mean()) if finite.size else float('nan'),
               'std': float(finite.std(ddof=1)) if finite.size > 1 else float('nan'),
               'ci_low': float('nan'), 'ci_high': float('nan')}
          reps = [s['_replicates'][mark][metric] for s in scores
                  if mark in s.get('_replicates', {})]
          if len(reps) == len(scores):
            seed_mean = np.nanmean(np.stack(reps), axis=0) if reps else np.array([])
            seed_mean = seed_mean[np.isfinite(seed_mean)]
            if seed_mean.size:
              e['ci_low'], e['ci_high'] = (float(v) for v in
                                           np.percentile(seed_mean, [lo_q, hi_q]))
          entry[metric] = e
        out[model][split][mark] = entry
  return out


def _cell(e: Mapping[str, Any], scale: float = 1.0) -> str:
  """'mean ± std [ci_low, ci_high]' of an aggregate entry (None, as read from JSON, is NaN)."""
  nan = float('nan')
  return report.mean_spread_ci(*(scale * (nan if e[k] is None else e[k])
                                 for k in ('mean', 'std', 'ci_low', 'ci_high')))


def table_rows(table: Mapping[str, Any], splits: Sequence[str], mark: str = ev.ALL
               ) -> list[dict[str, Any]]:
  """One row per (model, split): each `TABLE_METRICS` as 'mean ± std [ci_low, ci_high]'."""
  rows = []
  for model, per_split in table.items():
    for split in splits:
      if split in per_split:
        # Seeds whose R is finite: the ones the cells average (a diverged seed gives NaN).
        r_values = np.asarray(per_split[split][mark]['length_r']['values'], np.float64)
        row = {'model': evaluation.MODEL_LABELS.get(model, model), 'split': split,
               'seeds': int(np.isfinite(r_values).sum())}
        row.update({label: _cell(per_split[split][mark][m], 100.0 if m in PERCENT else 1.0)
                    for m, label in TABLE_METRICS})
        rows.append(row)
  return rows


def _overrides(meta: Mapping[str, Any]) -> str:
  """'train.num_steps=1000, ...': the overrides applied to every run (`common_overrides`)."""
  def flat(d, prefix=''):
    for k, v in d.items():
      if isinstance(v, Mapping):
        yield from flat(v, f'{prefix}{k}.')
      else:
        yield f'{prefix}{k}={tuple(v) if isinstance(v, list) else v}'
  return ', '.join(flat(meta.get('config', {}).get('common_overrides', {}))) or 'no overrides'


def markdown(table: Mapping[str, Any], meta: Mapping[str, Any], splits: Sequence[str]) -> str:
  """The table as Markdown, labelled with what it is."""
  seeds = meta['seeds']
  lines = [
      f'# Fig. 4, like for like: {", ".join(evaluation.MODEL_LABELS.get(m, m) for m in table)} '
      f'on {meta["dataset"]}', '',
      f'All runs: one build (`{meta["dataset"]}`, version {meta.get("version", "?")}, '
      f'fingerprint `{meta["fingerprint"]}` of the evaluated trajectories), one config '
      f'(`{meta["base_config"]}` + the model name; every run: {_overrides(meta)}), one selection '
      f'rule (the checkpoint with the '
      f'lowest {meta["selection_rule"]} on the validation split; `eval.select_metric='
      f'{meta["select_metric"]}`), {len(seeds)} seeds ({", ".join(map(str, seeds))}) per model'
      + (' (fewer than 3: the spread is a rough guide)' if len(seeds) < 3 else '') + '.',
      'Rollouts from t = 0, every field autoregressive'
      + (' (TEACHER-FORCED non-xi fields)' if meta.get('teacher_forcing') else '')
      + '; metrics pooled over the 30 s marks after t = 0.',
      'Cells: mean ± standard deviation over seeds (training randomness) [95 % bootstrap '
      f'interval of the seed mean over the split\'s trajectories, {meta["bootstrap_samples"]} '
      'resamples shared by all runs].', '',
      report.markdown_table(table_rows(table, splits)), '']
  if 'test' in splits:
    lines += ['Test length R per mark (mean ± std over seeds [95 % bootstrap interval]):', '']
    for model, per_split in table.items():
      if 'test' in per_split:
        marks = [m for m in per_split['test'] if m != ev.ALL]
        lines.append(f'- {evaluation.MODEL_LABELS.get(model, model)}: ' + ', '.join(
            f'{m} {_cell(per_split["test"][m]["length_r"])}' for m in marks))
    lines += ['', 'Test length MSE (um^2) and spurious deposit (%) per seed (one divergent rollout '
              'shows as one seed far above the others):', '']
    for model, per_split in table.items():
      if 'test' in per_split:
        a = per_split['test'][ev.ALL]
        lines.append(f'- {evaluation.MODEL_LABELS.get(model, model)}: ' + ', '.join(
            f'seed {seed} {mse:.3g} / {100 * sp:.3f}' for seed, mse, sp in zip(
                a['length_mse_um2']['seeds'], a['length_mse_um2']['values'],
                a['spurious_deposit']['values'])))
    lines.append('')
  lines += ['Runs (checkpoint step selected):', '']
  for setting, r in meta['runs'].items():
    lines.append(f'- {setting}: step {r["step"]} ({r["workdir"]})')
  return '\n'.join(lines) + '\n'


def write(out_dir: str, table, meta, splits) -> dict[str, str]:
  """fig4.md, fig4.csv, fig4.json under `out_dir`."""
  paths = {k: os.path.join(out_dir, f'fig4.{k}') for k in ('md', 'csv', 'json')}
  report.write_text(paths['md'], markdown(table, meta, splits))
  report.write_csv(paths['csv'], table_rows(table, splits))
  report.write_json(paths['json'], {'meta': meta, 'table': table})
  return paths
