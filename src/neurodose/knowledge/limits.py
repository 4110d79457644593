"""Plausible dose ranges from the knowledge base: the check behind ``--allow-above-max``.

A daily dose is compared with the highest *labelled maximum* the knowledge base
cites for the drug (any indication; mass units only, so patches are skipped).
Where the record cites no maximum, the highest *usual* daily dose is the limit
and the message says so. Drugs with neither have no limit here (nothing is
invented); the caller shows that no check was possible.

A dose above the limit is refused (:class:`~neurodose.errors.InputError`
naming the field, the dose, the limit and its source) unless the caller allows
it, in which case a loud warning is returned for the output and the JSON.

Examples
--------
>>> lim = max_daily_dose("duloxetine")
>>> lim.mg, lim.kind, lim.source
(120.0, 'labelled maximum', 'ni_formulary_473')
>>> check_daily_dose("duloxetine", 60, field="dose")
[]
>>> check_daily_dose("duloxetine", 240, field="dose", allow_above_max=True)[0][:62]
'ABOVE MAXIMUM: 240 mg/day of duloxetine is above the labelled '
"""

from __future__ import annotations

from dataclasses import dataclass

from neurodose.errors import InputError
from neurodose.knowledge.registry import get_drug, resolve_name
from neurodose.knowledge.schema import Quantity

__all__ = ["DoseLimit", "check_daily_dose", "max_daily_dose"]


@dataclass(frozen=True)
class DoseLimit:
    """The highest daily dose the knowledge base supports for a drug.

    Attributes
    ----------
    drug : str
    mg : float
        The limit, mg/day.
    kind : str
        ``"labelled maximum"`` or ``"highest usual dose"`` (no maximum cited).
    indication : str
        The indication whose guidance gives the limit.
    quantity : Quantity
        The cited value (source, locator, verified flag).
    """

    drug: str
    mg: float
    kind: str
    indication: str
    quantity: Quantity

    @property
    def source(self) -> str:
        """The source key of the limit."""
        return self.quantity.source

    def describe(self) -> str:
        """``'120 mg/day (labelled maximum, neuropathic_pain; ni_formulary_473)'``."""
        flag = "" if self.quantity.verified else ", UNVERIFIED"
        return f"{self.mg:g} mg/day ({self.kind}, {self.indication}; {self.quantity.source}{flag})"


def _mass_mg(q: Quantity | None) -> float | None:
    if q is None:
        return None
    if q.dimension not in ("mass", "mass_per_day"):
        return None
    return q.canonical()


def max_daily_dose(drug: str) -> DoseLimit | None:
    """The highest labelled maximum (else highest usual) daily dose in the KB, or ``None``.

    Parameters
    ----------
    drug : str
        Any knowledge-base name or alias.
    """
    name = resolve_name(drug)
    rec = get_drug(name)
    best: DoseLimit | None = None
    for kind, attr in (("labelled maximum", "maximum"), ("highest usual dose", "usual_high")):
        for indication, g in rec.doses.items():
            q = getattr(g, attr)
            mg = _mass_mg(q)
            if mg is None or q is None:
                continue
            if best is None or mg > best.mg:
                best = DoseLimit(name, mg, kind, indication, q)
        if best is not None:
            return best
    return None


def check_daily_dose(
    drug: str,
    daily_mg: float,
    *,
    field: str = "dose",
    allow_above_max: bool = False,
) -> list[str]:
    """Check a daily dose against :func:`max_daily_dose`.

    Parameters
    ----------
    drug : str
    daily_mg : float
        The highest total dose in any 24 h, mg.
    field : str
        The input named in the error (e.g. ``"dose"``, ``"current_dose"``).
    allow_above_max : bool
        Accept a dose above the limit, returning a warning instead of raising.

    Returns
    -------
    list of str
        Warnings (one ``ABOVE MAXIMUM: ...`` line when allowed above the limit).

    Raises
    ------
    InputError
        The dose is above the limit and ``allow_above_max`` is false.
    """
    lim = max_daily_dose(drug)
    if lim is None or daily_mg <= lim.mg * (1 + 1e-9):
        return []
    text = f"{daily_mg:g} mg/day of {lim.drug} is above the {lim.kind} {lim.describe()}"
    if not allow_above_max:
        raise InputError(
            field,
            f"{daily_mg:g} mg/day",
            f"at most {lim.describe()}; {text.split(' is ')[0]} looks like an error "
            "(check the unit), or pass --allow-above-max to run it anyway",
        )
    return [f"ABOVE MAXIMUM: {text}; accepted because --allow-above-max was given"]
