"""diffusivity -> conductivity: per substitution, the Arrhenius fit and its 300 K extrapolation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from maggma.builders import GroupBuilder

from dopant_workflows.analysis.arrhenius import fit_arrhenius
from dopant_workflows.analysis.conductivity import nernst_einstein_conductivity_mS_cm
from dopant_workflows.schemas.results import ConductivityDocument

AT_K = 300.0


class ConductivityBuilder(GroupBuilder):
    def __init__(self, diffusivity, conductivity, plots_dir=None, **kwargs):
        self.diffusivity, self.conductivity, self.plots_dir = diffusivity, conductivity, plots_dir
        super().__init__(source=diffusivity, target=conductivity, grouping_keys=["substitution_id"], **kwargs)

    def get_ids_to_process(self) -> list:
        """maggma's GroupBuilder finds source keys it never processed; a source document updated in place (a run
        redone with the same task_id) must rebuild its group too: any source newer than its group's target."""
        ids = set(super().get_ids_to_process())
        to_dt = self.source._lu_func[0]  # last_updated may come back as an ISO string (JSON files)
        lu_source, lu_target = self.source.last_updated_field, self.target.last_updated_field
        built = {d["substitution_id"]: to_dt(d[lu_target]) for d in self.target.query(
            criteria=self.query, properties=["substitution_id", lu_target]) if d.get(lu_target) is not None}
        for d in self.source.query(criteria=self.query, properties=[self.source.key, "substitution_id", lu_source]):
            group_time = built.get(d["substitution_id"])
            if group_time is None or to_dt(d[lu_source]) > group_time:
                ids.add(d[self.source.key])
        return list(ids)

    def unary_function(self, items: list[dict]) -> dict:
        items = sorted(items, key=lambda d: d["temperature_K"])
        first = items[0]
        temps = [d["temperature_K"] for d in items]
        diffs = [d["diffusivity_cm2_s"] for d in items]
        errors = [d.get("diffusivity_std_cm2_s") for d in items]
        fit = fit_arrhenius(temps, diffs, errors if all(errors) else None)
        d300, lo, hi = fit.extrapolate(AT_K)
        sigma = [nernst_einstein_conductivity_mS_cm(x, AT_K, first["n_carriers"], first["volume_A3"])
                 for x in (d300, lo, hi)]
        components = {}
        for axis in "abc":
            values = [d["diffusivity_components_cm2_s"][axis] for d in items]
            components[axis] = fit_arrhenius(temps, values).extrapolate(AT_K)[0] if min(values) > 0 else None
        plot_path = None
        if self.plots_dir is not None:
            from dopant_workflows.analysis.plots import plot_arrhenius

            plot_path = str(plot_arrhenius(fit, errors if all(errors) else None,
                                           Path(self.plots_dir) / f"arrhenius_{first['substitution_id']}.png",
                                           AT_K, label=first["formula"]))
        return ConductivityDocument(
            substitution_id=first["substitution_id"], study=first["study"], formula=first["formula"],
            dopant_fraction=first["dopant_fraction"], temperatures_K=temps,
            activation_energy_eV=fit.activation_energy_eV, activation_energy_std_eV=_finite(fit.activation_energy_std_eV),
            prefactor_cm2_s=fit.prefactor_cm2_s, diffusivity_300K_cm2_s=d300, diffusivity_300K_95_cm2_s=[lo, hi],
            conductivity_300K_mS_cm=sigma[0], conductivity_300K_95_mS_cm=sigma[1:],
            diffusivity_300K_components_cm2_s=components, linear=fit.linear, warnings=list(fit.warnings),
            plot_path=plot_path,
        ).model_dump()


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else float("nan")
