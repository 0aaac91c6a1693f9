r"""(b) Electrolyte and operating point: c0, T, fluidity and surface energy (an additive's proxy).

  python -m experiments.design --config configs/design/electrolyte.py --out reports/design_el \
      --checkpoint workdirs/cnn2

Constant current 10 mA/cm^2 to Q = 0.3 mAh/cm^2 (108 s) in the dataset cell; the baseline is
the same current in the reference electrolyte (1 M, 300 K, fluidity 316 /Pa s, 0.5 J/m^2).
Bounds keep the ohmic voltage of the least conductive corner under the controller's 1 V.
"""

from configs.design import base


def get_config():
  config = base.get_config()
  config.problem.name = 'electrolyte'
  config.problem.protocol = 'constant_current'
  config.problem.variables.ion_concentration_mol_m3 = (500.0, 2000.0, 'log')
  config.problem.variables.temperature_k = (273.0, 333.0, 'linear')
  config.problem.variables.fluidity_per_pa_s = (200.0, 1000.0, 'log')
  config.problem.variables.surface_energy_j_m2 = (0.2, 1.0, 'log')
  config.problem.fixed.current_ma_cm2 = 10.0
  config.problem.fixed.n_defects = 3.0
  config.problem.charge_mah_cm2 = 0.3
  config.problem.max_time_s = 210.0
  config.problem.baseline = dict(current_ma_cm2=10.0, ion_concentration_mol_m3=1000.0,
                                 temperature_k=300.0, fluidity_per_pa_s=316.2,
                                 surface_energy_j_m2=0.5)
  config.controller.max_voltage_v = 1.0
  config.simulation.dt_s = 0.04            # migration stability at fluidity 1000, 273 K, 1 V
  return config
