"""A bad INCAR tag is blamed on the file that holds it, not on the trajectory file (issue 13)."""

import os

import pytest

from dendrax.data import vasp
from tests.data import test_dendrite_vasp as base


@pytest.mark.parametrize('value', ['hot', 'nan', 'inf'])
def test_bad_tebeg_names_the_incar_not_the_xdatcar(value, tmp_path):
  d, slab, _ = base._growing_li_run(str(tmp_path))       # pylint: disable=protected-access
  with open(os.path.join(d, 'INCAR'), 'w') as f:
    f.write(f'TEBEG = {value}\nPOTIM = 1.5\n')
  run = vasp.read_run(d)
  assert run.path.endswith('XDATCAR')
  proj = vasp.make_projection(slab, 'Li', frame_size=64, radius_a=1.28)
  with pytest.raises(vasp.VaspReadError, match=r'INCAR: TEBEG') as info:
    vasp.run_parameters(run, 'Li', proj, ion_species='Li', layer_gap_a=1.0)
  assert 'XDATCAR' not in str(info.value)


def test_vasprun_tags_are_blamed_on_vasprun(tmp_path):
  d = base._run_dir(str(tmp_path), 'ti', base.TI_VASPRUN)  # pylint: disable=protected-access
  run = vasp.read_run(d)
  assert run.incar_sources['TEBEG'] == run.path and run.path.endswith('vasprun.xml')
