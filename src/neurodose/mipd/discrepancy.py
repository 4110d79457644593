"""A level far from the prediction: the safe direction and the likely explanations.

When a measured level differs from the population prediction for the dosing history by
an order of magnitude (:data:`neurodose.mipd.tdm.CONTRADICTION_RATIO`), the dose search
is withheld until the clinician accepts the level, but the report still says what is
safe to do now and why the level may differ:

* **high** (measured above the prediction): hold or reduce the dose, never raise it;
  explanations: doses taken that are not in the history (adherence: an extra or double
  dose), a sample taken near the peak rather than at the trough (sampling time), a
  poor-metaboliser genotype of a gene the PK model uses, an interacting (inhibiting)
  drug not on the list;
* **low**: do not raise the dose on this level alone; explanations: missed doses,
  a sample long after the last dose or before steady state, an ultrarapid-metaboliser
  genotype, an interacting (inducing) drug not on the list.

These are the standard reasons for an unexpected level (the issue's list; no number is
claimed); the genotypes and co-medications on record are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neurodose.mipd.estimate import MapResult

__all__ = ["FarLevel", "far_level"]


@dataclass(frozen=True)
class FarLevel:
    """The worst level far from the prediction and what to do about it."""

    direction: str  # "high" | "low"
    analyte: str
    time_h: float
    measured: float
    predicted: float
    safe_action: str
    explanations: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.measured / self.predicted

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "analyte": self.analyte,
            "time_h": self.time_h,
            "measured_ng_per_ml": round(self.measured, 3),
            "predicted_ng_per_ml": round(self.predicted, 3),
            "ratio": round(self.ratio, 3),
            "safe_action": self.safe_action,
            "explanations": list(self.explanations),
        }


def _genes(drug: str) -> list[str]:
    from neurodose.pk.parameters import get_pkmodel

    return sorted(get_pkmodel(drug).genotype or {})


def _genotype_text(drug: str, patient: Any, kind: str) -> str:
    genes = _genes(drug)
    if not genes:
        return f"a {kind}-metaboliser genotype"
    on_record = []
    for g in genes:
        ph = patient.phenotype(g) if patient is not None and hasattr(patient, "phenotype") else None
        on_record.append(f"{g} {ph}" if ph else f"{g} not genotyped")
    return (
        f"a {kind}-metaboliser genotype of {' or '.join(genes)} (on record: {', '.join(on_record)})"
    )


def _comed_text(comeds: Sequence[Any], kind: str) -> str:
    names = [str(c.split(":")[0] if isinstance(c, str) else c.drug) for c in comeds]
    listed = ", ".join(names) if names else "none"
    return f"an interacting ({kind}) drug not on the medication list (on the list: {listed})"


def far_level(
    fit: MapResult,
    ratio_limit: float,
    drug: str,
    every_h: float,
    last_dose_h: float,
    patient: Any = None,
    comeds: Sequence[Any] = (),
) -> FarLevel | None:
    """The level furthest from the population prediction when it is ``ratio_limit`` or
    more times off either way, with the safe action and the explanations; else None."""
    obs, pred = fit.obs, fit.diagnostics.pred
    worst, worst_i = 0.0, -1
    for i in range(len(obs)):
        if bool(obs.blq[i]) or not pred[i] > 0 or not float(obs.value[i]) > 0:
            continue
        r = float(obs.value[i]) / pred[i]
        score = max(r, 1.0 / r)
        if score >= ratio_limit and score > worst:
            worst, worst_i = score, i
    if worst_i < 0:
        return None
    i = worst_i
    measured, predicted = float(obs.value[i]), float(pred[i])
    t = float(obs.times_h[i])
    since = t - max((x for x in fit.doses.times if x <= t), default=last_dose_h)
    high = measured > predicted
    sampling = (
        f"sampling time: the sample was taken {since:g} h after the preceding dose "
        f"(dosing every {every_h:g} h)"
    )
    if high:
        action = (
            "The level is higher than predicted: the safe direction is to hold or reduce the "
            "dose; do not raise it. Check the explanations below before deciding how much."
        )
        why = (
            "adherence: doses taken that are not in the history (an extra or a double dose)",
            sampling + ("; a sample near the peak reads high" if since < every_h / 2 else ""),
            _genotype_text(drug, patient, "poor"),
            _comed_text(comeds, "inhibiting"),
        )
    else:
        action = (
            "The level is lower than predicted: do not raise the dose on this level alone; "
            "first check adherence and the sample time."
        )
        why = (
            "adherence: missed doses not recorded in the diary",
            sampling + "; a sample long after a dose or before steady state reads low",
            _genotype_text(drug, patient, "ultrarapid"),
            _comed_text(comeds, "inducing"),
        )
    return FarLevel("high" if high else "low", obs.analyte[i], t, measured, predicted, action, why)
