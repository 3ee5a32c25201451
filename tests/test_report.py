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


def test_a_composition_without_a_fit_is_named_with_the_reason_not_dropped():
    """MD runs whose D was not resolved at one temperature cannot be fitted: the report names the composition and
    the fit's own reason under Table 2; a fitted composition is not listed."""
    from dopant_workflows.report import unfitted_lines

    def run(composition, temperature, d):
        return {"study": "s", "composition_id": composition, "formula": composition, "temperature_K": temperature,
                "diffusivity_cm2_s": d, "diffusivity_std_cm2_s": None, "n_carriers": 8, "volume_A3": 180.0,
                "diffusivity_components_cm2_s": {"a": d, "b": d, "c": d}}

    runs = [run("Li8S4", 500.0, -1e-6), run("Li8S4", 700.0, 2e-5), run("Li60X", 600.0, 1e-5), run("Li60X", 900.0, 4e-5)]
    (line,) = unfitted_lines(runs, [{"study": "s", "composition_id": "Li60X", "formula": "Li60X"}])
    assert line.startswith("- Li8S4 (Li8S4; 2 runs at 500, 700 K): no Arrhenius fit:")
    assert "diffusivities must be positive" in line and "no diffusion was resolved" in line
    assert unfitted_lines(runs[2:], []) == ["- Li60X (Li60X; 2 runs at 600, 900 K): not built yet: `dopwf build` "
                                            "fits it"]
