r"""Zn in aqueous ZnSO4, three-stage charging, on the 64 x 64 dataset grid.

  python -m experiments.simulate --config configs/simulate_zn.py --workdir workdirs/sim_zn
"""

from configs import simulate_base
from dendrax.physics import config as sim_config


def get_config():
  config = simulate_base.get_config()
  config.sim.update(sim_config.SimulationConfig.for_dataset(chemistry='Zn').to_dict())
  config.params.ion_concentration_mol_m3 = 2000.0   # 2 M ZnSO4
  config.params.fluidity_per_pa_s = 600.0           # ~1.7 mPa s
  return config
