import json

import numpy as np
from ase.io import write

from dopant_workflows.cli import main


def test_train_then_eval(tmp_path, capsys, amp_images):
    from dopant_workflows.ann.amp_io import load_amp

    from .conftest import REFERENCE_DIR

    teacher = load_amp(REFERENCE_DIR / "lgps_default.amp")
    rng = np.random.default_rng(5)
    frames = []
    for _ in range(12):
        atoms = amp_images[0].copy()
        atoms.positions += rng.normal(scale=0.02, size=atoms.positions.shape)
        atoms.calc = teacher
        atoms.get_forces()
        frames.append(atoms)
    write(tmp_path / "images.extxyz", frames)
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

    assert main(["ann", "eval", str(out), str(tmp_path / "images.extxyz"), "--json", "--out", str(tmp_path / "ev")]) == 0
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
