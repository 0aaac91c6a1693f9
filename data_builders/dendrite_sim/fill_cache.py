r"""Fills one worker's share of the `dendrite_sim` chunk cache (generation on many machines).

Run on N machines that share DATA_DIR (NFS, GCS FUSE, ...), worker i of N:

  python -m data_builders.dendrite_sim.fill_cache --config=paper --data_dir=DATA_DIR --shard=i/N

then once, anywhere, the ordinary build, which finds every chunk cached and only writes records:

  python -c "import data_builders.dendrite_sim, tensorflow_datasets as tfds; \
    tfds.builder('dendrite_sim/paper', data_dir='DATA_DIR', \
    file_format='array_record').download_and_prepare()"
"""

from absl import app
from absl import flags
from absl import logging
import tensorflow_datasets as tfds

import data_builders.dendrite_sim  # pylint: disable=unused-import  (registers the builder)
from data_builders.dendrite_sim import generation

_CONFIG = flags.DEFINE_string('config', 'small', 'dendrite_sim config name: tiny, small, paper.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir shared by all workers.',
                                required=True)
_SHARD = flags.DEFINE_string('shard', '0/1', 'This worker\'s share of the chunks, "index/count".')


def main(argv):
  del argv
  try:
    index, count = (int(v) for v in _SHARD.value.split('/'))
  except ValueError as e:
    raise ValueError(f'--shard must be "index/count", e.g. 3/16; got {_SHARD.value!r}') from e
  builder = tfds.builder(f'dendrite_sim/{_CONFIG.value}', data_dir=_DATA_DIR.value,
                         file_format='array_record')
  present = generation.fill_cache(builder.chunks(), builder.cache_dir(),
                                  builder.simulation_settings(), builder.builder_config.seed,
                                  shard_index=index, num_shards=count)
  logging.info('dendrite_sim/%s shard %d/%d: %d chunks present in %s', _CONFIG.value, index,
               count, present, builder.cache_dir())


if __name__ == '__main__':
  app.run(main)
