"""The CP2K engine: input text, data-file checks and output units (replayed and real), custodian's handlers on a
real failure, resume, and ``dopwf label``. Tests that run CP2K are skipped, with the reason, where it is not here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms, units
from ase.io import read, write

from dopant_workflows.engines.cp2k.inputs import check_kinds, single_point_text
from dopant_workflows.engines.cp2k.outputs import read_single_point
from dopant_workflows.engines.cp2k.settings import Cp2kSettings, cp2k_available
from dopant_workflows.errors import DopwfInputError

DATA = Path(__file__).parents[1] / "data" / "cp2k"
#: cheap settings for 12-atom tests (seconds a single point); the production defaults are Cp2kSettings()
CHEAP = Cp2kSettings(basis_set="SZV-MOLOPT-SR-GTH", cutoff_Ry=200, rel_cutoff_Ry=30, eps_default=1e-10)
needs_cp2k = pytest.mark.skipif(cp2k_available() is not None, reason=f"CP2K not here: {cp2k_available()}")


def li2s(displace: tuple[float, float, float] = (0.05, -0.03, 0.08), a_A: float = 5.71) -> Atoms:
    """Antifluorite Li2S, conventional cell: S on the fcc sites, Li in the 8 tetrahedral holes; Li 5 displaced."""
    fcc = [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]
    tetrahedral = [[x, y, z] for x in (.25, .75) for y in (.25, .75) for z in (.25, .75)]
    atoms = Atoms("S4Li8", scaled_positions=fcc + tetrahedral, cell=[a_A] * 3, pbc=True)
    atoms.positions[5] += displace
    return atoms


# ---------------------------------------------------------------- input text (no CP2K needed)
def test_input_text_round_trips_through_pymatgen_as_custodian_rewrites_it(tmp_path):
    """custodian's handlers parse our input with pymatgen's Cp2kInput and write it back: nothing may be lost."""
    from pymatgen.io.cp2k.inputs import Cp2kInput

    atoms = li2s()
    text = single_point_text(atoms, CHEAP)
    parsed = Cp2kInput.from_str(text)
    assert parsed["FORCE_EVAL"]["DFT"]["MGRID"]["CUTOFF"].values[0] == 200
    assert parsed["FORCE_EVAL"]["DFT"]["SCF"]["OT"]["MINIMIZER"].values[0] == "DIIS"
    rewritten = Cp2kInput.from_str(parsed.get_str())
    # every atom survives the rewrite, at its position
    lines = [line.split() for line in rewritten.get_str().splitlines()]
    written = [(t[0], *map(float, t[1:4])) for t in lines if len(t) == 4 and t[0] in ("Li", "S")]
    assert len(written) == len(atoms)
    wrapped = atoms.get_positions(wrap=True)
    for (symbol, *xyz), expected_symbol, expected in zip(written, atoms.get_chemical_symbols(), wrapped, strict=True):
        assert symbol == expected_symbol
        np.testing.assert_allclose(xyz, expected, atol=1e-8)


def test_an_element_without_the_basis_set_is_refused_before_any_run(tmp_path):
    from dopant_workflows.engines.cp2k.runs import run_static

    (tmp_path / "BASIS").write_text("# two entries\n Li SZV-MOLOPT-SR-GTH SZV-MOLOPT-SR-GTH-q3\n 1\n 2 0 1 6 1 1\n"
                                    " S SZV-MOLOPT-SR-GTH SZV-MOLOPT-SR-GTH-q6\n 1\n")
    (tmp_path / "POT").write_text("Li GTH-PBE-q3 GTH-PBE\n    2    1\nS GTH-PBE-q6 GTH-PBE\n    2    4\n")
    settings = CHEAP.model_copy(update={"data_dir": str(tmp_path), "basis_set_file": "BASIS",
                                        "pseudopotential_file": "POT"})
    check_kinds(["Li", "S"], settings)
    with pytest.raises(DopwfInputError, match=r"basis set 'SZV-MOLOPT-SR-GTH'.*holds none for Cl"):
        check_kinds(["Cl", "Li", "S"], settings)
    with pytest.raises(DopwfInputError, match="pseudopotential 'GTH-BLYP'.*holds none for Li, S"):
        check_kinds(["Li", "S"], settings.model_copy(update={"pseudopotential": "GTH-BLYP"}))
    with pytest.raises(DopwfInputError, match="periodic 3D cell"):
        run_static(tmp_path / "run", Atoms("Li2", positions=[[0, 0, 0], [0, 0, 2.7]]), settings)
    assert not (tmp_path / "run").exists()


def test_settings_refuse_a_typo_and_a_loose_scf():
    with pytest.raises(ValueError, match="cutof"):
        Cp2kSettings(cutof_Ry=400)
    with pytest.raises(ValueError, match="eps_scf"):
        Cp2kSettings(eps_scf=0.1)
    assert Cp2kSettings(ranks=4).command_line()[:4] == ["mpirun", "--allow-run-as-root", "-np", "4"]


# ---------------------------------------------------------------- output units (a replayed real output)
def test_a_real_output_is_read_in_ase_units():
    """Numbers from tests/data/cp2k/li2s_szv_200Ry.out, a real CP2K 2023.1 run: Hartree -> eV, Ha/bohr -> eV/A,
    GPa (pressure sign) -> eV/A^3 (ASE's sign); Li 5's force equals the one CP2K itself printed in eV/A."""
    result = read_single_point(DATA / "li2s_szv_200Ry.out", 12)
    assert result.energy_eV == pytest.approx(-99.406567932209015 * 27.211386245988, abs=1e-4)
    np.testing.assert_allclose(result.forces_eV_A[5], [0.1788820340, -0.3367821332, 0.1129598037], atol=2e-6)
    text = (DATA / "li2s_szv_200Ry.out").read_text()
    xx_GPa = float(text.split("STRESS| Analytical stress tensor [GPa]")[1].splitlines()[2].split()[2])
    assert result.stress_eV_A3[0] == pytest.approx(-xx_GPa * units.GPa)
    assert result.scf_steps > 0


@pytest.mark.parametrize(("cut", "message"), [
    (lambda text: text.split(" ATOMIC FORCES in [a.u.]")[0], "did not finish"),
    (lambda text: text.replace(" SCF run converged in", " *** SCF run NOT converged ***\n x"), "did not converge"),
])
def test_an_unfinished_or_unconverged_output_is_no_label(tmp_path, cut, message):
    path = tmp_path / "cp2k.out"
    path.write_text(cut((DATA / "li2s_szv_200Ry.out").read_text()))
    with pytest.raises(DopwfInputError, match=message):
        read_single_point(path, 12)


def test_a_force_block_of_the_wrong_size_is_refused():
    with pytest.raises(DopwfInputError, match="holds 12 atoms, expected 50"):
        read_single_point(DATA / "li2s_szv_200Ry.out", 50)


# ---------------------------------------------------------------- the real program
@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    from dopant_workflows.engines.cp2k.runs import run_static

    settings = CHEAP.model_copy(update={"eps_scf": 1e-7})
    work = tmp_path_factory.mktemp("cp2k")
    return work, settings, run_static(work / "centre", li2s(), settings)


@pytest.mark.slow
@needs_cp2k
def test_forces_are_minus_the_energy_gradient_in_eV_per_A(centre):
    """Central differences of CP2K's energy (converted to eV) against its forces (converted to eV/A): both unit
    conversions and the sign are checked by the physics, not by re-reading the same numbers."""
    from dopant_workflows.engines.cp2k.runs import run_static

    work, settings, labelled = centre
    h = 0.01
    energies = [run_static(work / f"x{sign:+d}", li2s((0.05 + sign * h, -0.03, 0.08)), settings)
                .get_potential_energy() for sign in (+1, -1)]
    finite_difference = -(energies[0] - energies[1]) / (2 * h)
    assert labelled.get_forces()[5, 0] == pytest.approx(finite_difference, abs=0.01)
    assert labelled.info["engine"] == "cp2k" and "SZV-MOLOPT-SR-GTH" in labelled.info["level_of_theory"]


@pytest.mark.slow
@needs_cp2k
def test_stress_is_the_strain_derivative_of_the_energy_with_ase_sign(centre):
    """ASE: stress = (1/V) dE/d(strain). Isotropic strain +-0.5 %: dE/de = V (s_xx + s_yy + s_zz)."""
    from dopant_workflows.engines.cp2k.runs import run_static

    work, settings, labelled = centre
    e = 0.005
    energies = []
    for sign in (+1, -1):
        strained = li2s()
        strained.set_cell(strained.cell * (1 + sign * e), scale_atoms=True)
        energies.append(run_static(work / f"strain{sign:+d}", strained, settings).get_potential_energy())
    derivative = (energies[0] - energies[1]) / (2 * e)
    expected = labelled.get_volume() * labelled.get_stress()[:3].sum()
    assert derivative == pytest.approx(expected, rel=0.1, abs=0.05)


@pytest.mark.slow
@needs_cp2k
def test_a_finished_run_is_read_not_rerun(centre):
    from dopant_workflows.engines.cp2k.runs import run_static

    work, settings, labelled = centre
    before = (work / "centre" / "cp2k.out").stat().st_mtime_ns
    again = run_static(work / "centre", li2s(), settings)
    assert (work / "centre" / "cp2k.out").stat().st_mtime_ns == before
    assert again.get_potential_energy() == labelled.get_potential_energy()


@pytest.mark.slow
@needs_cp2k
def test_custodian_corrects_a_real_scf_failure(tmp_path):
    """MAX_SCF 3 and one outer cycle cannot converge this SCF: UnconvergedScfErrorHandler changes the OT minimiser
    (DIIS -> CG ...) and restarts from the last wavefunction until the SCF converges; the corrections are recorded."""
    from dopant_workflows.engines.cp2k.runs import corrections, run_static

    settings = CHEAP.model_copy(update={"max_scf": 3, "max_outer_scf": 1})
    labelled = run_static(tmp_path / "run", li2s(), settings, max_errors=10, polling_time_step_s=1)
    made = corrections(tmp_path / "run")
    assert made and any("Non-converging" in str(c["errors"]) for c in made)
    assert "MINIMIZER CG" in (tmp_path / "run" / "cp2k.inp").read_text().upper().replace("  ", " ") or \
        any("CG" in json.dumps(c["actions"]) for c in made)
    assert labelled.info["cp2k_corrections"] == len(made)
    reference = read_single_point(DATA / "li2s_szv_200Ry.out", 12)
    assert labelled.get_potential_energy() == pytest.approx(reference.energy_eV, abs=2e-3)


@pytest.mark.slow
@needs_cp2k
def test_a_failure_custodian_cannot_fix_is_an_error_naming_the_run(tmp_path):
    from dopant_workflows.engines.cp2k.runs import Cp2kRunError, run_static

    settings = CHEAP.model_copy(update={"max_scf": 1, "max_outer_scf": 1})
    with pytest.raises(Cp2kRunError, match=r"run.*failed under custodian"):
        run_static(tmp_path / "run", li2s(), settings, max_errors=1, polling_time_step_s=1)


@pytest.mark.slow
@needs_cp2k
def test_dopwf_label_writes_cp2k_labels_and_resumes(tmp_path, centre):
    work, settings, labelled = centre
    frames = tmp_path / "frames.extxyz"
    write(frames, [li2s(), li2s((0.0, 0.0, 0.0))])
    (tmp_path / "cp2k.yaml").write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in settings.as_record().items()
                                                  if v is not None) + "\n")
    from dopant_workflows.jobs.labelling import frame_run_name

    shutil.copytree(work / "centre", tmp_path / "out.runs" / frame_run_name(li2s()))  # done already: resumed
    command = [sys.executable, "-m", "dopant_workflows.cli", "label", str(frames), "--engine", "cp2k", "--out",
               str(tmp_path / "out.extxyz"), "--index", "0:1", "--cp2k-settings", str(tmp_path / "cp2k.yaml")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = read(tmp_path / "out.extxyz", index=":")
    assert len(out) == 1 and out[0].info["engine"] == "cp2k"
    assert out[0].get_potential_energy() == pytest.approx(labelled.get_potential_energy())
    np.testing.assert_allclose(out[0].get_forces(), labelled.get_forces(), atol=1e-7)  # extxyz: 8 decimals
    np.testing.assert_allclose(out[0].get_stress(), labelled.get_stress(), atol=1e-7)


def test_dopwf_label_refuses_an_unknown_engine_and_a_missing_file(tmp_path):
    command = [sys.executable, "-m", "dopant_workflows.cli", "label", str(tmp_path / "none.extxyz"), "--engine",
               "vasp", "--out", str(tmp_path / "out.extxyz")]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode != 0 and "--engine 'vasp'" in done.stderr
    command[6] = "cp2k"
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode != 0 and "none.extxyz: not found" in done.stderr
    assert not (tmp_path / "out.extxyz").exists()


# ---------------------------------------------------------------- segmented AIMD
@pytest.mark.slow
@needs_cp2k
def test_segmented_aimd_continues_across_segments_and_its_frames_are_cp2k_labels(tmp_path):
    """4 steps in 2 segments (300 -> 600 K: targets 375 and 525 K): segment 1 continues segment 0's trajectory
    (positions and velocities from its restart file), the frames carry CP2K's energy, forces and stress, a frame's
    energy and forces equal a single point at its positions, and a rerun reads the segments instead of rerunning."""
    from dopant_workflows.engines.cp2k.runs import run_static
    from dopant_workflows.engines.schedule import AIMDSettings
    from dopant_workflows.jobs.reference import run_reference_aimd

    settings = AIMDSettings(n_steps=4, segment_steps=2, sample_every=1, temperature_start_K=300,
                            temperature_end_K=600, seed=1)
    document = run_reference_aimd(li2s(), settings, tmp_path / "aimd", engine="cp2k", cp2k=CHEAP)
    assert document.status == "completed" and document.engine == "cp2k" and document.n_frames == 4
    frames = read(tmp_path / "aimd" / "frames.extxyz", index=":")
    assert [f.info["step"] for f in frames] == [1, 2, 3, 4]
    assert [f.info["target_temperature_K"] for f in frames] == [375, 375, 525, 525]
    assert all(f.info["engine"] == "cp2k" for f in frames)
    moves = [np.abs(b.positions - a.positions).max() for a, b in zip(frames, frames[1:], strict=False)]
    assert 0 < moves[1] < 3 * max(moves[0], moves[2])  # across the segment boundary: one more step, no jump back
    assert np.abs(frames[2].positions - li2s().positions).max() > np.abs(frames[0].positions - li2s().positions).max()
    check = run_static(tmp_path / "check", frames[-1], CHEAP)
    assert frames[-1].get_potential_energy() == pytest.approx(check.get_potential_energy(), abs=2e-3)
    np.testing.assert_allclose(frames[-1].get_forces(), check.get_forces(), atol=5e-3)
    np.testing.assert_allclose(frames[-1].get_stress(), check.get_stress(), atol=2e-4)
    before = (tmp_path / "aimd" / "segment_001" / "cp2k.out").stat().st_mtime_ns
    again = run_reference_aimd(li2s(), settings, tmp_path / "aimd", engine="cp2k", cp2k=CHEAP)
    assert (tmp_path / "aimd" / "segment_001" / "cp2k.out").stat().st_mtime_ns == before
    assert again.frames_sha256 == document.frames_sha256


@pytest.mark.slow
@needs_cp2k
def test_a_frame_starts_from_its_md_neighbours_wavefunction_and_gets_the_same_label(tmp_path):
    """Labelling frames in order, each SCF after the first starts from the previous frame's wavefunction (same atoms,
    same cell): far fewer SCF steps, the label of a start from atomic densities within the SCF tolerance."""
    from dopant_workflows.engines.cp2k.runs import run_static
    from dopant_workflows.jobs.labelling import label_frames

    first, second = li2s(), li2s((0.07, -0.02, 0.06))
    labelled = label_frames([first, second], "cp2k", work_dir=tmp_path / "labels", cp2k=CHEAP)
    alone = run_static(tmp_path / "alone", second, CHEAP)
    guesses = sorted("SCF_GUESS RESTART" in p.read_text() for p in (tmp_path / "labels").glob("*/asked.inp"))
    assert guesses == [False, True]  # the first from atomic densities, the second from the first
    assert labelled[1].info["cp2k_scf_steps"] < 0.6 * alone.info["cp2k_scf_steps"]
    assert labelled[1].get_potential_energy() == pytest.approx(alone.get_potential_energy(), abs=1e-4)
    np.testing.assert_allclose(labelled[1].get_forces(), alone.get_forces(), atol=2e-3)
