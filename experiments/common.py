"""What the experiment scripts share: a quiet console and the loading of dataset splits.

Experiments are configured by config files (`configs/<experiment>.py`, ml_collections, any key
overridable with `--config.key=value` as for launch.py); flags are only for paths, and, in the
multi-run commands (`sweep`, `fig4_table`), for how the runs are carried out, never for what
they compute: `--shard_index` / `--num_shards` (workers sharing the runs), `--dry_run`,
`--keep_going`, `--aggregate_only` / `--table_only` (the table from finished runs).
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


def load_splits(surrogates: Sequence[Any], dataset: str | None, splits: Sequence[str],
                data_dir: str | None, build: bool = False
                ) -> tuple[str, dict[str, Any], list[str]]:
  """(dataset, {split: source} of the splits it has, [splits it lacks]) (e.g. no `ood` in real
  data), each loaded once.

  The dataset is the checkpoints' own (`dataset` must match it), found in `data_dir`, then each
  checkpoint's recorded data dir, then $DENDRAX_DATA_DIR; a dataset built nowhere is an error
  that says how to build it, unless `build` (`checkpoint_data.load_sources`).
  """
  from dendrax.analysis import checkpoint_data  # pylint: disable=g-import-not-at-top
  name = checkpoint_data.checkpoint_dataset(surrogates, dataset or None)
  candidates = checkpoint_data.data_dirs(surrogates, data_dir)
  folder = checkpoint_data.find_data_dir(name, candidates)
  if folder is None:
    name, folder, _ = checkpoint_data.load_sources(surrogates, [], dataset=dataset or None,
                                                   data_dir=data_dir, build=build)
  sources, missing = {}, []
  for split in dict.fromkeys(splits):
    try:
      sources[split] = pipeline.load_source(name, split, folder, build_if_missing=build)
    except pipeline.MissingSplitError:
      missing.append(split)
  return name, sources, missing


def parse_overrides(text: str, what: str = 'config.sim_overrides') -> dict:
  """'nx=32, t_end_s=60, protocol=x' -> {'nx': 32.0, 't_end_s': 60.0, 'protocol': 'x'}
  (`SimulationConfig.from_dict` takes whole floats for int fields). `what` names the source in
  the error."""
  out = {}
  for item in (i.strip() for i in text.split(',') if i.strip()):
    if '=' not in item:
      raise ValueError(f'{what}: {item!r} is not field=value')
    k, v = (s.strip() for s in item.split('=', 1))
    try:
      out[k] = float(v)
    except ValueError:
      out[k] = v
  return out
