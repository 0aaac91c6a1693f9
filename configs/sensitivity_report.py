r"""Settings of `experiments.sensitivity_report` (exact elasticities: simulator vs CNN-2).

  python -m experiments.sensitivity_report --checkpoint workdirs/cnn2 --out reports/sensitivity
  python -m experiments.sensitivity_report --out reports/sens --config.protocol=constant_current \
      --config.sim_overrides='nx=32,ny=32,t_end_s=60'

`--config` defaults to this file; flags are only for paths.
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  # The seven physical parameters, in dendrax.physics.parameters.PARAMETER_NAMES order:
  # temperature_k, concentration_gradient_mol_m3_per_um, field_strength_kv_per_m,
  # ion_concentration_mol_m3, surface_energy_j_m2, fluidity_per_pa_s, n_defects.
  # The middle of dendrite_sim 2.x's box (log-scale parameters at their geometric middle):
  # 298 K, 5.5 mol/m^3/um, 0.05 kV/m = 5 mA/cm^2, 707 mol/m^3, 0.447 J/m^2, 316.2 /(Pa s), 4.
  config.params = (298.0, 5.5, 0.05, 707.1, 0.447, 316.2, 4.0)
  config.chemistry = 'Li'                # Li | Zn
  config.protocol = 'three_stage'        # charging protocol (three_stage has all three stages)
  config.seed = 0                        # noise key of the simulation, shared by every run
  config.fd_rel_step = 0.01              # relative step dP/P of the reported FD column
  config.fd_scheme = 'forward'           # forward (the paper's formula) | central
  config.accuracy_steps = (0.01, 0.001)  # relative steps of the FD accuracy / cost comparison
  config.sim_overrides = ''              # SimulationConfig overrides, 'key=value,key=value'
  config.float64 = True                  # differentiate in float64 (clean FD checks)
  config.time_reverse = True             # also time reverse mode (jax.vjp) for the overall length
  return config
