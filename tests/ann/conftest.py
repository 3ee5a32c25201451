"""AMP reference data: produced by AMP 1.0.1 itself with tools/amp_reference/ (tests never need AMP)."""

import json
from pathlib import Path

import pytest
from ase.io import read

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "amp_reference"
MODEL_IMAGES = {"lgps_default": slice(0, 2), "lsips_custom": slice(2, 3), "li2s_small": slice(3, 4)}


@pytest.fixture(scope="session")
def amp_reference():
    return json.loads((REFERENCE_DIR / "reference.json").read_text())


@pytest.fixture(scope="session")
def amp_images():
    return read(REFERENCE_DIR / "images.extxyz", index=":")


@pytest.fixture(scope="session")
def lgps_potential():
    from dopant_workflows.ann.amp_io import load_amp_potential

    return load_amp_potential(REFERENCE_DIR / "lgps_default.amp")
