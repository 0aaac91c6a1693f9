"""The data-parallel mesh and the batch sharding over it.

A batch is split along its leading axis over a 1-D mesh with axis name 'data'
(`NamedSharding(mesh, P('data'))`), the modern form of pmap's per-device batches: a `jax.jit`
train step over such inputs runs data-parallel, with the model state replicated. Placing a
batch (on one host or several) is `dendrax.train.steps.shard_batch`.
"""

from __future__ import annotations

from typing import Sequence

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

