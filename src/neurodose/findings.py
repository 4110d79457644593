"""Findings: the one value type for what a screen or a diary signal found.

A finding is a frozen value, never an exception. The safety screen
(:mod:`neurodose.safety`) returns one per rule that holds; the diary signals of
:mod:`neurodose.mipd.signals` one per pattern seen in a pain diary. Each names what
was found (``code``: the rule id, or the diary signal's kind), a severity tier, a
message, the sources it rests on and whether every number behind it is verified.

Examples
--------
>>> f = Finding(code="possible_withdrawal", severity="monitor", message="...", day=12)
>>> f.indicator, f.kind
('warning', 'possible_withdrawal')
>>> worst_severity([f, Finding(code="x", severity="avoid", message="")])
'avoid'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["INDICATOR", "TIERS", "Finding", "severity_rank", "worst_severity"]

#: tiers from most to least severe
TIERS: tuple[str, ...] = ("contraindicated", "avoid", "caution", "monitor", "info")

#: tier -> CDS Hooks card indicator (HL7 CDS Hooks: info | warning | critical)
INDICATOR: dict[str, str] = {
    "contraindicated": "critical",
    "avoid": "critical",
    "caution": "warning",
    "monitor": "warning",
    "info": "info",
}


@dataclass(frozen=True)
class Finding:
    """One finding (a value; never raised).

    Parameters
    ----------
    code : str
        What was found: the rule id of a screening rule, or the kind of a diary
        signal (``side_effects_rising``, ``possible_withdrawal``).
    severity : str
        A tier of :data:`TIERS` (contraindicated, avoid, caution, monitor, info).
    message : str
    drug : str or None
        The option or drug the finding is about.
    involved : tuple of str
        Other drugs, conditions or genes involved.
    title, mechanism, management : str
        Rule title, why it happens, what to do.
    sources : tuple of str
        Source keys the finding rests on.
    verified : bool
        Whether every number behind it is verified.
    key : str or None
        Grouping key (safety: findings with the same key are merged).
    day : int or None
        Diary day the signal refers to (diary findings).
    details : mapping name -> value (or (name, value) pairs)
        Numbers and thresholds behind the finding (stored as a dict).
    """

    code: str
    severity: str
    message: str
    drug: str | None = None
    involved: tuple[str, ...] = ()
    title: str = ""
    mechanism: str = ""
    management: str = ""
    sources: tuple[str, ...] = ()
    verified: bool = True
    key: str | None = None
    details: Mapping[str, Any] | Iterable[tuple[str, Any]] = field(default_factory=dict)
    day: int | None = None

    def __post_init__(self) -> None:
        if self.severity not in INDICATOR:
            raise ValueError(f"severity: {self.severity!r} is not one of {TIERS}")
        object.__setattr__(self, "details", dict(self.details))

    @property
    def detail(self) -> dict[str, Any]:
        """The details as a dict (a copy)."""
        return dict(self.details)

    @property
    def kind(self) -> str:
        """The diary-signal name for :attr:`code` (the ``kind`` of ``response --json``)."""
        return self.code

    @property
    def indicator(self) -> str:
        """The CDS Hooks card indicator of the tier (critical, warning, info)."""
        return INDICATOR[self.severity]

    @property
    def codes(self) -> tuple[str, ...]:
        """This finding's rule id plus the ids of findings merged into it."""
        return (self.code, *self.detail.get("merged_codes", ()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``findings`` entries of ``assess --json``)."""
        return {
            "severity": self.severity,
            "indicator": self.indicator,
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "drug": self.drug,
            "involved": list(self.involved),
            "mechanism": self.mechanism,
            "management": self.management,
            "sources": list(self.sources),
            "verified": self.verified,
            "details": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in self.detail.items()
            },
        }

    def to_json(self) -> dict[str, Any]:
        """Compact JSON form of a diary finding (the ``findings`` of ``response --json``)."""
        return {
            "kind": self.code,
            "day": self.day,
            "message": self.message,
            "details": self.detail,
            "sources": list(self.sources),
        }


def severity_rank(severity: str | None) -> int:
    """0 for contraindicated ... 4 for info; 5 for no finding."""
    return TIERS.index(severity) if severity in TIERS else len(TIERS)


def worst_severity(findings: Iterable[Finding]) -> str | None:
    """The most severe tier among ``findings`` (None if there are none)."""
    best = len(TIERS)
    for f in findings:
        best = min(best, severity_rank(f.severity))
    return TIERS[best] if best < len(TIERS) else None
