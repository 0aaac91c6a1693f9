"""`train_and_evaluate(config, workdir)`: the run of launch.py, in named pieces.

    data = load_data(config)                      # sources of every split role
    run, state, loop = open_run(config, workdir, data)   # model, mesh, state: fresh or resumed
    state, loop = train(run, data, state, loop)  # steps; validation + checkpoint every
                                                  # eval.every_steps; early stopping
    results = evaluate_selected(run, data, state) # rollouts of the selected checkpoint
    write_metrics(...)                            # metrics.json

`Run` holds what is fixed for the run, `LoopState` what changes between validations (both
frozen). orbax keeps the latest checkpoints and the best one by the selection score
(`checkpointing`): the validation value of `eval.select_metric`, by default the pooled
dendrite-length MSE of 210 s rollouts of the validation trajectories.

Resuming: the training batches are a random-access grain dataset (batch i is a pure function of
the seed and i), so a resumed run continues with exactly the batches it would have seen, and the
normaliser comes back from the checkpoint rather than being refitted.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Any, Callable, Mapping

import grain
import jax
import ml_collections
import orbax.checkpoint as ocp

from dendrax import files
from dendrax.analysis import report
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.data import sources as sources_lib
from dendrax.train import checkpointing
from dendrax.train import config_validation
from dendrax.train import divergence
from dendrax.train import evaluation
from dendrax.train import metrics as metrics_lib
from dendrax.train import restore as restore_lib
from dendrax.train import resume_policy
from dendrax.train import setup
from dendrax.train import state as state_lib
from dendrax.train import steps
from dendrax.train import windows

# config.eval.select_metric -> what it means, for logs and metrics.json.
SELECT_METRICS = {
    'rollout_length_mse': 'pooled dendrite-length MSE (um^2) of validation rollouts',
    'loss': 'one-step validation loss',
}
TRAIN_ROLES = ('train', 'validation')


def _log(message: str) -> None:
  print(message, flush=True)


# ---- State ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoopState:
  """What early stopping carries from one validation to the next (saved with every checkpoint).

  Which checkpoint is *selected* is orbax's business (`best_fn`: the lowest selection score,
  `Run.manager.best_step()`); this state only counts the patience. With `eval.min_delta` = 0
  (the default) `best_step` is the selected step; with a positive `min_delta` a later step that
  improves by less than it can be selected while `best_step` stays.

  Attributes:
    best_step: step of the last improvement by more than `eval.min_delta` (-1: none yet).
    best_score: that score (`eval.select_metric` on the validation split).
    bad_evals: validations since that improvement.
    stopped_early: early stopping ended training.
  """
  best_step: int = -1
  best_score: float = math.inf
  bad_evals: int = 0
  stopped_early: bool = False

  def after_validation(self, step: int, score: float, *, min_delta: float,
                       patience: int) -> 'LoopState':
    """The state after a validation scoring `score` at `step`."""
    if score < self.best_score - min_delta:
      return LoopState(step, score, 0, False)
    bad = self.bad_evals + 1
    return dataclasses.replace(self, bad_evals=bad, stopped_early=bad >= patience)

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, d: dict[str, Any]) -> 'LoopState':
    return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


@dataclasses.dataclass(frozen=True)
class Data:
  """The split sources of a run: {role: source} and {role: TFDS split expression}."""
  sources: dict[str, Any]
  expressions: dict[str, str]
  skipped: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Run:
  """Everything of a run that does not change while it trains."""
  config: ml_collections.ConfigDict
  workdir: str
  manager: ocp.CheckpointManager
  normalizer: normalization.Normalizer
  model: Any
  mesh: jax.sharding.Mesh
  train_fn: Callable
  eval_fn: Callable
  writer: metrics_lib.MetricWriter

  def save(self, state, loop: LoopState, metrics: dict[str, float] | None = None) -> None:
    checkpointing.save(self.manager, state, normalizer=self.normalizer, config=self.config,
                       loop=loop.to_json(), metrics=metrics)


# ---- Data -----------------------------------------------------------------------------------


def split_expressions(config: ml_collections.ConfigDict) -> dict[str, str]:
  """{split role: TFDS split expression} of a run: train, validation, then the rollout splits.

  'train', 'validation' and 'heldout' mean `data.train_split`, `data.validation_split` and
  `data.heldout_split` wherever they appear (also in `eval.rollout_splits`), so a
  cross-validation fold is evaluated on its own parts; 'test' and 'ood' are the dataset's
  splits.
  """
  roles = TRAIN_ROLES + tuple(s for s in config.eval.rollout_splits if s not in TRAIN_ROLES)
  named = {'train': config.data.train_split, 'validation': config.data.validation_split,
           'heldout': config.data.get('heldout_split', '')}
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
    if role not in TRAIN_ROLES:
      return None
    raise ValueError(f'config.data.{role}_split={expression!r}: {e}. Use a split expression '
                     "over the splits it has (with only 'train': train_split='train[:80%]', "
                     "validation_split='train[80%:]')") from e
  # Each training pair otherwise decodes its whole trajectory from array_record again.
  if config.data.in_memory:
    source = pipeline.in_memory(source)
  return sources_lib.mask_parameters(source, tuple(config.data.masked_parameters))


def _sources(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """{split role: source} of the roles whose splits exist, each expression loaded once."""
  loaded = {}
  for role, expression in split_expressions(config).items():
    if expression not in loaded:
      loaded[expression] = _load(config, role, expression)
  return {role: loaded[e] for role, e in split_expressions(config).items()
          if loaded[e] is not None}


def load_data(config: ml_collections.ConfigDict) -> Data:
  """Loads (building if needed) every split role of the run; logs the counts."""
  t0 = time.perf_counter()
  sources = _sources(config)
  if config.train.derivative_weight > 0 and 'xi_tangent' not in sources['train'][0]:
    raise ValueError(f'config.train.derivative_weight={config.train.derivative_weight} needs '
                     f'stored simulator tangents, but dataset {config.data.name!r} has no '
                     'xi_tangent feature (use one built with them, e.g. '
                     'dendrite_sim/small_tangents)')
  expressions = {k: e for k, e in split_expressions(config).items() if k in sources}
  skipped = tuple(s for s in config.eval.rollout_splits if s not in sources)
  counts = ', '.join(f'{k}={len(v)}' + (f' ({expressions[k]})' if expressions[k] != k else '')
                     for k, v in sources.items())
  masked = ', '.join(config.data.masked_parameters) or 'none'
  _log(f'data: {config.data.name} {counts} trajectories; masked parameters: {masked} '
       f'({time.perf_counter() - t0:.0f} s to load/build)')
  if skipped:
    _log(f'rollout evaluation skips split(s) {", ".join(skipped)} of eval.rollout_splits: '
         f'dataset {config.data.name!r} has no such split')
  return Data(sources, expressions, skipped)


def _validation_batches(source, normalizer, config, num_devices: int) -> list[dict]:
  """All validation pairs in fixed order, as full batches (a multiple of the device count)."""
  n_pairs = len(pipeline.pair_index(source))
  batch = min(config.eval.batch_size, n_pairs) // num_devices * num_devices
  if batch < 1:
    raise ValueError(f'validation split has {n_pairs} pairs, fewer than the {num_devices} '
                     'devices (eval.batch_size / data.name)')
  return list(pipeline.next_state_batches(
      source, normalizer, batch_size=batch, seed=config.seed, input_fields=config.data.input_fields,
      augment=False, num_epochs=1, drop_remainder=True, shuffle=False,
      tangents=config.train.derivative_weight > 0))


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
                                     shuffle=True, tangents=config.train.derivative_weight > 0,
                                     tangent_share=config.train.derivative_share,
                                     **common)
  ds = ds[start_step:config.train.num_steps]
  read = grain.ReadOptions(num_threads=config.data.prefetch_threads,
                           prefetch_buffer_size=4 * max(config.data.prefetch_threads, 1))
  return iter(ds.to_iter_dataset(read))


# ---- Start or resume ------------------------------------------------------------------------


def _refuse_old_layout(workdir: str) -> None:
  old = [w for w in (checkpointing.LATEST, checkpointing.BEST)
         if os.path.isdir(os.path.join(checkpointing.checkpoint_dir(workdir), w))]
  if old:
    raise ValueError(f'{workdir} holds checkpoints in the layout of an earlier dendrax '
                     f'(checkpoints/{"/, checkpoints/".join(old)}/), which this version does not '
                     'resume. Evaluate it with experiments.evaluate, or train in a new --workdir.')


def _assemble(config: ml_collections.ConfigDict, workdir: str, manager: ocp.CheckpointManager,
              normalizer: normalization.Normalizer, writer: metrics_lib.MetricWriter | None
              ) -> tuple[Run, Any]:
  """(run, fresh replicated train state) of `config` on every device `train.num_devices` names."""
  mesh = steps.make_mesh(config.train.num_devices or None)
  n_dev = mesh.devices.size
  if config.train.batch_size % n_dev:
    raise ValueError(f'config.train.batch_size={config.train.batch_size} must be a multiple of '
                     f'the {n_dev} devices')
  model = setup.build_model(config)
  state = setup.initial_state(config)
  n_params = sum(x.size for x in jax.tree.leaves(state.params))
  state = steps.replicate(state, mesh)
  train_fn, eval_fn = steps.compile_steps(mesh, model.apply,
                                          steps.step_loss_config(config, normalizer))
  _log(f'model: {config.model_name} ({type(model).__name__}), {n_params:,} parameters; '
       f'{n_dev} device(s) {jax.devices()[0].platform}; batch {config.train.batch_size}')
  writer = writer or metrics_lib.MetricWriter(workdir, enabled=False)
  return Run(config, workdir, manager, normalizer, model, mesh, train_fn, eval_fn,
             writer), state


def open_run(config: ml_collections.ConfigDict, workdir: str, data: Data
             ) -> tuple[Run, Any, LoopState]:
  """The run's fixed parts and its (fresh or resumed) train state and loop state."""
  _refuse_old_layout(workdir)
  manager = checkpointing.open_manager(workdir, config.checkpoint.max_to_keep)
  latest = restore_lib.newest_intact_step(manager, workdir)   # skips corrupt newer steps
  if latest is not None:
    _, saved, normalizer = checkpointing.read_metadata(workdir, checkpointing.LATEST, latest)
    resume_policy.check_resumable(saved, config, workdir)
  else:
    normalizer = normalization.Normalizer.fit(data.sources['train'])
  files.write_text(os.path.join(workdir, 'config.json'), config.to_json_best_effort(indent=1))
  run, state = _assemble(config, workdir, manager, normalizer, writer=None)
  loop = LoopState()
  if latest is not None:
    state, saved_loop = checkpointing.restore(manager, state)
    loop = LoopState.from_json(saved_loop)
    _log(f'Resuming from step {int(state.step)} (checkpoint in {workdir})')
  # Rows of the steps this run repeats, dropped before the writer opens the files to append.
  metrics_lib.drop_rows_after(workdir, int(state.step))
  writer = metrics_lib.MetricWriter(workdir, enabled=jax.process_index() == 0)
  return dataclasses.replace(run, writer=writer), state, loop


def open_for_reading(workdir: str) -> tuple[Run, Any]:
  """(run, train-state template) of a trained `workdir` for scoring its checkpoints: the saved
  config and normaliser, a read-only checkpoint manager and a disabled writer. Unlike `open_run`
  nothing in `workdir` is written, trimmed or moved, so it is safe on a finished run and beside
  one that is still training. Restore a step with `checkpointing.restore(run.manager, state,
  step)`."""
  _refuse_old_layout(workdir)
  _, config, normalizer = checkpointing.read_metadata(workdir, checkpointing.LATEST)
  manager = checkpointing.open_manager(workdir, config.checkpoint.max_to_keep, read_only=True)
  return _assemble(config, workdir, manager, normalizer, writer=None)


# ---- Validation -----------------------------------------------------------------------------


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


def rollout_groups(config, normalizer, source) -> list:
  """The trajectories of `source` prepared for rollouts, capped by
  `eval.max_rollout_trajectories`."""
  examples = pipeline.rollout_examples(source, normalizer, config.data.input_fields)
  n = len(examples)
  if config.eval.max_rollout_trajectories:
    n = min(n, config.eval.max_rollout_trajectories)
  return evaluation.group_trajectories(examples[i] for i in range(n))


def make_validator(run: Run, data: Data) -> Callable[[Any], dict[str, float]]:
  """`validate(params) -> {name: value}`: the one-step validation loss (and its parts), and
  with `eval.select_metric='rollout_length_mse'` the rollout scores of the validation split:
  'rollout_length_mse' (um^2; infinite when a rollout diverged), 'rollout_length_r',
  'rollout_xi_vrmse' and 'rollout_pairs_dropped' (pairs with a non-finite length).

  Why rollouts: users measure 210 s rollouts, and the one-step loss hardly moves between
  checkpoints; scoring the validation rollouts with the evaluation's own metric ties checkpoint
  selection and early stopping to it (about a second per validation here).
  """
  config = run.config
  batches = _validation_batches(data.sources['validation'], run.normalizer, config,
                                run.mesh.devices.size)
  rollout_fn, groups = None, None
  if config.eval.select_metric == 'rollout_length_mse':
    rollout_fn = jax.jit(evaluation.make_predict_fns(run.model).rollout)
    groups = rollout_groups(config, run.normalizer, data.sources['validation'])

  def validate(params) -> dict[str, float]:
    out = _mean_metrics(run.eval_fn, params, batches, run.mesh)
    if groups is not None:
      scores, _ = evaluation.evaluate(
          rollout_fn, params, groups, batch_size=config.eval.batch_size,
          threshold=config.eval.mask_threshold, bootstrap_samples=0,
          teacher_forcing=config.eval.teacher_forcing)
      # A rollout that diverged (a non-finite length) has an infinite error: the step is never
      # selected, however well the finite pairs score.
      dropped = scores['marks'][evaluation.ALL]['n_dropped']
      out.update(rollout_length_mse=(evaluation.value(scores, 'length_mse_um2') if not dropped
                                     else math.inf),
                 rollout_length_r=evaluation.value(scores, 'length_r'),
                 rollout_xi_vrmse=evaluation.value(scores, 'xi_vrmse'),
                 rollout_pairs_dropped=float(dropped))
    return out

  return validate


def _selection_score(config, val: dict[str, float]) -> float:
  score = val[config.eval.select_metric]
  return score if math.isfinite(score) else math.inf   # a diverged step is never the best


def replay_selection(config: ml_collections.ConfigDict, scores: Mapping[int, float]
                     ) -> tuple[int, int, bool]:
  """(selected step, last step trained, stopped early) of a run of `config` whose validations
  score `scores` ({step: `eval.select_metric`}), decided as `train` and orbax's `best_step`
  decide them: validations in step order until early stopping; the lowest score of those,
  a non-finite one never, the later step of a tie (orbax's stable sort). Scores how another
  choice of weights (the raw iterate of a run with `train.ema_decay`) would have been
  selected."""
  if not scores:
    raise ValueError('replay_selection: no validation scores')
  e = config.eval
  loop, seen = LoopState(), []
  for step in sorted(scores):
    score = _selection_score(config, {e.select_metric: scores[step]})
    seen.append((score, -step))
    loop = loop.after_validation(step, score, min_delta=e.min_delta, patience=e.patience)
    if loop.stopped_early:
      break
  return -min(seen)[1], -seen[-1][1], loop.stopped_early


# ---- Train ----------------------------------------------------------------------------------


def _log_train(run: Run, step: int, sums: dict[str, Any], count: int,
               progress: metrics_lib.Progress) -> dict[str, float]:
  """Writes the mean train scalars of the last `count` steps; returns them."""
  scalars = {k: float(v) / count for k, v in jax.device_get(sums).items()}
  scalars['lr'] = float(state_lib.make_schedule(run.config.train.to_dict())(step))
  run.writer.write(step, 'train', scalars)
  shown = ('loss', 'mse', 'morph', 'physics', 'derivative')
  _log(progress.line(step, {k: scalars[k] for k in shown if k in scalars}))
  return scalars


def _validate_and_save(run: Run, validate, state, loop: LoopState, step: int) -> LoopState:
  """Validation at `step`: log, checkpoint (ranked by its score), update the loop state."""
  e = run.config.eval
  val = validate(state_lib.evaluation_params(state))
  score = _selection_score(run.config, val)
  run.writer.write(step, 'validation', val)
  new = loop.after_validation(step, score, min_delta=e.min_delta, patience=e.patience)
  run.save(state, new, {checkpointing.SELECT_KEY: score, **val})
  status = ('improved' if new.best_step == step else
            f'{new.bad_evals}/{e.patience} without improvement')
  rollout_text = (f' rollout length MSE={val["rollout_length_mse"]:.4g} um^2 '
                  f'R={val["rollout_length_r"]:.3f}' if 'rollout_length_mse' in val else '')
  _log(f'  validation step {step}: loss={val["loss"]:.5g} mse={val["mse"]:.4g}{rollout_text} '
       f'({status}; selected so far: step {run.manager.best_step()})')
  if new.stopped_early:
    _log(f'Early stopping at step {step}: no improvement in {e.patience} validations')
  return new


def train(run: Run, data: Data, state, loop: LoopState) -> tuple[Any, LoopState]:
  """Trains from `state.step` to `train.num_steps` (or early stopping); validates and saves a
  checkpoint every `eval.every_steps` and at the last step."""
  config = run.config
  start, num_steps = int(state.step), config.train.num_steps
  if start >= num_steps or loop.stopped_early:
    _log(f'Training already finished at step {start}; evaluating only')
    return state, loop
  validate = make_validator(run, data)
  batches = _train_batches(data.sources['train'], run.normalizer, config, start)
  progress = metrics_lib.Progress(start, num_steps)
  sums: dict[str, Any] = {}
  since_log = 0
  for step in range(start + 1, num_steps + 1):
    state, m = run.train_fn(state, steps.shard_batch(next(batches), run.mesh))
    divergence.check_loss(step, m, run.manager.latest_step())
    sums = {k: sums.get(k, 0.0) + v for k, v in m.items()}
    since_log += 1
    if step % config.train.log_every_steps == 0 or step == num_steps:
      _log_train(run, step, sums, since_log, progress)
      sums, since_log = {}, 0
    if step % config.eval.every_steps == 0 or step == num_steps:
      loop = _validate_and_save(run, validate, state, loop, step)
      if loop.stopped_early:
        break
  run.manager.wait_until_finished()
  return state, loop


# ---- Evaluate the selected checkpoint -------------------------------------------------------


def evaluate_params(config, params, normalizer, sources, model=None) -> dict[str, Any]:
  """`evaluation.evaluate` of `params` on the splits of `config.eval.rollout_splits` that are in
  `sources`, with 95 % bootstrap intervals over trajectories (`eval.bootstrap_samples`)."""
  rollout_fn = jax.jit(evaluation.make_predict_fns(model or setup.build_model(config)).rollout)
  results = {}
  for split in (s for s in config.eval.rollout_splits if s in sources):
    results[split], _ = evaluation.evaluate(
        rollout_fn, params, rollout_groups(config, normalizer, sources[split]),
        batch_size=config.eval.batch_size, threshold=config.eval.mask_threshold,
        bootstrap_samples=config.eval.bootstrap_samples, seed=config.eval.bootstrap_seed,
        teacher_forcing=config.eval.teacher_forcing)
  return results


def selected_step(run: Run, state) -> int:
  """The step orbax ranks best (lowest selection score), else the current one."""
  best = run.manager.best_step()
  return int(state.step) if best is None else int(best)


def evaluate_selected(run: Run, data: Data, state) -> tuple[int, dict[str, Any]]:
  """(step, rollout results) of the selected checkpoint on the rollout splits."""
  step = selected_step(run, state)
  if step != int(state.step):
    state = checkpointing.restore(run.manager, state, step)[0]
  params = state_lib.evaluation_params(state)
  splits = tuple(s for s in run.config.eval.rollout_splits if s in data.sources)
  _log(f'Evaluating rollouts of the checkpoint of step {step} on {splits}')
  results = evaluate_params(run.config, params, run.normalizer, data.sources, run.model)
  for split, result in results.items():
    m = result['marks'][evaluation.ALL]
    run.writer.write(step, f'rollout_{split}', {
        'length_r': m['length_r']['value'], 'length_r2': m['length_r2']['value'],
        'length_mse_um2': m['length_mse_um2']['value'], 'xi_vrmse': m['xi_vrmse']['value'],
        'deposit_iou': m['deposit_iou']['value']})
  return step, results


def write_metrics(run: Run, data: Data, state, loop: LoopState, step: int,
                  results: dict[str, Any]) -> dict[str, Any]:
  """metrics.json: what was selected and how, and the rollout metrics of every split."""
  config = run.config
  at_step = run.manager.metrics(step) if step in run.manager.all_steps() else None
  at_step = {k: v for k, v in dict(at_step or {}).items() if k != checkpointing.SELECT_KEY}
  final = {
      'model_name': config.model_name, 'dataset': config.data.name,
      'split_expressions': data.expressions, 'skipped_splits': list(data.skipped),
      'masked_parameters': list(config.data.masked_parameters),
      'checkpoint_step': step,
      'selection': {
          'metric': config.eval.select_metric,
          'rule': f'lowest {SELECT_METRICS[config.eval.select_metric]}',
          'split': 'validation', 'expression': data.expressions['validation'],
          'score': at_step.get(config.eval.select_metric)},
      # The validation scalars of the selected checkpoint (one-step loss included; it is not
      # what selected it unless eval.select_metric is 'loss').
      'validation_at_checkpoint': at_step,
      'trained_steps': int(state.step), 'stopped_early': bool(loop.stopped_early),
      'rollouts': {'teacher_forcing': bool(config.eval.teacher_forcing),
                   'bootstrap_samples': int(config.eval.bootstrap_samples),
                   'metrics': list(evaluation.METRICS)},
      'splits': results}
  path = os.path.join(run.workdir, 'metrics.json')
  report.write_json(path, final)   # strict JSON, atomic: non-finite values become null
  return final


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains the configured model, keeps checkpoints in `workdir`, returns the final metrics.

  Running again on the same `workdir` resumes from the latest checkpoint (and says so); a run
  that already finished is only re-evaluated. Writes `metrics.json` (rollout metrics of the
  selected checkpoint on the `config.eval.rollout_splits` the dataset has; the others are listed
  under `skipped_splits` and in the log), `metrics.jsonl` / `metrics.csv` / TensorBoard events of
  training, and `config.json`.
  """
  setup.validate_config(config)
  workdir = os.path.abspath(workdir)
  config_validation.check_workdir_writable(workdir)   # before any data are loaded or built
  config = config_validation.with_resolved_data_dir(config)
  data = load_data(config)
  run, state, loop = open_run(config, workdir, data)
  try:
    state, loop = train(run, data, state, loop)
    t0 = time.perf_counter()
    step, results = evaluate_selected(run, data, state)
    final = write_metrics(run, data, state, loop, step, results)
  finally:
    run.writer.close()
    run.manager.close()
  _log(f'Rollout metrics (marks after t = 0 pooled, 95 % bootstrap intervals over trajectories; '
       f'{time.perf_counter() - t0:.0f} s), written to {os.path.join(workdir, "metrics.json")}:')
  for split, result in results.items():
    _log('  ' + evaluation.summary_line(split, result))
  if 'test' in results:
    _log('Test dendrite-length R per 30 s mark: ' + ', '.join(
        f'{mark}={m["length_r"]["value"]:.3f}' for mark, m in results['test']['marks'].items()))
  return final
