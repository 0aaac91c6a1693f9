r"""From the seven physical parameters to the coefficients of the phase-field model.

This module is the single place where physics numbers live: the chemistry presets (with sources),
the nondimensionalisation, and the mapping of `PhysicalParams` onto `ModelCoefficients`, the pytree
every solver (dendrax, and the FiPy peer baseline) reads. Change a number here and every
implementation sees it.

Units of `ModelCoefficients`: length um, time s, potential V, concentration as c/c0 (c0 the bulk
ion concentration of the run), energy density in units of E_REF = R * 300 K * 1000 mol/m^3
(Hong & Viswanathan 2018's normalisation: with it their kappa = 0.3 um^2, W = 2.4, L = 6.25 1/s).

The model (see docs/physics.md for the full equations and the discretisation):

    dxi/dt = -L_sigma [W g'(xi) - kappa div(a(theta)^2 grad xi) + ...]     interface relaxation
             + L_eta h'(xi) [(c c0/c_ref) exp(-alpha f eta) - exp((1-alpha) f eta)]   Butler-Volmer
    dc/dt  = div[D (grad c + f c grad phi)] - (c_s/c0) dxi/dt              Nernst-Planck, Li balance
    phi    = phi_bulk + V psi,  psi = 1 in the metal, 0 at the bulk face, harmonic in the liquid

with f = nF/RT, h(xi) = xi^3 (6 xi^2 - 15 xi + 10), g(xi) = xi^2 (1 - xi)^2,
D = D_s h + D_l (1 - h).

How the seven parameters enter (each a documented physical law, not a fit):
  temperature T       f = nF/RT; D_l through Stokes-Einstein (D ~ T * fluidity);
                      L_eta through Arrhenius with E_K (PHYSICS.md section 1).
  concentration grad  initial depletion of c towards the electrode: c(y)/c0 = 1 - G (y_top - y)/c0,
                      floored smoothly at MIN_INITIAL_CONCENTRATION (the bulk face stays at c0).
  field strength E    cell voltage V = -E * (domain height) (0.45 V over 200 um = 2.25 kV/m).
  ion concentration   c0: bulk and reservoir concentration; the Butler-Volmer reverse term uses
                      c/c_ref with c_ref = 1 M, so the equilibrium potential follows Nernst,
                      (RT/nF) ln(c0/c_ref); the Li balance uses c_s/c0.
  surface energy      gamma sets W and kappa at the chosen interface width l:
                      gamma = sqrt(2 kappa W)/6 and l = sqrt(8 kappa/W)  =>  W = 12 gamma/l,
                      kappa = 1.5 gamma l (PHYSICS.md section 6: widen the interface at fixed gamma).
  fluidity 1/eta      D_l = k_B T fluidity / (6 pi r_h), r_h fixed per chemistry so that the preset
                      reference diffusivity is met at the reference temperature and fluidity.
  n_defects           number of nuclei on the initial electrode (initial_conditions); not here.

Interface-width scaling ("improve where physics says so"): in the sharp-interface limit the
Butler-Volmer velocity of this model is v = L_eta * (integral of h' across the interface) * rate,
proportional to l, and the capillary velocity L_sigma * kappa * curvature is proportional to l too.
Widening the interface for a coarse grid would therefore speed up the kinetics; L_eta and L_sigma
are scaled by l_ref/l (l_ref = 1 um, Hong's width) so that the sharp-interface kinetics, and the
exchange current density they represent, do not depend on the numerical width.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from dendrax.physics.parameters import PhysicalParams

GAS_CONSTANT = 8.314462618      # J / (mol K), CODATA 2018 exact
FARADAY = 96485.33212           # C / mol, CODATA 2018 exact
BOLTZMANN = 1.380649e-23        # J / K, CODATA 2018 exact
C_PER_M2_PER_MAH_CM2 = 36000.0  # areal charge: 1 mAh/cm^2 = 3.6 C/cm^2 = 36000 C/m^2
# Energy-density unit: R * 300 K * 1000 mol/m^3 (Hong & Viswanathan 2018 normalisation).
ENERGY_DENSITY_UNIT_J_M3 = GAS_CONSTANT * 300.0 * 1000.0
REFERENCE_CONCENTRATION_MOL_M3 = 1000.0   # c_ref of the Nernst / Butler-Volmer term (1 M)
REFERENCE_INTERFACE_WIDTH_UM = 1.0        # Hong 2018: sqrt(8 * 0.3 / 2.4) = 1 um
# The initial depletion profile is floored at this fraction of c0 (a large gradient times the cell
# height would otherwise ask for a negative concentration).
MIN_INITIAL_CONCENTRATION = 0.05
_FLOOR_SOFTNESS = 0.02


@dataclasses.dataclass(frozen=True)
class Chemistry:
  """Material constants of one metal / electrolyte pair (static: not differentiated)."""
  name: str
  electrons: int                        # n, charge number of the cation
  site_density_mol_m3: float            # c_s, metal atoms per volume
  solid_diffusivity_m2_s: float         # D_s
  reference_diffusivity_m2_s: float     # D_l at reference_temperature_k, reference_fluidity
  reference_temperature_k: float
  reference_fluidity_per_pa_s: float
  reaction_rate_per_s: float            # L_eta at T_ref for a 1 um interface
  reaction_activation_j_mol: float      # E_K, Arrhenius energy of L_eta
  interface_mobility_m3_j_s: float      # L_sigma
  transfer_coefficient: float           # alpha
  anisotropy_strength: float            # delta in kappa(theta) = kappa0 (1 + delta cos(m theta))
  anisotropy_mode: int                  # m
  sources: str

  @property
  def charge_per_um_c_m2(self) -> float:
    """n F c_s 1e-6: the charge (C/m^2) that deposits 1 um of metal (Faraday's law)."""
    return self.electrons * FARADAY * self.site_density_mol_m3 * 1e-6

  @property
  def hydrodynamic_radius_m(self) -> float:
    """Stokes radius r_h with D_ref = k_B T_ref fluidity_ref / (6 pi r_h)."""
    return (BOLTZMANN * self.reference_temperature_k * self.reference_fluidity_per_pa_s
            / (6.0 * math.pi * self.reference_diffusivity_m2_s))

  @property
  def anisotropy_eps(self) -> float:
    """eps of `anisotropy` (gradient energy a(theta)^2 with a = 1 + eps cos(m theta)).

    The literature writes kappa(theta) = kappa0 (1 + delta cos m theta); a^2 = 1 + 2 eps cos + ...
    matches it to first order for eps = delta / 2. (Using eps = delta would make the interface
    stiffness 1 - (m^2 - 1) eps negative for Li and Zn: an ill-posed, grid-dependent model.)
    """
    return 0.5 * self.anisotropy_strength


CHEMISTRIES: dict[str, Chemistry] = {
    'Li': Chemistry(
        name='Li', electrons=1,
        site_density_mol_m3=7.64e4,
        solid_diffusivity_m2_s=7.5e-13,
        reference_diffusivity_m2_s=3.197e-10,
        reference_temperature_k=300.0,
        # Geometric middle of the fluidity range (carbonate electrolytes: 1-10 mPa s).
        reference_fluidity_per_pa_s=math.sqrt(100.0 * 1000.0),
        reaction_rate_per_s=1e-3,
        reaction_activation_j_mol=3e4,
        interface_mobility_m3_j_s=2.5e-6,
        transfer_coefficient=0.5,
        anisotropy_strength=0.1, anisotropy_mode=4,
        sources=('Chen et al., J. Power Sources 300 (2015) 376; Hong & Viswanathan, ACS Energy '
                 'Lett. 3 (2018) 1737 (c_s, D_s, D_l, L_sigma, L_eta, alpha); anisotropy 0.1, '
                 'mode 4 from the OpenFOAM re-implementation (PHYSICS.md section 1); E_K from '
                 'the public Arrhenius variant cited there.')),
    'Zn': Chemistry(
        name='Zn', electrons=2,
        # 7140 kg/m^3 / 65.38 g/mol.
        site_density_mol_m3=7140.0 / 65.38e-3,
        # Negligible against D_l like Li's D_s; no measured value is needed by the model.
        solid_diffusivity_m2_s=7.5e-13,
        # Zn2+ tracer diffusivity at infinite dilution, 25 C (CRC Handbook, 7.03e-10 m^2/s),
        # in water (0.890 mPa s).
        reference_diffusivity_m2_s=7.03e-10,
        reference_temperature_k=298.15,
        reference_fluidity_per_pa_s=1.0 / 0.890e-3,
        # Assumed equal to Li's (no published value for this model); documented in physics.md.
        reaction_rate_per_s=1e-3,
        reaction_activation_j_mol=3e4,
        interface_mobility_m3_j_s=2.5e-6,
        transfer_coefficient=0.5,
        anisotropy_strength=0.04, anisotropy_mode=6,
        sources=('Zn density 7140 kg/m^3, M = 65.38 g/mol; D(Zn2+) CRC Handbook; hexagonal '
                 'anisotropy 0.04, mode 6 from BattModels/zn_hybrid_electrolyte; kinetic '
                 'coefficients assumed equal to the Li preset.')),
}


def get_chemistry(name: str) -> Chemistry:
  """The preset named `name`; ValueError naming the field if unknown."""
  if name not in CHEMISTRIES:
    raise ValueError(f'chemistry={name!r}; expected one of {tuple(CHEMISTRIES)}')
  return CHEMISTRIES[name]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class ModelCoefficients:
  """Coefficients of the nondimensional model (see module docstring), each a scalar array.

  A pytree, differentiable with respect to the physical parameters it was built from.
  """
  thermal_factor_per_v: jax.Array       # f = nF/RT
  liquid_diffusivity_um2_s: jax.Array   # D_l
  solid_diffusivity_um2_s: jax.Array    # D_s
  gradient_coefficient_um2: jax.Array   # kappa (energy density unit * um^2)
  barrier_height: jax.Array             # W (energy density unit)
  interface_mobility_per_s: jax.Array   # L_sigma (per energy density unit per s), width-scaled
  reaction_rate_per_s: jax.Array        # L_eta, Arrhenius- and width-scaled
  transfer_coefficient: jax.Array       # alpha
  site_ratio: jax.Array                 # c_s / c0
  reference_ratio: jax.Array            # c0 / c_ref in the Butler-Volmer reverse term
  cell_voltage_v: jax.Array             # V = -E * height (electrode relative to the bulk face)
  initial_gradient_per_um: jax.Array    # G / c0
  charge_per_um_c_m2: jax.Array         # n F c_s * 1e-6: charge of 1 um of metal per m^2


def interface_energy_coefficients(surface_energy_j_m2, width_um):
  """(kappa [um^2], W) in energy-density units for gamma and interface width l (um)."""
  gamma = jnp.asarray(surface_energy_j_m2) / (ENERGY_DENSITY_UNIT_J_M3 * 1e-6)
  return 1.5 * gamma * width_um, 12.0 * gamma / width_um


def model_coefficients(params: PhysicalParams, chemistry: Chemistry | str, *,
                       interface_width_um: float, domain_height_um: float) -> ModelCoefficients:
  """Maps the seven physical parameters (scalars or [B] arrays) onto `ModelCoefficients`.

  `interface_width_um` is the numerical width l of the diffuse interface; `domain_height_um` the
  distance from the bottom face (current collector) to the bulk face, over which E applies.
  """
  chem = get_chemistry(chemistry) if isinstance(chemistry, str) else chemistry
  t = jnp.asarray(params.temperature_k)
  c0 = jnp.asarray(params.ion_concentration_mol_m3)
  f = chem.electrons * FARADAY / (GAS_CONSTANT * t)
  d_liquid_m2_s = (BOLTZMANN * t * jnp.asarray(params.fluidity_per_pa_s)
                   / (6.0 * math.pi * chem.hydrodynamic_radius_m))
  arrhenius = jnp.exp(-chem.reaction_activation_j_mol / GAS_CONSTANT
                      * (1.0 / t - 1.0 / chem.reference_temperature_k))
  width_scale = REFERENCE_INTERFACE_WIDTH_UM / interface_width_um
  kappa, barrier = interface_energy_coefficients(params.surface_energy_j_m2, interface_width_um)
  ones = jnp.ones_like(t)
  return ModelCoefficients(
      thermal_factor_per_v=f,
      liquid_diffusivity_um2_s=d_liquid_m2_s * 1e12,
      solid_diffusivity_um2_s=chem.solid_diffusivity_m2_s * 1e12 * ones,
      gradient_coefficient_um2=kappa * ones,
      barrier_height=barrier * ones,
      interface_mobility_per_s=(chem.interface_mobility_m3_j_s * ENERGY_DENSITY_UNIT_J_M3
                                * width_scale * ones),
      reaction_rate_per_s=chem.reaction_rate_per_s * arrhenius * width_scale,
      transfer_coefficient=chem.transfer_coefficient * ones,
      site_ratio=chem.site_density_mol_m3 / c0,
      reference_ratio=c0 / REFERENCE_CONCENTRATION_MOL_M3,
      cell_voltage_v=-jnp.asarray(params.field_strength_kv_per_m) * 1e3 * domain_height_um * 1e-6,
      initial_gradient_per_um=jnp.asarray(params.concentration_gradient_mol_m3_per_um) / c0,
      charge_per_um_c_m2=chem.charge_per_um_c_m2 * ones,
  )


def initial_concentration_profile(height_above_um, coeffs: ModelCoefficients):
  """c/c0 at heights `height_above_um` measured *down* from the bulk face (>= 0).

  1 - G/c0 * depth, floored smoothly (softplus) at MIN_INITIAL_CONCENTRATION.
  """
  raw = 1.0 - coeffs.initial_gradient_per_um * height_above_um
  s = _FLOOR_SOFTNESS
  return MIN_INITIAL_CONCENTRATION + s * jax.nn.softplus((raw - MIN_INITIAL_CONCENTRATION) / s)


def sharp_interface_summary(coeffs: ModelCoefficients, chem: Chemistry) -> dict[str, float]:
  """A few derived numbers for reports (concrete coefficients only)."""
  gamma = float(jnp.sqrt(2 * coeffs.gradient_coefficient_um2 * coeffs.barrier_height) / 6)
  return {
      'surface_energy_j_m2': gamma * ENERGY_DENSITY_UNIT_J_M3 * 1e-6,
      'interface_width_um': float(jnp.sqrt(8 * coeffs.gradient_coefficient_um2
                                           / coeffs.barrier_height)),
      'liquid_diffusivity_m2_s': float(coeffs.liquid_diffusivity_um2_s) * 1e-12,
      'cell_voltage_v': float(coeffs.cell_voltage_v),
      'electrons': chem.electrons,
  }
