"""Nernst-Einstein conductivity (the paper's Eq. 3) and the Anderson-Stuart barrier (Eqs. 4 and 5)."""

from __future__ import annotations

import math

from dopant_workflows.errors import DopwfInputError

ELEMENTARY_CHARGE_C = 1.602176634e-19
BOLTZMANN_J_K = 1.380649e-23
#: e^2 / (4 pi eps0) in eV * A
COULOMB_EV_A = 14.399645


def nernst_einstein_conductivity_mS_cm(diffusivity_cm2_s: float, temperature_K: float, n_carriers: int,
                                       volume_A3: float, charge: int = 1, haven_ratio: float = 1.0) -> float:
    """sigma = n (z e)^2 D / (H_R k_B T) with n = n_carriers / V (the paper's sigma = F^2 c D / RT).

    Units: D in cm^2/s, V in A^3, result in mS/cm. Haven ratio 1 (uncorrelated ions) unless given.
    """
    for name, value in (("diffusivity_cm2_s", diffusivity_cm2_s), ("temperature_K", temperature_K),
                        ("volume_A3", volume_A3), ("haven_ratio", haven_ratio)):
        if not (value > 0 and math.isfinite(value)):
            raise DopwfInputError(f"{name}={value!r}: expected a positive number")
    if n_carriers <= 0:
        raise DopwfInputError(f"n_carriers={n_carriers!r}: expected a positive count")
    density_cm3 = n_carriers / (volume_A3 * 1e-24)
    sigma_S_cm = density_cm3 * (charge * ELEMENTARY_CHARGE_C) ** 2 * diffusivity_cm2_s / (
        haven_ratio * BOLTZMANN_J_K * temperature_K)
    return 1e3 * sigma_S_cm


def effective_radius_A(volume_A3: float, n_species: int, n_total: int) -> float:
    """The paper's Eq. 5, r = 2 (3 V_m N_alpha / (4 pi N_T))^(1/3), with V_m the volume PER ATOM (V / N_T).

    The paper calls V_m "the cell simulation volume", but its numbers (r_Cl = 0.63, 0.79, 0.91 A for 1, 2, 3
    Cl in the 150-atom cell) are reproduced only with V_m = V / N_T; with the whole cell volume r_Cl would be
    ~3.3 A. We follow the numbers.
    """
    if volume_A3 <= 0 or n_total <= 0 or n_species < 0:
        raise DopwfInputError(f"effective radius: volume_A3={volume_A3}, n_species={n_species}, n_total={n_total}")
    volume_per_atom = volume_A3 / n_total
    return 2.0 * (3.0 * volume_per_atom * n_species / (4.0 * math.pi * n_total)) ** (1.0 / 3.0)


def anderson_stuart_barrier_eV(jump_distance_A: float, r_cation_A: float, r_anion_A: float, epsilon_r: float,
                               z_cation: int = 1, z_anion: int = -1) -> float:
    """Electrostatic part of the modified Anderson-Stuart barrier, the paper's Eq. 4 (strain energy neglected):

        dE_B = (-1 + 2 (r_c + r_a) / (lambda + 2 (r_c + r_a))) * z_a z_c e^2 / (4 pi eps0 eps_r) / (r_c + r_a)

    lambda (``jump_distance_A``): distance between stable cation sites (first Li-Li RDF peak), A;
    r_c, r_a: effective radii (Eq. 5), A; eps_r: relative permittivity; e^2/(4 pi eps0) = 14.3996 eV A.
    """
    for name, value in (("jump_distance_A", jump_distance_A), ("r_cation_A", r_cation_A),
                        ("epsilon_r", epsilon_r)):
        if not (value > 0 and math.isfinite(value)):
            raise DopwfInputError(f"{name}={value!r}: expected a positive number")
    if not (r_anion_A >= 0 and math.isfinite(r_anion_A)):
        raise DopwfInputError(f"r_anion_A={r_anion_A!r}: expected a non-negative number")
    contact = r_cation_A + r_anion_A
    geometric = -1.0 + 2.0 * contact / (jump_distance_A + 2.0 * contact)
    return geometric * z_anion * z_cation * COULOMB_EV_A / (epsilon_r * contact)
