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
  from dendrax.analysis import fidelity
  settings = SimulationConfig.for_dataset().to_dict()
  chunk = bench.panel_chunk(12, settings)
  point = fidelity.panel(32, 2026)[12]
  assert len(chunk.trajectory_ids) == 8
  np.testing.assert_allclose(chunk.params[3], point.params)
  assert parameters.CHEMISTRIES[chunk.chemistry] == point.chemistry == 'Li'
  assert parameters.PROTOCOLS[chunk.protocol] == point.protocol == 'constant_current'
  group = fidelity.group_configs(fidelity.panel(32, 2026), settings, float64=False, overrides={})
  assert chunk.dt_s == group[('Li', 'constant_current')].dt_s
  with pytest.raises(ValueError, match='panel_point 40'):
    bench.panel_chunk(40, SimulationConfig.for_dataset().to_dict())


def test_summary_excludes_violations_and_measures_against_the_last_variant(capsys):
  def row(group, variant, lengths, violations=None, seconds=1.0):
    return dict(group=group, chunk=0, variant=variant, seconds=seconds, ids=[5, 6],
                splits=['test', 'ood'], length_um=lengths, violations=violations or {})
  # Violation keys as they come back from the JSON file (strings); in group B the reference
  # variant itself loses trajectory 5, so only 6 is compared there.
  rows = [row('A', 0, [9.0, 1.0], {'6': 'concentration: ...'}),
          row('A', 1, [10.0, 5.0], seconds=2.0),
          row('B', 0, [1.0, 4.0]),
          row('B', 1, [7.0, 5.0], {'5': 'NaN'}, seconds=2.0)]
  bench.summarize(rows, [{'transport_iterations': 4}, {'transport_iterations': 16}])
  lines = capsys.readouterr().out.splitlines()
  first = lines[lines.index("variant 0 {'transport_iterations': 4}") + 1:][:3]
  a, b, both = first
  assert 'A ' in a and '1 violating' in a and 'max  10.00 %' in a    # 5: 9 against 10
  assert 'B ' in b and '0 violating' in b and 'max  20.00 %' in b    # 6: 4 against 5
  assert 'all' in both and '1 violating' in both and 'max  20.00 %' in both
  assert 'median 15.00 %' in both and 'time 1.00x' in both
  assert 'time 2.00x' in lines[-1]
