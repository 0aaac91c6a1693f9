r"""Li metal, constant -0.45 V over 200 um x 200 um at 1 um, 0 -> 210 s (the standard case).

  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/sim_li

Quick look on the dataset grid (64 x 64, ~1 min):

  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/sim_li64 \
      --config.sim.nx=64 --config.sim.ny=64 --config.sim.dx_um=3.125 \
      --config.sim.interface_width_um=7.8 --config.sim.electrode_height_um=12.5 \
      --config.sim.defect_radius_um=7.0 --config.sim.dt_s=0.05
"""

from configs import simulate_base


def get_config():
  config = simulate_base.get_config()
  config.sim.chemistry = 'Li'
  config.sim.protocol = 'constant_voltage'
  return config
