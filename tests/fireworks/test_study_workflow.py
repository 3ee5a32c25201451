"""The study workflow end to end on the embedded store (smoke preset), dry-run files, resubmission, the lock."""

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from dopant_workflows.fireworks.config import init_fw_config
from dopant_workflows.fireworks.runner import LOCK_FILE
from tests.helpers import DOPWF, SMOKE, dopwf, dopwf_env, markdown_table


def _start_run(config, tmp_path):
    """``dopwf run`` of the smoke study in the background (a test watches, kills or polls it)."""
    return subprocess.Popen([str(DOPWF), "run", str(SMOKE), "--config", str(config.directory)], cwd=tmp_path,
                            env=dopwf_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("study")
    config = init_fw_config(tmp_path / "cfg")
    result = dopwf(["run", str(SMOKE), "--config", str(config.directory)], tmp_path)
    return tmp_path, config, result


def _collection(config, name):
    return json.loads((config.directory / "results" / f"{name}.json").read_text())


def _results(config):
    tasks = {(t["task_id"], t["diffusivity_cm2_s"], t["trajectory_sha256"]) for t in _collection(config, "md_tasks")}
    plans = {(p["study"], p["last_updated"]) for p in _collection(config, "studies")}  # the same plan: not rewritten
    return tasks, {m["model_sha256"] for m in _collection(config, "models")}, plans


@pytest.mark.slow
def test_smoke_study_runs_end_to_end(finished_study):
    tmp_path, config, result = finished_study
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Fireworks by state {'COMPLETED': 13}" in result.stdout  # 8 + validation: 2 T x (reference, ANN) + 1
    training_sets, models = _collection(config, "training_sets"), _collection(config, "models")
    assert len(training_sets) == 1 and training_sets[0]["engine"] == "embedded:chgnet"
    assert training_sets[0]["n_frames"] == 100
    assert len(models) == 1 and models[0]["n_images"] == {"train": 72, "validation": 8, "test": 20}
    tasks = _collection(config, "md_tasks")
    assert sorted((t["formula"], t["temperature_K"]) for t in tasks) == [
        ("Li20Si2P4S24", 400.0), ("Li20Si2P4S24", 500.0), ("Li20Si3P3S23Cl1", 400.0), ("Li20Si3P3S23Cl1", 500.0)]
    for task in tasks:
        assert task["model_sha256"] == models[0]["model_sha256"]
        assert task["n_frames"] == 100 and task["n_carriers"] == 20 and task["diffusivity_std_cm2_s"] > 0
        assert set(task["diffusivity_components_cm2_s"]) == {"a", "b", "c"}
        assert Path(task["trajectory_path"]).is_file()
        assert isinstance(task["fw_id"], int)  # FireWorks hands the id to the task (_add_launchpad_and_fw_id)
        assert 0.0 <= task["core_repulsion_contact_fraction"] <= 1.0  # the network carries a wall; its use is recorded
    (plan,) = _collection(config, "studies")  # what the study asks for: the builders fit these temperatures
    assert plan["study"] == "smoke" and plan["temperatures_K"] == [400.0, 500.0] and plan["engine"] == "embedded"
    assert sorted(plan["substitution_ids"]) == sorted({t["substitution_id"] for t in tasks})
    dielectric = {d["formula"]: d for d in _collection(config, "dielectric")}
    assert dielectric["Li20Si3P3S23Cl1"]["eps_r"] == 5.0
    assert dielectric["Li20Si2P4S24"]["eps_r"] is None and "missing" in dielectric["Li20Si2P4S24"]["source"]
    # builders ran: one diffusivity document per task, one conductivity and Anderson-Stuart per substitution
    assert len(_collection(config, "diffusivity")) == 4
    conductivity = {d["formula"]: d for d in _collection(config, "conductivity")}
    assert set(conductivity) == {"Li20Si3P3S23Cl1", "Li20Si2P4S24"}
    assert all(len(c["conductivity_300K_95_mS_cm"]) == 2 and c["temperatures_K"] == [400.0, 500.0]
               for c in conductivity.values())
    a_s = {d["formula"]: d for d in _collection(config, "anderson_stuart")}
    assert a_s["Li20Si3P3S23Cl1"]["barrier_eV"] > 0 and a_s["Li20Si3P3S23Cl1"]["epsilon_r"] == 5.0
    assert a_s["Li20Si2P4S24"]["barrier_eV"] is None and "missing" in a_s["Li20Si2P4S24"]["missing_reason"]
    report = config.directory / "runs" / "smoke" / "report"
    assert "Table 2" in (report / "report.md").read_text() and (report / "arrhenius_all.png").stat().st_size > 1000
    assert len(list(report.glob("arrhenius_Li20*.png"))) == 2  # the report plots, the builders only compute
    # the Firetasks call the same jobs as the CLI: the same files in their run directories
    model_dir = Path(models[0]["model_path"]).parent
    assert {"model.json", "model.amp", "training.json", "training_curve.png", "parity_test.png"} <= {
        p.name for p in model_dir.iterdir()}
    run_dir = Path(tasks[0]["trajectory_path"]).parent
    assert (run_dir / "md_traces.png").is_file() and (run_dir / "analysis" / "analysis.json").is_file()
    # 7. one log handler, FireWorks at WARNING: no DEBUG chatter, no FireWorks progress lines, nothing twice
    output = result.stdout + result.stderr
    assert " DEBUG " not in output and "Launching Rocket" not in output and "RUNNING fw_id" not in output
    assert "== smoke shared train: COMPLETED in" in result.stderr  # a line per stage instead
    assert (report / "table3.csv").read_text().count("\n") == 3


@pytest.mark.slow
def test_smoke_study_validates_its_network(finished_study):
    """The paper's section 3.2 in every study: reference MD vs ANN-MD of the training cell, one document."""
    tmp_path, config, result = finished_study
    (validation,) = _collection(config, "validation")
    (model,) = _collection(config, "models")
    assert validation["model_sha256"] == model["model_sha256"] and validation["label"] == "shared"
    assert validation["reference_engine"] == "embedded" and validation["formula"] == "Li20Si3P3S23Cl1"
    # the smoke network (60 L-BFGS steps on 0.1 ps of AIMD) is bad where it is used: 1.45 (500 K) and 1.64 eV/A
    # (400 K) force RMSE on its own ANN-MD frames were measured, ten times the 0.15 eV/A threshold. The gate fails
    # it, and says why
    assert validation["status"] == "failed" and validation["passed"] is False
    checks = {c["name"]: c for c in validation["checks"]}
    assert checks["force_rmse_ann_md"]["passed"] is False and checks["force_rmse_ann_md"]["threshold"] == 0.15
    assert checks["force_rmse_ann_md"]["value"] == max(t["force_rmse_eV_A"] for t in validation["temperatures"])
    assert any(r.startswith("force_rmse_ann_md: ") and r.endswith(" vs 0.15)") for r in validation["reasons"])
    assert len(validation["reasons"]) == sum(c["passed"] is not True for c in checks.values())  # one per failed check
    assert [t["temperature_K"] for t in validation["temperatures"]] == [400.0, 500.0]
    for t in validation["temperatures"]:
        assert t["n_frames_relabelled"] == 10 and 0.15 < t["force_rmse_eV_A"] < 5
        assert t["ratio"] == pytest.approx(t["ann"]["diffusivity_cm2_s"] / t["reference"]["diffusivity_cm2_s"])
    assert sorted((r["role"], r["temperature_K"], r["status"]) for r in validation["runs"]) == [
        ("ann", 400.0, "completed"), ("ann", 500.0, "completed"),
        ("reference", 400.0, "completed"), ("reference", 500.0, "completed")]
    assert len({r["seed"] for r in validation["runs"]}) == 4  # independent trajectories
    assert {c["name"] for c in validation["checks"]} == {"diffusivity", "activation_energy", "force_rmse_ann_md",
                                                         "core_repulsion"}
    assert Path(validation["plot_path"]).stat().st_size > 1000
    # every result carries whether its network passed; the report shows the validation first and marks the rows
    for document in _collection(config, "conductivity") + _collection(config, "anderson_stuart"):
        assert document["validated"] is False
    for document in _collection(config, "conductivity"):
        assert any(n.startswith(f"network {model['model_sha256'][:12]}: validation failed: ") and "force_rmse_ann_md"
                   in n for n in document["validation_notes"]), document["validation_notes"]
    report = config.directory / "runs" / "smoke" / "report"
    text = (report / "report.md").read_text()
    assert text.index("## Validation") < text.index("## Table 2")
    assert (report / f"validation_{validation['validation_id']}.png").stat().st_size > 1000
    rows = markdown_table(text, "Table 2")
    assert sorted(row["material"] for row in rows) == ["Li20Si2P4S24", "Li20Si3P3S23Cl1"], rows
    assert all(row["network validated"] == "NO" for row in rows), rows
    assert f"- {validation['validation_id']}: **FAILED**" in text


@pytest.mark.slow
def test_running_the_same_study_again_redoes_nothing(finished_study):
    tmp_path, config, _ = finished_study
    launches = config.directory / "runs" / "launches"
    before = (sorted(p.name for p in launches.iterdir()), _results(config))
    again = dopwf(["run", str(SMOKE), "--config", str(config.directory)], tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "'COMPLETED'" in again.stdout
    after = (sorted(p.name for p in launches.iterdir()), _results(config))
    assert after[0] == before[0]  # no new launch: the duplicates were linked, not run
    assert after[1] == before[1]  # the same results, from the same runs


@pytest.mark.slow
def test_status_build_report_commands(finished_study):
    tmp_path, config, _ = finished_study
    status = dopwf(["status", "--config", str(config.directory)], tmp_path)
    # the resubmission's Fireworks were linked by the dupefinder to the finished ones: each run counted once
    assert status.returncode == 0, status.stderr[-2000:]
    assert "study smoke: {'COMPLETED': 13, 'linked duplicates': 13}" in status.stdout
    assert "md_tasks 4" in status.stdout and "anderson_stuart 2" in status.stdout
    build = dopwf(["build", "--config", str(config.directory)], tmp_path)
    assert "'ConductivityBuilder': 0" in build.stdout  # nothing new: nothing rebuilt
    report = dopwf(["report", "--config", str(config.directory), "--study", "smoke", "--out", str(tmp_path / "rep")],
                    tmp_path)
    assert report.returncode == 0 and (tmp_path / "rep" / "table2.csv").exists()
    assert "table2.csv" in report.stdout.splitlines()[-1]  # names what it wrote
    missing = dopwf(["report", "--config", str(config.directory), "--study", "smoek", "--out",
                      str(tmp_path / "rep2")], tmp_path)
    assert missing.returncode == 2 and "--study 'smoek': no results of that study" in missing.stderr
    assert "studies with results: smoke" in missing.stderr and not (tmp_path / "rep2").exists()


@pytest.mark.slow
def test_a_second_study_in_the_same_database_leaves_the_first_as_it_was(finished_study, tmp_path):
    """Another study of the same substitutions (here: the smoke study's runs under a new name, their diffusivities
    doubled, as another seed would change them) in the same results database: `dopwf build` gives it its own
    documents, and the first study's report is byte for byte what it was alone."""
    _, finished, _ = finished_study
    config = init_fw_config(tmp_path / "cfg")
    (config.directory / "results").mkdir()
    for path in (finished.directory / "results").glob("*.json"):
        (config.directory / "results" / path.name).write_bytes(path.read_bytes())

    def report(study, out):
        done = dopwf(["report", "--config", str(config.directory), "--study", study, "--out", str(tmp_path / out)],
                      tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        return {p.name: p.read_bytes() for p in (tmp_path / out).iterdir() if p.suffix in (".md", ".csv")}

    alone = report("smoke", "alone")
    tasks = _collection(config, "md_tasks")
    other = [{**t, "study": "other", "task_id": t["task_id"].replace("smoke-", "other-", 1),
              "diffusivity_cm2_s": 2 * t["diffusivity_cm2_s"]} for t in tasks]
    (config.directory / "results" / "md_tasks.json").write_text(json.dumps(tasks + other))
    built = dopwf(["build", "--config", str(config.directory)], tmp_path)
    assert "'DiffusivityBuilder': 4, 'ConductivityBuilder': 2" in built.stdout, built.stdout + built.stderr[-2000:]
    assert report("smoke", "after") == alone
    theirs = {(c["study"], c["formula"]): c for c in _collection(config, "conductivity")}
    assert len(theirs) == 4 and {c["conductivity_id"].split("/")[0] for c in theirs.values()} == {"smoke", "other"}
    for (study, formula), c in theirs.items():
        if study == "other":  # D doubled at every temperature: the same Ea, twice the 300 K conductivity
            mine = theirs[("smoke", formula)]
            assert c["activation_energy_eV"] == pytest.approx(mine["activation_energy_eV"], abs=1e-9)
            assert c["conductivity_300K_mS_cm"] == pytest.approx(2 * mine["conductivity_300K_mS_cm"], rel=1e-9)
            assert c["validated"] is None  # the smoke study's validation is not the other study's
    assert "Li20Si3P3S23Cl1" in [row["material"] for row in
                                 markdown_table(report("other", "other")["report.md"].decode(), "Table 2")]


@pytest.mark.slow
def test_a_second_run_on_the_same_store_is_refused(finished_study):
    tmp_path, config, _ = finished_study
    with open(config.directory / LOCK_FILE, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = dopwf(["run", str(SMOKE), "--config", str(config.directory)], tmp_path)
    assert busy.returncode == 2 and "another dopwf run is using this embedded store" in busy.stderr


def test_dopwf_lpad_names_bad_arguments_instead_of_a_traceback(tmp_path):
    config = init_fw_config(tmp_path / "cfg")
    for args, expected in ((["get_fws", "-i", "abc"], "lpad get_fws -i abc: invalid literal for int()"),
                           ([], "expected lpad's own arguments")):
        done = dopwf(["lpad", "--config", str(config.directory), *args], tmp_path)
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_report_of_an_empty_database_says_so_and_writes_nothing(tmp_path):
    config = init_fw_config(tmp_path / "cfg")
    done = dopwf(["report", "--config", str(config.directory), "--out", str(tmp_path / "rep")], tmp_path)
    assert done.returncode == 2 and "no results yet" in done.stderr, done.stderr
    assert not (tmp_path / "rep").exists()


def test_dry_run_file_is_accepted_by_lpad_add(tmp_path):
    out = tmp_path / "wf.yaml"
    done = dopwf(["submit", str(SMOKE), "--dry-run", "-o", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    workflow = yaml.safe_load(out.read_text())
    names = sorted(fw["name"] for fw in workflow["fws"])
    assert len(names) == 13 and "smoke shared aimd" in names and "smoke shared train" in names
    assert "smoke shared validation" in names
    config = init_fw_config(tmp_path / "cfg")
    env = {"FW_CONFIG_FILE": str(config.config_file)}
    lpad = Path(sys.executable).parent / "lpad"
    for args in (["reset", "--password", __import__("datetime").date.today().isoformat()], ["add", str(out)]):
        result = subprocess.run([str(lpad), *args], cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path), **env},
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    listing = subprocess.run([str(lpad), "get_fws", "-d", "count"], cwd=tmp_path,
                             env={**os.environ, "HOME": str(tmp_path), **env}, capture_output=True, text=True)
    assert listing.stdout.strip().endswith("13")


def test_bad_study_submits_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(SMOKE.read_text())
    data["temperatures_K"] = [-5]
    bad.write_text(yaml.safe_dump(data))
    done = dopwf(["submit", str(bad), "--dry-run", "-o", str(tmp_path / "wf.yaml")], tmp_path)
    assert done.returncode == 2 and "temperatures_K[0]" in done.stderr
    assert not (tmp_path / "wf.yaml").exists()


def test_per_substitution_training_gives_each_substitution_its_own_chain():
    from pymatgen.core import Structure

    from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
    from dopant_workflows.study import study_from_dict

    data = yaml.safe_load(SMOKE.read_text())
    data["training"]["mode"] = "per_substitution"  # each substitution's own cell: AIMD -> network -> its MD
    study = study_from_dict(data, "smoke per_substitution")
    wf = get_wf_dopant_study(study)
    by_name = {fw.name: fw for fw in wf.fws}
    parents = {fw.name: sorted(wf.id_fw[p].name for p in wf.links.parent_links.get(fw.fw_id, [])) for fw in wf.fws}
    ids = ["Li20Si2P4S24", "Li20Si3P3S23Cl1"]
    subs = {name.split()[1] for name in by_name if name.endswith(" aimd")}
    assert len(subs) == 2 and all(any(s.startswith(i) for s in subs) for i in ids)
    # per substitution: AIMD, training, 2 MD, dielectric; validation: 2 T x (reference, ANN) + the comparison
    assert len(wf.fws) == 2 * (1 + 1 + 2 + 1 + 2 * 2 + 1)
    for sub in subs:
        aimd, train = by_name[f"smoke {sub} aimd"], by_name[f"smoke {sub} train"]
        assert parents[train.name] == [aimd.name]
        for temperature in ("400K", "500K"):
            assert parents[f"smoke {sub} md {temperature}"] == [train.name]  # its own network, no other
        validation_runs = [f"smoke {sub} validation {role} md {t} #1" for role in ("reference", "ann")
                           for t in ("400K", "500K")]
        assert parents[f"smoke {sub} validation"] == sorted([train.name, *validation_runs])
        assert all(parents[name] == ([train.name] if " ann " in name else []) for name in validation_runs)
        # the network's own cell: same lattice, species and sites (a site at z = 0 may stand at its image z = 1)
        cell = Structure.from_dict(by_name[validation_runs[0]].tasks[0]["structure"])
        own = Structure.from_dict(aimd.tasks[0]["structure"])
        assert np.allclose(cell.lattice.matrix, own.lattice.matrix) and cell.species == own.species
        assert max(a.distance(b) for a, b in zip(cell, own, strict=True)) < 1e-8
        formula = sub.split("-")[0]
        assert Structure.from_dict(aimd.tasks[0]["structure"]).composition.formula.replace(" ", "") == formula
    run_paths = [fw.tasks[0]["run_path"] for fw in wf.fws if "run_path" in fw.tasks[0]]
    assert len(run_paths) == len(set(run_paths))  # no two runs share a directory


@pytest.mark.slow
def test_an_interrupted_run_continues_where_it_stopped(tmp_path):
    import signal
    import time

    config = init_fw_config(tmp_path / "cfg")
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("FW_CONFIG_FILE", None)
    run = subprocess.Popen([str(DOPWF), "run", str(SMOKE), "--config", str(config.directory)], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not list((config.directory / "runs" / "smoke" / "aimd").glob("*/checkpoint.npz")):
        assert run.poll() is None and time.time() < deadline, "the reference AIMD never wrote a checkpoint"
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)  # mid-AIMD, after its first checkpoint (step 50 of 100)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 130, err[-3000:]
    assert "run the same command again to continue" in err
    again = dopwf(["run", str(SMOKE), "--config", str(config.directory), "--out", "report_here"], tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "report_here" / "report.md").is_file()  # --out is relative to where dopwf was run
    # the interrupted Firework was rerun; the study added again was linked to it by the dupefinder
    assert "Fireworks by state {'COMPLETED': 13, 'linked duplicates': 13}" in again.stdout
    assert re.search(r"resuming \S+aimd\S+ at step 50", again.stderr)  # continued from the checkpoint
    assert len(list((config.directory / "runs" / "launches").iterdir())) == 14  # 13 runs + the interrupted one
    training_sets = _collection(config, "training_sets")
    assert [t["n_frames"] for t in training_sets] == [100] and training_sets[0]["status"] == "completed"
    assert len(_collection(config, "md_tasks")) == 4


@pytest.mark.slow
def test_cli_and_workflow_give_the_same_network_and_the_same_md(finished_study, tmp_path):
    """One job per stage: `dopwf ann train` and `dopwf md` with the study's settings reproduce its Firetasks'
    network and trajectory bit for bit, and write the same files."""
    from dopant_workflows.fireworks.study_workflow import study_substitutions
    from dopant_workflows.study import load_study

    study_dir, config, _ = finished_study
    frames = _collection(config, "training_sets")[0]["frames_path"]
    model = _collection(config, "models")[0]
    settings = model["settings"]
    trained = dopwf(["ann", "train", frames, "--out", str(tmp_path / "model"), "--hidden-layers",
                      *map(str, settings["hidden_layers"]), "--optimizer", settings["optimizer"],
                      "--max-steps", str(settings["max_steps"])], tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    workflow_dir = Path(model["model_path"]).parent
    cli_model, workflow_model = (json.loads((d / "model.json").read_text()) for d in (tmp_path / "model", workflow_dir))
    for part in ("descriptor", "network", "core_repulsion"):
        assert cli_model[part] == workflow_model[part]
    # one network, one identity (the file checksums differ: they cover the training's wall time too)
    assert json.loads((tmp_path / "model" / "training.json").read_text())["model_sha256"] == model["model_sha256"]
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == sorted(p.name for p in workflow_dir.iterdir())

    task = next(t for t in _collection(config, "md_tasks") if t["temperature_K"] == 500.0)
    sub = next(s for s in study_substitutions(load_study(SMOKE)) if s.id == task["substitution_id"])
    sub.structure.to(filename=str(tmp_path / "cell.json"))
    md = dopwf(["md", str(tmp_path / "cell.json"), "--model", str(tmp_path / "model"), "--temperature-K", "500",
                 "--preset", "smoke", "--seed", str(task["seed"]), "--out", str(tmp_path / "md")], tmp_path)
    assert md.returncode == 0, md.stderr[-3000:]
    analysis = json.loads((tmp_path / "md" / "analysis" / "analysis.json").read_text())
    assert analysis["diffusivity_cm2_s"] == task["diffusivity_cm2_s"]
    md_dir = Path(task["trajectory_path"]).parent
    assert (tmp_path / "md" / "trajectory.extxyz").read_bytes() == (md_dir / "trajectory.extxyz").read_bytes()
    assert sorted(p.name for p in (tmp_path / "md").rglob("*")) == sorted(p.name for p in md_dir.rglob("*"))


@pytest.mark.slow
def test_dopwf_ann_validate_compares_any_network_with_its_reference(finished_study, tmp_path):
    """`dopwf ann validate`: the validation stage outside a study, same job, same document; exit 1 when it fails."""
    _, config, _ = finished_study
    model = _collection(config, "models")[0]["model_path"]
    args = ["ann", "validate", model, "Li20Si3P3S23Cl", "--temperatures-K", "400", "500", "--seeds", "1",
            "--preset", "smoke", "--heating-ps", "0.02", "--equilibration-ps", "0.02", "--production-ps", "0.2",
            "--relabel-frames", "3", "--out", "val"]
    done = dopwf(args, tmp_path)
    document = json.loads((tmp_path / "val" / "validation.json").read_text())
    assert done.returncode == (0 if document["passed"] else 1), done.stderr[-3000:]
    assert f"{document['status'].upper()}" in done.stdout and "| D reference (cm2/s) |" in done.stdout
    assert [t["n_frames_relabelled"] for t in document["temperatures"]] == [3, 3]
    assert sorted(p.name for p in (tmp_path / "val").iterdir()) == [
        "ann-400K-1", "ann-500K-1", "reference-400K-1", "reference-500K-1", "validation.json", "validation.png"]
    # bad input is refused before any MD, naming the field
    refused = dopwf([*args[:5], "400", "--out", "val2"], tmp_path)
    assert refused.returncode == 2 and "temperatures_K" in refused.stderr and not (tmp_path / "val2").exists()
    refused = dopwf([*args[:-1], "val3", "--max-diffusivity-ratio", "0.5"], tmp_path)
    assert refused.returncode == 2 and "diffusivity_ratio" in refused.stderr


def _run_active_learning_study(tmp_path, active_learning: dict, networks: int = 1):
    """The smoke study without validation, with these active-learning settings, run to the end."""
    data = yaml.safe_load(SMOKE.read_text())
    data["validation"] = {"enabled": False}
    data["active_learning"] = {"enabled": True, **active_learning}
    data["training"]["networks"] = networks
    study_file = tmp_path / "al_study.yaml"
    study_file.write_text(yaml.safe_dump(data))
    config = init_fw_config(tmp_path / "cfg")
    result = dopwf(["run", str(study_file), "--config", str(config.directory)], tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return config, result


def _assert_md_uses_the_handed_on_network(config, rounds):
    """hand_on: best (default): the final round names the best-scored round's member 0; every MD run uses it."""
    from dopant_workflows.jobs.active_learning import round_score
    from dopant_workflows.schemas.active_learning import ActiveLearningDocument

    final = rounds[-1]
    fields = ActiveLearningDocument.model_fields
    best = min(rounds, key=lambda d: (
        round_score(ActiveLearningDocument(**{k: v for k, v in d.items() if k in fields})), -d["round"]))
    assert final["handed_on_round"] == best["round"] and final["handed_on_sha256"] == best["committee_sha256"][0]
    assert {t["model_sha256"] for t in _collection(config, "md_tasks")} == {final["handed_on_sha256"]}


@pytest.mark.slow
def test_an_inconclusive_activation_energy_check_adds_validation_runs_as_a_detour(tmp_path):
    """validation.max_seeds: an Ea check that only wants runs (every other check passed: thresholds made loose;
    the difference never known to 1e-6 eV) grows the runs per temperature to the cap, with the seeds a study asking
    for that many from the start would give run k, then compares again and keeps that verdict."""
    data = yaml.safe_load(SMOKE.read_text())
    data["substitutions"]["counts"] = [1]
    data["validation"] = {"seeds": 1, "max_seeds": 3, "temperatures_K": [400, 500, 600], "relabel_frames": 2,
                          "thresholds": {"diffusivity_ratio": 1e6, "diffusivity_sigmas": 1e6,
                                         "activation_energy_eV": 100, "activation_energy_sigma_eV": 1e-6,
                                         "force_rmse_eV_A": 1e3, "core_repulsion_eV": 1e3}}
    study_file = tmp_path / "extend.yaml"
    study_file.write_text(yaml.safe_dump(data))
    config = init_fw_config(tmp_path / "cfg")
    result = dopwf(["run", str(study_file), "--config", str(config.directory)], tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert ("validation: the activation-energy check was inconclusive with 1 reference and 1 ANN runs per "
            "temperature") in result.stderr
    (validation,) = _collection(config, "validation")
    runs = sorted((r["role"], r["temperature_K"]) for r in validation["runs"])
    assert runs == sorted([(role, t) for role in ("ann", "reference") for t in (400.0, 500.0, 600.0)] * 3)
    assert len({r["seed"] for r in validation["runs"]}) == 18
    from dopant_workflows.study import study_from_dict

    study = study_from_dict(data)
    assert {r["seed"] for r in validation["runs"]} == {study.validation_seed("shared", role, t, k) for role in (
        "reference", "ann") for t in (400.0, 500.0, 600.0) for k in range(3)}
    assert any(w.endswith("extended to 3 and 3 (validation.max_seeds 3)") for w in validation["warnings"])
    checks = {c["name"]: c for c in validation["checks"]}
    assert validation["status"] == "failed" and "inconclusive" in checks["activation_energy"]["detail"]
    assert [name for name, c in checks.items() if c["passed"] is False] == ["activation_energy"]


@pytest.mark.slow
def test_active_learning_adds_rounds_as_detours_and_hands_on_the_last_network(tmp_path):
    """Round 1 (committee of 2) finds every explored frame above trust_lo, labels 3, and adds round 2 as a detour;
    round 2 trains on the AIMD frames plus those labels and, being the last, hands its network to the MD."""
    config, result = _run_active_learning_study(tmp_path, {
        "committee_size": 2, "trust_lo_eV_A": 0.001, "trust_hi_eV_A": 100, "max_rounds": 2, "explore_ps": 0.06,
        "max_labels_per_round": 3, "true_error_frames": 2, "temperatures_K": [500]})
    assert "Fireworks by state {'COMPLETED': 9}" in result.stdout  # 8 + the round added at run time
    assert "== smoke shared active learning round 2: COMPLETED in" in result.stderr
    rounds = sorted(_collection(config, "active_learning"), key=lambda d: d["round"])
    assert [(r["round"], r["final"], r["converged"]) for r in rounds] == [(1, False, False), (2, True, False)]
    first, second = rounds
    # the smoke network (0.1 ps of AIMD) explores beyond its data: such frames are labelled on top, up to the cap
    assert first["n_beyond_data"] > 0 and first["beyond_data_max_eV"] > 0
    assert 1 <= first["n_labelled_beyond_data"] <= 3 and first["n_labelled"] == 3 + first["n_labelled_beyond_data"]
    assert first["true_error"]["beyond_data_force_rmse_eV_A"] > 0
    assert second["n_labelled"] == 0 and second["n_labelled_beyond_data"] == 0  # the last round labels nothing
    # 2 cells x 1 T x 3 frames: the smoke's 1-Cl substitution is its host, the training cell, explored once
    assert first["n_explored"] == 2 * 3 and first["fraction_above_lo"] == 1.0
    assert {e["cell"] for e in first["explored"]} == {"training", "Li20Si2P4S24-7fc8dacdae"}
    assert second["training_frame_files"][-1] == first["labelled_frames_path"]
    assert second["n_training_images"] == first["n_training_images"] + first["n_labelled"]
    assert first["true_error"]["random_n_frames"] == 2 and first["true_error"]["random_force_rmse_eV_A"] > 0
    assert len(_collection(config, "models")) == 4 and len(set(first["committee_sha256"])) == 2
    _assert_md_uses_the_handed_on_network(config, rounds)
    assert Path(first["plot_path"]).stat().st_size > 1000
    report = config.directory / "runs" / "smoke" / "report"
    assert "## Active learning" in (report / "report.md").read_text()
    assert (report / "active_learning_shared.png").stat().st_size > 1000


@pytest.mark.slow
def test_uniform_active_learning_labels_every_run_evenly_and_stops_on_the_true_error(tmp_path):
    """selection: uniform, no committee. Round 1's network misses the (unreachable) 1e-4 eV/A level in every run, so
    its evenly spread labels go to round 2, which is the last and hands on its network; each round records the
    true error per exploration run, and the deviation fields are empty. warm_start: round 2 continues from round
    1's network, with its own step budget."""
    config, result = _run_active_learning_study(tmp_path, {
        "selection": "uniform", "committee_size": 1, "max_rounds": 2, "converged_force_rmse_eV_A": 1e-4,
        "explore_ps": 0.06, "max_labels_per_round": 6, "temperatures_K": [500], "warm_start": True,
        "warm_start_max_steps": 7})
    assert "Fireworks by state {'COMPLETED': 9}" in result.stdout
    rounds = sorted(_collection(config, "active_learning"), key=lambda d: d["round"])
    assert [(r["round"], r["final"], r["converged"], r["n_selected"]) for r in rounds] == [
        (1, False, False, 6), (2, True, False, 6)]  # 2 runs x 3 frames each round (the 1-Cl cell is the training cell)
    first, second = rounds
    # frames beyond the data come on top in round 1, not in the last round (they would train nothing)
    assert first["n_labelled"] == 6 + first["n_labelled_beyond_data"] and second["n_labelled"] == 6
    assert first["selection"] == "uniform" and first["fraction_above_lo"] is None and first["n_candidates"] is None
    assert [r["n_labelled"] for r in first["explored"]] == [3, 3]
    worst = max(r["force_rmse_eV_A"] for r in first["explored"])
    assert first["true_error"]["worst_run_force_rmse_eV_A"] == pytest.approx(worst) and worst > 1e-4
    assert second["training_frame_files"][-1] == first["labelled_frames_path"]
    assert second["n_training_images"] == first["n_training_images"] + first["n_labelled"]
    assert len(_collection(config, "models")) == 2  # one network per round
    _assert_md_uses_the_handed_on_network(config, rounds)
    trained = [json.loads((Path(r["model_path"]).parent / "training.json").read_text()) for r in rounds]
    assert trained[0]["warm_start"] is None and trained[1]["warm_start"]["model_sha256"] == first["committee_sha256"][0]
    assert trained[1]["settings"]["max_steps"] == 7 and trained[1]["history"]["step"][0] == 0
    for part in ("train", "validation", "test"):  # round 1's images keep their parts
        assert set(trained[0]["split"][part]) <= set(trained[1]["split"][part])
    report = (config.directory / "runs" / "smoke" / "report" / "report.md").read_text()
    assert "| shared | 1 | uniform |" in report


@pytest.mark.slow
def test_a_converged_round_is_confirmed_by_longer_runs_at_the_hottest_temperature(tmp_path):
    """confirm_ps with the committee selection: round 1's committee agrees everywhere (trust_lo 100 eV/A), so before
    its network is handed on, every cell runs confirm_ps at the hottest exploration temperature; they agree there
    too: the round converges, is final, and records its confirmation."""
    config, result = _run_active_learning_study(tmp_path, {
        "committee_size": 2, "trust_lo_eV_A": 100, "trust_hi_eV_A": 200, "max_rounds": 2, "explore_ps": 0.04,
        "confirm_ps": 0.1, "label_beyond_data": False, "temperatures_K": [400, 500]})
    (first,) = _collection(config, "active_learning")
    assert (first["converged"], first["final"], first["n_labelled"]) == (True, True, 0)
    confirmation = first["confirmation"]
    assert confirmation["passed"] and confirmation["temperature_K"] == 500.0 and confirmation["ps_per_run"] == 0.1
    assert [(r["cell"], r["temperature_K"]) for r in confirmation["runs"]] == [
        (e["cell"], 500.0) for e in first["explored"] if e["temperature_K"] == 400.0]
    assert confirmation["n_frames"] == 2 * 5 and confirmation["fraction_above_lo"] == 0.0  # 0.1 ps / 20 fs
    assert "confirmed by 2 runs of 0.1 ps at 500 K: passed" in result.stderr
    _assert_md_uses_the_handed_on_network(config, [first])
    report = (config.directory / "runs" / "smoke" / "report" / "report.md").read_text()
    assert "| 2 x 0.1 ps at 500 K: passed (0.0 % above trust_lo) | yes (converged) |" in report


def test_reference_md_of_the_simulated_cells_feeds_the_shared_network():
    """training.simulated_cells: one reference run per simulated cell and temperature, each a parent of training."""
    from pymatgen.core import Structure

    from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study, study_substitutions
    from dopant_workflows.study import study_from_dict

    data = yaml.safe_load(SMOKE.read_text())
    data["training"]["simulated_cells"] = {"temperatures_K": [400, 600], "n_steps": 40, "sample_every": 4}
    study = study_from_dict(data)
    wf = get_wf_dopant_study(study)
    parents = {fw.name: sorted(wf.id_fw[p].name for p in wf.links.parent_links.get(fw.fw_id, [])) for fw in wf.fws}
    subs = study_substitutions(study)
    runs = sorted(f"smoke {s.id} {t}K aimd" for s in subs for t in (400, 600))
    assert parents["smoke shared train"] == sorted(["smoke shared aimd", *runs])
    by_name = {fw.name: fw for fw in wf.fws}
    for sub in subs:
        task = by_name[f"smoke {sub.id} 600K aimd"].tasks[0]
        assert Structure.from_dict(task["structure"]) == sub.structure  # the cell the study simulates
        settings = task["settings"]
        assert (settings["temperature_start_K"], settings["temperature_end_K"], settings["n_steps"]) == (600, 600, 40)
    seeds = {by_name[name].tasks[0]["settings"]["seed"] for name in runs}
    assert len(seeds) == 4
    data["training"]["simulated_cells"] = {"temperatures_K": [400, 400]}
    with pytest.raises(Exception, match="training.simulated_cells.temperatures_K"):
        study_from_dict(data)


def _completed(config) -> int:
    """COMPLETED Fireworks in the store file as another process sees it (it may be mid-rename: retried)."""
    for _ in range(5):
        try:
            store = json.loads((config.directory / "launchpad_store.json").read_text())
            break
        except json.JSONDecodeError:
            time.sleep(0.2)
    else:
        raise AssertionError("the store file stayed unreadable")
    fireworks = store.get("dopant_workflows", {}).get("fireworks", {}).get("documents", [])
    return sum(doc["state"] == "COMPLETED" for _, doc in fireworks)


@pytest.mark.slow
def test_a_run_killed_with_sigkill_loses_nothing(finished_study, tmp_path):
    """SIGKILL (the OOM killer, a time limit) at five points of a study (in the reference AIMD or training, in the
    MD runs, in the validation runs, in the last Firework or the builders), each time `dopwf run` again: every
    finished Firework is kept, the last run finishes the study, and its documents are those of the uninterrupted
    run, none twice."""
    _, reference, _ = finished_study
    config = init_fw_config(tmp_path / "cfg")
    for kill_after in (2, 4, 7, 10, 12):  # Fireworks COMPLETED (of 13) when the kill comes
        run = _start_run(config, tmp_path)
        deadline = time.time() + 900
        while run.poll() is None and time.time() < deadline and _completed(config) < kill_after:
            time.sleep(0.5)
        assert run.poll() is None, f"the run ended before it could be killed after {kill_after} Fireworks"
        run.kill()
        run.wait()
        assert _completed(config) >= kill_after  # saved after every Firework, not only at a clean exit
    again = dopwf(["run", str(SMOKE), "--config", str(config.directory)], tmp_path)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    # the resubmitted workflow's Fireworks whose twins had finished are linked to them, the rest ran
    states = re.search(r"Fireworks by state (\{.*\})", again.stdout)
    assert states and re.fullmatch(r"\{'COMPLETED': 13(, 'linked duplicates': \d+)?\}", states.group(1)), states
    tasks, models, _ = _results(config)
    assert tasks == _results(reference)[0]  # the same trajectories (sha256) and diffusivities, task by task
    assert len(models) == 1
    for collection in ("md_tasks", "models", "training_sets", "diffusivity", "conductivity", "validation"):
        documents = _collection(config, collection)
        assert len(documents) == len(_collection(reference, collection)), collection


@pytest.mark.slow
def test_a_run_killed_inside_a_firework_between_checkpoints_resumes_it_exactly(finished_study, tmp_path):
    """SIGKILL inside a Firework, between two of its checkpoints: the reference AIMD (100 steps, a checkpoint every
    50), killed once it has written frames after its step-50 checkpoint. `dopwf run` again reruns that Firework from
    the checkpoint (the frames written after it are dropped and redone), and the study ends with the uninterrupted
    run's AIMD frames byte for byte, its network and its ANN-MD trajectories."""
    import numpy as np

    from dopant_workflows.names import AIMD_FRAMES_FILE, CHECKPOINT_FILE

    _, reference, _ = finished_study
    config = init_fw_config(tmp_path / "cfg")
    aimd = config.directory / "runs" / "smoke" / "aimd"

    def saved_state():
        """(AIMD run directory, checkpoint step, frames file length at it), or None before the first checkpoint."""
        for checkpoint in aimd.glob(f"*/{CHECKPOINT_FILE}"):
            with np.load(checkpoint) as saved:  # written by rename: whole, never half
                return checkpoint.parent, int(saved["step"]), int(saved["frames_bytes"])
        return None

    def past_a_checkpoint() -> bool:
        state = saved_state()
        return state is not None and state[1] < 100 and (state[0] / AIMD_FRAMES_FILE).stat().st_size > state[2]

    run = _start_run(config, tmp_path)
    deadline = time.time() + 900
    while not past_a_checkpoint():
        assert run.poll() is None and time.time() < deadline, "the reference AIMD never wrote past a checkpoint"
        time.sleep(0.02)
    run.kill()
    run.wait()
    run_dir, step, frames_bytes = saved_state()
    assert step == 50 and (run_dir / AIMD_FRAMES_FILE).stat().st_size > frames_bytes  # mid-segment, not at a save
    again = dopwf(["run", str(SMOKE), "--config", str(config.directory)], tmp_path)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert f"resuming {run_dir} at step 50 (50 frames kept)" in again.stderr
    states = re.search(r"Fireworks by state (\{.*\})", again.stdout)
    assert states and re.fullmatch(r"\{'COMPLETED': 13(, 'linked duplicates': \d+)?\}", states.group(1)), states
    (resumed,), (uninterrupted,) = _collection(config, "training_sets"), _collection(reference, "training_sets")
    assert resumed["status"] == "completed" and resumed["n_frames"] == 100
    assert resumed["frames_sha256"] == uninterrupted["frames_sha256"]
    assert Path(resumed["frames_path"]).read_bytes() == Path(uninterrupted["frames_path"]).read_bytes()
    tasks, models, _ = _results(config)
    assert models == _results(reference)[1]  # the same network, from the same frames
    assert tasks == _results(reference)[0]  # the same ANN-MD trajectories (sha256) and diffusivities


@pytest.mark.slow
def test_status_and_lpad_polled_during_a_run_lose_nothing(finished_study, tmp_path):
    """A user watching a run (dopwf status, dopwf lpad get_fws, once a second) changes nothing: the store ends with
    every Firework COMPLETED and the results are those of a run nobody watched."""
    _, reference, _ = finished_study
    config = init_fw_config(tmp_path / "cfg")
    run = _start_run(config, tmp_path)
    polls, progress_seen = 0, False
    while run.poll() is None:
        status = dopwf(["status", "--config", str(config.directory)], tmp_path)
        assert status.returncode == 0, status.stderr[-2000:]
        progress_seen |= "in progress: pid" in status.stdout
        fws = dopwf(["lpad", "--config", str(config.directory), "get_fws", "-d", "count"], tmp_path)
        assert fws.returncode == 0, fws.stderr[-2000:]
        polls += 1
        time.sleep(1)
    assert run.returncode == 0 and polls >= 3 and progress_seen
    final = dopwf(["status", "--config", str(config.directory)], tmp_path)
    assert "study smoke: {'COMPLETED': 13}" in final.stdout
    assert _results(config)[0] == _results(reference)[0]
    store = config.directory / "launchpad_store.json"
    before = store.stat().st_mtime_ns
    dopwf(["status", "--config", str(config.directory)], tmp_path)
    assert store.stat().st_mtime_ns == before  # a read-only command writes nothing


@pytest.mark.slow
def test_writers_take_the_store_lock_and_name_its_holder(finished_study, tmp_path):
    _, config, _ = finished_study
    with open(config.directory / LOCK_FILE, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242: dopwf run, since 12:00:00\n")
        held.flush()
        for args in (["submit", str(SMOKE)], ["build"], ["lpad", "rerun_fws", "-i", "1"]):
            if args[0] == "lpad":
                busy = dopwf(["lpad", "--config", str(config.directory), *args[1:]], tmp_path)
            else:
                busy = dopwf([*args, "--config", str(config.directory)], tmp_path)
            assert busy.returncode == 2, (args, busy.stderr[-1000:])
            assert "pid 4242: dopwf run" in busy.stderr, busy.stderr[-1000:]
        status = dopwf(["status", "--config", str(config.directory)], tmp_path)
        assert status.returncode == 0 and "in progress: pid 4242: dopwf run" in status.stdout


@pytest.mark.slow
@pytest.mark.cluster
def test_qlaunch_runs_the_study_as_slurm_jobs(finished_study, tmp_path):
    """The cluster path on a real batch system: `dopwf init`'s my_qadapter.yaml, edited where it says EDIT as a
    user would, and `qlaunch singleshot` until nothing is READY; SLURM jobs (munged, slurmctld and slurmd on
    localhost) execute every Firework, one job at a time on the embedded store. The jobs find the environment
    only through pre_rocket (their login shell resets PATH), write their queue logs, and the study's documents are
    those of `dopwf run`."""
    from tests.fireworks.local_slurm import local_slurm, wait_for_empty_queue

    _, reference, _ = finished_study
    with local_slurm(tmp_path / "slurm") as slurm_env:
        config = init_fw_config(tmp_path / "cfg")
        qadapter = yaml.safe_load((config.directory / "my_qadapter.yaml").read_text())
        qadapter.update(ntasks=1, walltime="00:30:00", pre_rocket=f"export PATH={DOPWF.parent}:$PATH")
        (config.directory / "my_qadapter.yaml").write_text(yaml.safe_dump(qadapter))
        submitted = dopwf(["submit", str(SMOKE), "--config", str(config.directory)], tmp_path)
        assert submitted.returncode == 0, submitted.stderr[-2000:]
        # qlaunch by its full path, from an environment without the venv on PATH: only pre_rocket brings it back
        env = {**dopwf_env(tmp_path, slurm_env), "FW_CONFIG_FILE": str(config.directory / "FW_config.yaml"),
               "PATH": "/usr/local/bin:/usr/bin:/bin"}
        launches = []
        for i in range(40):
            launch_dir = tmp_path / "launches" / f"{i:02d}"
            launch_dir.mkdir(parents=True)
            queued = subprocess.run([str(DOPWF.parent / "qlaunch"), "-c", str(config.directory), "--launch_dir",
                                     str(launch_dir), "singleshot"], cwd=tmp_path, env=env, capture_output=True,
                                    text=True, timeout=300)
            assert queued.returncode == 0, queued.stdout[-2000:] + queued.stderr[-2000:]
            if "No jobs exist in the LaunchPad" in queued.stdout + queued.stderr:
                break
            assert "Job submission was successful" in queued.stdout + queued.stderr, queued.stdout + queued.stderr
            wait_for_empty_queue(env, timeout_s=600)
            launches.append(launch_dir)
        else:
            raise AssertionError("qlaunch still had Fireworks to submit after 40 jobs")
    status = dopwf(["status", "--config", str(config.directory)], tmp_path)
    assert "study smoke: {'COMPLETED': 13}" in status.stdout, status.stdout + status.stderr[-2000:]
    assert len(launches) == 13  # one SLURM job per Firework
    for launch_dir in launches:  # each job's queue logs: the script qlaunch wrote and SLURM's output files
        assert (launch_dir / "FW_submit.script").read_text().count("export PATH=") == 1
        outputs = list(launch_dir.glob("dopwf-*.out"))
        assert len(outputs) == 1 and list(launch_dir.glob("dopwf-*.error")), sorted(
            p.name for p in launch_dir.iterdir())
    built = dopwf(["build", "--config", str(config.directory)], tmp_path)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert _results(config)[0] == _results(reference)[0]  # the trajectories and diffusivities of `dopwf run`
    assert len(_collection(config, "conductivity")) == len(_collection(reference, "conductivity")) == 2


def test_per_group_training_gives_each_group_one_network_over_its_cells_and_arrangements_their_own_md():
    """training: per_group: one AIMD + network per substitution group, its active learning exploring the group's
    cells; every arrangement of a composition runs MD at every temperature; the dielectric record is the
    composition's (one)."""
    from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
    from dopant_workflows.study import study_from_dict

    data = yaml.safe_load(SMOKE.read_text())
    data["training"]["mode"] = "per_group"
    data["dielectric"] = []
    data["active_learning"] = {"enabled": True, "explore_ps": 0.1}
    group = data["substitutions"]
    data["substitutions"] = [{**group, "counts": [0], "arrangements": 2},
                             {**group, "dopant": "Br:S", "compensate": "vacancy:Li", "counts": [1, 2],
                              "arrangements": 1}]
    study = study_from_dict(data, "smoke per_group")
    wf = get_wf_dopant_study(study)
    names = [fw.name for fw in wf.fws]
    by_name = {fw.name: fw for fw in wf.fws}
    parents = {fw.name: sorted(wf.id_fw[p].name for p in wf.links.parent_links.get(fw.fw_id, [])) for fw in wf.fws}
    assert sorted(n for n in names if n.endswith("active learning round 1")) == [
        "smoke Br-S+vacancy-Li active learning round 1", "smoke Cl-S+Si-P active learning round 1"]
    cl_md = [n for n in names if " md " in n and "validation" not in n and n.split()[1].startswith("Li20Si2P4S24")]
    assert len(cl_md) == 4  # two arrangements of Li20Si2P4S24 x two temperatures
    assert all(parents[n] == ["smoke Cl-S+Si-P active learning round 1"] for n in cl_md)
    assert len([n for n in names if n.endswith(" dielectric") and "Li20Si2P4S24" in n]) == 1
    explored = {name for name, _ in by_name["smoke Br-S+vacancy-Li active learning round 1"].tasks[0]["cells"]}
    assert explored == {"training", *(s.id for s in study.enumerate_substitutions() if s.group == "Br:S + vacancy:Li")}


def test_precision_adds_one_check_per_composition_after_all_its_md():
    from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
    from dopant_workflows.study import study_from_dict

    data = yaml.safe_load(SMOKE.read_text())
    data["substitutions"]["arrangements"] = 2
    data["precision"] = {"activation_energy_std_eV": 0.02}
    study = study_from_dict(data, "smoke precision")
    wf = get_wf_dopant_study(study)
    parents = {fw.name: sorted(wf.id_fw[p].name for p in wf.links.parent_links.get(fw.fw_id, [])) for fw in wf.fws}
    checks = {name: p for name, p in parents.items() if "precision check" in name}
    assert sorted(checks) == ["smoke Li20Si2P4S24 precision check 1", "smoke Li20Si3P3S23Cl1 precision check 1"]
    # the Cl-free composition: two arrangements x two temperatures, and the network the runs it adds use
    assert len(checks["smoke Li20Si2P4S24 precision check 1"]) == 5
    assert all(" md " in name or name == "smoke shared train" for p in checks.values() for name in p)
    task = next(fw for fw in wf.fws if fw.name == "smoke Li20Si2P4S24 precision check 1").tasks[0]
    assert task["budget_ps"] == pytest.approx(4 * 4 * 0.4)  # the default: 4x the first round's production
    assert study_from_dict(yaml.safe_load(SMOKE.read_text())).precision is None  # off unless asked


@pytest.mark.slow
def test_precision_adds_runs_as_detours_until_the_budget_and_says_so(tmp_path):
    """A target no smoke run can meet and a budget of one more round: the check adds two runs where they shrink
    the slope's variance most (allocate_runs on the first round's points), the second check stops on the budget;
    the documents say so."""
    from dopant_workflows.analysis.precision import allocate_runs
    from dopant_workflows.analysis.transport import transport_from_runs

    config = init_fw_config(tmp_path / "cfg")
    data = yaml.safe_load(SMOKE.read_text())
    data["substitutions"]["counts"] = [1]
    data["validation"] = {"enabled": False}
    data["precision"] = {"activation_energy_std_eV": 1e-4, "max_production_ps_per_composition": 1.6}
    study_file = tmp_path / "precise.yaml"
    study_file.write_text(yaml.safe_dump(data))
    result = dopwf(["run", str(study_file), "--config", str(config.directory)], tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    tasks = _collection(config, "md_tasks")
    first = [t for t in tasks if t["replica"] == 0]
    assert sorted(t["temperature_K"] for t in first) == [400.0, 500.0] and len(tasks) == 4
    added = sorted(t["temperature_K"] for t in tasks if t["replica"] > 0)
    assert added == sorted(allocate_runs(transport_from_runs(first).points, 2))
    for temperature in (400.0, 500.0):  # replicas numbered 0, 1, ... per temperature, each with its own seed
        replicas = sorted(t["replica"] for t in tasks if t["temperature_K"] == temperature)
        assert replicas == list(range(len(replicas)))
    assert len({t["seed"] for t in tasks}) == 4 and all(
        t["task_id"].endswith(f"-r{t['replica']}") == (t["replica"] > 0) for t in tasks)
    (check,) = _collection(config, "precision")
    assert check["status"] == "budget" and check["round"] == 2 and check["production_ps_used"] == pytest.approx(1.6)
    (conductivity,) = _collection(config, "conductivity")
    assert conductivity["stopped_on"] == "budget" and conductivity["precision_rounds"] == 2
    counts = {key: sum(t["temperature_K"] == float(key) for t in tasks) for key in ("400", "500")}
    assert conductivity["n_runs"] == 4 and conductivity["runs_per_temperature"] == counts
    assert conductivity["production_ps_per_temperature"] == {key: pytest.approx(0.4 * n) for key, n in counts.items()}
    assert set(conductivity["fit_window_fs"]) == {"400", "500"}


@pytest.mark.slow
def test_two_workers_run_independent_fireworks_at_once_and_finish_the_study(tmp_path):
    """dopwf run --workers 2: FireWorks' reservation + offline launching on the embedded store; every Firework
    completes, the documents and the report are those of a one-worker run's layout, and two Fireworks ran at once
    (their launches overlap in time)."""
    from datetime import datetime

    config = init_fw_config(tmp_path / "cfg")
    result = dopwf(["run", str(SMOKE), "--config", str(config.directory), "--workers", "2"], tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Fireworks by state {'COMPLETED': 13}" in result.stdout
    assert len(_collection(config, "md_tasks")) == 4 and len(_collection(config, "conductivity")) == 2
    spans = []  # each worker's own start and end, from the FW_offline.json it wrote
    launch_dirs = sorted((config.directory / "runs" / "launches").glob("launcher_*"))
    assert len(launch_dirs) == 13
    for launch_dir in launch_dirs:
        offline = json.loads((launch_dir / "FW_offline.json").read_text())
        spans.append(tuple(datetime.fromisoformat(offline[k]) for k in ("started_on", "completed_on")))
    spans.sort()
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False)), "no two Fireworks ran at once"
    assert all((d / "worker.log").is_file() for d in launch_dirs)


def test_the_networks_critical_path_runs_before_validation_reference_md(tmp_path, memory_launchpad):
    """Reference runs, training and the active-learning round carry the network path's ``_priority``; validation's
    reference MD (ready from the start too) and the dielectric records do not, so a LaunchPad hands out the
    network's ancestors first and validation runs beside training instead of ahead of it. A round's detour keeps
    the priority."""
    from fireworks import FWorker

    from dopant_workflows.fireworks.study_tasks import ActiveLearningRound
    from dopant_workflows.fireworks.study_workflow import NETWORK_PATH_PRIORITY, get_wf_dopant_study
    from dopant_workflows.study import study_from_dict

    data = yaml.safe_load(SMOKE.read_text())
    data["training"]["simulated_cells"] = {"temperatures_K": [600], "n_steps": 40, "sample_every": 4}
    data["active_learning"] = {"enabled": True, "selection": "uniform", "committee_size": 1}
    wf = get_wf_dopant_study(study_from_dict(data))
    first = {fw.name for fw in wf.fws if fw.spec.get("_priority") == NETWORK_PATH_PRIORITY}
    assert first == {"smoke shared aimd", "smoke Li20Si2P4S24-7fc8dacdae 600K aimd",
                     "smoke Li20Si3P3S23Cl1-b71d28bb42 600K aimd", "smoke shared active learning round 1"}
    assert all("_priority" not in fw.spec for fw in wf.fws if fw.name not in first)

    lpad = memory_launchpad
    lpad.add_wf(wf)
    ready = {fw.name for fw in wf.fws if not wf.links.parent_links.get(fw.fw_id)}
    assert any("validation reference md" in name for name in ready)  # the competition is real
    order = []
    while (fw := lpad.reserve_fw(FWorker(), str(tmp_path))[0]) is not None:
        order.append(fw.name)
    assert set(order[:3]) == first - {"smoke shared active learning round 1"} and len(order) == len(ready)

    task = next(fw for fw in wf.fws if fw.name == "smoke shared active learning round 1").tasks[0]
    assert isinstance(task, ActiveLearningRound)
    spec = task._round_spec({"_priority": NETWORK_PATH_PRIORITY, "aimd_frames": ["b.extxyz", "a.extxyz"]})
    assert spec["_priority"] == NETWORK_PATH_PRIORITY and spec["aimd_frames"] == ["a.extxyz", "b.extxyz"]
    assert "_priority" not in task._round_spec({"aimd_frames": ["a.extxyz"]})


def test_a_firework_with_the_same_tasks_is_a_duplicate_whatever_its_parents_pushed(tmp_path, memory_launchpad):
    """Parents push frame files in the order they finish, which differs between runs with two workers: a Firework
    added again with the same Firetasks is linked to the one that ran (it does not run twice), whatever its spec's
    pushed lists or priority; other tasks run."""
    from fireworks import Firework, FWAction, FWorker

    from dopant_workflows.fireworks.study_tasks import RecordDielectric
    from dopant_workflows.fireworks.task_helpers import study_spec
    from dopant_workflows.names import FRAMES_KEY

    lpad = memory_launchpad

    def record(eps_r, frames, **spec):
        task = RecordDielectric(study="s", substitution_id="x", formula="Li", eps_r=eps_r, source="test")
        return Firework([task], name="x dielectric", spec=study_spec(**{FRAMES_KEY: frames}, **spec))

    lpad.add_wf(record(5.0, ["b.extxyz", "a.extxyz"]))
    fw, launch_id = lpad.reserve_fw(FWorker(), str(tmp_path))
    lpad.complete_launch(launch_id, FWAction(), "COMPLETED")
    again = lpad.add_wf(record(5.0, ["a.extxyz", "b.extxyz"], _priority=10))
    assert lpad.reserve_fw(FWorker(), str(tmp_path))[0] is None  # nothing left to run: linked to the first
    assert lpad.get_fw_by_id(list(again.values())[0]).state == "COMPLETED"
    other = lpad.add_wf(record(6.0, ["a.extxyz", "b.extxyz"]))
    assert lpad.reserve_fw(FWorker(), str(tmp_path))[0].fw_id == list(other.values())[0]


def test_several_networks_train_on_network_zeros_frames_and_share_out_production_and_validation():
    """training.networks: 2: network 2 is a child of network 0 (it trains on the frames network 0 hands it, with
    its own seed) on the network's critical path; each arrangement's first-round MD alternates between the
    networks over the temperatures, validation's ANN runs likewise; the validation comparison and the precision
    checks wait for both networks."""
    from dopant_workflows.fireworks.study_workflow import NETWORK_PATH_PRIORITY, get_wf_dopant_study
    from dopant_workflows.names import network_seed
    from dopant_workflows.study import study_from_dict

    data = yaml.safe_load(SMOKE.read_text())
    data["training"]["networks"] = 2
    data["precision"] = {"activation_energy_std_eV": 0.02}
    study = study_from_dict(data, "smoke networks")
    wf = get_wf_dopant_study(study)
    by_name = {fw.name: fw for fw in wf.fws}
    parents = {fw.name: sorted(wf.id_fw[p].name for p in wf.links.parent_links.get(fw.fw_id, [])) for fw in wf.fws}
    replica = by_name["smoke shared network 2"]
    assert parents["smoke shared network 2"] == ["smoke shared train"]
    assert replica.spec["_priority"] == NETWORK_PATH_PRIORITY
    task = replica.tasks[0]
    assert task["index"] == 1 and task["settings"]["seed"] == network_seed(study.seed, "shared", 1)
    assert {k: v for k, v in task["settings"].items() if k != "seed"} == {
        k: v for k, v in by_name["smoke shared train"].tasks[0]["settings"].items() if k != "seed"}
    for sub in study.enumerate_substitutions():  # one arrangement each: 400 K on network 1, 500 K on 2
        assert parents[f"smoke {sub.id} md 400K"] == ["smoke shared train"]
        assert parents[f"smoke {sub.id} md 500K"] == ["smoke shared network 2"]
        check = f"smoke {sub.composition_id} precision check 1"
        assert {"smoke shared train", "smoke shared network 2"} <= set(parents[check])
        assert by_name[check].tasks[0]["network_labels"] == {sub.id: "shared"}
    assert parents["smoke shared validation ann md 400K #1"] == ["smoke shared train"]
    assert parents["smoke shared validation ann md 500K #1"] == ["smoke shared network 2"]
    assert {"smoke shared train", "smoke shared network 2"} <= set(parents["smoke shared validation"])
    # one network: the workflow of before (no replica, every run on the training Firework)
    single = get_wf_dopant_study(study_from_dict(yaml.safe_load(SMOKE.read_text())))
    assert not any("network" in fw.name for fw in single.fws)


@pytest.mark.slow
def test_a_study_with_two_networks_spreads_its_runs_validates_both_and_pools_them(tmp_path):
    """training.networks: 2 end to end: two networks on the same frames (different seeds, so different weights),
    the first round's runs and the runs precision adds spread over them, every run's document naming its network
    and the ensemble, one validation of both (each ANN run's frames relabelled against its own network), and one
    conductivity document pooling both networks' runs without calling them mixed physics."""
    from dopant_workflows.analysis.precision import assign_networks

    config = init_fw_config(tmp_path / "cfg")
    data = yaml.safe_load(SMOKE.read_text())
    data["substitutions"]["counts"] = [1]
    data["training"]["networks"] = 2
    data["precision"] = {"activation_energy_std_eV": 1e-4, "max_production_ps_per_composition": 1.6}
    study_file = tmp_path / "networks.yaml"
    study_file.write_text(yaml.safe_dump(data))
    result = dopwf(["run", str(study_file), "--config", str(config.directory)], tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    models = {m["model_sha256"]: m for m in _collection(config, "models")}
    assert len(models) == 2 and len({m["seed"] for m in models.values()}) == 2
    assert len({tuple(m["training_frames_sha256"]) for m in models.values()}) == 1  # the same frames
    tasks = _collection(config, "md_tasks")
    first = sorted((t for t in tasks if t["replica"] == 0), key=lambda t: t["temperature_K"])
    assert [t["network"] for t in first] == [0, 1]
    zero = first[0]["model_sha256"]
    assert {t["ensemble_sha256"] for t in tasks} == {zero} and len({t["model_sha256"] for t in tasks}) == 2
    for t in tasks:  # each run on the network its index names
        assert t["model_sha256"] == next(r["model_sha256"] for r in first if r["network"] == t["network"])
    added = sorted((t for t in tasks if t["replica"] > 0), key=lambda t: t["temperature_K"])
    assert [t["temperature_K"] for t in added] == [400.0, 500.0]  # one more run at each end (allocate_runs)
    # on the network that had no run at that temperature yet: both networks at both temperatures
    assert [t["network"] for t in added] == assign_networks(
        first, [(t["substitution_id"], t["temperature_K"]) for t in added], 2) == [1, 0]
    (check,) = _collection(config, "precision")
    assert check["status"] == "budget" and check["round"] == 2
    (validation,) = _collection(config, "validation")
    assert validation["model_sha256"] == zero and sorted(validation["ensemble_sha256"]) == sorted(models)
    ann = {r["temperature_K"]: r for r in validation["runs"] if r["role"] == "ann"}
    assert len(ann) == 2 and all(t["n_frames_relabelled"] == 10 for t in validation["temperatures"])
    (conductivity,) = _collection(config, "conductivity")
    assert conductivity["validated"] is not None and conductivity["n_runs"] == 4
    assert not any("trained apart" in w for w in conductivity["warnings"])
    assert sorted(n["network"] for n in conductivity["networks"]) == [0, 1]
    assert sorted(conductivity["model_sha256"]) == sorted(models)


@pytest.mark.slow
def test_after_active_learning_the_other_networks_train_on_the_handed_on_networks_frames(tmp_path):
    """training.networks: 2 with active learning: network 2 waits for the last round of network 1, then runs its own
    chain of rounds from the frames network 1 was handed on with (from scratch, its own seeds): judged in its own
    ANN-MD, adding the frames it fails on. The production runs use both; the first network keys the ensemble."""
    from dopant_workflows.fileio import file_sha256

    config, result = _run_active_learning_study(tmp_path, {
        "selection": "uniform", "committee_size": 1, "max_rounds": 2, "converged_force_rmse_eV_A": 1e-4,
        "explore_ps": 0.06, "max_labels_per_round": 6, "temperatures_K": [500]}, networks=2)
    # 9 + network 2's two rounds (its level 1e-4 eV/A is never met either)
    assert "Fireworks by state {'COMPLETED': 11}" in result.stdout
    assert "== smoke shared-network2 active learning round 2: COMPLETED in" in result.stderr
    documents = _collection(config, "active_learning")
    rounds = sorted((d for d in documents if d["label"] == "shared"), key=lambda d: d["round"])
    replica = sorted((d for d in documents if d["label"] == "shared-network2"), key=lambda d: d["round"])
    assert [d["round"] for d in rounds] == [d["round"] for d in replica] == [1, 2]
    final = rounds[-1]
    handed_on = next(r for r in rounds if r["round"] == final["handed_on_round"])
    assert final["handed_on_training_frame_files"] == handed_on["training_frame_files"]
    # the chain starts from network 1's frames and adds its own labels (round 2 warm-starts from its round 1)
    assert replica[0]["training_frame_files"] == sorted(handed_on["training_frame_files"])
    assert replica[1]["training_frame_files"] == [*replica[0]["training_frame_files"],
                                                  replica[0]["labelled_frames_path"]]
    assert set(replica[0]["committee_sha256"]).isdisjoint(d["committee_sha256"][0] for d in rounds)
    models = {m["model_sha256"]: m for m in _collection(config, "models")}
    second = replica[-1]["handed_on_sha256"]
    assert models[second]["training_frames_sha256"][: len(handed_on["training_frame_files"])] == [
        file_sha256(f) for f in sorted(handed_on["training_frame_files"])]
    tasks = _collection(config, "md_tasks")
    assert {t["model_sha256"] for t in tasks} == {final["handed_on_sha256"], second}
    assert {t["ensemble_sha256"] for t in tasks} == {final["handed_on_sha256"]}
    assert {t["network"] for t in tasks} == {0, 1}
