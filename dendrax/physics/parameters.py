"""The seven physical parameters of Zhao et al. (CNN-2's inputs), with units and ranges.

These names, their order and their units are the contract between the simulator
(`dendrax.physics`), the datasets (`data_builders/`), the input pipeline (`dendrax.data`),
the models and the sensitivity analysis. Change them here and nowhere else.

How each parameter enters the phase-field model is documented where the mapping lives,
`dendrax.physics.coefficients`.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp


class ParameterSpec(NamedTuple):
  """One physical parameter: name, unit, sampling range, and whether it spans decades."""
  name: str
  unit: str
  low: float
  high: float
  log_scale: bool
  description: str


# Order matters: it is the column order of every `params` vector in dendrax.
PARAMETER_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec('temperature_k', 'K', 263.0, 333.0, False,
                  'absolute temperature'),
    ParameterSpec('concentration_gradient_mol_m3_per_um', 'mol m^-3 um^-1', 1.0, 10.0, False,
                  'salt gradient the bulk sustains towards the electrode: c0 / thickness of '
                  'the diffusion layer above the window (sets the limiting current)'),
    ParameterSpec('field_strength_kv_per_m', 'kV m^-1', 0.005, 0.5, True,
                  'nominal field J / sigma_nom (sigma_nom = 1 S/m): the charging current '
                  'density, 0.005-0.5 kV/m = 0.5-50 mA/cm^2'),
    ParameterSpec('ion_concentration_mol_m3', 'mol m^-3', 250.0, 2000.0, True,
                  'bulk electrolyte cation concentration c0'),
    ParameterSpec('surface_energy_j_m2', 'J m^-2', 0.2, 1.0, True,
                  'surface energy of the deposit/electrolyte interface'),
    ParameterSpec('fluidity_per_pa_s', 'Pa^-1 s^-1', 100.0, 1000.0, True,
                  'fluidity 1/viscosity of the electrolyte (Stokes-Einstein D)'),
    ParameterSpec('n_defects', 'count', 0.0, 8.0, False,
                  'number of lattice defects: nuclei on the electrode surface (integer)'),
)

PARAMETER_NAMES: tuple[str, ...] = tuple(s.name for s in PARAMETER_SPECS)
NUM_PARAMETERS = len(PARAMETER_SPECS)
# Parameters with a derivative; `n_defects` is discrete (finite differences only).
CONTINUOUS_PARAMETERS: tuple[str, ...] = PARAMETER_NAMES[:-1]

CHEMISTRIES: tuple[str, ...] = ('Li', 'Zn')
PROTOCOLS: tuple[str, ...] = ('constant_voltage', 'constant_current', 'three_stage', 'pulse')
# Charging stage of a frame (paper Fig. 5, plus the rest periods of pulse charging): index into
# this tuple.
STAGES: tuple[str, ...] = ('trickle', 'constant_current', 'constant_voltage', 'rest')


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PhysicalParams:
  """The seven user-facing parameters, each a scalar (or a [batch] array under vmap).

  A pytree: `jax.jvp` / `jax.grad` with respect to any field reach the simulator.
  `n_defects` is carried as a float so the pytree is homogeneous; it is rounded where used.
  """
  temperature_k: jax.Array | float
  concentration_gradient_mol_m3_per_um: jax.Array | float
  field_strength_kv_per_m: jax.Array | float
  ion_concentration_mol_m3: jax.Array | float
  surface_energy_j_m2: jax.Array | float
  fluidity_per_pa_s: jax.Array | float
  n_defects: jax.Array | float

  def to_vector(self) -> jax.Array:
    """[..., 7] array in `PARAMETER_NAMES` order."""
    return jnp.stack([jnp.asarray(getattr(self, n), jnp.result_type(float))
                      for n in PARAMETER_NAMES], axis=-1)

  @classmethod
  def from_vector(cls, v) -> 'PhysicalParams':
    """Inverse of `to_vector`; `v` has shape [..., 7]."""
    v = jnp.asarray(v)
    if v.shape[-1] != NUM_PARAMETERS:
      raise ValueError(f'params vector must end in {NUM_PARAMETERS} entries '
                       f'({", ".join(PARAMETER_NAMES)}); got shape {v.shape}')
    return cls(**{n: v[..., i] for i, n in enumerate(PARAMETER_NAMES)})


def validate_physical(values: dict[str, float], *, strict_range: bool = False) -> None:
  """Raises ValueError naming the field when a value is unphysical (or out of range if strict).

  Unphysical: temperature <= 0, concentration <= 0, surface energy <= 0, fluidity <= 0,
  negative gradient, field or defect count, NaN.
  """
  unknown = set(values) - set(PARAMETER_NAMES)
  if unknown:
    raise ValueError(f'unknown physical parameter(s) {sorted(unknown)}; '
                     f'known: {", ".join(PARAMETER_NAMES)}')
  positive = {'temperature_k', 'ion_concentration_mol_m3', 'surface_energy_j_m2',
              'fluidity_per_pa_s'}
  for spec in PARAMETER_SPECS:
    if spec.name not in values:
      continue
    x = float(values[spec.name])
    if x != x or x in (float('inf'), float('-inf')):
      raise ValueError(f'{spec.name} must be a finite number; got {x}')
    if spec.name in positive and x <= 0:
      raise ValueError(f'{spec.name} must be > 0 {spec.unit}; got {x}')
    if spec.name not in positive and x < 0:
      raise ValueError(f'{spec.name} must be >= 0 {spec.unit}; got {x}')
    if strict_range and not spec.low <= x <= spec.high:
      raise ValueError(f'{spec.name}={x} {spec.unit} outside the range '
                       f'[{spec.low}, {spec.high}]')


# Sign that theory expects for d(dendrite length at 210 s) / d(parameter) in the electroneutral
# model, with its source (docs/physics.md, "The seven parameters"), by charging regime
# (`protocols.charging_regime`):
#   galvanostatic      the current is held at the protocol's J (below the limiting current): the
#                      electrolyte only decides how fast the interface depletes (Sand).
#   potentiostatic     a constant-voltage stage holds the potential: conductivity, kinetics and
#                      supply set the current, so whatever raises them deposits more metal.
#   transport_limited  a galvanostatic stage asked for more than the limiting current and sits
#                      at its voltage cutoff: the cell passed J t_S ~ D c0^2 / J before Sand's
#                      time, then carries the limiting current z F D c0 / (t_- L).
# 0: the parameter does not enter; None: theory gives no single sign.
_NEWMAN = 'Newman & Thomas-Alyea, Electrochemical Systems, 3rd ed. (2004)'
EXPECTED_SIGNS: dict[str, dict[str, tuple[int | None, str]]] = {
    'galvanostatic': {
        'temperature_k': (-1, 'faster transport (D ~ T) delays Sand depletion; Akolkar, J. '
                              'Power Sources 246 (2014) 84'),
        'concentration_gradient_mol_m3_per_um': (-1, 'more supply from the bulk raises the '
                                                     'limiting current (Nernst layer c0/G); Bai '
                                                     'et al. 2016'),
        'field_strength_kv_per_m': (+1, 'current density J = sigma_nom E; Sand t_S ~ 1/J^2; Bai '
                                        'et al., Energy Environ. Sci. 9 (2016) 3221'),
        'ion_concentration_mol_m3': (-1, "Sand's law at fixed current: t_S ~ c0^2"),
        'surface_energy_j_m2': (-1, 'capillary stabilisation (Mullins-Sekerka); negligible at '
                                    'the micron scale (Gibbs-Thomson shift ~2e-5 V)'),
        'fluidity_per_pa_s': (-1, 'Stokes-Einstein D ~ fluidity; t_S ~ D'),
        'n_defects': (+1, 'protrusions focus current and flux (Chen 2015)'),
    },
    'potentiostatic': {
        'temperature_k': (+1, 'the exchange current rises with T (Arrhenius) and so does D: a '
                              f'held overpotential drives more current; {_NEWMAN}'),
        'concentration_gradient_mol_m3_per_um': (+1, 'a thinner Nernst layer (c0/G) raises the '
                                                     f'limiting current; {_NEWMAN}'),
        'field_strength_kv_per_m': (0, 'does not enter a CV stage (its potential is '
                                       'cv_voltage_v), only when it starts in three stages'),
        'ion_concentration_mol_m3': (+1, 'conductivity ~ c0, exchange current ~ c0^(1-alpha), '
                                         f'limiting current ~ c0; {_NEWMAN}'),
        'surface_energy_j_m2': (-1, 'capillary stabilisation (Mullins-Sekerka); negligible at '
                                    'the micron scale (Gibbs-Thomson shift ~2e-5 V)'),
        'fluidity_per_pa_s': (+1, 'conductivity (Nernst-Einstein) and D (Stokes-Einstein) ~ '
                                  f'fluidity; {_NEWMAN}'),
        'n_defects': (+1, 'protrusions focus current and flux (Chen 2015)'),
    },
    'transport_limited': {
        'temperature_k': (+1, "D ~ T: Sand's charge J t_S ~ D and the limiting current ~ D; "
                              'Sand (1901); Bai et al. 2016'),
        'concentration_gradient_mol_m3_per_um': (+1, 'a thinner Nernst layer (c0/G) raises the '
                                                     f'limiting current; {_NEWMAN}'),
        'field_strength_kv_per_m': (None, 'J t_S + i_lim (t - t_S) with t_S ~ 1/J^2 falls with J '
                                          'above 2 i_lim and rises below: no single sign'),
        'ion_concentration_mol_m3': (+1, "Sand's charge J t_S ~ c0^2 and the limiting current "
                                         '~ c0; Sand (1901)'),
        'surface_energy_j_m2': (-1, 'capillary stabilisation (Mullins-Sekerka); negligible at '
                                    'the micron scale (Gibbs-Thomson shift ~2e-5 V)'),
        'fluidity_per_pa_s': (+1, "Stokes-Einstein D ~ fluidity: Sand's charge and the limiting "
                                  'current ~ D'),
        'n_defects': (+1, 'protrusions focus current and flux (Chen 2015)'),
    },
}
REGIMES: tuple[str, ...] = tuple(EXPECTED_SIGNS)


def log_directions(params: 'PhysicalParams', names=CONTINUOUS_PARAMETERS) -> 'PhysicalParams':
  """Tangents P_k e_k for P_k in `names`, stacked on a leading [K] axis: pushed forward
  (`jax.jvp`) they give d / d ln P_k (the simulator's stored tangents, the elasticities)."""
  rows = [PhysicalParams(**{n: jnp.asarray(getattr(params, n), jnp.result_type(float))
                            * (n == name) for n in PARAMETER_NAMES}) for name in names]
  return jax.tree.map(lambda *xs: jnp.stack(xs), *rows)
