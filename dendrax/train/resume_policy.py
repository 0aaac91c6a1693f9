"""Which config keys may change when a run resumes from its checkpoint; every other is refused.

A resumed run must continue the run it resumes: the same model, data, batches (`seed`,
`train.batch_size`), optimiser and schedule (`train.*`), loss (`loss.*`) and checkpoint
selection (`eval.every_steps`, `eval.select_metric`, `eval.patience`, `eval.min_delta`).
A change to any of these used to be accepted silently (only the model and a few data keys were
checked) and `config.json` was overwritten, so the finished run matched neither config.

The keys of `MUTABLE_ON_RESUME` change where files are or how fast the run goes, or only the
final rollout evaluation; none changes the trained parameters or which checkpoint is selected,
except `train.num_steps`, kept changeable on purpose so a finished run can be trained longer.
"""

from __future__ import annotations

from typing import Any, Mapping

import ml_collections

MUTABLE_ON_RESUME: Mapping[str, str] = {
    'data.data_dir': 'where the same dataset build is read from (it may have moved)',
    'data.build_if_missing': 'only matters when the dataset is absent',
    'data.prefetch_threads': 'reading speed; batch i is a function of (seed, i) only',
    'data.in_memory': 'reading speed; the examples are the same',
    'train.num_devices': 'data parallelism; the global batch is the same',
    'train.num_steps': ('to train longer (or stop sooner); the cosine schedule then spans the '
                        'new count from the resumed step on'),
    'train.log_every_steps': 'how often progress is printed and logged',
    'eval.batch_size': 'batching of the evaluation; the metrics are the same',
    'eval.rollout_splits': 'which splits the final evaluation reports',
    'eval.max_rollout_trajectories': 'how many trajectories the final evaluation uses',
    'eval.mask_threshold': 'threshold of the final growth-mask metrics',
    'checkpoint.every_steps': 'how often a checkpoint is written',
    'checkpoint.max_to_keep': 'how many periodic checkpoints are kept',
}

# Values of keys added after some checkpoints were written: what those runs used.
LEGACY_DEFAULTS: Mapping[str, Any] = {
    'data.train_split': 'train',
    'data.validation_split': 'validation',
    'data.masked_parameters': [],
    'train.ema_decay': 0.0,
}


def _flat(tree: Any, prefix: str = '') -> dict[str, Any]:
  out = {}
  for key, value in (tree.items() if hasattr(tree, 'items') else ()):
    if isinstance(value, (ml_collections.ConfigDict, dict)):
      out.update(_flat(value, f'{prefix}{key}.'))
    else:
      out[f'{prefix}{key}'] = list(value) if isinstance(value, tuple) else value
  return out


def changed_keys(saved: ml_collections.ConfigDict, config: ml_collections.ConfigDict
                 ) -> dict[str, tuple[Any, Any]]:
  """{key: (value in the checkpoint, value now)} of the keys that may not change but did.

  A key absent from the checkpoint's config is compared with `LEGACY_DEFAULTS` when listed
  there; other absent keys are new keys with no recorded value, and are not compared.
  """
  old, new = _flat(saved), _flat(config)
  changed = {}
  for key, value in new.items():
    if key in MUTABLE_ON_RESUME:
      continue
    if key in old:
      before = old[key]
    elif key in LEGACY_DEFAULTS:
      before = LEGACY_DEFAULTS[key]
    else:
      continue
    if before != value:
      changed[key] = (before, value)
  return changed


def check_resumable(saved: ml_collections.ConfigDict, config: ml_collections.ConfigDict,
                    workdir: str) -> None:
  """Raises ValueError naming every key that changed although it may not (`MUTABLE_ON_RESUME`)."""
  changed = changed_keys(saved, config)
  if changed:
    text = '; '.join(f'config.{k} ({a!r} in the checkpoint, {b!r} now)'
                     for k, (a, b) in changed.items())
    raise ValueError(f'cannot resume {workdir}: {text}. Only {sorted(MUTABLE_ON_RESUME)} may '
                     "change on resume (docs/reliability.md); use a new --workdir or the "
                     "checkpoint's settings.")
