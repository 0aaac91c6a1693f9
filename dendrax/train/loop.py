"""`train_and_evaluate(config, workdir)`: data, model, training with checkpoints, evaluation.

Reads top to bottom in sections: data -> model and state -> resume -> train loop (progress,
validation, early stopping, checkpoints) -> rollout evaluation of the best checkpoint.

Resuming: the training batches are a random-access grain dataset (batch i is a pure function of
the seed and i), so a resumed run continues with exactly the batches it would have seen, and the
normaliser comes back from the checkpoint rather than being refitted.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import grain
import jax
import ml_collections
import numpy as np

from dendrax.analysis import report
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.data import sources as sources_lib
from dendrax.physics import observables
from dendrax.train import checkpointing
from dendrax.train import config_validation
from dendrax.train import divergence
from dendrax.train import evaluation
from dendrax.train import metrics as metrics_lib
from dendrax.train import restore as restore_lib
from dendrax.train import resume_policy
from dendrax.train import setup
from dendrax.train import steps
from dendrax.train import windows


def _log(message: str) -> None:
  print(message, flush=True)


def split_expressions(config: ml_collections.ConfigDict) -> dict[str, str]:
  """{split role: TFDS split expression} of a run: train, validation, then the rollout splits.

  'train' and 'validation' mean `data.train_split` / `data.validation_split` wherever they
  appear (also in `eval.rollout_splits`), so a cross-validation fold is evaluated on its own
  fold; 'test' and 'ood' are the dataset's splits.
  """
  roles = ('train', 'validation') + tuple(s for s in config.eval.rollout_splits
                                          if s not in ('train', 'validation'))
  named = {'train': config.data.train_split, 'validation': config.data.validation_split}
  return {role: named.get(role, role) for role in roles}


def _load(config: ml_collections.ConfigDict, role: str, expression: str) -> Any:
  """The source of one split expression, or None for a rollout split the dataset lacks.

  Real-data datasets have no `ood` split and a small one may lack `test` (docs/builders.md),
  so such rollout splits are skipped; without the train or validation split there is no run,
  and the error names the config key.
  """
  try:
    source = pipeline.load_source(config.data.name, expression, config.data.data_dir,
                                  build_if_missing=config.data.build_if_missing)
  except pipeline.MissingSplitError as e:
    if role not in ('train', 'validation'):
      return None
    raise ValueError(f'config.data.{role}_split={expression!r}: {e}. Use a split expression '
                     "over the splits it has (with only 'train': train_split='train[:80%]', "
                     "validation_split='train[80%:]')") from e
  # Each training pair otherwise decodes its whole trajectory from array_record again.
  if config.data.in_memory:
    source = pipeline.in_memory(source)
  return sources_lib.mask_parameters(source, tuple(config.data.masked_parameters))


def _sources(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """{split role: source} of the roles whose splits exist, each expression loaded once.

  `data.masked_parameters` are flagged missing. Rollout splits the dataset (or every dataset
  of a mix) lacks are left out; `train_and_evaluate` names them in one log line.
  """
  loaded = {}
  for role, expression in split_expressions(config).items():
    if expression not in loaded:
      loaded[expression] = _load(config, role, expression)
  return {role: loaded[e] for role, e in split_expressions(config).items()
          if loaded[e] is not None}


def _validation_batches(source, normalizer, config, num_devices: int) -> list[dict]:
  """All validation pairs in fixed order, as full batches (a multiple of the device count)."""
  n_pairs = len(pipeline.pair_index(source))
  batch = min(config.eval.batch_size, n_pairs) // num_devices * num_devices
  if batch < 1:
    raise ValueError(f'validation split has {n_pairs} pairs, fewer than the {num_devices} '
                     'devices (eval.batch_size / data.name)')
  return list(pipeline.next_state_batches(
      source, normalizer, batch_size=batch, seed=config.seed, input_fields=config.data.input_fields,
      augment=False, num_epochs=1, drop_remainder=True, shuffle=False))


def _mean_metrics(eval_fn, params, batches, mesh) -> dict[str, float]:
  totals: dict[str, float] = {}
  count = 0.0
  for b in batches:
    m = jax.device_get(eval_fn(params, steps.shard_batch(b, mesh)))
    c = float(m.pop('count'))
    count += c
    for k, v in m.items():
      totals[k] = totals.get(k, 0.0) + float(v) * c
  return {k: v / count for k, v in totals.items()}


def _train_batches(source, normalizer, config, start_step: int):
  """Iterator over training batches start_step, start_step + 1, ... (prefetched by threads).

  One-step pairs (`pipeline.next_state_dataset`) or, with `train.unroll_steps` > 1, k-step
  windows (`windows.window_dataset`); batch i depends only on (seed, i).
  """
  common = dict(batch_size=config.train.batch_size // jax.process_count(),
                seed=config.seed + jax.process_index(), input_fields=config.data.input_fields,
                augment=config.data.augment)
  if config.train.unroll_steps > 1:
    ds = windows.window_dataset(source, normalizer, unroll_steps=config.train.unroll_steps,
                                **common)
  else:
    ds = pipeline.next_state_dataset(source, normalizer, num_epochs=None, drop_remainder=True,
                                     shuffle=True, **common)
  ds = ds[start_step:config.train.num_steps]
  read = grain.ReadOptions(num_threads=config.data.prefetch_threads,
                           prefetch_buffer_size=4 * max(config.data.prefetch_threads, 1))
  return iter(ds.to_iter_dataset(read))


def evaluate_checkpoint_params(config, params, normalizer, sources) -> dict[str, Any]:
  """Rollout metrics (evaluation.grouped_rollout_metrics) of `params` on the splits of
  `config.eval.rollout_splits` that are in `sources` (`_sources` leaves out missing ones).

  A split's trajectories may differ in frame count (real data, mixes): each count is rolled out
  as one group and the metrics pool all of them.
  """
  rollout = jax.jit(evaluation.make_predict_fns(setup.build_model(config)).rollout)
  results = {}
  for split in (s for s in config.eval.rollout_splits if s in sources):
    groups, n = _rollout_groups(config, normalizer, sources[split])
    results[split] = _evaluate_groups(config, rollout, params, groups)
    results[split]['num_trajectories'] = n
  return results


def _rollout_groups(config, normalizer, source) -> tuple[list, int]:
  """(trajectories of `source` grouped by frame count, how many), capped by
  `eval.max_rollout_trajectories`."""
  examples = pipeline.rollout_examples(source, normalizer, config.data.input_fields)
  n = len(examples)
  if config.eval.max_rollout_trajectories:
    n = min(n, config.eval.max_rollout_trajectories)
  return evaluation.group_trajectories(examples[i] for i in range(n)), n


def _evaluate_groups(config, rollout, params, groups) -> dict[str, Any]:
  return evaluation.evaluate_rollouts(
      rollout, params, groups, observables.dendrite_length_um,
      batch_size=config.eval.batch_size, threshold=config.eval.mask_threshold)


SELECT_METRICS = ('rollout_length_mse', 'loss')


def make_validation_scorer(config, model, normalizer, source):
  """`score(params) -> dict` adding 'rollout_length_mse' (um^2) of validation rollouts.

  The one-step validation loss barely moves between checkpoints (0.0242 vs 0.0244) and does not
  track what users measure: a run selected by it kept step 1000 of 2000 and scored test R 0.77 on
  210 s rollouts, while its step-2000 state scored 0.96. Scoring the pooled dendrite-length MSE
  of validation rollouts (the evaluation's own metric; about a second per evaluation here) ties
  checkpoint selection and early stopping to the rollout metric instead.
  """
  if config.eval.select_metric != 'rollout_length_mse':
    return lambda params: {}
  rollout = jax.jit(evaluation.make_predict_fns(model).rollout)
  groups, _ = _rollout_groups(config, normalizer, source)

  def score(params):
    result = _evaluate_groups(config, rollout, params, groups)
    return {'rollout_length_mse': result['length']['all']['mse'],
            'rollout_length_r': result['length']['all']['pearson_r']}
  return score


def summary_line(split: str, result: dict[str, Any]) -> str:
  """One line per split: pooled length R / R^2 / MSE and growth-mask IoU / F1."""
  length, mask = result['length']['all'], result['growth_mask']['all']
  return (f'{split:10s} n={result["num_trajectories"]:4d}  dendrite length: '
          f'R={length["pearson_r"]:.3f} R2={length["r2"]:.3f} MSE={length["mse"]:.3g} um^2 | '
          f'deposit mask above electrode: IoU={mask["iou"]:.3f} F1={mask["f1"]:.3f}')


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains the configured model, keeps checkpoints in `workdir`, returns the final metrics.

  Running again on the same `workdir` resumes from the latest checkpoint (and says so); a run
  that already finished is only re-evaluated. Writes `metrics.json` (rollout metrics of the best
  checkpoint on the `config.eval.rollout_splits` the dataset has; the others are listed under
  `skipped_splits` and in the log), `metrics.jsonl` / `metrics.csv` / TensorBoard
  events of training, and `config.json`.
  """
  setup.validate_config(config)
  workdir = os.path.abspath(workdir)
  config_validation.check_workdir_writable(workdir)   # before any data are loaded or built
  config = config_validation.with_resolved_data_dir(config)

  # ---- Data -----------------------------------------------------------------------------------
  t0 = time.perf_counter()
  sources = _sources(config)
  expressions = {k: e for k, e in split_expressions(config).items() if k in sources}
  skipped = [s for s in config.eval.rollout_splits if s not in sources]
  counts = ', '.join(f'{k}={len(v)}' + (f' ({expressions[k]})' if expressions[k] != k else '')
                     for k, v in sources.items())
  masked = ', '.join(config.data.masked_parameters) or 'none'
  _log(f'data: {config.data.name} {counts} trajectories; masked parameters: {masked} '
       f'({time.perf_counter() - t0:.0f} s to load/build)')
  if skipped:
    _log(f'rollout evaluation skips split(s) {", ".join(skipped)} of eval.rollout_splits: '
         f'dataset {config.data.name!r} has no such split')
  managers = checkpointing.open_managers(workdir, config.checkpoint.max_to_keep)
  latest = restore_lib.newest_intact_step(managers.latest, workdir)
  if latest is not None:
    _, saved, normalizer = checkpointing.read_metadata(workdir, checkpointing.LATEST, latest)
    resume_policy.check_resumable(saved, config, workdir)
  else:
    normalizer = normalization.Normalizer.fit(sources['train'])
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    f.write(config.to_json_best_effort(indent=1))

  # ---- Model and state ------------------------------------------------------------------------
  mesh = steps.make_mesh(config.train.num_devices or None)
  n_dev = mesh.devices.size
  if config.train.batch_size % n_dev:
    raise ValueError(f'config.train.batch_size={config.train.batch_size} must be a multiple of '
                     f'the {n_dev} devices')
  model = setup.build_model(config)
  state = setup.initial_state(config, jax.random.key(config.seed))
  n_params = sum(x.size for x in jax.tree.leaves(state.params))
  state = steps.replicate(state, mesh)
  loop = {'best_val_loss': float('inf'), 'best_step': -1, 'bad_evals': 0, 'stopped_early': False}
  # best_score: the eval.select_metric value of the best checkpoint (checkpoints written before
  # that field existed selected by the loss; setdefault below).
  if latest is not None:
    state, loop = checkpointing.restore(managers.latest, state)
    _log(f'Resuming from step {int(state.step)} (checkpoint in {workdir})')
  train_fn, eval_fn = steps.compile_steps(mesh, model.apply, config.loss.to_dict())
  val_batches = _validation_batches(sources['validation'], normalizer, config, n_dev)
  rollout_score = make_validation_scorer(config, model, normalizer, sources['validation'])
  select = config.eval.select_metric
  loop.setdefault('best_score', loop['best_val_loss'] if select == 'loss' else float('inf'))
  _log(f'model: {config.model_name} ({type(model).__name__}), {n_params:,} parameters; '
       f'{n_dev} device(s) {jax.devices()[0].platform}; batch {config.train.batch_size}')

  # ---- Train ----------------------------------------------------------------------------------
  start = int(state.step)
  num_steps = config.train.num_steps
  metrics_lib.drop_rows_after(workdir, start)   # rows of the steps this run repeats
  writer = metrics_lib.MetricWriter(workdir, enabled=jax.process_index() == 0)
  progress = metrics_lib.Progress(start, num_steps)

  def save_latest():
    checkpointing.save(managers.latest, state, normalizer=normalizer, config=config, loop=loop)

  if start < num_steps and not loop['stopped_early']:
    batches = _train_batches(sources['train'], normalizer, config, start)
    acc: dict[str, float] = {}
    for step in range(start + 1, num_steps + 1):
      state, m = train_fn(state, steps.shard_batch(next(batches), mesh))
      divergence.check_loss(step, m, managers.latest.latest_step())
      for k, v in m.items():
        acc[k] = acc.get(k, 0.0) + v
      if step % config.train.log_every_steps == 0 or step == num_steps:
        # Steps summed in `acc` (fewer in the first window after a resume).
        log_every = config.train.log_every_steps
        n = step - max(start, (step - 1) // log_every * log_every)
        scalars = {k: float(v) / n for k, v in jax.device_get(acc).items()}
        acc = {}
        scalars['lr'] = float(setup.state_lib.make_schedule(config.train.to_dict())(step))
        writer.write(step, 'train', scalars)
        _log(progress.line(step, {k: scalars[k] for k in ('loss', 'mse', 'morph')}))
      if step % config.eval.every_steps == 0 or step == num_steps:
        val = _mean_metrics(eval_fn, state.params, val_batches, mesh)
        val.update(rollout_score(state.params))
        writer.write(step, 'validation', val)
        improved = val[select] < loop['best_score'] - config.eval.min_delta
        if improved:
          loop.update(best_score=val[select], best_val_loss=val['loss'], best_step=step,
                      bad_evals=0)
          checkpointing.save(managers.best, state, normalizer=normalizer, config=config,
                             loop=loop)
        else:
          loop['bad_evals'] += 1
        status = ('improved' if improved else
                  f'{loop["bad_evals"]}/{config.eval.patience} without improvement')
        rollout_text = (f' rollout length MSE={val["rollout_length_mse"]:.4g} um^2 '
                        f'R={val["rollout_length_r"]:.3f}' if 'rollout_length_mse' in val else '')
        _log(f'  validation step {step}: loss={val["loss"]:.5g} mse={val["mse"]:.4g}'
             f'{rollout_text} ({status}; best {select} {loop["best_score"]:.5g} at step '
             f'{loop["best_step"]})')
        if loop['bad_evals'] >= config.eval.patience:
          loop['stopped_early'] = True
          _log(f'Early stopping at step {step}: no improvement in {config.eval.patience} '
               'evaluations')
          save_latest()
          break
      if step % config.checkpoint.every_steps == 0 or step == num_steps:
        save_latest()
  else:
    _log(f'Training already finished at step {start}; evaluating only')
  managers.latest.wait_until_finished()
  managers.best.wait_until_finished()

  # ---- Evaluate the best checkpoint -----------------------------------------------------------
  best = managers.best.latest_step()
  if best is not None:
    params = checkpointing.restore(managers.best, state, best)[0].params
  else:
    params, best = state.params, int(state.step)
  _log(f'Evaluating rollouts of the checkpoint of step {best} on '
       f'{tuple(s for s in config.eval.rollout_splits if s in sources)}')
  t0 = time.perf_counter()
  results = evaluate_checkpoint_params(config, params, normalizer, sources)
  for split, result in results.items():
    writer.write(best, f'rollout_{split}', {
        'length_r': result['length']['all']['pearson_r'],
        'length_r2': result['length']['all']['r2'],
        'length_mse': result['length']['all']['mse'],
        'growth_mask_iou': result['growth_mask']['all']['iou']})
  writer.close()
  final = {'model_name': config.model_name, 'dataset': config.data.name,
           'split_expressions': expressions, 'skipped_splits': skipped,
           'masked_parameters': list(config.data.masked_parameters), 'checkpoint_step': best,
           'trained_steps': int(state.step), 'stopped_early': bool(loop['stopped_early']),
           'best_val_loss': loop['best_val_loss'], 'splits': results}
  path = os.path.join(workdir, 'metrics.json')
  report.write_json(path, final)   # strict JSON: non-finite values become null
  managers.latest.close()
  managers.best.close()
  _log(f'Rollout metrics (marks after t = 0 pooled; {time.perf_counter() - t0:.0f} s), '
       f'written to {path}:')
  for split in results:
    _log('  ' + summary_line(split, results[split]))
  if 'test' in results:
    _log('Test dendrite-length R per 30 s mark: ' + ', '.join(
        f'{mark}={m["pearson_r"]:.3f}' for mark, m in results['test']['length'].items()))
  return final
