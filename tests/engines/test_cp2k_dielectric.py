"""The electronic dielectric tensor from CP2K's linear response: units and the formula on a replayed real output,
and, with the real program, the linear response against finite fields (the Berry-phase dipole at +-E)."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest
from ase import units

from dopant_workflows.engines.cp2k.dielectric import electronic_permittivity, read_polarizability_bohr3
from dopant_workflows.engines.cp2k.settings import cp2k_available
from tests.engines.test_cp2k import CHEAP, DATA, li2s

needs_cp2k = pytest.mark.skipif(cp2k_available() is not None, reason=f"CP2K not here: {cp2k_available()}")
DEBYE_E_BOHR = 0.393430307  # 1 Debye in e * bohr


def test_polarizability_and_permittivity_of_a_real_output():
    alpha = read_polarizability_bohr3(DATA / "li2s_szv_200Ry_polar.out")
    assert alpha[0, 0] == pytest.approx(243.574107676515)
    assert alpha[0, 1] == alpha[1, 0] == pytest.approx(0.5 * (-0.324258255183 - 0.321621897112))
    volume_A3 = li2s().get_volume()
    eps = electronic_permittivity(alpha, volume_A3)
    assert eps[0, 0] == pytest.approx(1 + 4 * math.pi * 243.574107676515 * units.Bohr ** 3 / volume_A3)
    assert 3.3 < np.trace(eps) / 3 < 3.6  # SZV basis, Gamma only: below a converged PBE value (~4)
    np.testing.assert_allclose(electronic_permittivity(np.zeros((3, 3)), volume_A3), np.eye(3))


def test_an_output_without_a_polarizability_is_named():
    from dopant_workflows.errors import DopwfInputError

    with pytest.raises(DopwfInputError, match="li2s_szv_200Ry.out: no 'POLAR| Polarizability tensor"):
        read_polarizability_bohr3(DATA / "li2s_szv_200Ry.out")


@pytest.mark.slow
@needs_cp2k
def test_linear_response_equals_finite_fields(tmp_path):
    """alpha_xx from &LINRES &POLAR against (M_x(+E) - M_x(-E)) / 2E with &PERIODIC_EFIELD (Berry-phase dipoles)."""
    from dopant_workflows.engines.cp2k.dielectric import run_electronic_dielectric
    from dopant_workflows.engines.cp2k.inputs import input_text
    from dopant_workflows.engines.cp2k.runs import run_input

    atoms = li2s()
    result = run_electronic_dielectric(tmp_path / "linres", atoms, CHEAP)
    field_au = 0.001
    dipoles = []
    for sign in (+1, -1):
        efield = (f"    &PERIODIC_EFIELD\n      INTENSITY {field_au}\n      POLARISATION {sign} 0 0\n"
                  "    &END PERIODIC_EFIELD\n    &PRINT\n      &MOMENTS ON\n        PERIODIC T\n"
                  "      &END MOMENTS\n    &END PRINT\n")
        text = input_text(atoms, CHEAP.model_copy(update={"stress": False}), run_type="ENERGY", dft_tail=efield)
        run_input(tmp_path / f"field{sign:+d}", text, CHEAP)
        output = (tmp_path / f"field{sign:+d}" / "cp2k.out").read_text()
        dipoles.append(float(re.findall(r"X=\s*(\S+)", output)[-1]) * DEBYE_E_BOHR)
    finite_field = (dipoles[0] - dipoles[1]) / (2 * field_au)
    assert result.polarizability_bohr3[0, 0] == pytest.approx(finite_field, rel=5e-3)
    assert result.eps_electronic == pytest.approx(float(np.trace(result.epsilon_electronic) / 3))


@pytest.mark.slow
@needs_cp2k
def test_dopwf_dielectric_json(tmp_path):
    from ase.io import write

    write(tmp_path / "Li2S.vasp", li2s(), format="vasp")
    (tmp_path / "cheap.yaml").write_text("basis_set: SZV-MOLOPT-SR-GTH\ncutoff_Ry: 200\nrel_cutoff_Ry: 30\n"
                                         "eps_default: 1.0e-10\n")
    done = subprocess.run([sys.executable, "-m", "dopant_workflows.cli", "dielectric", str(tmp_path / "Li2S.vasp"),
                           "--engine", "cp2k", "--json", "--cp2k-settings", str(tmp_path / "cheap.yaml"), "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    record = json.loads(done.stdout)
    assert record["engine"] == "cp2k" and record["holds"] == "electronic"
    assert 3.3 < record["eps_electronic"] < 3.6 and record["eps_r"] is None
    assert "ionic" in record["missing"]
