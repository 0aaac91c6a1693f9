r"""Builds a `dendrite_sim` config on Apache Beam (a thin wrapper over TFDS's Beam support).

Every simulation batch (one chunk of the chunk cache) is a Beam element
(`beam_generation.py`); the records are identical to the plain build's. On this machine
(DirectRunner, several local worker processes):

  python -m data_builders.dendrite_sim.fill_cache --config=tiny --data_dir=DATA_DIR -- \
      --runner=DirectRunner --direct_num_workers=2 --direct_running_mode=multi_processing

The same pipeline on a cluster: everything after `--` is passed to Beam as pipeline options,
and the workers need dendrax installed and DATA_DIR (with its `downloads/` chunk cache) on a
file system they all see (GCS through FUSE, NFS):

  ... -- --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp \
      --setup_file=./setup.py
  ... -- --runner=FlinkRunner --flink_master=HOST:8081 --environment_type=LOOPBACK
  ... -- --runner=SparkRunner --spark_master_url=spark://HOST:7077

This replaces the former `--shard=i/N` (one share of the chunks per machine): the runner now
deals the chunks out. Without `--` options the DirectRunner runs in this process.
"""

from absl import app
from absl import flags
import tensorflow_datasets as tfds

import data_builders.dendrite_sim  # pylint: disable=unused-import  (registers the builder)

_CONFIG = flags.DEFINE_string('config', 'small', 'dendrite_sim config name: tiny, small, paper.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (shared by all workers).',
                                required=True)


def beam_download_config(pipeline_args: list[str]) -> tfds.download.DownloadConfig:
  """A TFDS DownloadConfig running on Beam with `pipeline_args` (default: DirectRunner)."""
  import apache_beam as beam  # pylint: disable=g-import-not-at-top  (optional dependency)
  if pipeline_args:
    return tfds.download.DownloadConfig(
        beam_options=beam.options.pipeline_options.PipelineOptions(pipeline_args))
  return tfds.download.DownloadConfig(beam_runner=beam.runners.DirectRunner())


def build(config: str, data_dir: str, pipeline_args: list[str]) -> tfds.core.DatasetBuilder:
  """Builds `dendrite_sim/<config>` under `data_dir` on Beam; returns the prepared builder.

  Raises RuntimeError naming the split if the records written are not those the chunk cache
  holds (a runner that loses elements: `beam_generation.disable_local_runner_timed_flush`).
  """
  builder = tfds.builder(f'dendrite_sim/{config}', data_dir=data_dir, file_format='array_record')
  builder.download_and_prepare(download_config=beam_download_config(pipeline_args))
  check_record_counts(builder)
  return builder


def check_record_counts(builder: tfds.core.DatasetBuilder) -> None:
  """Raises RuntimeError naming each split whose record count differs from the chunk cache's."""
  expected = builder.expected_split_sizes()
  written = {s: builder.info.splits[s].num_examples for s in expected}
  wrong = {s: (written[s], n) for s, n in expected.items() if written[s] != n}
  if wrong:
    raise RuntimeError(
        f'dendrite_sim/{builder.builder_config.name}: the Beam build wrote '
        + ', '.join(f'{s}: {w} records where the chunk cache holds {n}'
                    for s, (w, n) in wrong.items())
        + f'. The cache {builder.cache_dir()} is complete: delete {builder.data_dir} and build '
        'without Beam, which only reads it (`pipeline.load_source` or tfds.builder(...)'
        '.download_and_prepare()).')


def main(argv):
  builder = build(_CONFIG.value, _DATA_DIR.value, list(argv[1:]))
  print(f'dendrite_sim/{_CONFIG.value}: built in {builder.data_dir} '
        f'({", ".join(f"{k}={v.num_examples}" for k, v in builder.info.splits.items())})')


if __name__ == '__main__':
  app.run(main)
