"""What the experiment scripts share: a quiet console and the loading of dataset splits.

Experiments are configured by config files (`configs/<experiment>.py`, ml_collections, any key
overridable with `--config.key=value` as for launch.py); flags are only for paths.
"""

from __future__ import annotations

import logging as py_logging
from typing import Any, Sequence

from absl import logging

from dendrax.data import pipeline


def quiet() -> None:
  """Keeps the console to progress and results: orbax / grain INFO lines and JAX's probing of
  backends that are not installed ('Unable to initialize backend tpu') are not shown."""
  logging.set_verbosity(logging.WARNING)
  for name in ('jax._src.xla_bridge', 'absl'):
    py_logging.getLogger(name).setLevel(py_logging.ERROR if 'xla' in name else py_logging.WARNING)


def load_splits(dataset: str, splits: Sequence[str], data_dir: str | None
                ) -> tuple[dict[str, Any], list[str]]:
  """({split: source} of the splits `dataset` has, [splits it lacks]) (e.g. no `ood` in real
  data), each loaded once."""
  sources, missing = {}, []
  for split in dict.fromkeys(splits):
    try:
      sources[split] = pipeline.load_source(dataset, split, data_dir)
    except pipeline.MissingSplitError:
      missing.append(split)
  return sources, missing
