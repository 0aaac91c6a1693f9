"""CNN-2 as a differentiable stand-in for the simulator: design values -> predicted lengths.

    model = load(workdir, simulator, names, centre_values, frame_interval_s=30.0)
    model.observe(values)                      # {'time_s', 'length_um', 'charge_mah_cm2'} [T]

The checkpoint is restored with `analysis.evaluation.load_surrogate` (orbax, the run's best
state) and rolled out autoregressively over the simulator's frame times, conditioned as in
training (`analysis.output_fns.cond_sequence`: normalised physical parameters, chemistry, stage,
horizon in units of `frame_interval_s`). The first frame is the simulator's initial state at the
centre of the design box, held fixed (it is the model's input, not a prediction); the frames
are `frame_interval_s` apart (the interval CNN-2 was trained on), not the simulator's. CNN-2 predicts
no charge: the charge series is the schedule's nominal charge (integral of the target current).

What CNN-2 can see is limited to what it was trained on: the physical parameters (the current
density among them: J = sigma_nom E) and the charging stage of each 30 s frame. A design variable
outside those (a pulse on time, a stage switch time: they act within a frame), or a parameter the
checkpoint was trained with masked (`data.masked_parameters`: its gradient would be zero), makes
`load` raise `SurrogateUnsupported` naming it, and the design run reports the surrogate method as
not applicable to that problem.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax.numpy as jnp
import numpy as np

from dendrax.design import simulator_adapter as sa
from dendrax.physics import parameters


class SurrogateUnsupported(ValueError):
  """The surrogate cannot represent a design variable; `.variable` names it."""

  def __init__(self, variable: str, message: str):
    super().__init__(f'{variable}: {message}')
    self.variable = variable


FIELD_STRENGTH = 'field_strength_kv_per_m'     # how CNN-2 sees a constant current


class SurrogateModel(NamedTuple):
  observe: Callable
  step: int                 # the checkpoint step loaded (part of a design run's fingerprint)


def supported_variables(protocol: str) -> tuple[str, ...]:
  """Design variables CNN-2 (trained on the current dataset) responds to under `protocol`."""
  if protocol != 'constant_current':
    return ()
  return sa.PHYSICAL_VARIABLES + ('current_ma_cm2',)


def check_supported(names, protocol: str, masked=()) -> None:
  """Raises `SurrogateUnsupported` naming a design variable CNN-2 has no input for under
  `protocol`, or one its checkpoint was trained with masked."""
  ok = supported_variables(protocol)
  for n in names:
    if n not in ok:
      raise SurrogateUnsupported(n, f'CNN-2 has no input for it under protocol {protocol!r} '
                                 f'(it sees {ok or "no design variable of this protocol"})')
    seen_as = FIELD_STRENGTH if n == 'current_ma_cm2' else n     # J = sigma_nom E
    if seen_as in masked:
      raise SurrogateUnsupported(n, f'the checkpoint was trained with {seen_as} masked '
                                 '(data.masked_parameters): its derivative would be zero')


def load(workdir: str, simulator: sa.Simulator, names, centre_values, *,
         frame_interval_s: float) -> SurrogateModel:
  """CNN-2 from `workdir` wired to `simulator`'s grid and fixed values.

  Args:
    workdir: a `launch.py` workdir holding a CNN-2 (or concat) checkpoint.
    simulator: the design's `simulator_adapter.Simulator`.
    names: the design variables (checked with `check_supported` first, before loading).
    centre_values: design values of the box centre (for the fixed first frame).
    frame_interval_s: the frame interval CNN-2 was trained on (its horizon unit).
  """
  check_supported(names, simulator.protocol)
  from dendrax.analysis import evaluation  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import output_fns  # pylint: disable=g-import-not-at-top
  surrogate = evaluation.load_surrogate(workdir, 'CNN-2')
  if surrogate.config.model_name == 'cnn1':
    raise SurrogateUnsupported('checkpoint', f'{workdir!r} is a CNN-1: it does not see the '
                               'physical parameters; pass a CNN-2 checkpoint')
  settings, protocol = simulator.settings, simulator.protocol
  config = settings.config()
  fields = sa.initial_fields({**simulator.fixed, **centre_values}, protocol, settings)
  first = np.stack([surrogate.normalizer.normalize_field(f, np.asarray(fields[f]))
                    for f in surrogate.config.data.input_fields], axis=-1)
  # CNN-2's own frame times (its training interval), up to the time limit.
  time_s_t = np.arange(0.0, settings.max_time_s + 1e-9, frame_interval_s)
  if len(time_s_t) < 2:
    raise SurrogateUnsupported('surrogate.frame_interval_s', f'{frame_interval_s} s leaves no '
                               f'step before max_time_s={settings.max_time_s} s')
  stage_t = np.full(len(time_s_t), parameters.STAGES.index('constant_current'), np.int32)
  chemistry = parameters.CHEMISTRIES.index(config.chemistry)
  masked = tuple(surrogate.config.data.get('masked_parameters', ()))
  check_supported(names, protocol, masked)
  dtype = jnp.dtype(config.dtype)

  def observe(values):
    v = {**simulator.fixed, **values}
    # The field strength is the constant current (J = sigma_nom E), as in the dataset.
    params = sa.physical_params(v, protocol, dtype)
    cond = output_fns.cond_sequence(params, surrogate.normalizer, chemistry=chemistry,
                                    stage_T=stage_t, time_s_T=time_s_t,
                                    frame_interval_s=frame_interval_s, masked=masked)
    xi_t = surrogate.rollout(surrogate.params, jnp.asarray(first, cond.dtype), cond)
    length = sa.observe_frames(xi_t, config)['length_um']
    return {'time_s': jnp.asarray(time_s_t, dtype), 'length_um': length,
            'charge_mah_cm2': sa.nominal_charge_series(v, protocol, settings, time_s_t)}

  return SurrogateModel(observe, surrogate.step)
