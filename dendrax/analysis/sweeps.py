"""Ablation sweeps with k-fold cross-validation by trajectory: plan, run (resumably), summarise.

A sweep config (`configs/sweeps/*.py`, `get_config()`) names a base training config file and a
set of *settings*, each a nested dict of overrides of that base (a setting may also swap the
base file, e.g. CNN-1 vs CNN-2). Every (setting, fold) pair is one *run* with its own workdir

    <sweep.workdir>/<setting>/fold<k>/

trained by `train_fn(config, workdir)` (by default the training colleague's
`train_and_evaluate`), which returns a dict of final metrics. A run is done when its
`sweep_result.json` exists (written atomically after `train_fn` returns), so re-running the same
command skips finished runs and lets `train_fn` resume an interrupted one from its own
checkpoints in the same workdir. `summarize` then gives mean and spread per setting, and the 95 %
interval of the mean over the held-out trajectories (`fold_mean_interval`).

Folds are by trajectory (one dataset record is one trajectory): the pool of train +
validation trajectories is cut into k parts, and fold k holds part k out. With
`sweep.inner_validation_percent` > 0 (nested cross-validation, `nested_fold_split_expressions`)
the run trains on the rest minus an inner validation slice, early-stops and selects its
checkpoint on that slice, and scores the held-out part (rollout role 'heldout') only once, at the
end: that score is unbiased. Without it (`fold_split_expressions`) the held-out part is also the
validation split that selected the checkpoint, and its score is optimistic; tables say which.
The fold reaches training through config fields named in `sweep.fold_fields` (see
`fold_overrides`): TFDS split expressions for a training config that reads its split names from
the config, or (fold index, count, seed) for one that assigns trajectory ids itself
(`assign_folds`). No trajectory is ever in two parts of a run.

Several machines or devices: runs are dealt round-robin by index, so `--shard_index=i
--num_shards=n` on n workers (one per GPU via CUDA_VISIBLE_DEVICES, or one per machine sharing
the sweep folder) covers every run exactly once; any worker, or a final `--aggregate_only`
call, writes the table from whatever results exist.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib.util
import json
import math
import os
import time
import traceback
from typing import Any, Callable, Mapping, Sequence

from absl import logging
import ml_collections
import numpy as np
from scipy import stats

from dendrax.analysis import report

RESULT_FILE = 'sweep_result.json'
TrainFn = Callable[[ml_collections.ConfigDict, str], Mapping[str, Any]]


@dataclasses.dataclass(frozen=True)
class Run:
  """One training run of a sweep.

  Attributes:
    index: position in the sweep's run list (used for sharding).
    setting: name of the setting.
    fold: fold index in [0, num_folds), or -1 without cross-validation.
    workdir: where the run trains and writes `sweep_result.json`.
    config: the full training config of the run.
  """
  index: int
  setting: str
  fold: int
  workdir: str
  config: ml_collections.ConfigDict


def load_config_file(path: str, arg: str | None = None) -> ml_collections.ConfigDict:
  """`get_config()` (or `get_config(arg)`) of a Python config file, like `config_flags` does."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f'config file {path!r} does not exist')
  name = 'dendrax_config_' + hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:10]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, 'get_config'):
    raise ValueError(f'config file {path!r} has no get_config()')
  return module.get_config(arg) if arg is not None else module.get_config()


def apply_overrides(config: ml_collections.ConfigDict, overrides: Mapping[str, Any], *,
                    where: str = '') -> ml_collections.ConfigDict:
  """A copy of `config` with nested `overrides` set; unknown fields raise, naming the path.

  Nested dicts descend into sub-configs; any other value replaces the field (ConfigDict's type
  checks apply: assigning a string to a float field fails with the field's name).
  """
  config = copy.deepcopy(config)
  _apply(config, overrides, where)
  return config


def _apply(node, overrides, path):
  for key, value in overrides.items():
    full = f'{path}.{key}' if path else key
    if key not in node:
      known = ', '.join(sorted(node.keys()))
      raise ValueError(f'unknown config field {full!r} (known here: {known})')
    if isinstance(value, Mapping) and isinstance(node[key], (ml_collections.ConfigDict, dict)):
      _apply(node[key], value, full)
    else:
      try:
        node[key] = _plain(value)
      except (TypeError, ValueError) as e:
        raise ValueError(f'cannot set config field {full!r} to {value!r}: {e}') from e


def _plain(value):
  if isinstance(value, ml_collections.ConfigDict):
    return value.to_dict()
  if isinstance(value, list):
    return tuple(value)
  return value


def assign_folds(trajectory_ids: Sequence[int], num_folds: int, seed: int) -> dict[int, int]:
  """{trajectory_id: fold}: a seeded permutation dealt into `num_folds` near-equal folds.

  Depends only on the set of ids and the seed (not their order), so every worker of a sweep
  agrees on the folds.
  """
  ids = np.unique(np.asarray(trajectory_ids, np.int64))
  if num_folds < 2:
    raise ValueError(f'num_folds must be >= 2 for cross-validation; got {num_folds}')
  if len(ids) < num_folds:
    raise ValueError(f'{len(ids)} trajectories cannot fill num_folds={num_folds} folds')
  perm = np.random.default_rng(seed).permutation(len(ids))
  return {int(ids[j]): int(pos % num_folds) for pos, j in enumerate(perm)}


def fold_ids(folds: Mapping[int, int], fold: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
  """(train ids, validation ids) of fold `fold`, each sorted."""
  val = sorted(i for i, f in folds.items() if f == fold)
  train = sorted(i for i, f in folds.items() if f != fold)
  return tuple(train), tuple(val)


def fold_split_expressions(fold: int, num_folds: int,
                           pool: Sequence[str] = ('train', 'validation')) -> tuple[str, str]:
  """(train, validation) TFDS split expressions of fold `fold` over the splits in `pool`.

  Each split of the pool is cut into `num_folds` contiguous percent slices (one record = one
  trajectory, so the folds are by trajectory); fold k validates on slice k of every pool split
  and trains on the rest, e.g. for k = 1 of 5:
  'train[:20%]+train[40%:]+validation[:20%]+validation[40%:]' and
  'train[20%:40%]+validation[20%:40%]'. TFDS rounds a percent boundary the same way wherever it
  appears, so the two expressions partition the pool.
  """
  if num_folds < 2 or not 0 <= fold < num_folds:
    raise ValueError(f'need num_folds >= 2 and 0 <= fold < num_folds; got {fold}, {num_folds}')
  lo, hi = round(100 * fold / num_folds), round(100 * (fold + 1) / num_folds)
  train, val = [], []
  for split in pool:
    val.append(f'{split}[{lo}%:{hi}%]')
    if lo > 0:
      train.append(f'{split}[:{lo}%]')
    if hi < 100:
      train.append(f'{split}[{hi}%:]')
  return '+'.join(train), '+'.join(val)


def _segments(start: int, length: int) -> list[tuple[int, int]]:
  """Percent ranges of the `length` % of [0, 100) that follow `start`, cyclically."""
  start %= 100
  end = start + length
  return [(start, end)] if end <= 100 else [(start, 100), (0, end - 100)]


def _expression(pool: Sequence[str], segments: Sequence[tuple[int, int]]) -> str:
  parts = []
  for split in pool:
    for a, b in sorted(segments):
      if b > a:
        parts.append(f'{split}[{a}%:{b}%]' if (a, b) != (0, 100) else split)
  return '+'.join(parts)


def nested_fold_split_expressions(fold: int, num_folds: int, inner_percent: int,
                                  pool: Sequence[str] = ('train', 'validation')
                                  ) -> tuple[str, str, str]:
  """(train, inner validation, held out) TFDS split expressions of fold `fold` of a nested
  cross-validation over the splits in `pool`.

  Fold k holds out the k-th of `num_folds` contiguous percent slices of every pool split; the
  inner validation split is the `inner_percent` % that follow it (cyclically), and the run
  trains on the rest. E.g. fold 1 of 5 with 20 %: held out `train[20%:40%]+...`, inner
  validation `train[40%:60%]+...`, train `train[0%:20%]+train[60%:100%]+...`. The three
  partition the pool (TFDS rounds a percent boundary the same way wherever it appears).
  """
  if num_folds < 2 or not 0 <= fold < num_folds:
    raise ValueError(f'need num_folds >= 2 and 0 <= fold < num_folds; got {fold}, {num_folds}')
  lo, hi = round(100 * fold / num_folds), round(100 * (fold + 1) / num_folds)
  if not 0 < inner_percent < 100 - (hi - lo):
    raise ValueError(f'sweep.inner_validation_percent={inner_percent} must be in (0, '
                     f'{100 - (hi - lo)}): the held-out fold is {hi - lo} % of the pool')
  inner = _segments(hi, inner_percent)
  train = _segments(hi + inner_percent, 100 - (hi - lo) - inner_percent)
  return (_expression(pool, train), _expression(pool, inner),
          _expression(pool, [(lo, hi)]))


FOLD_ROLES = ('train_split', 'validation_split', 'heldout_split', 'index', 'count', 'seed')


def fold_overrides(fold: int, num_folds: int, seed: int,
                   fold_fields: Mapping[str, str], inner_percent: int = 0) -> dict[str, Any]:
  """Nested overrides telling the training config which fold to train on.

  `fold_fields` maps roles to dotted config paths. Roles: 'train_split' / 'validation_split' /
  'heldout_split' (TFDS split expressions, for a training config that reads its splits from the
  config: with `inner_percent` > 0 those of `nested_fold_split_expressions`, else
  `fold_split_expressions`, whose held-out part is the validation split), or 'index' /
  'count' / 'seed' (for one that applies `assign_folds` itself). Only the roles named are set.
  """
  if inner_percent:
    train_expr, val_expr, heldout_expr = nested_fold_split_expressions(fold, num_folds,
                                                                       inner_percent)
  else:
    train_expr, val_expr = fold_split_expressions(fold, num_folds)
    heldout_expr = val_expr
    if 'heldout_split' in fold_fields:
      raise ValueError("sweep.fold_fields names 'heldout_split' but "
                       'sweep.inner_validation_percent is 0: the held-out fold would be the '
                       'validation split that selects the checkpoint')
  values = {'train_split': train_expr, 'validation_split': val_expr,
            'heldout_split': heldout_expr, 'index': fold, 'count': num_folds, 'seed': seed}
  out: dict[str, Any] = {}
  for role, dotted in fold_fields.items():
    if role not in values:
      raise ValueError(f'sweep.fold_fields has unknown role {role!r}; roles: {FOLD_ROLES}')
    node = out
    parts = dotted.split('.')
    for p in parts[:-1]:
      node = node.setdefault(p, {})
    node[parts[-1]] = values[role]
  return out


def _deep_merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
  out = dict(a)
  for k, v in b.items():
    out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(
        out.get(k), Mapping) else v
  return out


def _safe_name(name: str) -> str:
  bad = [c for c in name if not (c.isalnum() or c in '-_.=')]
  if not name or bad:
    raise ValueError(f'setting name {name!r} must be non-empty and use letters, digits, '
                     f'"-_.=" only (it becomes a folder name)')
  return name


def plan(sweep: ml_collections.ConfigDict, *, base_dir: str = '.') -> list[Run]:
  """Every (setting, fold) run of a sweep config, in a fixed order.

  Sweep fields: `base_config` (path, relative to `base_dir`), `workdir`, `num_folds` (0 or 1:
  no cross-validation), `fold_seed`, `fold_fields`, `settings` {name: {'config_file': optional
  path, 'overrides': nested dict}}, `common_overrides` (nested dict applied to every run), and
  optionally `order`, the setting names in the order of the tables (ConfigDict sorts its keys).
  """
  if not sweep.settings:
    raise ValueError('sweep.settings is empty: nothing to run')
  names = list(sweep.get('order') or ()) or list(sweep.settings.keys())
  if sorted(names) != sorted(sweep.settings.keys()):
    raise ValueError(f'sweep.order {names} must list each of sweep.settings '
                     f'{sorted(sweep.settings.keys())} once')
  num_folds = int(sweep.num_folds)
  folds = list(range(num_folds)) if num_folds >= 2 else [-1]
  common = _to_dict(sweep.get('common_overrides', {}))
  bases: dict[str, ml_collections.ConfigDict] = {}
  runs = []
  for name in names:
    _safe_name(name)
    setting = _to_dict(sweep.settings[name])
    unknown = set(setting) - {'config_file', 'overrides'}
    if unknown:
      raise ValueError(f'sweep.settings.{name} has unknown key(s) {sorted(unknown)}; '
                       "allowed: 'config_file', 'overrides'")
    path = os.path.join(base_dir, setting.get('config_file') or sweep.base_config)
    if path not in bases:
      bases[path] = load_config_file(path)
    overrides = _deep_merge(common, setting.get('overrides', {}))
    for fold in folds:
      run_overrides = overrides
      if fold >= 0:
        run_overrides = _deep_merge(overrides, fold_overrides(
            fold, num_folds, int(sweep.fold_seed), _to_dict(sweep.fold_fields),
            int(sweep.get('inner_validation_percent', 0))))
      try:
        config = apply_overrides(bases[path], run_overrides)
      except ValueError as e:
        raise ValueError(f'sweep.settings.{name}: {e}') from e
      workdir = os.path.join(sweep.workdir, name, f'fold{fold}' if fold >= 0 else 'all')
      runs.append(Run(len(runs), name, fold, workdir, config))
  return runs


def _to_dict(x) -> dict:
  if isinstance(x, ml_collections.ConfigDict):
    return x.to_dict()
  return dict(x or {})


def shard(runs: Sequence[Run], shard_index: int, num_shards: int) -> list[Run]:
  """The runs of worker `shard_index` of `num_shards` (round-robin by run index)."""
  if num_shards < 1 or not 0 <= shard_index < num_shards:
    raise ValueError(f'need 0 <= shard_index < num_shards; got {shard_index}, {num_shards}')
  return [r for r in runs if r.index % num_shards == shard_index]


def config_hash(config: ml_collections.ConfigDict) -> str:
  """A short hash of a run's full config (stored with its result)."""
  text = json.dumps(json.loads(config.to_json_best_effort()), sort_keys=True)
  return hashlib.sha1(text.encode()).hexdigest()[:12]


def is_done(run: Run) -> bool:
  return os.path.isfile(os.path.join(run.workdir, RESULT_FILE))


def read_result(run: Run) -> dict[str, Any] | None:
  path = os.path.join(run.workdir, RESULT_FILE)
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    return json.load(f)


def execute(runs: Sequence[Run], train_fn: TrainFn, *, keep_going: bool = False
            ) -> dict[str, int]:
  """Trains every run that has no result yet; returns counts {'done', 'skipped', 'failed'}.

  Each finished run writes `sweep_result.json` with its setting, fold, metrics (`train_fn`'s
  return value, scalars only), wall time and config hash; a finished run whose stored hash differs
  from the planned config raises (the sweep changed under the same workdir). A failing run
  raises unless `keep_going`, in which
  case its traceback goes to `<workdir>/sweep_error.txt` and the sweep moves on (a later call
  retries it).
  """
  counts = {'done': 0, 'skipped': 0, 'failed': 0}
  for run in runs:
    if is_done(run):
      stored = (read_result(run) or {}).get('config_hash')
      if stored is not None and stored != config_hash(run.config):
        raise ValueError(f'run {run.setting} fold {run.fold} in {run.workdir} finished with a '
                         'different config than the sweep now plans; use a new sweep.workdir '
                         '(or delete that run folder) instead of mixing results')
      counts['skipped'] += 1
      continue
    os.makedirs(run.workdir, exist_ok=True)
    logging.info('sweep: run %d (%s, fold %d) in %s', run.index, run.setting, run.fold,
                 run.workdir)
    start = time.perf_counter()
    try:
      result = train_fn(run.config, run.workdir)
    except Exception:  # pylint: disable=broad-except
      if not keep_going:
        raise
      report.write_text(os.path.join(run.workdir, 'sweep_error.txt'), traceback.format_exc())
      counts['failed'] += 1
      continue
    report.write_json(os.path.join(run.workdir, RESULT_FILE), {
        'setting': run.setting, 'fold': run.fold, 'index': run.index,
        'config_hash': config_hash(run.config),
        'wall_s': time.perf_counter() - start, 'metrics': scalar_metrics(result or {})})
    counts['done'] += 1
  return counts


def scalar_metrics(result: Mapping[str, Any], prefix: str = '') -> dict[str, float]:
  """Flattens nested metric dicts to {'a/b': float}, keeping only numeric scalars."""
  out = {}
  for k, v in result.items():
    key = f'{prefix}{k}'
    if isinstance(v, Mapping):
      out.update(scalar_metrics(v, key + '/'))
      continue
    try:
      arr = np.asarray(v, np.float64)
    except (TypeError, ValueError):
      continue
    if arr.ndim == 0:
      out[key] = float(arr)
  return out


def collect(runs: Sequence[Run]) -> list[dict[str, Any]]:
  """One row per finished run: setting, fold, wall_s and its metrics."""
  rows = []
  for run in runs:
    res = read_result(run)
    if res is not None:
      rows.append({'setting': run.setting, 'fold': run.fold, 'wall_s': res.get('wall_s'),
                   **res.get('metrics', {})})
  return rows


def interval_keys(metric: str) -> tuple[str, str] | None:
  """The keys of the 95 % bootstrap interval stored beside a rollout metric ('.../length_r/value'
  -> '.../length_r/ci_low', '.../ci_high'), or None for a metric that has none."""
  if not metric.endswith('/value'):
    return None
  stem = metric[:-len('value')]
  return stem + 'ci_low', stem + 'ci_high'


def fold_mean_interval(values, ci_low, ci_high, confidence: float = 0.95, *,
                       shared: bool = False) -> tuple[float, float]:
  """Interval of the mean over folds of a metric, from each fold's bootstrap interval.

  Each fold's `confidence` interval (percentiles of the metric over resamples of its scored
  trajectories) is read as a normal standard error, se_k = (hi_k - lo_k) / (2 z). Held-out
  folds share no trajectory, so their errors are independent and the mean of K folds has
  se = sqrt(sum se_k^2) / K. A split every fold scores on the same trajectories (`shared`: test,
  ood) gives correlated errors; there se = mean se_k, the fully correlated bound (independence
  would make it ~sqrt(K) too narrow). Interval: mean -+ z se; one fold: its own percentile
  interval. It is the uncertainty from which trajectories were scored, not from training
  randomness (the std over folds shows some of that). NaN when a fold lacks its interval.
  """
  values, lo, hi = (np.asarray(a, np.float64) for a in (values, ci_low, ci_high))
  if not values.size or not (np.isfinite(values).all() and np.isfinite(lo).all()
                             and np.isfinite(hi).all()):
    return float('nan'), float('nan')
  if values.size == 1:
    return float(lo[0]), float(hi[0])
  z = float(stats.norm.ppf(0.5 + confidence / 2))
  se_k = (hi - lo) / (2 * z)
  se = float(se_k.mean()) if shared else math.sqrt(float(np.sum(se_k ** 2))) / values.size
  mean = float(values.mean())
  return mean - z * se, mean + z * se


# Splits every fold scores on the same trajectories (the held-out fold and the inner validation
# split differ per fold): their fold intervals are not independent.
SHARED_SPLIT_PREFIXES = ('splits/test/', 'splits/ood/')


def summarize(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str],
              settings_order: Sequence[str] | None = None) -> list[dict[str, Any]]:
  """Per setting: number of folds, and per metric the folds with a finite value (`<m>_folds`)
  and their mean, std (ddof=1), min/max and the 95 % interval of the fold mean
  (`fold_mean_interval`; NaN for metrics without stored intervals)."""
  order = list(settings_order or dict.fromkeys(r['setting'] for r in rows))
  finite = lambda v: v is not None and math.isfinite(float(v))
  out = []
  for name in order:
    mine = [r for r in rows if r['setting'] == name]
    row: dict[str, Any] = {'setting': name, 'folds': len(mine)}
    for m in metrics:
      vals = np.array([float(r[m]) for r in mine if finite(r.get(m))])
      row[f'{m}_folds'] = int(vals.size)      # folds with a finite value: what the cells use
      row[f'{m}_mean'] = float(vals.mean()) if vals.size else float('nan')
      row[f'{m}_std'] = float(vals.std(ddof=1)) if vals.size > 1 else float('nan')
      row[f'{m}_min'] = float(vals.min()) if vals.size else float('nan')
      row[f'{m}_max'] = float(vals.max()) if vals.size else float('nan')
      keys = interval_keys(m)
      scored = [r for r in mine if finite(r.get(m))]
      lo, hi = (fold_mean_interval(
          [r[m] for r in scored], [r.get(keys[0], np.nan) for r in scored],
          [r.get(keys[1], np.nan) for r in scored], shared=m.startswith(SHARED_SPLIT_PREFIXES))
                if keys and scored
                else (float('nan'), float('nan')))
      row[f'{m}_ci_low'], row[f'{m}_ci_high'] = lo, hi
    out.append(row)
  return out


def summary_cells(summary: Sequence[Mapping[str, Any]], metrics: Sequence[str]
                  ) -> list[dict[str, Any]]:
  """The Markdown rows: setting, folds and one 'mean ± std [ci_low, ci_high]' cell per metric,
  with '(k of n folds)' where only k folds had a finite value."""
  def cell(r, m):
    text = report.mean_spread_ci(r[f'{m}_mean'], r[f'{m}_std'], r[f'{m}_ci_low'],
                                 r[f'{m}_ci_high'])
    k = r.get(f'{m}_folds', r['folds'])
    return text + (f' ({k} of {r["folds"]} folds)' if k < r['folds'] else '')
  return [{'setting': r['setting'], 'folds': r['folds'], **{m: cell(r, m) for m in metrics}}
          for r in summary]


def write_outputs(sweep: ml_collections.ConfigDict, runs: Sequence[Run]) -> dict[str, str]:
  """Writes results.csv (per run), summary.csv/.md/.json (per setting) and summary_<m>.png.

  Returns the paths written. Settings without any finished run appear with folds = 0.
  """
  from dendrax.analysis import plots  # pylint: disable=g-import-not-at-top
  rows = collect(runs)
  metrics = list(sweep.metrics)
  order = list(dict.fromkeys(r.setting for r in runs))
  summary = summarize(rows, metrics, order)
  root = sweep.workdir
  paths = {'results_csv': os.path.join(root, 'results.csv'),
           'summary_csv': os.path.join(root, 'summary.csv'),
           'summary_md': os.path.join(root, 'summary.md'),
           'summary_json': os.path.join(root, 'summary.json')}
  report.write_csv(paths['results_csv'], rows)
  report.write_csv(paths['summary_csv'], summary)
  report.write_json(paths['summary_json'], {'sweep': sweep.to_dict(), 'summary': summary,
                                            'runs': rows, 'planned_runs': len(runs)})
  labels = dict(sweep.get('metric_labels') or {})
  legend = ''.join(f'- `{m}`: {labels[m]}\n' for m in metrics if m in labels)
  kind = ('Nested cross-validation: each run early-stops and selects its checkpoint on an inner '
          'validation split; the held-out fold (`heldout`) is scored once, at the end, and its '
          'numbers are unbiased.' if sweep.get('inner_validation_percent', 0) else
          'Cross-validation without an inner split: the fold held out is also the validation '
          'split that early-stopped and selected each run, so its numbers are optimistic.'
          if int(sweep.num_folds) >= 2 else 'No cross-validation: one run per setting.')
  report.write_text(paths['summary_md'],
                    f'# Sweep {os.path.basename(os.path.normpath(root))}\n\n'
                    f'{len(rows)} of {len(runs)} runs finished. Cells: mean ± standard '
                    'deviation over folds [95 % interval of that mean over the scored '
                    "trajectories: each fold's bootstrap interval as a normal standard error, "
                    'combined over the independent held-out folds, and taken as fully '
                    'correlated on a split every fold scores (test, ood); none for metrics '
                    f'stored without an interval]. {kind}\n\n{legend}\n'
                    f'{report.markdown_table(summary_cells(summary, metrics))}\n')
  for m in metrics:
    path = os.path.join(root, f'summary_{m.replace("/", "_")}.png')
    paths[f'plot_{m}'] = plots.save(plots.sweep_figure(summary, m), path)
  return paths
