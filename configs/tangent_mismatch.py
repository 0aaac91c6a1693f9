r"""Settings of `experiments.tangent_mismatch` (surrogate jvp against stored simulator tangents).

  python -m experiments.tangent_mismatch --checkpoint W --out D
  python -m experiments.tangent_mismatch --checkpoint W --out D --config.splits='("test",)'

`--config` defaults to this file; flags are only for paths.
"""

import ml_collections


def get_config():
  c = ml_collections.ConfigDict()
  c.dataset = 'dendrite_sim/small_tangents'   # a dataset with xi_tangent (its frames are the
                                             # checkpoint's own dataset's, e.g. small's)
  c.splits = ('validation', 'test')          # scored splits (pairs of trajectories with tangents)
  c.floor = 1e-2                             # RMS tangent per pixel counted as insensitive (the loss's)
  c.batch_size = 16                          # pairs per jvp batch
  return c
