r"""CNN-2 on simulated, VASP-derived and literature data in one run (docs/builders.md).

  python launch.py --config configs/cnn2_mix.py --workdir workdirs/cnn2_mix

Before it runs, build `dendrite_vasp/li` (one folder per VASP run) and `dendrite_lit` (a
manifest and its images) from your own files into the run's data dir, as docs/builders.md
("Training CNN-2 on simulated + VASP + literature data") shows; `dendrite_sim/small` is
simulated on first use if missing. All three have 64 x 64 frames; each split is the
concatenation of that split of every dataset that has it.

Rollouts are evaluated on `ood` only (simulated data alone): rollout evaluation stacks the
trajectories of a split and needs one frame count per split, while VASP runs and literature
processes rarely have the 8 frames of simulated trajectories.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model_name = 'cnn2'
  config.data.name = 'dendrite_sim/small+dendrite_vasp/li+dendrite_lit'
  config.eval.rollout_splits = ('ood',)   # see the docstring: one frame count per split
  return config
