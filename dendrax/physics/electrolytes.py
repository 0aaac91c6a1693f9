r"""Binary-electrolyte presets and the parameter mapping of the electroneutral model.

The single place where the electroneutral model's numbers live (the cation-only `hong2018` model
keeps its own in `coefficients`). Every constant carries its source; docs/physics.md tabulates
them.

Units of `ElectrolyteCoefficients`: length um, time s, potential V, concentration c~ = c / c0
(c0 the bulk salt concentration of the run), fluxes in c~ um / s. A current density J (A/m^2)
is J / (z F c0) * 1e6 in these units (`current_scale_a_m2`).

How the seven parameters enter (expected signs and their sources: docs/physics.md):
  temperature T       f = zF/RT; salt diffusivity through Stokes-Einstein, D ~ T * fluidity;
                      exchange current through Arrhenius (activation E_K). The conductivity
                      follows Nernst-Einstein, kappa ~ c D / T, so T cancels in it.
  concentration grad  G, the salt gradient that the bulk can sustain towards the window: the
                      window's top face exchanges salt with the bulk (c = c0) through a stagnant
                      (Nernst) diffusion layer of thickness L_N = c0 / G. It acts for the whole
                      run: it sets the limiting current z F D c0 / (t_- (H + L_N)).
  field strength E    the galvanostatic current density of the protocol, J = sigma_nom E with a
                      FIXED nominal conductivity sigma_nom = 1 S/m (so E = 0.1 kV/m is
                      10 mA/cm^2), independent of c0, T and fluidity (the protocol's current does
                      not scale with the electrolyte). Under potentiostatic control E does not act.
  ion concentration   c0: bulk and reservoir concentration; kappa ~ c0; i0 ~ c0^(1 - alpha);
                      the metal / ion ratio c_s / c0 of the Li balance.
  surface energy      gamma: the Gibbs-Thomson shift gamma Omega kappa / (z F) of the metal's
                      equilibrium potential at curvature kappa (about 2e-5 V at a 3 um radius:
                      capillarity acts below ~10 nm, not at the micron scale of the window; the
                      diffuse profile itself is kept by a numerical relaxation, `electroneutral`).
  fluidity 1/eta      D through Stokes-Einstein; kappa through Nernst-Einstein.
  n_defects           nuclei on the initial electrode (initial conditions).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from dendrax.physics import coefficients as coef
from dendrax.physics.parameters import PhysicalParams

FARADAY = coef.FARADAY
GAS_CONSTANT = coef.GAS_CONSTANT
REFERENCE_CONCENTRATION_MOL_M3 = 1000.0
# sigma_nom of the field -> current mapping J = sigma_nom E (a unit convention, not a property of
# any electrolyte: 1 kV/m <-> 100 mA/cm^2).
NOMINAL_CONDUCTIVITY_S_M = 1.0


@dataclasses.dataclass(frozen=True)
class Electrolyte:
  """Metal / binary-electrolyte pair at its reference state (static: not differentiated)."""
  name: str
  charge_number: int                      # z of the cation (and |z| of the anion: z:z salt)
  site_density_mol_m3: float              # c_s = 1 / molar volume of the metal
  salt_diffusivity_m2_s: float            # D, ambipolar, at the reference state
  cation_transference: float              # t_+
  conductivity_s_m: float                 # kappa at c_ref, T_ref
  exchange_current_a_m2: float            # i0 at c_ref, T_ref
  reference_temperature_k: float
  reference_fluidity_per_pa_s: float      # 1 / viscosity of the reference electrolyte
  kinetic_activation_j_mol: float         # E_K of i0 (Arrhenius)
  transfer_coefficient: float             # alpha (cathodic)
  anisotropy_strength: float
  anisotropy_mode: int
  sources: str

  @property
  def cation_diffusivity_m2_s(self) -> float:
    """D_+ = D / (2 t_-) (dilute relations t_+ = D_+ / (D_+ + D_-), D = 2 D_+ D_- / (D_+ + D_-))."""
    return self.salt_diffusivity_m2_s / (2.0 * (1.0 - self.cation_transference))

  @property
  def anion_diffusivity_m2_s(self) -> float:
    """D_- = D / (2 t_+)."""
    return self.salt_diffusivity_m2_s / (2.0 * self.cation_transference)

  @property
  def molar_volume_m3_mol(self) -> float:
    return 1.0 / self.site_density_mol_m3

  @property
  def anisotropy_eps(self) -> float:
    """eps of `anisotropy` (a = 1 + eps cos m theta): delta / 2, see `coefficients.Chemistry`."""
    return 0.5 * self.anisotropy_strength


ELECTROLYTES: dict[str, Electrolyte] = {
    'Li': Electrolyte(
        name='Li', charge_number=1,
        site_density_mol_m3=7.64e4,
        salt_diffusivity_m2_s=3.22e-10,
        cation_transference=0.38,
        conductivity_s_m=1.19,
        exchange_current_a_m2=10.0,
        reference_temperature_k=298.15,
        reference_fluidity_per_pa_s=math.sqrt(100.0 * 1000.0),
        kinetic_activation_j_mol=3e4,
        transfer_coefficient=0.5,
        anisotropy_strength=0.1, anisotropy_mode=4,
        sources=(
            '1 M LiPF6 in EC:DMC / EC:DEC at 298 K. D and t+: Valoen & Reimers, J. Electrochem. '
            'Soc. 152 (2005) A882 (correlations evaluated at 1 M, as in shared/SAND_TIME.md); '
            'kappa = 1.19 S/m: the same correlation at 1 M, 298 K (also Hong & Viswanathan '
            '2018\'s sigma_l); c_s = 7.64e4 mol/m^3 (Li metal, 13.1 cm^3/mol; Hong 2018); '
            'i0 = 1 mA/cm^2: the exchange current of Hong 2018\'s L_eta = 1e-3 1/s for their 1 um '
            'interface, i0 = L_eta z F c_s 1.25 l = 0.92 mA/cm^2, inside the 0.1-10 mA/cm^2 '
            'measured for Li in carbonates; alpha = 0.5 and anisotropy (unused by the '
            'electroneutral model, see physics.md) as the hong2018 preset; E_K = 30 kJ/mol (PHYSICS.md section 1).')),
    'Zn': Electrolyte(
        name='Zn', charge_number=2,
        site_density_mol_m3=7140.0 / 65.38e-3,
        # Dilute relations from D(Zn2+) = 7.03e-10 and D(SO4 2-) = 1.065e-9 m^2/s (CRC Handbook,
        # ionic diffusivities at infinite dilution, 25 C): D = 8.47e-10, t+ = 0.398.
        salt_diffusivity_m2_s=2 * 7.03e-10 * 1.065e-9 / (7.03e-10 + 1.065e-9),
        cation_transference=7.03e-10 / (7.03e-10 + 1.065e-9),
        conductivity_s_m=4.5,
        exchange_current_a_m2=5.0,
        reference_temperature_k=298.15,
        reference_fluidity_per_pa_s=1.0 / 0.890e-3,
        kinetic_activation_j_mol=3e4,
        transfer_coefficient=0.5,
        anisotropy_strength=0.04, anisotropy_mode=6,
        sources=(
            '1 M aqueous ZnSO4 at 298 K. D+, D-: CRC Handbook (infinite dilution), combined by the '
            'dilute relations; kappa ~ 4.5 S/m at 1 M (CRC Handbook, conductivity of aqueous '
            'solutions; strong ion pairing keeps it far below Nernst-Einstein); i0 ~ 0.5 mA/cm^2 '
            '(order of the values reported for Zn in sulfate electrolytes, an assumption '
            'documented in docs/physics.md); Zn 7140 kg/m^3, 65.38 g/mol; hexagonal anisotropy '
            '0.04, mode 6 (BattModels/zn_hybrid_electrolyte); water 0.890 mPa s.')),
}


def get_electrolyte(name: str) -> Electrolyte:
  if name not in ELECTROLYTES:
    raise ValueError(f'chemistry={name!r}; expected one of {tuple(ELECTROLYTES)}')
  return ELECTROLYTES[name]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class ElectrolyteCoefficients:
  """Coefficients of the electroneutral model (scalar leaves, or [B] under vmap)."""
  f_per_v: jax.Array                      # z F / (R T)
  alpha: jax.Array                        # cathodic transfer coefficient
  reaction_velocity_um_s: jax.Array       # k0 = i0(c0, T) / (z F c_s), um/s
  interface_width_um: jax.Array           # l of the interface density 4 xi (1 - xi) / l
  salt_diffusivity_um2_s: jax.Array       # D (ambipolar)
  anion_transference: jax.Array           # t_- = 1 - t_+
  conductivity_um2_v_s: jax.Array         # kappa(c0) / (z F c0), so that i = -sigma c~ grad phi
  site_ratio: jax.Array                   # c_s / c0
  current_scale_a_m2: jax.Array           # z F c0 1e-6: c~ um / s -> A/m^2
  target_current_a_m2: jax.Array          # J = sigma_nom E (galvanostatic stages)
  supply_length_um: jax.Array             # L_N = c0 / G (Nernst layer above the window)
  exchange_current_a_m2: jax.Array        # i0(c0, T), for reports and checks
  solid_diffusivity_um2_s: jax.Array      # D in the metal (numerical floor, see electroneutral)
  capillary_length_v_um: jax.Array        # gamma Omega / (z F) * 1e6: Gibbs-Thomson, V um


def current_density_for_field(field_strength_kv_per_m):
  """J (A/m^2) = sigma_nom E; 1 kV/m <-> 1000 A/m^2 = 100 mA/cm^2."""
  return NOMINAL_CONDUCTIVITY_S_M * jnp.asarray(field_strength_kv_per_m) * 1e3


def field_for_current_density(current_ma_cm2):
  """Inverse of `current_density_for_field`, with J in mA/cm^2 (10 A/m^2 per mA/cm^2)."""
  return float(current_ma_cm2) * 10.0 / (NOMINAL_CONDUCTIVITY_S_M * 1e3)


def electrolyte_coefficients(params: PhysicalParams, electrolyte: Electrolyte | str, *,
                             interface_width_um: float) -> ElectrolyteCoefficients:
  """Maps the seven physical parameters (scalars or [B]) onto `ElectrolyteCoefficients`."""
  el = get_electrolyte(electrolyte) if isinstance(electrolyte, str) else electrolyte
  t = jnp.asarray(params.temperature_k)
  c0 = jnp.asarray(params.ion_concentration_mol_m3)
  fluidity = jnp.asarray(params.fluidity_per_pa_s)
  ones = jnp.ones_like(t)
  z = el.charge_number
  f = z * FARADAY / (GAS_CONSTANT * t)
  fluidity_ratio = fluidity / el.reference_fluidity_per_pa_s
  # Stokes-Einstein: D ~ T / viscosity.
  d_salt = el.salt_diffusivity_m2_s * (t / el.reference_temperature_k) * fluidity_ratio
  # Nernst-Einstein: kappa ~ c D / T  =>  kappa / c0 ~ fluidity (T cancels).
  kappa = el.conductivity_s_m * (c0 / REFERENCE_CONCENTRATION_MOL_M3) * fluidity_ratio
  arrhenius = jnp.exp(-el.kinetic_activation_j_mol / GAS_CONSTANT
                      * (1.0 / t - 1.0 / el.reference_temperature_k))
  alpha = el.transfer_coefficient
  i0 = (el.exchange_current_a_m2 * (c0 / REFERENCE_CONCENTRATION_MOL_M3)**(1.0 - alpha)
        * arrhenius)
  charge_per_um = z * FARADAY * el.site_density_mol_m3 * 1e-6        # C/m^2 per um of metal
  k0 = i0 / charge_per_um
  gradient = jnp.asarray(params.concentration_gradient_mol_m3_per_um)
  supply = c0 / jnp.maximum(gradient, 1e-9)
  scale = z * FARADAY * c0 * 1e-6
  return ElectrolyteCoefficients(
      f_per_v=f, alpha=alpha * ones,
      reaction_velocity_um_s=k0, interface_width_um=interface_width_um * ones,
      salt_diffusivity_um2_s=d_salt * 1e12,
      anion_transference=(1.0 - el.cation_transference) * ones,
      conductivity_um2_v_s=kappa / (z * FARADAY * c0) * 1e12,
      site_ratio=el.site_density_mol_m3 / c0,
      current_scale_a_m2=scale,
      target_current_a_m2=current_density_for_field(params.field_strength_kv_per_m) * ones,
      supply_length_um=supply,
      exchange_current_a_m2=i0,
      solid_diffusivity_um2_s=coef.CHEMISTRIES[el.name].solid_diffusivity_m2_s * 1e12 * ones,
      capillary_length_v_um=(jnp.asarray(params.surface_energy_j_m2) * el.molar_volume_m3_mol
                             / (z * FARADAY) * 1e6 * ones),
  )


# ---- analytic references (flat electrode, binary electrolyte; PHYSICS.md section 7) ----------

def sand_time_s(current_density_a_m2, diffusivity_m2_s, concentration_mol_m3,
                anion_transference, charge_number=1):
  """t_Sand = pi D (z c0 F)^2 / (4 (J t_-)^2)."""
  return (math.pi * diffusivity_m2_s * (charge_number * concentration_mol_m3 * FARADAY)**2
          / (4.0 * (current_density_a_m2 * anion_transference)**2))


def cottrell_current_a_m2(time_s, diffusivity_m2_s, concentration_mol_m3, anion_transference,
                          charge_number=1):
  """i(t) = z F c0 sqrt(D / (pi t)) / t_- (diffusion-limited after a potential step)."""
  return (charge_number * FARADAY * concentration_mol_m3
          * math.sqrt(diffusivity_m2_s / (math.pi * time_s)) / anion_transference)


def limiting_current_a_m2(diffusivity_m2_s, concentration_mol_m3, anion_transference, length_m,
                          charge_number=1):
  """i_lim = z F D c0 / (t_- L), bulk held at distance L."""
  return (charge_number * FARADAY * diffusivity_m2_s * concentration_mol_m3
          / (anion_transference * length_m))


def tafel_slope_v_per_decade(temperature_k, alpha, charge_number=1):
  """d eta / d log10 i = ln(10) R T / (alpha z F) on the cathodic branch."""
  return math.log(10.0) * GAS_CONSTANT * temperature_k / (alpha * charge_number * FARADAY)
