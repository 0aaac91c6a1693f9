"""What the three dendrax TFDS builders share: the code path and the `DatasetInfo`.

    class DendriteSim(base.DendraxBuilder):
      CITATION = base.ZHAO_CITATION
      def _description(self): ...      # text of DatasetInfo.description
      def _frame_size(self): ...       # frames are [T, frame_size, frame_size]

Every example has the dendrax trajectory schema (`dendrax.data.schema.trajectory_features`).
"""

from __future__ import annotations

import inspect

from etils import epath
import tensorflow_datasets as tfds

from dendrax.data import schema

ZHAO_CITATION = ('Zhao et al., Insights into dendritic growth mechanisms in batteries: a '
                 'combined machine learning and computational study.')


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
