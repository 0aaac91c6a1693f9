"""The dataset a checkpoint was trained on, read from where it was built; never built silently.

`experiments.evaluate` and `experiments.baselines` score checkpoints on splits of a dataset.
Two silent failures came from reading that dataset the wrong way: `baselines` accepted
`--dataset dendrite_sim/small` for a CNN trained on `tiny` (scores of a model on data it was
never meant for), and both looked for the data under $DENDRAX_DATA_DIR only, ignoring the
folder recorded in the checkpoint; given an empty folder they simulated a new copy (minutes of
work, possibly a different build). `load_sources` checks the first and reads the checkpoint's
own `data.data_dir` (training records the resolved folder), building only when asked.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from dendrax.data import pipeline


def checkpoint_dataset(surrogates: Sequence[Any], requested: str | None = None) -> str:
  """The one dataset all `surrogates` were trained on, equal to `requested` when given.

  Raises ValueError naming each checkpoint's dataset when they differ from each other or from
  `requested`.
  """
  trained = {s.workdir: s.config.data.name for s in surrogates}
  names = set(trained.values()) | ({requested} if requested else set())
  if not names:
    raise ValueError('give --dataset or a --checkpoint')
  if len(names) > 1:
    detail = ', '.join(f'{w}: {n}' for w, n in trained.items())
    asked = f'--dataset {requested}; ' if requested else ''
    raise ValueError(f'checkpoints must be scored on the dataset they were trained on; '
                     f'{asked}{detail}')
  return names.pop()


def data_dirs(surrogates: Sequence[Any], flag: str | None) -> list[str]:
  """Candidate TFDS folders in order: `--data_dir`, each checkpoint's, the default."""
  given = [flag] + [s.config.data.get('data_dir') for s in surrogates]
  found = [os.path.abspath(os.path.expanduser(d)) for d in given if d]
  found.append(os.path.abspath(pipeline.default_data_dir()))
  return list(dict.fromkeys(found))


def build_command(dataset: str, data_dir: str) -> str:
  """The shell command that builds `dataset` under `data_dir`."""
  imports = sorted({pipeline.BUILDER_MODULES[n.split('/')[0].split(':')[0]]
                    for n in pipeline.dataset_names(dataset)})
  builds = '; '.join(f"tfds.builder('{n}', data_dir='{data_dir}', file_format='array_record')"
                     '.download_and_prepare()' for n in pipeline.dataset_names(dataset))
  return f'python -c "import tensorflow_datasets as tfds, {", ".join(imports)}; {builds}"'


def find_data_dir(dataset: str, candidates: Sequence[str]) -> str | None:
  """The first of `candidates` holding a complete build of every dataset of `dataset`."""
  for d in candidates:
    if all(pipeline.load_builder(n, d).is_prepared() for n in pipeline.dataset_names(dataset)):
      return d
  return None


def load_sources(surrogates: Sequence[Any], splits: Sequence[str], *,
                 dataset: str | None = None, data_dir: str | None = None,
                 build: bool = False) -> tuple[str, str, dict[str, Any]]:
  """(dataset, data dir, {split: source}) for scoring `surrogates` on their own dataset.

  Args:
    surrogates: loaded checkpoints (`evaluation.load_pair`); may be empty with `dataset`.
    splits: splits to load.
    dataset: `--dataset`; must equal the checkpoints' dataset.
    data_dir: `--data_dir`; searched first, then each checkpoint's `data.data_dir`, then
      $DENDRAX_DATA_DIR / ~/tensorflow_datasets.
    build: build the dataset in the first candidate folder if no folder holds it.

  Raises:
    ValueError if the datasets differ; FileNotFoundError, naming the folders searched and the
    command that builds the dataset, if it is not built and `build` is False.
  """
  name = checkpoint_dataset(surrogates, dataset)
  candidates = data_dirs(surrogates, data_dir)
  folder = find_data_dir(name, candidates)
  if folder is None:
    if not build:
      raise FileNotFoundError(
          f'dataset {name!r} is not built in any of {candidates} (--data_dir, the checkpoint\'s '
          f'data.data_dir, $DENDRAX_DATA_DIR); pass --data_dir to where it is, or build it '
          f'with --config.build_data=true (experiments) or: {build_command(name, candidates[0])}')
    folder = candidates[0]
  return name, folder, {s: pipeline.load_source(name, s, folder, build_if_missing=build)
                        for s in splits}
