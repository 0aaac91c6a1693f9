"""Trained checkpoints as surrogates for analysis: load them, evaluate them on dataset splits.

Rolling out and scoring is `dendrax.train.evaluation`, the one evaluation module (the same
rollout function, metrics and bootstrap intervals as training's own evaluation and checkpoint
selection). This module loads checkpoints (`load_surrogate`, `load_pair`), prepares a split for
a surrogate (its normaliser, input fields and masked parameters: `rollout_examples`) and applies
that module to every surrogate and split (`evaluate`), keeping the rollouts for the figures.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections
import numpy as np

from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.data import sources as sources_lib
from dendrax.physics import observables
from dendrax.train import evaluation as ev

MODEL_LABELS = {'cnn1': 'CNN-1', 'cnn2': 'CNN-2', 'concat': 'concat', 'cnext': 'CNextU-Net',
                'fno': 'FNO'}
# The models that see the physical parameters: what `--checkpoint` takes.
CONDITIONED_MODELS = ('cnn2', 'concat', 'cnext', 'fno')


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
    step: the checkpoint step loaded (-1 if unknown).
  """
  name: str
  workdir: str
  config: ml_collections.ConfigDict
  params: Any
  normalizer: normalization.Normalizer
  rollout: Callable
  step: int = -1


def load_surrogate(workdir: str, name: str = '', which: str = 'best') -> Surrogate:
  """Loads a checkpoint written by `train_and_evaluate`; `name` defaults to the model's label."""
  from dendrax.train import checkpointing  # pylint: disable=g-import-not-at-top
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  step, config, params, normalizer = checkpointing.load_checkpoint_step(workdir, which)
  rollout = jax.jit(ev.make_predict_fns(setup.build_model(config)).rollout)
  return Surrogate(name or MODEL_LABELS.get(config.model_name, config.model_name), workdir,
                   config, params, normalizer, rollout, int(step))


def load_pair(checkpoint: str | None, cnn1_checkpoint: str | None = None,
              which: str = 'best') -> list[Surrogate]:
  """The surrogates given on a command line: `--checkpoint` (a model that sees the physical
  parameters: CNN-2, concat, CNextU-Net or FNO) and `--cnn1_checkpoint`.

  Each is labelled by its config's `model_name` (`MODEL_LABELS`); a CNN-1 passed as
  `--checkpoint` or a CNN-2 as `--cnn1_checkpoint` raises, naming the flag.
  """
  out = []
  for flag, workdir, want in (('--checkpoint', checkpoint, CONDITIONED_MODELS),
                              ('--cnn1_checkpoint', cnn1_checkpoint, ('cnn1',))):
    if not workdir:
      continue
    s = load_surrogate(workdir, '', which)
    if s.config.model_name not in want:
      raise ValueError(f'{flag} {workdir!r} holds model_name={s.config.model_name!r}; '
                       f'expected one of {want}')
    out.append(s)
  return out


def rollout_examples(surrogate: Surrogate, source: Any, max_trajectories: int = 0) -> list:
  """The first `max_trajectories` (0: all) trajectories of `source` as the surrogate sees them:
  its normaliser and input fields, and the parameters it was trained without
  (`config.data.masked_parameters`) flagged missing, as in training."""
  masked = tuple(surrogate.config.data.get('masked_parameters', ()))
  examples = pipeline.rollout_examples(sources_lib.mask_parameters(source, masked),
                                       surrogate.normalizer,
                                       tuple(surrogate.config.data.input_fields))
  n = len(examples) if not max_trajectories else min(len(examples), max_trajectories)
  if n == 0:
    raise ValueError('the split holds no trajectories')
  return [examples[i] for i in range(n)]


def evaluate(surrogates: Sequence[Surrogate], sources: Mapping[str, Any], *,
             max_trajectories: int = 0, batch_size: int = 16, bootstrap_samples: int = 1000,
             seed: int = 0, teacher_forcing: bool = False, return_replicates: bool = False
             ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, list[ev.Rollouts]]]]:
  """`ev.score` of every surrogate on every split (rollouts timed after compilation).

  Returns:
    ({model name: {split: score}}, {model name: {split: [Rollouts]}}).
  """
  results, rollouts = {}, {}
  for s in surrogates:
    results[s.name], rollouts[s.name] = {}, {}
    for split, source in sources.items():
      r = ev.roll_out(s.rollout, s.params, rollout_examples(s, source, max_trajectories),
                      batch_size=batch_size, teacher_forcing=teacher_forcing, timed=True)
      rollouts[s.name][split] = r
      results[s.name][split] = ev.score(
          r, threshold=s.config.eval.get('mask_threshold', 0.5),
          bootstrap_samples=bootstrap_samples, seed=seed, teacher_forcing=teacher_forcing,
          return_replicates=return_replicates)
  return results, rollouts


def comparison_rows(results: Mapping[str, Mapping[str, Any]], splits: Sequence[str],
                    mark: str = ev.ALL) -> list[dict[str, Any]]:
  """Table rows (model, split, R, R^2, MSE, VRMSE, IoU with 95 % intervals, n, s/trajectory)."""
  rows = []
  for model, per_split in results.items():
    for split in splits:
      if split not in per_split:
        continue
      res = per_split[split]
      m = res['marks'][mark]
      rows.append({'model': model, 'split': split, 'R': ev.format_ci(m['length_r']),
                   'R2': ev.format_ci(m['length_r2']),
                   'MSE_um2': ev.format_ci(m['length_mse_um2']),
                   'xi_VRMSE': ev.format_ci(m['xi_vrmse']),
                   'deposit_IoU': ev.format_ci(m['deposit_iou']),
                   'trajectories': res['num_trajectories'], 'n': m['n'],
                   's_per_trajectory': res.get('seconds_per_trajectory')})
  return rows


def largest_group(rollouts: Sequence[ev.Rollouts]) -> ev.Rollouts:
  """The group with the most trajectories (figures show one frame count)."""
  return max(rollouts, key=lambda r: len(r.trajectory_id))


RANK_BY = ('roughness', 'length')


def final_roughness(r: ev.Rollouts) -> np.ndarray:
  """[N] interface length over the window's width at the last simulated frame: 1 for a flat
  layer, larger the more the deposit branches (the length alone ranks a thick compact layer
  above a few thin tips)."""
  xi = np.asarray(r.true_xi)[:, -1]
  interface = np.asarray(observables.interface_length_um(xi, np.asarray(r.pixel_size_um)))
  return interface / (xi.shape[-1] * np.asarray(r.pixel_size_um))


def pick_trajectory(r: ev.Rollouts, *, trajectory_id: int = -1, quantile: float = 0.9,
                    rank_by: str = 'roughness') -> int:
  """Index in `r` of the trajectory to show: `trajectory_id` if >= 0, else the one whose final
  simulated `rank_by` (`final_roughness`, or dendrite length) is nearest that quantile of the
  split (0.5: a typical trajectory; 1.0: the roughest / longest)."""
  if trajectory_id >= 0:
    hits = np.flatnonzero(np.asarray(r.trajectory_id) == trajectory_id)
    if not hits.size:
      raise ValueError(f'trajectory_id {trajectory_id} is not among the evaluated ones: '
                       f'{np.asarray(r.trajectory_id).tolist()}')
    return int(hits[0])
  if rank_by not in RANK_BY:
    raise ValueError(f'figures.rank_by={rank_by!r}: expected one of {RANK_BY}')
  final = final_roughness(r) if rank_by == 'roughness' else np.asarray(r.true_len)[:, -1]
  return int(np.nanargmin(np.abs(final - np.nanquantile(final, quantile))))


def frame_index(time_s: np.ndarray, t: float) -> int:
  """Index of the frame at time `t` (s); raises naming the available marks."""
  hits = np.flatnonzero(np.isclose(time_s, t))
  if not hits.size:
    raise ValueError(f'no frame at t={t} s; frames at {np.asarray(time_s).tolist()}')
  return int(hits[0])
