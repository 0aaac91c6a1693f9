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
                   drop_nonfinite: bool, with_tangents: bool = False
                   ) -> Iterator[tuple[int, dict[str, Any]]]:
  """The (key, example) pairs of `split` in one chunk, loading or simulating (and caching) it."""
  for _, arrays in generation.chunk_results([chunk], cache_dir, simulation, seed,
                                            desc=f'{split} {chunk.filename}'):
    yield from generation.examples_of_chunk(chunk, arrays, split, drop_nonfinite=drop_nonfinite,
                                            with_tangents=with_tangents)


def split_examples(chunks: Sequence[generation.Chunk], *, split: str, cache_dir: str,
                   simulation: Mapping[str, Any], seed: int, drop_nonfinite: bool = False,
                   with_tangents: bool = False):
  """The `beam.PTransform` yielding the (key, example) pairs of `split` (a TFDS split value)."""
  import apache_beam as beam  # pylint: disable=g-import-not-at-top  (optional dependency)
  mine = [c for c in chunks if split in c.splits]
  return (f'{split}_chunks' >> beam.Create(mine)
          | f'{split}_spread' >> beam.Reshuffle()
          | f'{split}_simulate' >> beam.FlatMap(
              chunk_examples, split=split, cache_dir=cache_dir, simulation=dict(simulation),
              seed=seed, drop_nonfinite=drop_nonfinite, with_tangents=with_tangents))


def uses_beam(download_config: Any) -> bool:
  """Whether `download_and_prepare` was asked to run on Beam (a runner or pipeline options)."""
  return bool(download_config is not None and (
      getattr(download_config, 'beam_runner', None) or
      getattr(download_config, 'beam_options', None)))
