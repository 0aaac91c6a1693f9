r"""The published cation-only model (Hong & Viswanathan 2018): Li at -0.45 V over 200 um.

  python -m experiments.simulate --config configs/simulate_hong2018.py --workdir workdirs/sim_hong

Kept for comparison: its currents (~100-900 mA/cm^2) and concentrations are outside what a cell
sees (docs/physics.md, "Why Physics 2.0"); deviations from the MOOSE input in docs/hong2018.md.
"""

from configs import simulate_base
from dendrax.physics import config as sim_config


def get_config():
  config = simulate_base.get_config()
  config.sim = type(config.sim)(sim_config.SimulationConfig.hong2018().to_dict())
  config.params.temperature_k = 300.0
  config.params.concentration_gradient_mol_m3_per_um = 0.0
  config.params.field_strength_kv_per_m = 2.25     # -0.45 V over 200 um
  return config
