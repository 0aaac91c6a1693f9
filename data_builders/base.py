"""What the three dendrax TFDS builders share: the code path and the `DatasetInfo`.

    class DendriteSim(base.DendraxBuilder):
      CITATION = base.ZHAO_CITATION
      def _description(self): ...      # text of DatasetInfo.description
      def _frame_size(self): ...       # frames are [T, frame_size, frame_size]

Every example has the dendrax trajectory schema (`dendrax.data.schema.trajectory_features`).
"""

from __future__ import annotations

import importlib.util
import inspect

from etils import epath
import tensorflow_datasets as tfds

from dendrax.data import schema

ZHAO_CITATION = ('Zhao et al., Insights into dendritic growth mechanisms in batteries: a '
                 'combined machine learning and computational study.')


# The plain (non-Beam) writer shuffles a split in memory up to TFDS's MAX_MEM_BUFFER_SIZE (1 GB)
# and spills beyond it through tf.io.gfile, which needs TensorFlow: `medium_tangents`' train
# split (~1.2 GB serialised) failed there with "No module named 'tensorflow'". Without TensorFlow
# the whole split is shuffled in memory instead (`paper`'s train split: ~2 GB).
IN_MEMORY_SHUFFLE_BYTES = 16 << 30


def allow_large_in_memory_shuffle() -> None:
  """Raises TFDS's in-memory shuffle limit to `IN_MEMORY_SHUFFLE_BYTES` when TensorFlow, which
  its on-disk path needs, is not installed; with TensorFlow TFDS's own limit stays."""
  if importlib.util.find_spec('tensorflow') is None:
    from tensorflow_datasets.core import shuffle  # pylint: disable=g-import-not-at-top
    shuffle.MAX_MEM_BUFFER_SIZE = max(shuffle.MAX_MEM_BUFFER_SIZE, IN_MEMORY_SHUFFLE_BYTES)


class DendraxBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A builder of trajectories in the dendrax schema (not a dataset itself)."""

  CITATION = ''
  HOMEPAGE = ''
  # A `MetadataDict` for reports written while building (skipped runs, ...), or not.
  HAS_METADATA = False

  # TFDS 4.9.10 looks up a packaged builder's code through the `importlib_resources` backport,
  # which it declares only for Python < 3.9; name the builder's own file directly instead.
  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    return epath.Path(inspect.getfile(cls))

  def _download_and_prepare(self, dl_manager, download_config=None):
    allow_large_in_memory_shuffle()
    return super()._download_and_prepare(dl_manager, download_config)

  # The two hooks each concrete builder (dendrite_sim, dendrite_vasp, dendrite_lit) overrides;
  # not abc.abstractmethod because TFDS registers builder classes through its own metaclass.
  def _description(self) -> str:
    """The dataset description shown by TFDS (config name, sizes, settings)."""
    raise NotImplementedError(f'{type(self).__name__} must override _description')

  def _frame_size(self) -> int:
    """Frame side in cells (square frames)."""
    raise NotImplementedError(f'{type(self).__name__} must override _frame_size')

  def _has_tangents(self) -> bool:
    """Whether examples carry the simulator's tangents (`schema.trajectory_features`)."""
    return False

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, description=self._description(),
        features=schema.trajectory_features(self._frame_size(), self._has_tangents()),
        homepage=self.HOMEPAGE or None, citation=self.CITATION,
        metadata=tfds.core.MetadataDict() if self.HAS_METADATA else None)
