"""Checkpoint evaluation: rollouts of trained surrogates on dataset splits, parity metrics.

A surrogate is rolled out autoregressively from each trajectory's first frame (t = 0) to its
last (210 s), its conditioning taken from the dataset (`pipeline.rollout_examples`). Dendrite
length is measured with `dendrax.physics.observables.dendrite_length_um` on the predicted and on
the simulated frames alike, and compared at every 30 s mark (paper, Fig. 4: R, R^2, MSE).

The rollout and metric definitions of training (`dendrax.train.evaluation`) are reused; this
module keeps the predicted frames too, because the figures need them.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections
import numpy as np

from dendrax.analysis import metrics
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.data import sources as sources_lib


@dataclasses.dataclass(frozen=True)
class Surrogate:
  """A trained model ready to roll out.

  Attributes:
    name: label in tables and figures ('CNN-1', 'CNN-2', ...).
    workdir: where it was loaded from.
    config: its training config.
    params: model weights.
    normalizer: its input normaliser.
    rollout: jitted `rollout(params, first_frame, cond_per_step, extra_per_step=None)`.
  """
  name: str
  workdir: str
  config: ml_collections.ConfigDict
  params: Any
  normalizer: normalization.Normalizer
  rollout: Callable


def load_surrogate(workdir: str, name: str, which: str = 'best') -> Surrogate:
  """Loads a checkpoint written by `train_and_evaluate` (`dendrax.train.checkpointing`)."""
  from dendrax.train import checkpointing  # pylint: disable=g-import-not-at-top
  from dendrax.train import evaluation as train_eval  # pylint: disable=g-import-not-at-top
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  config, params, normalizer = checkpointing.load_checkpoint(workdir, which)
  model = setup.build_model(config)
  rollout = jax.jit(train_eval.make_predict_fns(model).rollout)
  return Surrogate(name, workdir, config, params, normalizer, rollout)


MODEL_LABELS = {'cnn1': 'CNN-1', 'cnn2': 'CNN-2', 'concat': 'concat'}


def load_pair(checkpoint: str | None, cnn1_checkpoint: str | None = None,
              which: str = 'best') -> list[Surrogate]:
  """The surrogates given on a command line: `--checkpoint` (CNN-2), `--cnn1_checkpoint`.

  Each is labelled by its config's `model_name` ('CNN-2', 'CNN-1', 'concat'); a CNN-1 passed as
  `--checkpoint` or a CNN-2 as `--cnn1_checkpoint` raises, naming the flag.
  """
  out = []
  for flag, workdir, want in (('--checkpoint', checkpoint, ('cnn2', 'concat')),
                              ('--cnn1_checkpoint', cnn1_checkpoint, ('cnn1',))):
    if not workdir:
      continue
    s = load_surrogate(workdir, '', which)
    if s.config.model_name not in want:
      raise ValueError(f'{flag} {workdir!r} holds model_name={s.config.model_name!r}; '
                       f'expected one of {want}')
    out.append(dataclasses.replace(s, name=MODEL_LABELS[s.config.model_name]))
  return out


@dataclasses.dataclass(frozen=True)
class SplitPredictions:
  """Rollouts of one surrogate on one split; arrays have a leading [N] trajectory axis.

  Attributes:
    trajectory_id: [N].
    time_s: [T].
    true_xi, pred_xi: [N, T, H, W].
    true_length_um, pred_length_um: [N, T] (`dendrite_length_um` on each frame).
    stage: [N, T].
    pixel_size_um: [N].
    rollout_s_per_trajectory: wall time of the rollouts (after compilation) / N.
  """
  trajectory_id: np.ndarray
  time_s: np.ndarray
  true_xi: np.ndarray
  pred_xi: np.ndarray
  true_length_um: np.ndarray
  pred_length_um: np.ndarray
  stage: np.ndarray
  pixel_size_um: np.ndarray
  rollout_s_per_trajectory: float


def _length_fn():
  from dendrax.physics import observables  # pylint: disable=g-import-not-at-top
  return jax.jit(jax.vmap(jax.vmap(observables.dendrite_length_um, in_axes=(0, None, None))))


def predict_split(surrogate: Surrogate, source: Any, *, max_trajectories: int = 0,
                  batch_size: int = 16) -> SplitPredictions:
  """Rolls `surrogate` out on the first `max_trajectories` (0: all) trajectories of `source`.

  Parameters the surrogate was trained without (`config.data.masked_parameters`) enter its
  conditioning as missing, as in training.
  """
  from dendrax.train import evaluation as train_eval  # pylint: disable=g-import-not-at-top
  masked = tuple(surrogate.config.data.get('masked_parameters', ()))
  examples = pipeline.rollout_examples(sources_lib.mask_parameters(source, masked),
                                       surrogate.normalizer,
                                       tuple(surrogate.config.data.input_fields))
  n = len(examples) if not max_trajectories else min(len(examples), max_trajectories)
  if n == 0:
    raise ValueError('predict_split: the split holds no trajectories')
  items = [examples[i] for i in range(n)]
  traj = train_eval.stack_trajectories(items)
  lengths = _length_fn()
  preds, pred_len, true_len = [], [], []
  # Compile for every batch shape first (a full batch and the remainder), then time rollouts.
  for size in sorted({min(batch_size, n), n % batch_size} - {0}):
    first = slice(0, size)
    jax.block_until_ready(surrogate.rollout(surrogate.params, traj['fields'][first, 0],
                                            traj['cond'][first], _extra(traj, first)))
  elapsed = 0.0
  for start in range(0, n, batch_size):
    sl = slice(start, start + batch_size)
    t0 = time.perf_counter()
    xi = np.asarray(surrogate.rollout(surrogate.params, traj['fields'][sl, 0], traj['cond'][sl],
                                      _extra(traj, sl)))
    elapsed += time.perf_counter() - t0
    ps, eh = traj['pixel_size_um'][sl], traj['electrode_height_um'][sl]
    preds.append(xi)
    pred_len.append(np.asarray(lengths(xi, ps, eh)))
    true_len.append(np.asarray(lengths(traj['xi'][sl], ps, eh)))
  return SplitPredictions(
      trajectory_id=np.array([int(e['trajectory_id']) for e in items]),
      time_s=traj['time_s'][0], true_xi=traj['xi'], pred_xi=np.concatenate(preds),
      true_length_um=np.concatenate(true_len), pred_length_um=np.concatenate(pred_len),
      stage=np.stack([np.asarray(e['stage']) for e in items]),
      pixel_size_um=traj['pixel_size_um'],
      rollout_s_per_trajectory=elapsed / n)


def _extra(traj, sl):
  """True non-xi input channels at each step (as training's evaluation feeds them), or None."""
  fields = traj['fields'][sl]
  return fields[:, :-1, ..., 1:] if fields.shape[-1] > 1 else None


def length_metrics(pred: SplitPredictions) -> dict[str, Any]:
  """{'all': pooled over marks after t = 0, 'per_mark': {'30s': ..., ...}} of dendrite length."""
  truth, guess = pred.true_length_um[:, 1:], pred.pred_length_um[:, 1:]
  return {'all': metrics.regression_metrics(truth, guess),
          'per_mark': metrics.per_mark_metrics(truth, guess, pred.time_s[1:]),
          'rollout_s_per_trajectory': pred.rollout_s_per_trajectory,
          'num_trajectories': int(pred.trajectory_id.shape[0])}


def evaluate(surrogates: Sequence[Surrogate], sources: Mapping[str, Any], *,
             max_trajectories: int = 0, batch_size: int = 16
             ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, SplitPredictions]]]:
  """Length metrics and predictions of every surrogate on every split.

  Returns:
    ({model name: {split: length_metrics}}, {model name: {split: SplitPredictions}}).
  """
  results, preds = {}, {}
  for s in surrogates:
    results[s.name], preds[s.name] = {}, {}
    for split, source in sources.items():
      p = predict_split(s, source, max_trajectories=max_trajectories, batch_size=batch_size)
      preds[s.name][split] = p
      results[s.name][split] = length_metrics(p)
  return results, preds


def comparison_rows(results: Mapping[str, Mapping[str, Any]], splits: Sequence[str]
                    ) -> list[dict[str, Any]]:
  """Table rows (model, split, R, R^2, MSE, n, seconds per trajectory) from metric dicts."""
  rows = []
  for model, per_split in results.items():
    for split in splits:
      if split not in per_split:
        continue
      m = per_split[split]
      allm = m['all'] if 'all' in m else m['metrics']
      rows.append({'model': model, 'split': split, 'R': allm['r'], 'R2': allm['r2'],
                   'MSE_um2': allm['mse'], 'n': allm['n'],
                   's_per_trajectory': m.get('rollout_s_per_trajectory',
                                             m.get('predict_s_per_trajectory'))})
  return rows


def pick_trajectory(pred: SplitPredictions, quantile: float = 0.5) -> int:
  """Index of the trajectory whose final simulated length is nearest the given quantile."""
  final = pred.true_length_um[:, -1]
  target = np.nanquantile(final, quantile)
  return int(np.nanargmin(np.abs(final - target)))


def frame_index(time_s: np.ndarray, t: float) -> int:
  """Index of the frame at time `t` (s); raises naming the available marks."""
  hits = np.flatnonzero(np.isclose(time_s, t))
  if not hits.size:
    raise ValueError(f'no frame at t={t} s; frames at {np.asarray(time_s).tolist()}')
  return int(hits[0])
