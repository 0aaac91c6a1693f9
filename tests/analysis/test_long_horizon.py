"""`experiments.long_horizon` (`dendrax.analysis.horizon`): the held-out check against the checkpoint's dataset and the
per-mark table (the rollouts and scores are the shared evaluator's, tested in tests/train)."""

import numpy as np
import pytest

from dendrax.analysis import horizon as long_horizon


def _traj(tid, params, lengths):
  return {'trajectory_id': np.int64(tid), 'params': np.asarray(params, np.float32),
          'length_um': np.asarray(lengths, np.float32)}


def test_long_trajectories_must_be_the_checkpoint_datasets_own():
  short = [_traj(3, [1, 2], [0.0, 1.0, 2.0]), _traj(7, [3, 4], [0.0, 1.5, 2.5])]
  long = [_traj(7, [3, 4], [0.0, 1.5, 2.75, 4.0]), _traj(3, [1, 2], [0.0, 1.0, 2.0, 3.0])]
  assert long_horizon.matched_trajectories(long, short) == pytest.approx(0.25)
  with pytest.raises(ValueError, match='trajectory 9 of the long-horizon split is not'):
    long_horizon.matched_trajectories([_traj(9, [3, 4], [0.0])], short)
  with pytest.raises(ValueError, match='trajectory 3: parameters'):
    long_horizon.matched_trajectories([_traj(3, [1, 2.5], [0.0])], short)


def test_rows_per_mark_and_the_first_below_the_threshold():
  def entry(v):
    return {'value': v, 'ci_low': v - 0.05, 'ci_high': v + 0.05}
  marks = {f't{t:03d}s': {'n_trajectories': 4, **{k: entry(r) for k in (
      'length_r', 'length_mse_um2', 'xi_vrmse', 'deposit_iou', 'faraday_error')}}
           for t, r in ((30, 0.99), (60, 0.95), (90, 0.85), (120, 0.92))}
  marks['all'] = marks['t030s']
  rows, first = long_horizon.horizon_rows({'marks': marks}, 0.9)
  assert [r['time_s'] for r in rows] == [30, 60, 90, 120] and first == 't090s'
  assert rows[2]['length_r_ci'] == pytest.approx([0.8, 0.9])
  assert long_horizon.horizon_rows({'marks': marks}, 0.5)[1] is None
  from dendrax.analysis import plots  # pylint: disable=g-import-not-at-top
  fig = plots.horizon_figure(rows, 60.0, 0.9)
  assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == 'dendrite length R'
