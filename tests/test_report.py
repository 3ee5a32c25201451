"""The report shows the networks behind the study's results; earlier attempts kept in the database are named only."""

from dopant_workflows.report import split_superseded


def _round(n, final, sha, settings):
    return {"al_id": f"s-shared-round{n}", "label": "shared", "round": n, "final": final,
            "committee_sha256": [sha], "settings": settings}


def test_validations_and_rounds_of_networks_behind_no_result_are_superseded():
    old, new = {"max_rounds": 3}, {"max_rounds": 4}
    rounds = [_round(1, False, "a1", new), _round(2, True, "a2", new),  # the chain whose network made the results
              _round(3, True, "b3", old)]  # an earlier run's last round (rounds 1-2 were overwritten by key)
    validations = [{"validation_id": "v-a2", "model_sha256": "a2", "status": "passed"},
                   {"validation_id": "v-b3", "model_sha256": "b3", "status": "failed"}]
    conductivity = [{"formula": "X", "model_sha256": ["a2"]}, {"formula": "Y", "model_sha256": ["a2"]}]
    current_v, current_r, old_v, old_r = split_superseded(conductivity, validations, rounds)
    assert [v["validation_id"] for v in current_v] == ["v-a2"] and [v["validation_id"] for v in old_v] == ["v-b3"]
    assert [r["round"] for r in current_r] == [1, 2] and [r["round"] for r in old_r] == [3]
    # before any result everything is current: nothing to judge by
    assert split_superseded([], validations, rounds) == (validations, rounds, [], [])
