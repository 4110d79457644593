"""Checks every workflow that doses a drug makes: the dose against the knowledge-base
maximum, each co-medication's dose, and what a co-medication without a dose means."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from neurodose.case import Comedication, Regimen
from neurodose.plausibility import comedications_plausible
from neurodose.plausibility import dose_warnings as plausible_dose

__all__ = ["comedication_notes", "comedication_warnings", "dose_warnings", "request_warnings"]


def dose_warnings(drug: str, regimen: Regimen, field: str, allow_above_max: bool) -> list[str]:
    """The regimen's largest 24 h dose against the maximum for ``drug``: an
    :class:`~neurodose.errors.InputError` naming ``field`` above it, unless
    ``allow_above_max`` (then the loud ``ABOVE MAXIMUM`` warning)."""
    return plausible_dose(
        drug, regimen.max_daily_dose(), field=field, allow_above_max=allow_above_max
    )


def request_warnings(req: Any) -> list[str]:
    """:func:`dose_warnings` of a request's ``drug`` and ``regimen`` (field
    ``regimen.dose``), then :func:`comedication_warnings` of its ``comedications``."""
    warnings = dose_warnings(req.drug, req.regimen, "regimen.dose", req.allow_above_max)
    return warnings + comedication_warnings(req.comedications, req.allow_above_max, drug=req.drug)


def comedication_warnings(
    comeds: Iterable[Comedication],
    allow_above_max: bool,
    field: str = "comedications",
    drug: str | None = None,
) -> list[str]:
    """Each co-medication once, never ``drug`` itself, and its daily dose against its
    maximum (where the record has one).

    >>> from neurodose.case import parse_comedication
    >>> comedication_warnings([parse_comedication("duloxetine:60")], False)
    []
    """
    comeds = list(comeds)
    comedications_plausible(drug, [c.drug for c in comeds], field)
    out: list[str] = []
    for c in comeds:
        if c.dose_mg is None:
            continue
        daily = c.dose_mg * 24.0 / (c.every_h or 24.0)
        out += plausible_dose(c.drug, daily, field=field, allow_above_max=allow_above_max)
    return out


def comedication_notes(comeds: Iterable[Comedication]) -> list[str]:
    """What a co-medication without a dose means (the modelled interactions are
    class-based: a missing dose changes nothing, and the output says so).

    >>> from neurodose.case import parse_comedication
    >>> comedication_notes([parse_comedication("fluoxetine")])[0][:40]
    'fluoxetine: no dose given; the modelled '
    """
    return [
        f"{c.drug}: no dose given; the modelled interaction is class-based "
        "(inhibitor/inducer strength from the knowledge base) and does not depend "
        "on the dose"
        for c in comeds
        if c.dose_mg is None
    ]
