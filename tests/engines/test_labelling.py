"""One labelling code path: embedded labels name their engine, as CP2K's do (tests/engines/test_cp2k.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.jobs.labelling import label_frames
from tests.engines.test_cp2k import li2s


def test_embedded_labels_name_their_engine_and_keep_the_geometry():
    frame = li2s()
    (labelled,) = label_frames([frame], "embedded", stress=True)
    assert labelled.info["engine"] == "embedded:chgnet" and labelled.info["level_of_theory"] == "CHGNet 0.3.0"
    np.testing.assert_array_equal(labelled.positions, frame.positions)
    assert labelled.get_forces().shape == (12, 3) and np.abs(labelled.get_forces()[5]).max() > 0.01
    assert labelled.get_stress().shape == (6,)


def test_cp2k_labels_need_a_work_directory_and_unknown_engines_are_named():
    with pytest.raises(DopwfInputError, match="work directory"):
        label_frames([li2s()], "cp2k")
    with pytest.raises(DopwfInputError, match="engine 'vasp'"):
        label_frames([li2s()], "vasp")


def test_every_reference_run_gets_labelled_frames_in_proportion():
    from dopant_workflows.jobs.labelling import frame_shares

    assert frame_shares([30, 4, 4], 6) == [4, 1, 1]
    assert frame_shares([8, 4], 4) == [3, 1]
    assert frame_shares([2, 2], 10) == [2, 2]  # all there are
    assert sum(frame_shares([50, 7, 3, 12], 20)) == 20
    with pytest.raises(DopwfInputError, match="reference_frames: 2, fewer than the 3 reference runs"):
        frame_shares([5, 5, 5], 2)
