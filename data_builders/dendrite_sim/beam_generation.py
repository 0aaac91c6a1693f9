"""`dendrite_sim` generation on Apache Beam: one simulation batch (a `Chunk`) per Beam element.

TFDS builds a split from a `beam.PTransform` when `download_and_prepare` is given a Beam runner
or pipeline options (`tfds.download.DownloadConfig(beam_runner=..., beam_options=...)`); the
builder then returns `split_examples` for each split instead of a Python generator. The
pipeline of a split is

    Create(chunks holding the split) -> Reshuffle -> FlatMap(load or simulate, cache, examples)

so the runner spreads the simulation batches over its workers: the DirectRunner on this
machine, Dataflow, Flink or Spark unchanged (docs/data.md gives the commands). A worker reads a
chunk from the chunk cache when present, otherwise simulates it and caches it
(`generation.chunk_results`), so a killed pipeline resumes from the finished chunks, and the
records are identical to the plain build's: the same chunks, the same keys, the same examples.
On several machines the cache folder (TFDS `download_dir`) must be shared by the workers
(NFS, GCS FUSE). A chunk holding trajectories of several splits is read by several split
pipelines; with the cache, only the first simulates it (concurrent workers may simulate it
twice; both write the same file atomically).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

from data_builders.dendrite_sim import generation


def chunk_examples(chunk: generation.Chunk, *, split: str, cache_dir: str,
                   simulation: Mapping[str, Any], seed: int,
                   drop_nonfinite: bool, with_tangents: bool = False,
                   plain_dirs: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
  """The (key, example) pairs of `split` in one chunk, loading or simulating (and caching) it."""
  for _, arrays in generation.chunk_results([chunk], cache_dir, simulation, seed,
                                            desc=f'{split} {chunk.filename}',
                                            plain_dirs=plain_dirs):
    yield from generation.examples_of_chunk(chunk, arrays, split, drop_nonfinite=drop_nonfinite,
                                            with_tangents=with_tangents)


def split_examples(chunks: Sequence[generation.Chunk], *, split: str, cache_dir: str,
                   simulation: Mapping[str, Any], seed: int, drop_nonfinite: bool = False,
                   with_tangents: bool = False, plain_dirs: Sequence[str] = ()):
  """The `beam.PTransform` yielding the (key, example) pairs of `split` (a TFDS split value)."""
  import apache_beam as beam  # pylint: disable=g-import-not-at-top  (optional dependency)
  disable_local_runner_timed_flush()
  mine = [c for c in chunks if split in c.splits]
  return (f'{split}_chunks' >> beam.Create(mine)
          | f'{split}_spread' >> beam.Reshuffle()
          | f'{split}_simulate' >> beam.FlatMap(
              chunk_examples, split=split, cache_dir=cache_dir, simulation=dict(simulation),
              seed=seed, drop_nonfinite=drop_nonfinite, with_tangents=with_tangents,
              plain_dirs=list(plain_dirs)))


def disable_local_runner_timed_flush() -> None:
  """Works around silent record loss in Beam's local runner (DirectRunner multi_processing or
  multi_threading; apache-beam 2.77.0).

  The runner sends each bundle's input to a worker through
  `data_plane.TimeBasedBufferingClosableOutputStream` (`worker_handlers.DATA_BUFFER_TIME_LIMIT_MS`
  = 1000): its flush thread does get(); send; clear() while the writer keeps writing, unlocked,
  so blocks written in between are dropped without an error. It bites when one bundle's input
  takes over a second to write: TFDS's shard assignment of `medium`'s train split (~190 MB)
  lost 63 of 986 records on this busy 2-core machine. 0 selects the size-buffered stream (no
  flush thread); read when the pipeline starts its data server, i.e. after this runs. Other
  runners do not read it.
  """
  try:
    from apache_beam.runners.portability.fn_api_runner import worker_handlers  # pylint: disable=g-import-not-at-top
  except ImportError:
    return
  worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0


def uses_beam(download_config: Any) -> bool:
  """Whether `download_and_prepare` was asked to run on Beam (a runner or pipeline options)."""
  return bool(download_config is not None and (
      getattr(download_config, 'beam_runner', None) or
      getattr(download_config, 'beam_options', None)))
