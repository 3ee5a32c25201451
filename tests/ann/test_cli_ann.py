import json

import numpy as np
from ase.io import write

from dopant_workflows.cli import main


def _teacher_frames(amp_images, n: int, seed: int, scale_A: float) -> list:
    """The LGPS cell rattled, labelled by AMP's own default (5, 5) network."""
    from dopant_workflows.ann.amp_io import load_amp

    from .conftest import REFERENCE_DIR

    teacher = load_amp(REFERENCE_DIR / "lgps_default.amp")
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = amp_images[0].copy()
        atoms.positions += rng.normal(scale=scale_A, size=atoms.positions.shape)
        atoms.calc = teacher
        atoms.get_forces()
        frames.append(atoms)
    return frames


def test_train_then_eval(tmp_path, capsys, amp_images):
    write(tmp_path / "images.extxyz", _teacher_frames(amp_images, 12, 5, 0.02))
    out = tmp_path / "model"
    assert main(["ann", "train", str(tmp_path / "images.extxyz"), "--out", str(out), "--max-steps", "5",
                 "--validate-every", "5", "--hidden-layers", "3"]) == 0
    table = capsys.readouterr().out
    assert "test" in table and "validation" in table and "train" in table
    assert {p.name for p in out.iterdir()} == {"model.json", "model.amp", "training.json", "training_curve.png",
                                               "parity_test.png", "residuals_test.png"}
    report = json.loads((out / "training.json").read_text())
    assert report["settings"]["hidden_layers"] == [3]
    assert set(report["metrics"]) == {"train", "validation", "test"}
    assert not list(tmp_path.glob(".model-staging-*"))

    assert main(["ann", "eval", str(out), str(tmp_path / "images.extxyz"), "--json",
                 "--out", str(tmp_path / "ev")]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["n_images"] == 12 and metrics["force_rmse_eV_A"] > 0
    assert (tmp_path / "ev" / "parity_eval.png").stat().st_size > 1000
    # the AMP copy evaluates to the same numbers
    assert main(["ann", "eval", str(out / "model.amp"), str(tmp_path / "images.extxyz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == metrics

    # refusing to overwrite, and bad input, exit 2 with the input named
    assert main(["ann", "train", str(tmp_path / "images.extxyz"), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["ann", "eval", str(tmp_path / "nothing.json"), str(tmp_path / "images.extxyz")]) == 2
    assert "dopwf ann eval: error: model" in capsys.readouterr().err

    # --warm-start: continue from that model on its images plus more; its parent named in training.json
    write(tmp_path / "more.extxyz", _teacher_frames(amp_images, 6, 6, 0.02))
    assert main(["ann", "train", str(tmp_path / "images.extxyz"), str(tmp_path / "more.extxyz"), "--out",
                 str(tmp_path / "child"), "--max-steps", "5", "--validate-every", "5", "--hidden-layers", "3",
                 "--warm-start", str(out)]) == 0
    child = json.loads((tmp_path / "child" / "training.json").read_text())
    assert child["warm_start"]["model_sha256"] == report["model_sha256"] and child["history"]["step"][0] == 0
    assert sum(len(v) for v in child["split"].values()) == 18
    assert main(["ann", "train", str(tmp_path / "more.extxyz"), "--out", str(tmp_path / "bad"),
                 "--warm-start", str(out)]) == 2
    assert "warm start" in capsys.readouterr().err


def test_scan_trains_the_grid_and_tables_it(tmp_path, capsys, amp_images):
    """dopwf ann scan: descriptor sets x topologies on the same frames (the paper's Table 1 / Fig. 3)."""
    frames = _teacher_frames(amp_images, 16, 7, 0.03)
    write(tmp_path / "train.extxyz", frames[:12])
    write(tmp_path / "eval.extxyz", frames[12:])
    out = tmp_path / "scan"
    base = ["ann", "scan", str(tmp_path / "train.extxyz"), "--out", str(out), "--max-steps", "4", "--validate-every",
            "2"]
    # bad grid points are refused together, before anything is trained
    assert main([*base, "--descriptors", "gaussian", "zernike", "--topologies", "5,x", "3"]) == 2
    err = capsys.readouterr().err
    assert "topology '5,x'" in err and "zernike" in err and not out.exists()

    assert main([*base, "--descriptors", "gaussian", "gaussian-g2", "--topologies", "3", "5,5",
                 "--eval-images", str(tmp_path / "eval.extxyz")]) == 0
    table = capsys.readouterr().out
    assert table.count("| gaussian") == 4
    rows = json.loads((out / "scan.json").read_text())["rows"]
    by_point = {(r["descriptor"], tuple(r["hidden_layers"])): r for r in rows}
    assert set(by_point) == {("gaussian", (3,)), ("gaussian", (5, 5)), ("gaussian-g2", (3,)), ("gaussian-g2", (5, 5))}
    # LGPS has 4 elements: AMP's default set is the paper's Gaussian-56; G2 only: 4 widths x 4 neighbours
    assert by_point[("gaussian", (5, 5))]["functions_per_element"] == 56
    assert by_point[("gaussian-g2", (3,))]["functions_per_element"] == 16
    # weights (with biases) of 4 element networks: (56 + 1) x 5 + (5 + 1) x 5 + (5 + 1) x 1 each
    assert by_point[("gaussian", (5, 5))]["weights"] == 4 * (57 * 5 + 6 * 5 + 6)
    assert by_point[("gaussian-g2", (3,))]["weights"] == 4 * (17 * 3 + 4)
    assert all(r["eval_force_rmse_eV_A"] > 0 for r in rows)
    assert (out / "scan.png").stat().st_size > 1000 and (out / "scan.csv").read_text().count("\n") == 5
    # a second scan reuses the trained grid points
    before = (out / "gaussian-3" / "model.json").stat().st_mtime_ns
    assert main([*base, "--descriptors", "gaussian", "--topologies", "3"]) == 0
    assert (out / "gaussian-3" / "model.json").stat().st_mtime_ns == before


def test_scan_refuses_a_grid_point_given_twice(tmp_path, capsys):
    assert main(["ann", "scan", str(tmp_path / "f.extxyz"), "--topologies", "5,5", "10,10", "5,5",
                 "--out", str(tmp_path / "scan")]) == 2
    assert "--topologies: 5,5 given more than once" in capsys.readouterr().err
    assert not (tmp_path / "scan").exists()
