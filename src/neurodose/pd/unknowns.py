"""Unknown is not zero: which PD outputs rest on an affinity the knowledge base lacks.

A target at which an analyte of the drug has neither a value nor a lower bound ("no
effect up to X") in the knowledge base has an *unknown* affinity. The occupancy model
(:mod:`neurodose.pd.occupancy`) can only use what is known, so every output that
depends on such a target says so (docs/model.md §2.3):

- a relief pathway (:data:`PATHWAY_TARGET`) or adverse-effect driver whose target is
  reached by some analytes but unknown for others is computed from the known analytes
  and is a *lower bound*, listed as resting on the unknown;
- a pathway whose target is unknown for every analyte has no value (``None``), not 0;
- drug-attributable relief is **not computable** when no relief pathway is modelled
  and at least one is unknown (tramadol: no target data at all); the same holds for an
  adverse effect none of whose drivers is modelled while one is unknown.

A target with only lower bounds (gabapentin at the sodium channel) is *known
negligible*, not unknown. No prior range is used: the knowledge base holds no
documented prior for these gaps, and none is invented.

>>> from neurodose.pd.occupancy import drug_targets
>>> rep = assess(drug_targets("tramadol"), modelled=())
>>> rep.relief_not_computable is not None
True
>>> rep.pathway_status["sodium_channel"]
'unknown'
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from neurodose.pd.occupancy import TARGETS, DrugTargets

__all__ = ["PATHWAY_TARGET", "Unknown", "UnknownReport", "assess"]

#: relief pathway (:data:`neurodose.pd.pain.PATHWAYS`) -> the target that drives it
PATHWAY_TARGET: dict[str, str] = {
    "descending_serotonergic": "SERT",
    "descending_noradrenergic": "NET",
    "sodium_channel": "sodium_channel",
    "NMDA": "NMDA",
    "alpha2delta": "alpha2delta",
}


@dataclass(frozen=True)
class Unknown:
    """One target whose affinity is unknown for some analytes of the drug."""

    target: str
    analytes: tuple[str, ...]
    status: str  # "unknown" (nothing known at the target) or "partial" (some analytes known)
    affects: tuple[str, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "analytes": list(self.analytes),
            "status": self.status,
            "affects": list(self.affects),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class UnknownReport:
    """What a drug's PD outputs rest on that is unknown.

    ``target_status`` / ``pathway_status``: ``modelled`` (every analyte known),
    ``partial`` (lower bound: some analytes unknown), ``unknown`` (no analyte known),
    or ``negligible`` (only lower bounds: known to be weaker than the bound).
    """

    drug: str
    items: tuple[Unknown, ...]
    target_status: Mapping[str, str]
    pathway_status: Mapping[str, str]
    relief_not_computable: str | None
    adverse_not_computable: Mapping[str, str] = field(default_factory=dict)
    adverse_partial: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def relief_rests_on(self) -> list[str]:
        """Relief pathways whose target is unknown or partly unknown (relief is then a
        lower bound on the modelled mechanisms)."""
        return [p for p, s in self.pathway_status.items() if s in ("unknown", "partial")]

    def relief_caveat(self) -> str | None:
        """The sentence every relief number of this drug carries, or None."""
        if self.relief_not_computable:
            return self.relief_not_computable
        rests = self.relief_rests_on
        if not rests:
            return None
        return (
            f"{self.drug}: relief counts only the pathways with known affinities; "
            + ", ".join(f"{p} ({self.pathway_status[p]})" for p in rests)
            + " rest on unknown affinities, so the relief shown is a lower bound"
        )

    def to_json(self) -> list[dict[str, Any]]:
        return [u.to_json() for u in self.items]

    def text(self) -> list[str]:
        """One line per unknown, for the text outputs."""
        return [
            f"{u.target} affinity unknown for {', '.join(u.analytes)} ({u.status}): "
            f"affects {', '.join(u.affects)}"
            for u in self.items
        ]


def _status(tg: DrugTargets, target: str, modelled: Collection[str]) -> tuple[str, tuple[str, ...]]:
    """(status, analytes whose affinity at ``target`` is unknown)."""
    gaps = tuple(tg.missing.get(target, ())) + tuple(tg.unknown_analytes)
    if target in modelled:
        return ("partial" if gaps else "modelled"), gaps
    if target == "alpha2delta":
        # calibrated potency only (gabapentinoids); anything else has no value at all
        return "unknown", tuple(a.name for a in tg.analytes) + tuple(tg.unknown_analytes)
    if gaps:
        return "unknown", gaps
    return "negligible", ()


def _unknown_items(
    target_status: Mapping[str, str],
    gaps_of: Mapping[str, tuple[str, ...]],
    ae: Mapping[str, tuple[str, ...]],
) -> list[Unknown]:
    """One item per unknown or partial target, with what it affects and why."""
    items: list[Unknown] = []
    for t in TARGETS:
        st = target_status[t]
        if st not in ("unknown", "partial"):
            continue
        affects = [f"relief pathway {p}" for p, pt in PATHWAY_TARGET.items() if pt == t]
        affects += [f"adverse effect {k}" for k, ds in ae.items() if t in ds]
        if t == "hERG":
            affects.append("cardiac (hERG) alert")
        why = (
            "no affinity in the knowledge base (not invented, not taken as zero)"
            if st == "unknown"
            else "occupancy counts only the analytes with a known affinity (a lower bound)"
        )
        items.append(Unknown(t, gaps_of[t], st, tuple(affects), why))
    return items


def _relief_not_computable(drug: str, pathway_status: Mapping[str, str]) -> str | None:
    """Why relief is not computable (no pathway known, some unknown), else None."""
    if any(s in ("modelled", "partial") for s in pathway_status.values()) or not any(
        s == "unknown" for s in pathway_status.values()
    ):
        return None
    return (
        f"{drug}: no relief pathway has a known affinity ("
        + ", ".join(p for p, s in pathway_status.items() if s == "unknown")
        + " unknown); drug-attributable relief is not computable"
    )


def _adverse_status(
    drug: str,
    target_status: Mapping[str, str],
    ae: Mapping[str, tuple[str, ...]],
    unknown_gains: Mapping[str, Collection[str]],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(adverse effects not computable with the reason, partial ones with their unknowns).
    A reached driver whose gain for the effect is unknown (``unknown_gains``) counts as
    unknown, not as the class default."""
    ae_nc: dict[str, str] = {}
    ae_partial: dict[str, tuple[str, ...]] = {}
    for k, ds in ae.items():
        sts = {d: target_status.get(d, "negligible") for d in ds}
        no_gain = {d for d in unknown_gains.get(k, ()) if sts.get(d) in ("modelled", "partial")}
        sts.update({d: "unknown" for d in no_gain})
        unknown = tuple(d for d, s in sts.items() if s in ("unknown", "partial"))
        if not any(s in ("modelled", "partial") for s in sts.values()) and unknown:
            why = (
                "no driver of {k} has a known affinity or gain ("
                if no_gain
                else ("no driver of {k} has a known affinity (")
            )
            ae_nc[k] = (
                f"{drug}: "
                + why.format(k=k)
                + ", ".join(f"{d} gain" if d in no_gain else d for d in unknown)
                + " unknown); the drug-induced rate is not computable"
            )
        elif unknown:
            ae_partial[k] = unknown
    return ae_nc, ae_partial


def assess(
    tg: DrugTargets,
    modelled: Collection[str],
    adverse_drivers: Mapping[str, Collection[str]] | None = None,
    unknown_gains: Mapping[str, Collection[str]] | None = None,
) -> UnknownReport:
    """Classify every target and pathway of ``tg`` given the ``modelled`` targets.

    Parameters
    ----------
    tg : DrugTargets
    modelled : targets with an occupancy (KB affinity or calibrated potency)
    adverse_drivers : adverse effect -> its driving targets (``PDParameters.adverse_effects``)
    unknown_gains : adverse effect -> drivers with no cited or fitted gain (``unknown_gain``)
    """
    target_status: dict[str, str] = {}
    gaps_of: dict[str, tuple[str, ...]] = {}
    for t in TARGETS:
        target_status[t], gaps_of[t] = _status(tg, t, modelled)
    pathway_status = {p: target_status[t] for p, t in PATHWAY_TARGET.items()}
    ae = {k: tuple(v) for k, v in (adverse_drivers or {}).items()}
    items = _unknown_items(target_status, gaps_of, ae)
    relief_nc = _relief_not_computable(tg.drug, pathway_status)
    ae_nc, ae_partial = _adverse_status(tg.drug, target_status, ae, unknown_gains or {})
    return UnknownReport(
        drug=tg.drug,
        items=tuple(items),
        target_status=target_status,
        pathway_status=pathway_status,
        relief_not_computable=relief_nc,
        adverse_not_computable=ae_nc,
        adverse_partial=ae_partial,
    )
