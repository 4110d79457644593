"""Drug effect modifiers by aetiology (``knowledge/pdmodels/condition_efficacy/``).

The PD model is calibrated in painful diabetic neuropathy. For another aetiology a
(drug, condition) pair has one of these bases:

- ``reference``: diabetic neuropathy itself;
- ``no_effect``: trials in the condition found no benefit: the condition's NNT is not supported;
- ``effect_shown``: benefit shown, magnitude not comparable: the NNT is the extrapolated one;
- ``effect_sized``: NNT ratio from one review: the NNT is divided by the modifier, which
  never exceeds its cited upper bound;
- ``extrapolated``: no drug-specific data: the modifier is unknown and the output says so.

>>> condition_efficacy("amitriptyline", "hiv_neuropathy").basis
'no_effect'
>>> condition_efficacy("nortriptyline", "hiv_neuropathy").basis
'extrapolated'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from neurodose import citations
from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge.registry import load_validated
from neurodose.knowledge.schema import Quantity
from neurodose.pd.params import PD_DIR

__all__ = [
    "EFFICACY_PATH",
    "ConditionEfficacy",
    "EfficacyFile",
    "UnavailableCondition",
    "by_condition",
    "condition_efficacy",
    "condition_nnt",
    "condition_sources",
    "load_efficacy_by_condition",
    "trial_unavailable",
]

EFFICACY_PATH: Path = PD_DIR / "condition_efficacy" / "efficacy_by_condition.toml"

#: the aetiology the PD model's efficacy is calibrated in (``reference`` of the file)
REFERENCE_CONDITION = "diabetic_neuropathy"

Finding = Literal["no_effect", "effect_shown", "effect_sized"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModifierEntry(_Model):
    """One ``[[modifiers]]`` row: a drug in a condition, with its cited evidence."""

    drug: str
    condition: str
    finding: Finding
    summary: str
    evidence: tuple[Quantity, ...] = Field(min_length=1)
    relative_effect: Quantity | None = None

    @model_validator(mode="after")
    def _sized(self) -> ModifierEntry:
        sized = self.finding == "effect_sized"
        if sized != (self.relative_effect is not None):
            raise ValueError("relative_effect is required for, and only for, effect_sized")
        if self.relative_effect is not None and self.relative_effect.ci_high is None:
            raise ValueError("relative_effect needs ci_high (the cited upper bound)")
        return self


class UnavailableCondition(_Model):
    """One ``[[unavailable]]`` row: an aetiology a virtual trial cannot name, and why."""

    condition: str
    reason: str = Field(min_length=10)
    also_called: tuple[str, ...] = Field(default=(), description="names a user may type")
    evidence: tuple[Quantity, ...] = ()


class EfficacyFile(_Model):
    """Schema of ``efficacy_by_condition.toml``."""

    schema_version: int = 1
    kind: Literal["efficacy_by_condition"]
    reference: str
    aetiologies: tuple[str, ...]
    modifiers: tuple[ModifierEntry, ...] = ()
    unavailable: tuple[UnavailableCondition, ...] = ()


@dataclass(frozen=True)
class ConditionEfficacy:
    """The effect modifier of one drug in one condition (``modifier`` None = unknown)."""

    drug: str
    condition: str
    basis: str
    modifier: float | None
    upper: float | None
    summary: str
    evidence: tuple[Quantity, ...] = ()

    @property
    def sources(self) -> list[str]:
        """Source keys of the evidence (empty for the reference and for extrapolation)."""
        return sorted({q.source for q in self.evidence})

    @property
    def note(self) -> str:
        """One sentence for text and JSON outputs."""
        label = self.condition.replace("_", " ")
        if self.basis == "reference":
            return f"{self.drug}: efficacy calibrated in {label} (the reference)."
        if self.basis == "extrapolated":
            return (
                f"{self.drug} in {label}: no drug-specific trial data; the prediction is "
                "extrapolated from diabetic neuropathy, where the model's efficacy is calibrated "
                "(effect modifier unknown)."
            )
        if self.basis == "no_effect":
            return f"{self.drug} in {label}: trials found no benefit over placebo. {self.summary}"
        if self.basis == "effect_shown":
            return (
                f"{self.drug} in {label}: benefit shown in trials, magnitude extrapolated "
                f"from diabetic neuropathy. {self.summary}"
            )
        return f"{self.drug} in {label}: effect scaled by {self.modifier:g} vs diabetic neuropathy."

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "condition": self.condition,
            "efficacy_basis": self.basis,
            "modifier": self.modifier,
            "modifier_upper": self.upper,
            "note": self.note,
            "evidence": [
                {
                    "value": q.value,
                    "unit": q.unit,
                    "ci": [q.ci_low, q.ci_high],
                    "n": q.n,
                    "source": q.source,
                    "locator": q.locator,
                    "population": q.population,
                    "note": q.note,
                    "verified": q.verified,
                }
                for q in self.evidence
            ],
        }
        if self.basis in ("extrapolated", "effect_shown"):
            out["extrapolated_from"] = self.extrapolated_from
        if self.basis == "extrapolated":
            out["rests_on_unknown"] = [{"what": "condition effect modifier", "note": self.note}]
        return out

    @property
    def extrapolated_from(self) -> dict[str, Any]:
        """What an extrapolated magnitude rests on: the reference condition's calibration, and
        (for ``extrapolated``) that no trial of this drug in this condition was found."""
        what = (
            "no trial of this drug in this condition was found: efficacy magnitude and direction"
            if self.basis == "extrapolated"
            else "benefit shown in this condition; its magnitude"
        )
        return {
            "condition": REFERENCE_CONDITION,
            "what": what + " taken from the diabetic-neuropathy calibration",
            "calibrated_to": "knowledge/pdmodels/calibrated.toml (calibrated_to of each "
            "efficacy parameter; docs/model.md §6)",
        }


@cache
def _load(path: str) -> EfficacyFile:
    data = load_validated(Path(path), EfficacyFile)
    if data.reference != REFERENCE_CONDITION:
        raise KnowledgeBaseError(
            f"{path}: reference {data.reference!r}: must be {REFERENCE_CONDITION!r} "
            "(the condition the PD model is calibrated in)"
        )
    if data.reference not in data.aetiologies:
        raise KnowledgeBaseError(f"{path}: reference {data.reference!r} is not an aetiology")
    named = [(m.condition, "modifier") for m in data.modifiers]
    named += [(u.condition, "unavailable") for u in data.unavailable]
    for cond, where in named:
        if cond not in data.aetiologies:
            raise KnowledgeBaseError(
                f"{path}: {where} condition {cond!r} is not one of {', '.join(data.aetiologies)}"
            )
    seen: set[tuple[str, str]] = set()
    for m in data.modifiers:
        if (m.drug, m.condition) in seen:
            raise KnowledgeBaseError(f"{path}: {m.drug!r} in {m.condition!r} is given twice")
        seen.add((m.drug, m.condition))
    return data


def load_efficacy_by_condition(path: Path | None = None) -> EfficacyFile:
    """Load and validate the file (schema, units, sources); registers its sources."""
    data = _load(str(path or EFFICACY_PATH))
    keys = {q.source for m in data.modifiers for q in m.evidence}
    keys |= {m.relative_effect.source for m in data.modifiers if m.relative_effect}
    keys |= {q.source for u in data.unavailable for q in u.evidence}
    citations.register_many(sorted(keys))
    return data


def condition_efficacy(drug: str, condition: str, path: Path | None = None) -> ConditionEfficacy:
    """The modifier of ``drug`` in ``condition`` (unknown: basis ``extrapolated``)."""
    data = load_efficacy_by_condition(path)
    if condition == data.reference:
        return ConditionEfficacy(drug, condition, "reference", 1.0, 1.0, "")
    for m in data.modifiers:
        if m.drug == drug and m.condition == condition:
            mod, upper = _modifier(m)
            return ConditionEfficacy(drug, condition, m.finding, mod, upper, m.summary, m.evidence)
    return ConditionEfficacy(drug, condition, "extrapolated", None, None, "")


def trial_unavailable(condition: str, path: Path | None = None) -> UnavailableCondition | None:
    """Why ``condition`` cannot be a virtual-trial condition (None: nothing against it here)."""
    for u in load_efficacy_by_condition(path).unavailable:
        if condition == u.condition or condition in u.also_called:
            return u
    return None


def _modifier(m: ModifierEntry) -> tuple[float | None, float | None]:
    if m.finding == "no_effect":
        return 0.0, 0.0
    if m.relative_effect is None:  # effect_shown: magnitude unknown
        return None, None
    upper = m.relative_effect.ci_high
    assert upper is not None  # validated
    return min(m.relative_effect.point, upper), upper


def condition_nnt(nnt: float | None, ce: ConditionEfficacy) -> float | None:
    """The simulated (diabetic-neuropathy) NNT carried to ``ce.condition``.

    ``no_effect``: None (benefit not supported); ``effect_sized``: ``nnt / modifier`` with the
    modifier capped at its cited upper bound, so the drug-attributable risk difference is never
    raised above ``upper`` times the simulated one; otherwise the NNT unchanged (extrapolated).
    """
    if nnt is None or ce.basis == "no_effect":
        return None
    if ce.basis == "effect_sized" and ce.modifier is not None and ce.upper is not None:
        m = min(ce.modifier, ce.upper)
        # rounded up to 0.1 (like the simulated NNT), never towards more efficacy
        return None if m <= 0 else math.ceil(nnt / m * 10 - 1e-9) / 10
    return nnt


def by_condition(drug: str) -> dict[str, dict[str, Any]]:
    """``{condition: {efficacy_basis, modifier, note}}`` of ``drug`` for every aetiology but the
    reference (what ``explain`` reports: its relief is the diabetic-neuropathy calibration)."""
    data = load_efficacy_by_condition()
    out: dict[str, dict[str, Any]] = {}
    for cond in data.aetiologies:
        if cond == data.reference:
            continue
        ce = condition_efficacy(drug, cond)
        out[cond] = {"efficacy_basis": ce.basis, "modifier": ce.modifier, "note": ce.note}
        if ce.basis in ("extrapolated", "effect_shown"):
            out[cond]["extrapolated_from"] = ce.extrapolated_from
        if ce.basis == "extrapolated":
            out[cond]["rests_on_unknown"] = [{"what": "condition effect modifier"}]
        else:
            out[cond]["sources"] = ce.sources
    return out


def condition_sources(per_condition: dict[str, dict[str, Any]]) -> set[str]:
    """The source keys of a :func:`by_condition` result (for an output's ``sources``)."""
    return {k for v in per_condition.values() for k in v.get("sources", [])}
