"""`SimulationConfig`: every number a simulation depends on besides the physical parameters.

Frozen and hashable, so it is static under `jax.jit`. Built from Python (`SimulationConfig(...)`,
`SimulationConfig.for_dataset()`, `SimulationConfig.standard()`) or from a dict / ConfigDict
(`SimulationConfig.from_dict`), which rejects unknown keys and bad values naming the field.
Re-exported by `dendrax.physics.simulate`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from dendrax.physics import parameters

CONCENTRATION_TOPS = ('bulk', 'closed', 'diffusion_layer')
MODELS = ('electroneutral', 'hong2018')
POTENTIAL_TOPS = ('grounded', 'insulated')
DTYPES = ('float32', 'float64')
SALT_SINKS = ('split', 'implicit')


# Everything the electroneutral dataset physics sets (`SimulationConfig.for_dataset`).
_DATASET_PHYSICS = dict(
    model='electroneutral', nx=64, ny=64, dx_um=1.0, dt_s=0.1, t_end_s=210.0, save_every_s=30.0,
    interface_width_um=2.5, electrode_height_um=6.0, defect_radius_um=3.0,
    concentration_top='diffusion_layer', potential_iterations=4, transport_iterations=12,
    control_iterations=2, pulse_on_s=1.0, pulse_off_s=1.0, pulse_amplitude_fraction=2.0,
    protocol='three_stage', trickle_current_fraction=0.1, trickle_end_s=30.0,
    cc_current_fraction=1.0, cv_voltage_v=-0.1, max_voltage_v=0.5, noise_amplitude=0.1,
    profile_relaxation_per_s=0.02, checkpoint_every_steps=60, length_softness_um=1.0)


@dataclasses.dataclass(frozen=True)
class SimulationConfig:
  """Grid, time stepping, chemistry, protocol and numerics of one simulation.

  The default is the standard case of the performance benchmark: Li, 200 um x 200 um at 1 um,
  0 -> 210 s (the applied voltage -0.45 V comes from field_strength 2.25 kV/m in the params).
  """
  # 'electroneutral' (binary electrolyte, physical currents; `electroneutral`) or 'hong2018'
  # (the published cation-only model; `electrodeposition`).
  model: str = 'electroneutral'
  # Grid: [ny, nx] cells of dx_um; x periodic along the electrode, y = 0 the electrode.
  nx: int = 200
  ny: int = 200
  dx_um: float = 1.0
  # Time: fixed step; frames every save_every_s from 0 to t_end_s.
  dt_s: float = 0.02
  t_end_s: float = 210.0
  save_every_s: float = 30.0
  chemistry: str = 'Li'                    # key of coefficients.CHEMISTRY_PRESETS
  protocol: str = 'constant_voltage'       # one of parameters.PROTOCOLS
  # Interface and initial geometry.
  interface_width_um: float = 3.0          # delta = sqrt(8 kappa / W); >= ~2 cells
  electrode_height_um: float = 10.0        # initial flat electrode thickness
  defect_radius_um: float = 5.0            # radius of each lattice-defect nucleus
  max_defects: int = 8                     # static upper bound of round(n_defects)
  short_circuit_fraction: float = 0.9      # front height / H at which the cell is shorted
  noise_amplitude: float = 0.002           # Langevin noise on xi, 1/sqrt(s), at the interface
  # Potential solve.
  conductivity_ratio: float = 1e3          # sigma_s / sigma_l used (physical ~1e7)
  potential_iterations: int = 4            # warm-started PCG iterations per step
  initial_potential_iterations: int = 60   # PCG iterations for the initial potential
  transport_iterations: int = 3            # PCG iterations of the implicit ion diffusion
  # electroneutral: two-level PCG (the spectral preconditioner plus an exact solve on functions
  # constant along x, `fluxes.balanced_preconditioner`); False: the one-level preconditioner of
  # dendrite_sim <= 2.3.0, whose truncated solves left the salt up to 1.5 % above the bulk value.
  coarse_correction: bool = True
  # Boundaries at the bulk side (y = H).
  # 'bulk': c = c0 there; 'closed': no flux; 'diffusion_layer' (electroneutral only): exchange
  # with the bulk c0 through a stagnant layer of thickness c0 / concentration_gradient.
  concentration_top: str = 'bulk'
  potential_top: str = 'grounded'          # 'grounded': phi = 0; 'insulated': no current
  # Charging protocol. electroneutral: currents as fractions of J = sigma_nom E (A/m^2,
  # `electrolytes`), potentials in V against the bulk reference. hong2018: currents in units of
  # sigma_l E (the flat-cell ohmic current), CV potential cv_voltage_fraction * (-E H).
  cc_current_fraction: float = 0.8
  trickle_current_fraction: float = 0.2
  trickle_end_s: float = 30.0
  cv_voltage_fraction: float = 1.0         # hong2018 three_stage: CV potential = this * (-E H)
  cv_voltage_v: float = -0.1               # electroneutral: potentiostatic electrode potential, V
  pulse_on_s: float = 1.0                  # pulse: on time, s (whole steps)
  pulse_off_s: float = 1.0                 # pulse: rest time, s (whole steps)
  pulse_amplitude_fraction: float = 2.0    # pulse: on-current / J
  controller_rate_per_s: float = 2.0       # hong2018: integral gain of the current controller
  max_voltage_v: float = 2.0               # |V| bound of the potential under current control
  control_iterations: int = 8              # electroneutral: Newton steps for V per time step
  control_step_v: float = 0.1              # electroneutral: largest Newton update of V, V
  # electroneutral: Newton iterations of the coupled potential-reaction solve per step, and the
  # largest change of the electrolyte potential per iteration (trust region of the linearised
  # Butler-Volmer rate, V). One iteration suffices at practical currents; strong potentiostatic
  # steps (Cottrell) take 4. 0 restores the previous scheme (the reaction sees the last step's
  # potential), which diverges beyond |V| ~ 0.45 V (docs/physics.md).
  coupling_iterations: int = 1
  coupling_step_v: float = 0.05
  electrolyte_fraction_min: float = 1e-3   # electroneutral: eps inside the metal
  profile_relaxation_per_s: float = 5.0    # electroneutral: rate that keeps the tanh profile
  # electroneutral: the reaction's weight delta(xi) ramps from 0 at xi = reaction_xi_min to full
  # at 2 reaction_xi_min (and the same on the metal side). 1e-3 reaches into the interface's
  # tails; 0.1 keeps the reaction on its core, which past Sand's time stops the tails from
  # plating into a cloud of partial phase (docs/physics.md, "Past Sand's time: a converged
  # scheme").
  reaction_xi_min: float = 1e-3
  # electroneutral: where the cathodic sink of the salt is taken. 'split': from the salt the step
  # starts with, before the salt diffuses (every dataset up to 2.5.0); 'implicit': inside the
  # salt solve, with `sink_iterations` Newton iterations on the galvanostatic potential shift.
  # Held at the cutoff past Sand's time the split smears the sink over sqrt(D dt).
  salt_sink: str = 'split'
  sink_iterations: int = 2
  # 'implicit' sink: True closes the step with one more salt solve at the final potential shift;
  # False takes the last Newton iteration's linear prediction c~' + d(ln s) dc~'/d(ln s) instead
  # (one solve fewer; the salt balance is closed exactly either way), with Newton started from
  # the last step's electrode potential so that the extrapolated step is small.
  sink_final_solve: bool = True
  # 'implicit' sink: PCG iterations of the solve for d c~'/d(ln s), which only steers Newton
  # (and the linear closure's small last step). 0: half of transport_iterations.
  sink_derivative_iterations: int = 0
  # Differentiation and observables.
  checkpoint_every_steps: int = 50         # jax.checkpoint chunk for reverse mode
  length_softness_um: float = 1.0          # temperature of the smooth max in length_um
  dtype: str = 'float32'

  # ---- derived -------------------------------------------------------------------------
  @property
  def width_um(self) -> float:
    return self.nx * self.dx_um

  @property
  def height_um(self) -> float:
    return self.ny * self.dx_um

  @property
  def steps_per_frame(self) -> int:
    return int(round(self.save_every_s / self.dt_s))

  @property
  def num_frames(self) -> int:
    return int(round(self.t_end_s / self.save_every_s)) + 1

  @property
  def num_steps(self) -> int:
    return self.steps_per_frame * (self.num_frames - 1)

  # ---- constructors --------------------------------------------------------------------
  @classmethod
  def standard(cls, **overrides) -> 'SimulationConfig':
    """The benchmark case: the dataset physics on a 200 x 200 window at 1 um (0 -> 210 s)."""
    d = dict(_DATASET_PHYSICS, nx=200, ny=200)
    d.update(overrides)
    return cls(**d).checked()

  @classmethod
  def for_dataset(cls, **overrides) -> 'SimulationConfig':
    """The dataset preset (`dendrite_sim` 2.5.0): electroneutral Li/Zn, 64 x 64 at 1 um.

    A 64 um window above the electrode, under a stagnant diffusion layer of thickness
    c0 / concentration_gradient to the bulk; interface 2.5 um at fixed surface energy; dt 0.1 s
    at most (2100 steps to 210 s; the builder lowers it per group to `simulate.accuracy_dt_bound`);
    profile relaxation 0.02 /s, slow enough not to pin the flat front to the 1 um grid (at 1 /s
    it did, and growth went to the nuclei instead). dt and dx convergence in docs/physics.md.
    Protocol: the paper's three stages
    in physical units (trickle at 0.1 J to 30 s, then J = sigma_nom E, CV at -0.1 V once the
    electrode potential reaches it). Galvanostatic stages are bounded by the cutoff
    max_voltage_v = 0.5 V (a cycler's compliance: above the limiting current the cell runs at
    the cutoff instead of driving the potential without bound). 2.2.0's 0.1 V capped the
    "constant" current in 56 % of its constant-current trajectories; at 0.5 V every in-box
    current is delivered, and 1 V let two ood pulse trajectories (110-150 mA/cm^2 on-time)
    leave the physical bounds at the dataset's dt (docs/physics.md). The builder may override
    `protocol` per chunk. Solves: 4 potential and 12 salt PCG iterations per step (2.4.0 ran 4
    salt iterations, which let the metal side of the interface drift to anodic overpotentials
    and blow up past the limiting current: docs/physics.md, "Salt iterations").
    """
    d = dict(_DATASET_PHYSICS)
    d.update(overrides)
    return cls(**d).checked()

  @classmethod
  def hong2018(cls, **overrides) -> 'SimulationConfig':
    """The published cation-only model (Hong & Viswanathan 2018; `electrodeposition`): Li,
    -0.45 V (field 2.25 kV/m) over 200 um x 200 um at 1 um, dt 0.02 s. Deviations from their
    MOOSE input are listed in docs/physics.md."""
    d = dict(model='hong2018', protocol='constant_voltage')
    d.update(overrides)
    return cls(**d).checked()

  @classmethod
  def hong2018_dataset(cls, **overrides) -> 'SimulationConfig':
    """dendrite_sim 1.x's preset of the hong2018 model (64 x 64 over 200 um, three stages with
    currents as fractions of sigma_l E), kept for comparison and its regression tests."""
    d = dict(model='hong2018', nx=64, ny=64, dx_um=3.125, dt_s=0.05, interface_width_um=7.8,
             electrode_height_um=12.5, defect_radius_um=7.0, potential_iterations=1,
             transport_iterations=0, initial_potential_iterations=40, noise_amplitude=0.002,
             checkpoint_every_steps=60, length_softness_um=2.0, protocol='three_stage',
             trickle_current_fraction=0.05, cc_current_fraction=0.3, trickle_end_s=30.0,
             cv_voltage_fraction=1.0)
    d.update(overrides)
    return cls(**d).checked()

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> 'SimulationConfig':
    """From a dict or ConfigDict; unknown keys and bad values raise ValueError naming them."""
    d = dict(d.items())
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
      raise ValueError(f'unknown SimulationConfig field(s) {unknown}; known: {sorted(names)}')
    kwargs = {}
    for f in dataclasses.fields(cls):
      if f.name not in d:
        continue
      v = d[f.name]
      kind = type(f.default)
      try:
        if kind is int:
          if isinstance(v, float) and not v.is_integer():
            raise ValueError
          v = int(v)
        elif kind is float:
          v = float(v)
        elif kind is str:
          if not isinstance(v, str):
            raise ValueError
      except (TypeError, ValueError):
        raise ValueError(f'SimulationConfig.{f.name}={v!r}: expected {kind.__name__}') from None
      kwargs[f.name] = v
    return cls(**kwargs).checked()

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  # ---- validation ----------------------------------------------------------------------
  def checked(self) -> 'SimulationConfig':
    """Returns self after checking every field (ValueError naming the first bad one)."""
    def bad(name, why):
      raise ValueError(f'SimulationConfig.{name}={getattr(self, name)!r}: {why}')
    for name in ('dx_um', 'dt_s', 't_end_s', 'save_every_s', 'interface_width_um',
                 'conductivity_ratio', 'controller_rate_per_s', 'max_voltage_v',
                 'length_softness_um'):
      v = getattr(self, name)
      if not math.isfinite(v) or v <= 0:
        bad(name, 'must be a finite number > 0')
    if not 0 < self.short_circuit_fraction <= 1:
      bad('short_circuit_fraction', 'must be in (0, 1]')
    for name in ('electrode_height_um', 'defect_radius_um', 'noise_amplitude',
                 'cc_current_fraction', 'trickle_current_fraction', 'trickle_end_s',
                 'cv_voltage_fraction'):
      v = getattr(self, name)
      if not math.isfinite(v) or v < 0:
        bad(name, 'must be a finite number >= 0')
    if self.nx < 4:
      bad('nx', 'grid too small: need nx >= 4')
    if self.ny < 8:
      bad('ny', 'grid too small: need ny >= 8')
    if self.interface_width_um < 1.5 * self.dx_um:
      bad('interface_width_um', f'must be >= 1.5 dx_um = {1.5 * self.dx_um} (unresolved '
          'interface: the diffuse interface needs >= ~2 cells)')
    if not 0 <= self.electrode_height_um + self.interface_width_um < self.height_um:
      bad('electrode_height_um', f'electrode (+ interface) must fit in the domain height '
          f'{self.height_um} um')
    ratio = self.save_every_s / self.dt_s
    if abs(ratio - round(ratio)) > 1e-6 * ratio or round(ratio) < 1:
      bad('dt_s', f'save_every_s={self.save_every_s} must be a whole number of steps')
    ratio = self.t_end_s / self.save_every_s
    if abs(ratio - round(ratio)) > 1e-6 * ratio:
      bad('t_end_s', f'must be a whole number of save_every_s={self.save_every_s}')
    if self.protocol not in parameters.PROTOCOLS:
      bad('protocol', f'expected one of {parameters.PROTOCOLS}')
    if self.chemistry not in parameters.CHEMISTRIES:
      bad('chemistry', f'expected one of {parameters.CHEMISTRIES}')
    if self.concentration_top not in CONCENTRATION_TOPS:
      bad('concentration_top', f'expected one of {CONCENTRATION_TOPS}')
    if self.potential_top not in POTENTIAL_TOPS:
      bad('potential_top', f'expected one of {POTENTIAL_TOPS}')
    if self.dtype not in DTYPES:
      bad('dtype', f'expected one of {DTYPES}')
    for name in ('potential_iterations', 'initial_potential_iterations', 'max_defects',
                 'transport_iterations', 'coupling_iterations', 'sink_iterations',
                 'sink_derivative_iterations', 'checkpoint_every_steps'):
      if getattr(self, name) < (1 if name == 'checkpoint_every_steps' else 0):
        bad(name, 'must be a non-negative int' if name != 'checkpoint_every_steps'
            else 'must be >= 1')
    if self.model not in MODELS:
      bad('model', f'expected one of {MODELS}')
    if self.model == 'hong2018':
      if self.protocol == 'pulse':
        bad('protocol', "'pulse' needs model='electroneutral'")
      if self.concentration_top == 'diffusion_layer':
        bad('concentration_top', "'diffusion_layer' needs model='electroneutral'")
    for name in ('pulse_on_s', 'pulse_off_s', 'pulse_amplitude_fraction', 'control_step_v',
                 'profile_relaxation_per_s', 'coupling_step_v'):
      v = getattr(self, name)
      if not math.isfinite(v) or v <= 0:
        bad(name, 'must be a finite number > 0')
    if self.protocol == 'pulse':
      for name in ('pulse_on_s', 'pulse_off_s'):
        ratio = getattr(self, name) / self.dt_s
        if abs(ratio - round(ratio)) > 1e-6 * ratio or round(ratio) < 1:
          bad(name, f'must be a whole number (>= 1) of dt_s={self.dt_s}')
    if not math.isfinite(self.cv_voltage_v) or abs(self.cv_voltage_v) > self.max_voltage_v:
      bad('cv_voltage_v', f'must be finite with |V| <= max_voltage_v={self.max_voltage_v}')
    if not (math.isfinite(self.reaction_xi_min) and 0 < self.reaction_xi_min <= 0.2):
      bad('reaction_xi_min', 'must be in (0, 0.2] (full weight from 2 reaction_xi_min)')
    if self.salt_sink not in SALT_SINKS:
      bad('salt_sink', f'expected one of {SALT_SINKS}')
    if self.salt_sink == 'implicit' and self.model == 'electroneutral' and (
        not self.coupling_iterations):
      bad('salt_sink', "'implicit' needs coupling_iterations >= 1 (the potential it plates at)")
    if not 0 < self.electrolyte_fraction_min < 0.1:
      bad('electrolyte_fraction_min', 'must be in (0, 0.1)')
    if self.control_iterations < 1:
      bad('control_iterations', 'must be >= 1')
    if self.conductivity_ratio < 1:
      bad('conductivity_ratio', 'the metal conducts better than the electrolyte: need >= 1')
    return self
