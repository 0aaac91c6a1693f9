r"""Li metal in 1 M LiPF6, three-stage charging at 20 mA/cm^2 (CV at -0.3 V), 200 um window.

  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/sim_li

Quick look on the dataset grid (64 x 64 at 1 um, ~1 min):
  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/sim_li64 \
      --config.sim.nx=64 --config.sim.ny=64
Pulse charging (1 s on at 2 J, 1 s rest):
  python -m experiments.simulate --config configs/simulate_li.py --workdir workdirs/sim_pulse \
      --config.sim.protocol=pulse
"""

from configs import simulate_base


def get_config():
  config = simulate_base.get_config()
  config.sim.chemistry = 'Li'
  config.sim.protocol = 'three_stage'
  return config
