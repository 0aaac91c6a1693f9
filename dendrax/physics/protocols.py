"""Charging protocols: the applied electrode potential V(t) and the charging stage of each step.

- 'constant_voltage': V = V_cv = -E H for the whole run (stage 'constant_voltage').
- 'constant_current': V is the state of an integral controller that drives the Faradaic
  (Butler-Volmer reaction) current density i_F = n F c_s d/dt(deposit thickness) to the target
  i_cc = cc_current_fraction * sigma_l E (sigma_l E is the ohmic current of the flat cell at V_cv):
      V <- clip(V - dt k |V_cv| (i_target - i_F) / i_target, [-max_voltage_v, 0])
  with k = controller_rate_per_s. Stage 'constant_current'.
- 'three_stage' (paper Fig. 5): trickle (target trickle_current_fraction * sigma_l E) for
  t < trickle_end_s; then constant current (cc_current_fraction * sigma_l E) until |V| reaches
  the CV potential cv_voltage_fraction * |V_cv|; then constant voltage at that potential to the
  end (latched: the stage never goes back).

The controller is smooth in the fields (derivatives go through it); stage switches are discrete.
"""

from __future__ import annotations

import jax.numpy as jnp

from dendrax.physics import parameters

TRICKLE, CONSTANT_CURRENT, CONSTANT_VOLTAGE = (parameters.STAGES.index(s) for s in (
    'trickle', 'constant_current', 'constant_voltage'))


def ohmic_current_a_m2(coeffs, config):
  """sigma_l |V_cv| / H: current density of the flat cell at the constant-voltage potential."""
  return coeffs.electrolyte_conductivity_s_m * jnp.abs(coeffs.applied_voltage_v) / (
      config.height_um * 1e-6)


def initial_control(coeffs, config):
  """(voltage_v, stage) at t = 0; the voltage guess is ohmic (V_cv times the current fraction)."""
  v_cv = coeffs.applied_voltage_v
  if config.protocol == 'constant_voltage':
    return v_cv, jnp.int32(CONSTANT_VOLTAGE)
  if config.protocol == 'constant_current':
    return v_cv * config.cc_current_fraction, jnp.int32(CONSTANT_CURRENT)
  if config.protocol == 'three_stage':
    return v_cv * config.trickle_current_fraction, jnp.int32(TRICKLE)
  raise ValueError(f'protocol={config.protocol!r}; expected one of {parameters.PROTOCOLS}')


def update_control(voltage_v, stage, time_s, current_a_m2, coeffs, config):
  """(voltage_v, stage) for the step starting at `time_s`, given the last Faradaic current.

  Args:
    voltage_v: electrode potential used in the last step, V.
    stage: int32 index into `parameters.STAGES` of the last step.
    time_s: time at the start of the coming step, s.
    current_a_m2: Faradaic current density of the last step, A/m^2 (deposition > 0).
  """
  v_cv = coeffs.applied_voltage_v
  if config.protocol == 'constant_voltage':
    return v_cv, stage
  i_ref = ohmic_current_a_m2(coeffs, config)

  def controlled(target_fraction):
    target = target_fraction * i_ref
    err = (target - current_a_m2) / jnp.maximum(target, 1e-30)
    v = voltage_v - config.dt_s * config.controller_rate_per_s * jnp.abs(v_cv) * err
    return jnp.clip(v, -config.max_voltage_v, 0.0)

  if config.protocol == 'constant_current':
    return controlled(config.cc_current_fraction), stage
  # three_stage
  v_cv = v_cv * config.cv_voltage_fraction
  in_trickle = time_s < config.trickle_end_s
  # Entering CC from trickle keeps the trickle voltage as the controller's starting point.
  v_trickle = controlled(config.trickle_current_fraction)
  v_cc = controlled(config.cc_current_fraction)
  reached_cv = (stage == CONSTANT_VOLTAGE) | ((~in_trickle) & (jnp.abs(v_cc) >= jnp.abs(v_cv)))
  new_stage = jnp.where(reached_cv, CONSTANT_VOLTAGE,
                        jnp.where(in_trickle, TRICKLE, CONSTANT_CURRENT)).astype(jnp.int32)
  v = jnp.where(reached_cv, v_cv, jnp.where(in_trickle, v_trickle, v_cc))
  return v, new_stage
