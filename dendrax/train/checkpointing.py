"""Checkpoints: orbax `CheckpointManager`s for the latest and the best state, and `load_checkpoint`.

Layout under a workdir:

    checkpoints/latest/<step>/   periodic saves (`checkpoint.max_to_keep` kept), for resuming
    checkpoints/best/<step>/     the state with the lowest validation loss so far (one kept)

Each step directory holds four items: `state` (TrainState: step, params, optimiser state),
`normalizer` (the input normaliser as JSON, fitted on the training split), `config` (the run's
full config as JSON) and `loop` (loop bookkeeping as JSON: best validation loss, early-stopping
counter, the last evaluated step). orbax writes to a temporary directory and renames it when
complete, so a run killed mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

import jax
import ml_collections
import orbax.checkpoint as ocp
from flax.training import train_state

from dendrax.data import normalization
from dendrax.train import divergence
from dendrax.train import restore as restore_lib

LATEST = 'latest'
BEST = 'best'


class Managers(NamedTuple):
  """The two checkpoint managers of a run."""
  latest: ocp.CheckpointManager
  best: ocp.CheckpointManager


def checkpoint_dir(workdir: str, which: str = LATEST) -> str:
  """Absolute directory of the `which` ('latest' or 'best') checkpoints of `workdir`."""
  if which not in (LATEST, BEST):
    raise ValueError(f'which={which!r} must be {LATEST!r} or {BEST!r}')
  return os.path.join(os.path.abspath(workdir), 'checkpoints', which)


def _read_only_manager(directory: str) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(read_only=True, create=False, save_interval_steps=0)
  return ocp.CheckpointManager(directory, options=options)


def open_managers(workdir: str, max_to_keep: int, *, read_only: bool = False) -> Managers:
  """Opens (creating if needed) the latest/best managers of `workdir`."""
  if max_to_keep < 1:
    raise ValueError(f'checkpoint.max_to_keep must be >= 1; got {max_to_keep}')

  def manager(which, keep):
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=not read_only,
                                           read_only=read_only)
    return ocp.CheckpointManager(checkpoint_dir(workdir, which), options=options)

  return Managers(latest=manager(LATEST, max_to_keep), best=manager(BEST, 1))


def save(manager: ocp.CheckpointManager, state: train_state.TrainState, *,
         normalizer: normalization.Normalizer, config: ml_collections.ConfigDict,
         loop: dict[str, Any]) -> None:
  """Saves state + normaliser + config + loop bookkeeping at `state.step` (asynchronously)."""
  step = int(jax.device_get(state.step))
  divergence.check_state(step, state)   # never overwrite good checkpoints with NaN
  # A run killed between saving 'best' and 'latest' repeats those steps after resuming; the
  # repeated save replaces the older one of the same or a later step.
  for old in manager.all_steps():
    if old >= step:
      manager.delete(old)
  manager.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      normalizer=ocp.args.JsonSave(json.loads(normalizer.to_json())),
      config=ocp.args.JsonSave(json.loads(config.to_json_best_effort())),
      loop=ocp.args.JsonSave(loop)), force=True)


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


def read_metadata(workdir: str, which: str = BEST, step: int | None = None
                  ) -> tuple[int, ml_collections.ConfigDict, normalization.Normalizer]:
  """(step, config, normaliser) stored with a checkpoint, without reading the arrays."""
  directory = checkpoint_dir(workdir, which)
  if not os.path.isdir(directory):
    raise FileNotFoundError(f'no {which!r} checkpoints in workdir {workdir!r} ({directory})')
  manager = _read_only_manager(directory)
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'no {which!r} checkpoint step under {directory}')
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
    which: 'best' (lowest validation loss, default) or 'latest'.
    step: a specific step; default the newest of `which`.

  Returns:
    The run's config (a ConfigDict; tuples come back as lists), the model parameters (a pytree
    of host-local jax arrays for `model.apply({'params': params}, ...)`, see
    `evaluation.make_predict_fns`) and the fitted input normaliser.
  """
  # Imported here: loop-level helpers depend on this module.
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  step, config, normalizer = read_metadata(workdir, which, step)
  # Restore onto this process's first device, whatever mesh the run was trained on (orbax
  # would otherwise try to rebuild the saved sharding, e.g. over 2 devices that are not here).
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device),
      jax.eval_shape(lambda: setup.initial_state(config, jax.random.key(0))))
  manager = _read_only_manager(checkpoint_dir(workdir, which))
  restored = restore(manager, abstract, step)
  manager.close()
  state, _ = restored
  return config, state.params, normalizer
