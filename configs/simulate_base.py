r"""Base of the simulation configs: every SimulationConfig field and the seven parameters.

Variants (simulate_li.py, simulate_zn.py) import this file and override a few fields. Run with

  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/sim_li
  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/x \
      --config.params.temperature_k=310 --config.sim.protocol=three_stage

`config.sim` holds `dendrax.physics.simulate.SimulationConfig` fields (documented there);
`config.params` the seven physical parameters (units: `dendrax.physics.parameters`).
"""

import ml_collections

from dendrax.physics import config as sim_config


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0                       # PRNG seed: nuclei placement and Langevin noise
  # Simulator settings: the standard case (electroneutral Li, 200 um x 200 um window at 1 um,
  # three-stage charging, 0 -> 210 s).
  config.sim = ml_collections.ConfigDict(sim_config.SimulationConfig.standard().to_dict())
  config.params = ml_collections.ConfigDict(dict(
      temperature_k=298.15,                       # K
      concentration_gradient_mol_m3_per_um=5.0,   # mol m^-3 um^-1: c0 / 200 um diffusion layer
      field_strength_kv_per_m=0.2,                # kV/m: J = 1 S/m * E = 20 mA/cm^2
      ion_concentration_mol_m3=1000.0,            # mol m^-3 (1 M)
      surface_energy_j_m2=0.5,                    # J m^-2
      fluidity_per_pa_s=316.2,                    # 1/(Pa s)
      n_defects=3.0,                              # nuclei on the electrode
  ))
  config.gif_fps = 2                    # frames per second of growth.gif
  return config
