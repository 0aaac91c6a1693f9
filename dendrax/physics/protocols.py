"""Charging protocols: the applied electrode potential V(t) and the charging stage of each step.

- 'constant_voltage': V = V_cv = -E H for the whole run (stage 'constant_voltage').
- 'constant_current': V is the state of an integral controller that drives the cell current
  density i = n F c0 x (cation flux through the bulk face), the current the model reports and
  whose integral is its charge, to the target i_cc = cc_current_fraction * sigma_l E (sigma_l E is
  the ohmic current of the flat cell at V_cv), as a galvanostat holds the external current:
      V <- clip(V - dt k |V_cv| (i_target - i) / i_target, [-max_voltage_v, 0])
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
  """(voltage_v, stage) for the step starting at `time_s`, given the last step's current.

  Args:
    voltage_v: electrode potential used in the last step, V.
    stage: int32 index into `parameters.STAGES` of the last step.
    time_s: time at the start of the coming step, s.
    current_a_m2: cell current density of the last step (`electrodeposition.State`), A/m^2
      (deposition > 0).
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


# ---- physical-unit protocols of the electroneutral model ------------------------------------
#
# The target current density J (A/m^2) comes from the parameters (`electrolytes`: J = sigma_nom
# E), the electrode potential of potentiostatic stages from the config (cv_voltage_v, V against
# the bulk reference). Galvanostatic stages solve for V every step (`electroneutral`), so the
# current is exact rather than controlled towards.
#   constant_current  cc_current_fraction * J throughout.
#   constant_voltage  V = cv_voltage_v throughout.
#   three_stage       trickle_current_fraction * J until trickle_end_s, then cc_current_fraction
#                     * J until V reaches cv_voltage_v, then V = cv_voltage_v (latched).
#   pulse             pulse_amplitude_fraction * J for pulse_on_s, then zero current (stage
#                     'rest') for pulse_off_s, repeated.
REST = parameters.STAGES.index('rest')


def initial_stage(config):
  """(voltage guess V, stage) at t = 0."""
  stage = {'constant_voltage': CONSTANT_VOLTAGE, 'constant_current': CONSTANT_CURRENT,
           'three_stage': TRICKLE, 'pulse': CONSTANT_CURRENT}
  if config.protocol not in stage:
    raise ValueError(f'protocol={config.protocol!r}; expected one of {parameters.PROTOCOLS}')
  v = config.cv_voltage_v if config.protocol == 'constant_voltage' else 0.0
  return v, jnp.int32(stage[config.protocol])


def stage_and_target(time_s, stage, voltage_v, current_a_m2, config):
  """(target current A/m^2, stage, holds_voltage) for the step that starts at `time_s`.

  `current_a_m2` is J of the parameters; `stage` the last step's stage (the CV latch).
  """
  del voltage_v
  one = jnp.ones_like(current_a_m2)
  if config.protocol == 'constant_voltage':
    return 0.0 * one, jnp.int32(CONSTANT_VOLTAGE), jnp.asarray(True)
  if config.protocol == 'constant_current':
    return config.cc_current_fraction * current_a_m2, jnp.int32(CONSTANT_CURRENT), jnp.asarray(False)
  if config.protocol == 'pulse':
    period = config.pulse_on_s + config.pulse_off_s
    phase = time_s - period * jnp.floor(time_s / period + 1e-6)
    on = phase < config.pulse_on_s - 1e-6 * period
    target = jnp.where(on, config.pulse_amplitude_fraction * current_a_m2, 0.0 * one)
    return target, jnp.where(on, CONSTANT_CURRENT, REST).astype(jnp.int32), jnp.asarray(False)
  # three_stage
  in_trickle = time_s < config.trickle_end_s - 1e-9
  cv = stage == CONSTANT_VOLTAGE
  target = jnp.where(in_trickle, config.trickle_current_fraction, config.cc_current_fraction)
  new_stage = jnp.where(cv, CONSTANT_VOLTAGE, jnp.where(in_trickle, TRICKLE, CONSTANT_CURRENT))
  return target * current_a_m2, new_stage.astype(jnp.int32), cv


def latch_constant_voltage(stage, voltage_v, config):
  """Three-stage: a constant-current step whose potential passed cv_voltage_v switches to CV."""
  if config.protocol != 'three_stage':
    return stage
  passed = (stage == CONSTANT_CURRENT) & (voltage_v <= config.cv_voltage_v)
  return jnp.where(passed, CONSTANT_VOLTAGE, stage).astype(jnp.int32)


# ---- which law sets the current: the regime a trajectory charged in --------------------------
#
# Theory's sign for a parameter's effect depends on what holds the cell
# (`parameters.EXPECTED_SIGNS`, `parameters.REGIMES`): the protocol's current (galvanostatic,
# below the limiting current), the potential of a constant-voltage stage (potentiostatic), or the
# voltage cutoff of a galvanostatic stage that asked for more than the limiting current
# (transport_limited: Sand's time passed, and the cell carries what diffusion supplies).


def charge_fractions(stage, voltage_v, charge_c_per_m2, config) -> dict[str, float]:
  """Fractions of the charge passed in each regime, judged per saved frame interval (the stage
  and potential of the step before frame k stand for the interval ending at k): a
  constant-voltage stage is 'potentiostatic', a galvanostatic step at |V| >= max_voltage_v is
  'transport_limited', the rest 'galvanostatic'. Numpy arrays [T] of one trajectory."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  stage, v = np.asarray(stage), np.asarray(voltage_v, np.float64)
  dq = np.abs(np.diff(np.asarray(charge_c_per_m2, np.float64)))
  cv = stage[1:] == CONSTANT_VOLTAGE
  cutoff = ~cv & (np.abs(v[1:]) >= config.max_voltage_v * (1 - 1e-3))
  total = float(dq.sum())
  if total <= 0:
    return {'galvanostatic': 1.0, 'potentiostatic': 0.0, 'transport_limited': 0.0}
  return {'galvanostatic': float(dq[~cv & ~cutoff].sum() / total),
          'potentiostatic': float(dq[cv].sum() / total),
          'transport_limited': float(dq[cutoff].sum() / total)}


def charging_regime(stage, voltage_v, charge_c_per_m2, config) -> dict:
  """{'name': the regime that passed the most charge, 'charge_fractions': each regime's}."""
  fractions = charge_fractions(stage, voltage_v, charge_c_per_m2, config)
  return {'name': max(fractions, key=fractions.get), 'charge_fractions': fractions}
