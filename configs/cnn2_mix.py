r"""CNN-2 on simulated, VASP-derived and literature data in one run (docs/builders.md).

  python launch.py --config configs/cnn2_mix.py --workdir workdirs/cnn2_mix

Before it runs, build `dendrite_vasp/li` (one folder per VASP run) and `dendrite_lit` (a
manifest and its images) from your own files into the run's data dir, as docs/builders.md
("Training CNN-2 on simulated + VASP + literature data") shows; `dendrite_sim/small` is
simulated on first use if missing. All three have 64 x 64 frames; each split is the
concatenation of that split of every dataset that has it.

Rollouts are evaluated on every split, as by default: trajectories of different frame counts
(VASP runs, literature processes, 8-frame simulations) are rolled out in groups and their
metrics pooled; per-mark entries are keyed by frame time, or frame index for VASP's
femtosecond steps (docs/training.md, "Metrics").
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model_name = 'cnn2'
  config.data.name = 'dendrite_sim/small+dendrite_vasp/li+dendrite_lit'
  return config
