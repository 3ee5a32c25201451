"""Write the replay reference directories in tests/data/vasp_replay from an EMBEDDED-ENGINE trajectory.

    .venv/bin/python tools/vasp_replay/make_reference_runs.py tests/data/vasp_replay
    .venv/bin/python tools/vasp_replay/make_reference_runs.py tests/data/vasp_replay --validation

The second form adds (or rewrites) only the directories of the VASP study test (tests/fireworks/
test_vasp_validation.py): a one-segment training AIMD, constant-temperature validation AIMD at 700 and 900 K
and a single point; the first rewrites everything.

NOT VASP OUTPUT. No VASP exists here: `inputs/` are written by our own VASP input code, and `outputs/` are
written by this script from a CHGNet (embedded engine) trajectory of the LSiPS cell, in the file layouts our
parsers and custodian read (a minimal vasprun.xml, CONTCAR with velocities from finite differences of the last
two frames, vasp.out). The dielectric tensors in dielectric/outputs/OUTCAR are made-up placeholders that test
parsing only. The error run's first attempt prints VASP's real EDDDAV error line, which custodian must correct.
"""

import shutil
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from ase.units import GPa
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.vasp.inputs import Poscar

from dopant_workflows.engines.embedded import run_embedded_aimd
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.engines.vasp.inputs import write_aimd_segment, write_dielectric, write_static
from dopant_workflows.jobs.vasp_validation import reference_md_settings
from dopant_workflows.md.settings import MDProtocol
from dopant_workflows.structures.hosts import lsips_host

SETTINGS = AIMDSettings(n_steps=10, segment_steps=5, temperature_start_K=300, temperature_end_K=1000, seed=5)


def _v(values) -> str:
    return "".join(f"   <v> {' '.join(f'{x: .8f}' for x in row)} </v>\n" for row in np.atleast_2d(values))


def write_vasprun(path: Path, frames, potim_fs: float) -> None:
    first = frames[0]
    symbols = first.get_chemical_symbols()
    atoms_rows = "".join(f"    <rc><c>{escape(s):2s}</c>"
                         f"<c>{1 + sorted(set(symbols), key=symbols.index).index(s)}</c></rc>\n"
                         for s in symbols)
    out = ['<?xml version="1.0" encoding="ISO-8859-1"?>\n<modeling>\n',
           ' <generator><i name="program" type="string">vasp </i>'
           '<i name="version" type="string">replay-writer (not VASP)</i></generator>\n',
           ' <kpoints>\n  <varray name="kpointlist">\n   <v> 0.0 0.0 0.0 </v>\n  </varray>\n'
           '  <varray name="weights">\n   <v> 1.0 </v>\n  </varray>\n </kpoints>\n',
           f' <parameters><i name="POTIM"> {potim_fs} </i></parameters>\n',
           f' <atominfo>\n  <atoms> {len(symbols)} </atoms>\n  <array name="atoms">\n   <set>\n{atoms_rows}   </set>\n'
           '  </array>\n </atominfo>\n',
           ' <structure name="initialpos">\n  <crystal>\n   <varray name="basis">\n', _v(first.cell.array),
           '   </varray>\n  </crystal>\n  <varray name="positions">\n', _v(first.get_scaled_positions()),
           '  </varray>\n </structure>\n']
    for frame in frames:
        energy = frame.get_potential_energy()
        stress_kbar = -frame.get_stress(voigt=False) / (0.1 * GPa)
        out += [' <calculation>\n  <scstep>\n   <energy>\n',
                f'    <i name="e_fr_energy"> {energy:.8f} </i>\n    <i name="e_wo_entrp"> {energy:.8f} </i>\n',
                f'    <i name="e_0_energy"> {energy:.8f} </i>\n   </energy>\n  </scstep>\n',
                '  <structure>\n   <crystal>\n    <varray name="basis">\n', _v(frame.cell.array),
                '    </varray>\n   </crystal>\n   <varray name="positions">\n', _v(frame.get_scaled_positions()),
                '   </varray>\n  </structure>\n  <varray name="forces">\n', _v(frame.get_forces()),
                '  </varray>\n  <varray name="stress">\n', _v(stress_kbar), '  </varray>\n',
                f'  <energy>\n   <i name="e_fr_energy"> {energy:.8f} </i>\n'
                f'   <i name="e_wo_entrp"> {energy:.8f} </i>\n',
                f'   <i name="e_0_energy"> {energy:.8f} </i>\n  </energy>\n </calculation>\n']
    out.append(' <structure name="finalpos">\n  <crystal>\n   <varray name="basis">\n' + _v(frames[-1].cell.array)
               + '   </varray>\n  </crystal>\n  <varray name="positions">\n' + _v(frames[-1].get_scaled_positions())
               + '  </varray>\n </structure>\n</modeling>\n')
    path.write_text("".join(out))


def write_contcar(path: Path, frames, potim_fs: float) -> None:
    structure = AseAtomsAdaptor.get_structure(frames[-1])
    velocities = (frames[-1].positions - frames[-2].positions) / potim_fs  # A/fs, VASP's CONTCAR unit
    Poscar(structure, velocities=velocities.tolist()).write_file(path)


def write_outputs(out: Path, frames, potim_fs: float, vasp_out: str = " reached required accuracy\n") -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_vasprun(out / "vasprun.xml", frames, potim_fs)
    write_contcar(out / "CONTCAR", frames, potim_fs)
    (out / "vasp.out").write_text(" running on    1 total cores\n" + vasp_out)
    (out / "std_err.txt").write_text("")


DIELECTRIC_OUTCAR = """ vasp.6 replay-writer (NOT VASP OUTPUT: placeholder tensors for parser tests)

 MACROSCOPIC STATIC DIELECTRIC TENSOR (including local field effects in DFT)
 ------------------------------------------------------
           3.412100     0.001200     0.000300
           0.001200     3.405600    -0.000400
           0.000300    -0.000400     3.618800
 ------------------------------------------------------

 MACROSCOPIC STATIC DIELECTRIC TENSOR IONIC CONTRIBUTION
 ------------------------------------------------------
           1.702300     0.000100     0.000000
           0.000100     1.698700     0.000200
           0.000000     0.000200     1.571400
 ------------------------------------------------------
"""


def main(root: str) -> None:
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    host = lsips_host()
    traj_dir = root / "_trajectory"
    run_embedded_aimd(AseAtomsAdaptor.get_atoms(host), SETTINGS, traj_dir, engine="chgnet", progress=False)
    from ase.io import read

    frames = read(traj_dir / "frames.extxyz", ":")
    shutil.rmtree(traj_dir)
    seg0, seg1 = SETTINGS.segments()
    write_aimd_segment(root / "aimd_segment_0" / "inputs", host, seg0, SETTINGS, potcar_spec=True)
    write_outputs(root / "aimd_segment_0" / "outputs", frames[:5], SETTINGS.time_step_fs)
    write_aimd_segment(root / "aimd_segment_1" / "inputs", host, seg1, SETTINGS,
                       previous_dir=root / "aimd_segment_0" / "outputs", potcar_spec=True)
    write_outputs(root / "aimd_segment_1" / "outputs", frames[5:], SETTINGS.time_step_fs)
    shutil.copytree(root / "aimd_segment_0" / "inputs", root / "aimd_edddav_error" / "inputs")
    attempt1 = root / "aimd_edddav_error" / "outputs_attempt1"
    attempt1.mkdir(parents=True)
    (attempt1 / "vasp.out").write_text(" running on    1 total cores\n"
                                       " Error EDDDAV: Call to ZHEGV failed. Returncode = 7 1 16\n")
    (attempt1 / "std_err.txt").write_text("")
    write_outputs(root / "aimd_edddav_error" / "outputs", frames[:5], SETTINGS.time_step_fs)
    write_dielectric(root / "dielectric" / "inputs", host, potcar_spec=True)
    (root / "dielectric" / "outputs").mkdir(parents=True)
    (root / "dielectric" / "outputs" / "OUTCAR").write_text(DIELECTRIC_OUTCAR)
    (root / "dielectric" / "outputs" / "vasp.out").write_text(" running on    1 total cores\n")
    (root / "dielectric" / "outputs" / "std_err.txt").write_text("")


#: the VASP study test's settings (tests/fireworks/vasp_study_driver.py uses the same)
STUDY_AIMD = AIMDSettings(n_steps=10, segment_steps=100, temperature_start_K=300, temperature_end_K=1000, seed=5)
VALIDATION_PROTOCOL = MDProtocol(preset="smoke", heating_ps=0.02, equilibration_ps=0.02, production_ps=0.1,
                                 sample_interval_fs=4.0)
VALIDATION_TEMPERATURES_K = (700.0, 900.0)


def _chgnet_frames(structure, settings: AIMDSettings, work: Path) -> list:
    from ase.io import read

    run_embedded_aimd(AseAtomsAdaptor.get_atoms(structure), settings, work, engine="chgnet", progress=False)
    frames = read(work / "frames.extxyz", ":")
    shutil.rmtree(work)
    return frames


def validation_references(root: str) -> None:
    """The directories of the VASP study test, beside the others (which stay as they are)."""
    root = Path(root)
    host = lsips_host()
    for name in ["aimd_single_segment", "static", *(f"validation_md_{t:g}K" for t in VALIDATION_TEMPERATURES_K)]:
        shutil.rmtree(root / name, ignore_errors=True)
    frames = _chgnet_frames(host, STUDY_AIMD, root / "_work")
    write_aimd_segment(root / "aimd_single_segment" / "inputs", host, STUDY_AIMD.segments()[0], STUDY_AIMD,
                       potcar_spec=True)
    write_outputs(root / "aimd_single_segment" / "outputs", frames, STUDY_AIMD.time_step_fs)
    for temperature in VALIDATION_TEMPERATURES_K:
        settings = reference_md_settings(VALIDATION_PROTOCOL, temperature, seed=int(temperature), reference=STUDY_AIMD)
        directory = root / f"validation_md_{temperature:g}K"
        write_aimd_segment(directory / "inputs", host, settings.segments()[0], settings, potcar_spec=True)
        write_outputs(directory / "outputs", _chgnet_frames(host, settings, root / "_work"), settings.time_step_fs)
    from dopant_workflows.structures.substitutions import enumerate_substitutions

    (cl_free,) = enumerate_substitutions(host, "Cl:S", "Si:P", [1, 1, 1], [0], 1, None)  # the study's count 0
    shutil.rmtree(root / "dielectric_cl_free", ignore_errors=True)
    write_dielectric(root / "dielectric_cl_free" / "inputs", cl_free.structure, potcar_spec=True)
    shutil.copytree(root / "dielectric" / "outputs", root / "dielectric_cl_free" / "outputs")
    write_static(root / "static" / "inputs", host, potcar_spec=True)
    single = frames[0]  # a labelled frame of the host cell: CHGNet's energy, forces and stress
    (root / "static" / "outputs").mkdir(parents=True)
    write_vasprun(root / "static" / "outputs" / "vasprun.xml", [single], STUDY_AIMD.time_step_fs)
    (root / "static" / "outputs" / "vasp.out").write_text(" running on    1 total cores\n")
    (root / "static" / "outputs" / "std_err.txt").write_text("")


if __name__ == "__main__":
    if "--validation" in sys.argv[2:]:
        validation_references(sys.argv[1])
    else:
        main(sys.argv[1])
