r"""Rollouts beyond the training horizon: length R and xi VRMSE against time, to 420 s.

  python -m experiments.long_horizon --checkpoint workdirs/cnn2 --out reports/long_horizon

The checkpoint (trained on 30 s jumps of 0-210 s trajectories, e.g. `dendrite_sim/small`) is
rolled out autoregressively from the first simulated frame over `dendrite_sim/small_long`: the
same held-out trajectories (ids, parameters, noise, time step) simulated to 420 s. Every mark
(30 s ... 420 s) is scored by the shared evaluator (`dendrax.train.evaluation.score`: R, R^2,
MSE, VRMSE, IoU, Faraday error, each with a 95 % bootstrap interval over trajectories), and the
first mark whose length R falls below `r_threshold` is reported. Beyond 210 s the surrogate
extrapolates in time: it never saw such frames (nor, under constant voltage or three stages, the
currents that late).

Before scoring, the long trajectories are checked against the checkpoint's own dataset split:
same ids and parameters (else an error names the trajectory), and the largest length difference
over the shared 0-210 s frames is reported (the two builds batch differently, so float32
rounding, amplified by growth, may differ a little). Writes `D/long_horizon.json`, `D/
long_horizon.png` (R and VRMSE against time, the training horizon marked) and prints the table.
"""

import os

from absl import app
from absl import flags
from ml_collections import config_flags
import numpy as np

from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'long_horizon.py'), 'Settings.', lock_config=True)
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 / CNN-1 / concat workdir.')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir.')
flags.mark_flags_as_required(['checkpoint', 'out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.analysis import evaluation  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import horizon  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import plots  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import report  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  from dendrax.train import evaluation as ev  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  surrogate = evaluation.load_surrogate(_CHECKPOINT.value)
  long_source = pipeline.load_source(c.dataset, c.split, _DATA_DIR.value)
  short_source = pipeline.load_source(surrogate.config.data.name, c.split, _DATA_DIR.value)
  shared_diff = horizon.matched_trajectories(long_source, short_source)
  training_horizon = float(np.max(short_source[0]['time_s']))
  examples = evaluation.rollout_examples(surrogate, long_source)
  rollouts = ev.roll_out(surrogate.rollout, surrogate.params, examples,
                         batch_size=c.batch_size, timed=True)
  result = ev.score(rollouts, threshold=surrogate.config.eval.get('mask_threshold', 0.5),
                    bootstrap_samples=c.bootstrap_samples, seed=c.bootstrap_seed)
  rows, first_below = horizon.horizon_rows(result, c.r_threshold)
  os.makedirs(_OUT.value, exist_ok=True)
  out = {'settings': {**c.to_dict(), 'checkpoint': _CHECKPOINT.value,
                      'checkpoint_step': surrogate.step,
                      'trained_on': surrogate.config.data.name},
         'training_horizon_s': training_horizon,
         'max_length_difference_shared_frames_um': shared_diff,
         'first_mark_below_threshold': first_below, 'marks': rows, 'score': result}
  report.write_json(os.path.join(_OUT.value, 'long_horizon.json'), out)
  plots.save(plots.horizon_figure(rows, training_horizon, c.r_threshold),
             os.path.join(_OUT.value, 'long_horizon.png'))
  print(f'{surrogate.name} (step {surrogate.step}) on {c.dataset}/{c.split}: '
        f'{result["num_trajectories"]} trajectories; training horizon {training_horizon:.0f} s; '
        f'shared frames differ from {surrogate.config.data.name} by at most '
        f'{shared_diff:.3g} um in length')
  print(f'{"mark":>6} {"R [95 %]":>24} {"MSE um^2":>9} {"VRMSE [95 %]":>24} {"IoU":>6}')
  for r in rows:
    ci = lambda k: f'{r[k]:.3f} [{r[k + "_ci"][0]:.3f}, {r[k + "_ci"][1]:.3f}]'
    print(f'{r["mark"]:>6} {ci("length_r"):>24} {r["length_mse_um2"]:9.3f} '
          f'{ci("xi_vrmse"):>24} {r["deposit_iou"]:6.3f}')
  print(f'first mark with R < {c.r_threshold}: {first_below or "none"}')


if __name__ == '__main__':
  app.run(main)
