"""Data-parallel placement of numpy batches on all local devices.

A batch is split along its leading axis over a 1-D mesh with axis name 'data'
(`NamedSharding(mesh, P('data'))`), the modern form of pmap's per-device batches: a `jax.jit`
train step over such inputs runs data-parallel, with the model state replicated.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = 'data'


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """1-D mesh over `devices` (default: all local devices) with axis `DATA_AXIS`."""
  devices = list(devices or jax.local_devices())
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Sharding that splits the leading (batch) axis over the mesh's 'data' axis."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def shard_batch(batch: Any, mesh: Mesh) -> Any:
  """numpy batch (pytree of [B, ...] arrays) -> jax arrays sharded along B over `mesh`.

  Raises:
    ValueError naming the entry whose leading dimension is not a multiple of the device count.
  """
  n = mesh.shape[DATA_AXIS]
  sharding = batch_sharding(mesh)

  def put(path, x):
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[0] % n:
      raise ValueError(f'batch entry {jax.tree_util.keystr(path)} has shape {x.shape}; its '
                       f'leading dimension must be a multiple of the {n} devices of the mesh')
    return jax.device_put(x, sharding)

  return jax.tree_util.tree_map_with_path(put, batch)
