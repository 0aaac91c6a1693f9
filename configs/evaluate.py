r"""Settings of `experiments.evaluate` (checkpoint evaluation: metrics, parity, morphology, video).

  python -m experiments.evaluate --checkpoint workdirs/cnn2 --cnn1_checkpoint workdirs/cnn1 \
      --out reports/eval
  python -m experiments.evaluate --checkpoint workdirs/cnn2 --out reports/eval \
      --config.figures.trajectory_id=134 --config.which=latest

`--config` defaults to this file; flags are only for paths (checkpoints, --out, --data_dir).
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.which = 'best'                  # checkpoint of each workdir: best (selected on validation) | latest
  config.build_data = False            # build the dataset if no folder holds it (else an error says how)
  config.splits = ('train', 'validation', 'test', 'ood')  # evaluated (those the dataset has)
  config.max_trajectories = 0            # per split; 0 = all
  config.batch_size = 16                 # trajectories per rollout call
  config.teacher_forcing = False         # True: true non-xi input fields at every step (labelled in the outputs)
  config.bootstrap_samples = 1000        # resamples of the trajectories for the 95 % intervals
  config.bootstrap_seed = 0              # same seed as training's evaluation: the same resamples

  config.figures = ml_collections.ConfigDict()
  config.figures.enabled = True
  config.figures.parity_splits = ('train', 'validation', 'test', 'ood')  # panels (those evaluated)
  config.figures.morphology_split = 'test'
  config.figures.morphology_times_s = (30.0, 120.0, 210.0)  # rows of the morphology map
  config.figures.trajectory_id = -1      # trajectory of the map and video; -1: pick by quantile
  config.figures.rank_by = 'roughness'   # ... ranked by final interface length / width | 'length'
  config.figures.quantile = 0.9          # ... the one nearest this quantile of the ranking
  config.figures.video_start_s = 0.0     # first frame of the video
  config.figures.video_format = 'gif'    # gif | mp4
  return config
