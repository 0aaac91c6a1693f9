"""`dendrite_fixture`: a TFDS builder of synthetic schema trajectories, built in well under 1 s.

For tests that need real array_record files (TFDS split expressions, mixed datasets) without
waiting for the simulator. The `fixture_data_dir` fixture (tests/conftest.py) makes
`pipeline.load_source('dendrite_fixture/a', ...)` find it.

Configs (trajectories of tests/train/synthetic_dendrites.py, 8 frames of 0 .. 210 s):
  * `a`: 16 x 16; train ids 0..9, validation ids 100..104, test ids 200..201;
  * `b`: 16 x 16; train ids 0..3 (the ids of `a` again) and no validation or test split;
  * `wide`: 32 x 32; train ids 0..1.
"""

import dataclasses

import tensorflow_datasets as tfds

from data_builders import base
from tests.train import synthetic_dendrites


@dataclasses.dataclass(eq=False)
class FixtureConfig(tfds.core.BuilderConfig):
  """Frame size and the splits, as (split, first trajectory id, count) rows."""
  frame_size: int = 16
  splits: tuple = ()


BUILDER_CONFIGS = [
    FixtureConfig(name='a', frame_size=16,
                  splits=(('train', 0, 10), ('validation', 100, 5), ('test', 200, 2))),
    FixtureConfig(name='b', frame_size=16, splits=(('train', 0, 4),)),
    FixtureConfig(name='wide', frame_size=32, splits=(('train', 0, 2),)),
]


class DendriteFixture(base.DendraxBuilder):
  """Synthetic trajectories in the dendrax schema (see module docstring)."""

  VERSION = tfds.core.Version('1.0.0')
  BUILDER_CONFIGS = BUILDER_CONFIGS

  def _description(self) -> str:
    return f'Synthetic test trajectories, config {self.builder_config.name}.'

  def _frame_size(self) -> int:
    return self.builder_config.frame_size

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(first, count)
            for split, first, count in self.builder_config.splits}

  def _generate_examples(self, first, count):
    size = self.builder_config.frame_size
    for i in range(first, first + count):
      ex = synthetic_dendrites.trajectory(i, size)
      ex['source'] = self.builder_config.name
      yield str(i), ex
