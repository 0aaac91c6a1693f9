"""The example format shared by every dendrax dataset (simulated, VASP-derived, literature).

One example is one growth process (a trajectory). All builders use `trajectory_features`, so the
input pipeline and `launch.py` train on any of them by changing the dataset name in a config.

Layout of a frame: [H, W] = [y, x] with y = 0 the electrode side and y = H-1 the bulk electrolyte,
growth towards increasing y; figures use `origin='lower'`, so the electrode is at the bottom of
every picture. `pixel_size_um` gives the scale; `electrode_height_um` is the height of the initial
flat electrode surface, so dendrite length = front height - electrode_height_um.

Fields a source does not have are filled with NaN (scalars, observables) or zeros (maps), and the
matching `*_missing` / `has_fields` flags say so; the pipeline never trains on a missing value.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from dendrax.physics import parameters

# Keys of per-frame observables, each a [T] float32 vector (NaN where unknown).
OBSERVABLE_KEYS: tuple[str, ...] = (
    'length_um',          # dendrite length: deposit front height above the initial electrode
    'density',            # deposit area fraction above the initial electrode
    'branches',           # number of branches / tips
    'interface_length_um',  # length of the xi = 1/2 contour
    'charge_c_per_m2',    # charge passed per electrode area since t = 0
)
FRAME_INTERVAL_S = 30.0    # frames are saved every 30 s of simulated time (paper's marks)
NUM_FRAMES = 8             # 0, 30, ..., 210 s


def trajectory_features(frame_size: int, tangents: bool = False) -> tfds.features.FeaturesDict:
  """TFDS features of one trajectory on a `frame_size` x `frame_size` grid.

  With `tangents`, also `xi_tangent` [T, K, H, W] float16: the simulator's d xi / d ln P_k for
  P_k in `parameters.CONTINUOUS_PARAMETERS` (`simulate.rollout_with_tangents`), zeros where
  `has_tangents` is False (a dataset may store them for a documented subset).
  """
  hw = (None, frame_size, frame_size)
  extra = {}
  if tangents:
    extra = {'xi_tangent': tfds.features.Tensor(
                 shape=(None, len(parameters.CONTINUOUS_PARAMETERS), frame_size, frame_size),
                 dtype=np.float16),
             'has_tangents': np.bool_}
  return tfds.features.FeaturesDict({
      'trajectory_id': np.int64,            # unique within a dataset, stable across builds
      'source': tfds.features.Text(),       # 'sim', or a file / DOI for real data
      'chemistry': tfds.features.ClassLabel(names=list(parameters.CHEMISTRIES)),
      'protocol': tfds.features.ClassLabel(names=list(parameters.PROTOCOLS) + ['unknown']),
      # The seven physical parameters in physical units, `parameters.PARAMETER_NAMES` order.
      'params': tfds.features.Tensor(shape=(parameters.NUM_PARAMETERS,), dtype=np.float32),
      'params_missing': tfds.features.Tensor(shape=(parameters.NUM_PARAMETERS,), dtype=np.bool_),
      'pixel_size_um': np.float32,
      'electrode_height_um': np.float32,
      'time_s': tfds.features.Tensor(shape=(None,), dtype=np.float32),
      'stage': tfds.features.Tensor(shape=(None,), dtype=np.int32),   # index into STAGES; -1 unknown
      'xi': tfds.features.Tensor(shape=hw, dtype=np.float32),         # deposit order parameter/mask
      'has_fields': np.bool_,               # False: concentration/potential are zeros
      'concentration': tfds.features.Tensor(shape=hw, dtype=np.float32),  # c / c0
      'potential_v': tfds.features.Tensor(shape=hw, dtype=np.float32),
      **{k: tfds.features.Tensor(shape=(None,), dtype=np.float32) for k in OBSERVABLE_KEYS},
      **extra,
  })
