"""Checkpoints: one orbax `CheckpointManager` that keeps the latest and the best, and `load_checkpoint`.

Layout under a workdir:

    checkpoints/<step>/   one checkpoint per validation (`eval.every_steps`, and the last step)

orbax decides what to keep: the newest `checkpoint.max_to_keep` steps (for resuming) and the one
with the lowest selection score (`best_fn` on the validation metrics saved with each step,
`best_mode='min'`). The selection score is the validation value of `eval.select_metric`:
by default the pooled dendrite-length MSE of validation rollouts (`rollout_length_mse`, um^2),
or the one-step validation loss (`loss`). `manager.best_step()` and `manager.latest_step()` name
them.

Each step directory holds four items besides orbax's `metrics`: `state` (TrainState: step,
params, optimiser state), `normalizer` (the input normaliser as JSON, fitted on the training
split), `config` (the run's full config as JSON) and `loop` (`loop.LoopState` as JSON:
early-stopping counter, best step and score). orbax writes to a temporary directory and renames
it when complete, so a run killed mid-save leaves the previous checkpoint intact.

Workdirs written before this layout (`checkpoints/latest/<step>/`, `checkpoints/best/<step>/`)
are still read by `read_metadata` and `load_checkpoint`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import jax
import ml_collections
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers
from flax.training import train_state

from dendrax.data import normalization
from dendrax.train import divergence
from dendrax.train import restore as restore_lib
from dendrax.train import state as state_lib

LATEST = 'latest'
BEST = 'best'
# Key of the selection score in the metrics saved with each checkpoint (lower is better).
SELECT_KEY = 'selection_score'


def checkpoint_dir(workdir: str) -> str:
  """Absolute directory of the checkpoints of `workdir`."""
  return os.path.join(os.path.abspath(workdir), 'checkpoints')


def _best_fn(metrics: Mapping[str, Any]) -> float:
  return float(metrics[SELECT_KEY])


def _options(**kwargs) -> ocp.CheckpointManagerOptions:
  return ocp.CheckpointManagerOptions(best_fn=_best_fn, best_mode='min', **kwargs)


def open_manager(workdir: str, max_to_keep: int, *, read_only: bool = False
                 ) -> ocp.CheckpointManager:
  """The checkpoint manager of `workdir` (created if needed).

  Keeps the newest `max_to_keep` steps and the best one (`SELECT_KEY`, lowest); a step saved
  without metrics is never the best.
  """
  if max_to_keep < 1:
    raise ValueError(f'checkpoint.max_to_keep must be >= 1; got {max_to_keep}')
  if read_only:
    return _read_only_manager(checkpoint_dir(workdir))
  policy = checkpoint_managers.AnyPreservationPolicy([
      checkpoint_managers.LatestN(n=max_to_keep),
      checkpoint_managers.BestN(get_metric_fn=_best_fn, reverse=True, n=1,
                                keep_checkpoints_without_metrics=False)])
  return ocp.CheckpointManager(checkpoint_dir(workdir),
                               options=_options(preservation_policy=policy, create=True))


def _read_only_manager(directory: str) -> ocp.CheckpointManager:
  options = _options(read_only=True, create=False, save_interval_steps=0)
  return ocp.CheckpointManager(directory, options=options)


def save(manager: ocp.CheckpointManager, state: train_state.TrainState, *,
         normalizer: normalization.Normalizer, config: ml_collections.ConfigDict,
         loop: dict[str, Any], metrics: Mapping[str, float] | None = None) -> None:
  """Saves state + normaliser + config + loop state at `state.step` (asynchronously).

  `metrics` (validation scalars with `SELECT_KEY`) rank the step for `manager.best_step()`.
  """
  step = int(jax.device_get(state.step))
  divergence.check_state(step, state)   # never overwrite good checkpoints with NaN
  # A run killed after a save but before the next one repeats those steps after resuming; the
  # repeated save replaces the older one of the same or a later step.
  for old in manager.all_steps():
    if old >= step:
      manager.delete(old)
  manager.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      normalizer=ocp.args.JsonSave(json.loads(normalizer.to_json())),
      config=ocp.args.JsonSave(json.loads(config.to_json_best_effort())),
      loop=ocp.args.JsonSave(loop)),
      metrics=None if metrics is None else {k: float(v) for k, v in metrics.items()},
      force=True)


def restore(manager: ocp.CheckpointManager, abstract_state: train_state.TrainState,
            step: int | None = None) -> tuple[train_state.TrainState, dict[str, Any]] | None:
  """(state, loop bookkeeping) of `step` (default: the latest), or None without checkpoints.

  `abstract_state` (e.g. `jax.eval_shape` of the initial state, or the state itself) gives the
  tree structure, optimiser state types and shardings to restore into.
  """
  step = manager.latest_step() if step is None else step
  if step is None:
    return None
  target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
  with restore_lib.naming_errors(manager, step):   # errors name the step and the file
    restored = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(target), loop=ocp.args.JsonRestore()))
  return restored['state'], dict(restored['loop'])


def _reader(workdir: str, which: str) -> tuple[ocp.CheckpointManager, int | None]:
  """(read-only manager, step of `which`) of a workdir, either layout."""
  if which not in (LATEST, BEST):
    raise ValueError(f'which={which!r} must be {LATEST!r} or {BEST!r}')
  directory = checkpoint_dir(workdir)
  if not os.path.isdir(directory):
    raise FileNotFoundError(f'no checkpoints in workdir {workdir!r} ({directory})')
  legacy = os.path.join(directory, which)
  if os.path.isdir(legacy):                   # before one manager kept both
    manager = _read_only_manager(legacy)
    return manager, manager.latest_step()
  manager = _read_only_manager(directory)
  return manager, manager.best_step() if which == BEST else manager.latest_step()


def read_metadata(workdir: str, which: str = BEST, step: int | None = None
                  ) -> tuple[int, ml_collections.ConfigDict, normalization.Normalizer]:
  """(step, config, normaliser) stored with a checkpoint, without reading the arrays."""
  manager, default = _reader(workdir, which)
  step = default if step is None else step
  if step is None:
    manager.close()
    raise FileNotFoundError(f'no {which!r} checkpoint step under {checkpoint_dir(workdir)}')
  with restore_lib.naming_errors(manager, step):
    meta = manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore(), normalizer=ocp.args.JsonRestore()))
  manager.close()
  config = ml_collections.ConfigDict(dict(meta['config']))
  normalizer = normalization.Normalizer.from_json(json.dumps(dict(meta['normalizer'])))
  return step, config, normalizer


def load_checkpoint(workdir: str, which: str = BEST, step: int | None = None
                    ) -> tuple[ml_collections.ConfigDict, Any, normalization.Normalizer]:
  """(config, params, normaliser) of a trained run, for evaluation and analysis.

  Args:
    workdir: the `--workdir` of `launch.py`.
    which: 'best' (the lowest validation `eval.select_metric` of the run; default) or
      'latest'.
    step: a specific step; default the step of `which`.

  Returns:
    The run's config (a ConfigDict; tuples come back as lists), the model parameters (the
    moving average when the run kept one, `state.evaluation_params`; a pytree of host-local
    jax arrays for `model.apply({'params': params}, ...)`, see
    `evaluation.make_predict_fns`) and the fitted input normaliser.
  """
  return load_checkpoint_step(workdir, which, step)[1:]


def load_checkpoint_step(workdir: str, which: str = BEST, step: int | None = None
                         ) -> tuple[int, ml_collections.ConfigDict, Any,
                                    normalization.Normalizer]:
  """`load_checkpoint` with the step it loaded first: (step, config, params, normaliser)."""
  # Imported here: loop-level helpers depend on this module.
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  step, config, normalizer = read_metadata(workdir, which, step)
  # Restore onto this process's first device, whatever mesh the run was trained on (orbax
  # would otherwise try to rebuild the saved sharding, e.g. over 2 devices that are not here).
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device),
      jax.eval_shape(lambda: setup.initial_state(config, jax.random.key(0))))
  manager, _ = _reader(workdir, which)
  restored = restore(manager, abstract, step)
  manager.close()
  state, _ = restored
  return step, config, state_lib.evaluation_params(state), normalizer
