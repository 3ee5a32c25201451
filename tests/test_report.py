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


def test_md_warnings_are_one_line_per_material_temperature_and_kind():
    """Eight runs short of one hop at 600 K are one line saying how many, not eight lines differing in a number."""
    from dopant_workflows.report import md_warning_lines

    short = "the MSD per Li reaches 4.5 A^2 only at {} ps, beyond the fit's latest start (1.2 ps): run longer"
    docs = [{"formula": "Li60Si8P10S70Cl2", "temperature_K": 600.0, "warnings": [short.format(t)]}
            for t in (1.4, 1.6, 1.9)]
    docs.append({"formula": "Li60Si8P10S70Cl2", "temperature_K": 600.0,
                 "warnings": ["the network's core repulsion was active in 40 % of production samples"]})
    docs.append({"formula": "Li60Si8P10S70Cl2", "temperature_K": 700.0, "warnings": []})
    docs.append({"formula": "Li60Si7P11S71Cl1", "temperature_K": 600.0, "warnings": [short.format(2.0)]})
    assert md_warning_lines(docs) == [
        "- Li60Si7P11S71Cl1 at 600 K (MD): " + short.format(2.0),
        "- Li60Si8P10S70Cl2 at 600 K (MD), 3 of 4 runs, e.g.: " + short.format(1.4),
        "- Li60Si8P10S70Cl2 at 600 K (MD), 1 of 4 runs: the network's core repulsion was active in 40 % of "
        "production samples",
    ]
