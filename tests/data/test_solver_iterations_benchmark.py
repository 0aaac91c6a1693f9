"""benchmarks/dataset_solver_iterations.py: variant parsing, the panel chunk and the summary."""

import numpy as np
import pytest

from benchmarks import dataset_solver_iterations as bench
from dendrax.physics import parameters
from dendrax.physics.config import SimulationConfig


def test_parse_variant_keeps_types():
  assert bench.parse_variant('transport_iterations=12,dt_s=0.05,dtype=float64') == {
      'transport_iterations': 12, 'dt_s': 0.05, 'dtype': 'float64'}
  with pytest.raises(ValueError, match='field=value'):
    bench.parse_variant('transport_iterations')


def test_panel_chunk_is_point_12_with_eight_keys():
  chunk = bench.panel_chunk(12, SimulationConfig.for_dataset().to_dict())
  assert len(chunk.trajectory_ids) == 8 and len(set(chunk.trajectory_ids.tolist())) == 8
  assert np.all(chunk.params == chunk.params[0])            # one point, eight noise keys
  assert parameters.PROTOCOLS[chunk.protocol] == 'constant_current'
  assert 0 < chunk.dt_s <= 0.1
  with pytest.raises(ValueError, match='panel_point 40'):
    bench.panel_chunk(40, SimulationConfig.for_dataset().to_dict())


def test_summary_excludes_violations_and_measures_against_the_last_variant(capsys):
  def row(variant, lengths, violations=None, seconds=1.0):
    return dict(group='Li-pulse', chunk=0, variant=variant, seconds=seconds, ids=[5, 6],
                splits=['test', 'ood'], length_um=lengths, violations=violations or {})
  rows = [row(0, [9.0, 1.0], {6: 'concentration: ...'}), row(1, [10.0, 5.0], seconds=2.0)]
  bench.summarize(rows, [{'transport_iterations': 4}, {'transport_iterations': 16}])
  out = capsys.readouterr().out
  # Variant 0: trajectory 6 blew up and is left out; trajectory 5 is 10 % short.
  assert '1 violating' in out and 'max  10.00 %' in out and 'time 2.00x' in out
