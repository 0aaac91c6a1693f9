r"""PIML vs DDML, arm (iii): data + a physics-consistency term for 30 s jumps (Faraday's law:
the metal deposited equals the charge passed / (z F)). CNN-2 on dendrite_sim/small.

  python launch.py --config configs/arms/physics.py --workdir workdirs/arms/physics_100_s0
  python launch.py --config configs/arms/physics.py --workdir workdirs/arms/physics_25_s1 \
      --config.data.train_split='train[:25%]' --config.seed=1

`configs/arms/data_only.py` plus `train.physics_weight` times the relative mismatch between the
predicted deposit increase and the recorded charge passed (dendrax/train/physics_loss.py),
computed by `steps.batch_loss` on the pairs' `charge_passed_c_per_m2` and `charge_per_um_c_m2`
(`pipeline.jump_charge`). One-step pairs only (train.unroll_steps = 1).
"""

from configs.arms import data_only


def get_config():
  config = data_only.get_config()
  # First guess, to be swept: the relative mismatch of an untrained (persistence) model is 1,
  # the data loss ~0.01-0.1, so 0.01 puts the term at the size of the data loss.
  config.train.physics_weight = 0.01
  return config
