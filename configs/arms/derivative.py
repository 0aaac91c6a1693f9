r"""PIML vs DDML, arm (ii): data + the derivative-informed (DINO / Sobolev) term. Needs a
dataset with stored simulator tangents (issue 11's `dendrite_sim/medium`, not built yet).

  python launch.py --config configs/arms/derivative.py --workdir workdirs/arms/derivative_100_s0
  python launch.py --config configs/arms/derivative.py --workdir workdirs/arms/derivative_25_s1 \
      --config.data.train_split='train[:25%]' --config.seed=1

`configs/arms/data_only.py` plus `train.derivative_weight` times the relative per-parameter
mismatch between the surrogate's jvp along d cond / d ln P_k and the simulator's tangents
(dendrax/train/derivative_loss.py). It only runs once the training loop calls that term on
batches that carry the tangents (`tangents`, optionally `input_tangents`, `tangents_mask`);
until then `setup.validate_config` refuses it (setup.EXTRA_LOSS_TERMS_WIRED).
"""

from configs.arms import data_only


def get_config():
  config = data_only.get_config()
  # First guess, to be swept: the relative mismatch starts near 1 while the data loss
  # (MSE + 0.1 Dice) is ~0.01-0.1, so 0.01 puts the term at the size of the data loss.
  config.train.derivative_weight = 0.01
  return config
