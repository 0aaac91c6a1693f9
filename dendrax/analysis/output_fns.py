"""Output functions for sensitivities: physical parameters -> observables per charging stage.

Two routes from the same `PhysicalParams` to the same summaries (paper, Fig. 5):

  * physics: `simulate.run(params, config, key)` and the trajectory's own observables;
  * model:   the trained CNN-2 rolled out from the simulated first frame, its conditioning
    built from `params` inside JAX (`cond_sequence`), and the observables measured on the
    predicted frames with the same functions (`dendrax.physics.observables`).

Both return `sensitivity.stage_summary(...)` pytrees, so `sensitivity.elasticities` and
`sensitivity.finite_difference_elasticities` apply to either unchanged. In the model route the
first frame is held fixed at the simulated one (it is an input of the surrogate, not something
it predicts); the parameters reach the model only through its conditioning vector, exactly as
in training.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.analysis import sensitivity
from dendrax.data import normalization
from dendrax.physics import parameters

_LOG_SCALE = np.array([s.log_scale for s in parameters.PARAMETER_SPECS])


def normalized_params(params: parameters.PhysicalParams,
                      normalizer: normalization.Normalizer) -> jax.Array:
  """[7] z-scores as `Normalizer.normalize_params`, but traceable (jvp/grad reach `params`)."""
  p = params.to_vector()
  g = jnp.where(_LOG_SCALE, jnp.log(jnp.where(_LOG_SCALE, p, 1.0)), p)
  return (g - jnp.asarray(normalizer.param_mean, p.dtype)) / jnp.asarray(normalizer.param_std,
                                                                          p.dtype)


def cond_sequence(params: parameters.PhysicalParams, normalizer: normalization.Normalizer, *,
                  chemistry: int, stage_T: np.ndarray, time_s_T: np.ndarray,
                  frame_interval_s: float, masked: Sequence[str] = ()) -> jax.Array:
  """[T-1, COND_SIZE] conditioning of each 30 s step, the layout of `pipeline.step_cond`.

  normalised params (7) | missing flags (7) | chemistry one-hot (2) | stage one-hot of the
  target frame (3) | horizon in units of `frame_interval_s` (1). Training's unit is 30 s
  (`schema.FRAME_INTERVAL_S`); the analysis passes the simulator's frame spacing, so each frame is
  one horizon, as in training only for 30 s frames (every reported run; the tests' short runs
  use finer frames to exercise the derivative maths). Parameters in `masked` (a model trained
  without them, e.g. a leave-one-out ablation) enter as missing: z = 0 and flag 1, so their
  elasticity through the model is zero by construction.
  """
  unknown = [m for m in masked if m not in parameters.PARAMETER_NAMES]
  if unknown:
    raise ValueError(f'masked parameter(s) {unknown}; known: {parameters.PARAMETER_NAMES}')
  flags = np.array([n in masked for n in parameters.PARAMETER_NAMES])
  z = jnp.where(flags, 0.0, normalized_params(params, normalizer))
  steps = len(time_s_T) - 1
  dt = np.diff(np.asarray(time_s_T, np.float64)) / frame_interval_s
  fixed = np.concatenate([
      np.broadcast_to(flags.astype(np.float32), (steps, parameters.NUM_PARAMETERS)),
      np.broadcast_to(normalization.chemistry_one_hot(chemistry),
                      (steps, len(parameters.CHEMISTRIES))),
      normalization.stage_one_hot(np.asarray(stage_T)[1:]),
      dt[:, None].astype(np.float32)], axis=1)
  return jnp.concatenate([jnp.broadcast_to(z, (steps, z.shape[0])),
                          jnp.asarray(fixed, z.dtype)], axis=1)


def summarize(series: Mapping[str, jax.Array], stage_T, keys: Sequence[str]):
  """`stage_summary` of the observables in `keys`, naming a missing key."""
  missing = [k for k in keys if k not in series]
  if missing:
    raise ValueError(f'observable(s) {missing} not available; have {sorted(series)}')
  return sensitivity.stage_summary({k: series[k] for k in keys}, stage_T)


def simulator_fn(run: Callable, sim_config: Any, key: jax.Array,
                 keys: Sequence[str]) -> Callable[[parameters.PhysicalParams], Any]:
  """params -> stage summaries of `keys` from `run(params, sim_config, key)` (physics route).

  The noise key is fixed, so finite differences compare runs with the same noise (common
  random numbers) and the derivative is that of a deterministic function.
  """
  def fn(params):
    traj = run(params, sim_config, key)
    return summarize(traj.observables, traj.stage, keys)
  return fn


def model_fn(rollout: Callable, model_params: Any, normalizer: normalization.Normalizer, *,
             first_frame_HxWxC: np.ndarray, stage_T: np.ndarray, time_s_T: np.ndarray,
             chemistry: int, frame_interval_s: float,
             observables_fn: Callable[[jax.Array], Mapping[str, jax.Array]],
             keys: Sequence[str], masked: Sequence[str] = ()
             ) -> Callable[[parameters.PhysicalParams], Any]:
  """params -> stage summaries of `keys` measured on the surrogate's rollout (model route).

  Args:
    rollout: `dendrax.train.evaluation.make_predict_fns(model).rollout`.
    model_params: the trained weights.
    normalizer: the checkpoint's normaliser (conditioning is built with its statistics).
    first_frame_HxWxC: normalised input channels of frame 0 (channel 0 = xi).
    stage_T, time_s_T: stage and time of each frame (from the simulated trajectory).
    chemistry: index into `parameters.CHEMISTRIES`.
    observables_fn: xi [H, W] -> {observable: scalar}, traceable.
    keys: observables to summarise.
    masked: parameters the model was trained without (`config.data.masked_parameters`).
  """
  first = jnp.asarray(first_frame_HxWxC)

  def fn(params):
    cond = cond_sequence(params, normalizer, chemistry=chemistry, stage_T=stage_T,
                         time_s_T=time_s_T, frame_interval_s=frame_interval_s, masked=masked)
    xi_T = rollout(model_params, first.astype(cond.dtype), cond)        # [T, H, W]
    series = jax.vmap(observables_fn)(xi_T)
    return summarize(series, stage_T, keys)
  return fn


def surrogate_fn(surrogate: Any, traj: Any, sim_config: Any, *, chemistry: str,
                 keys: Sequence[str]) -> Callable[[parameters.PhysicalParams], Any]:
  """`model_fn` for a loaded surrogate (`evaluation.load_surrogate`) at one simulated run.

  The rollout starts from `traj`'s first frame (normalised with the checkpoint's statistics) and
  follows its stages and frame times; observables use `sim_config`'s pixel size, electrode
  height and length softness, the same functions as the simulator's own observables.
  """
  from dendrax.physics import observables as obs  # pylint: disable=g-import-not-at-top
  first = np.stack([surrogate.normalizer.normalize_field(f, np.asarray(getattr(traj, f)[0]))
                    for f in surrogate.config.data.input_fields], axis=-1)
  dx, eh = sim_config.dx_um, sim_config.electrode_height_um
  softness = sim_config.length_softness_um
  return model_fn(
      surrogate.rollout, surrogate.params, surrogate.normalizer, first_frame_HxWxC=first,
      stage_T=np.asarray(traj.stage), time_s_T=np.asarray(traj.time_s),
      chemistry=parameters.CHEMISTRIES.index(chemistry),
      frame_interval_s=sim_config.save_every_s,
      observables_fn=lambda xi: obs.all_observables(xi, dx, eh, softness_um=softness),
      keys=keys, masked=tuple(surrogate.config.data.get('masked_parameters', ())))
