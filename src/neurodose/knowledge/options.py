"""The neuropathic-pain options ranked by default and their per-drug and per-class fit
reasons (``knowledge/options.toml``, schema :class:`~neurodose.knowledge.schema.
OptionsData`), loaded once through :func:`neurodose.knowledge.registry.load_validated`.
Drug names must be knowledge-base names and a ``tag`` a class of some option, else a
:class:`~neurodose.errors.KnowledgeBaseError` names the entry.

>>> options_data().options.drugs[:2]
['amitriptyline', 'nortriptyline']
>>> [f.id for f in fit_reasons("sleep")][:2]
['sleep_amitriptyline', 'sleep_nortriptyline']
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from neurodose.errors import KnowledgeBaseError, UnknownDrugError
from neurodose.knowledge.registry import DATA_DIR, load_validated, record, resolve_name
from neurodose.knowledge.schema import FitReason, LineOfTherapy, OptionsData

__all__ = ["PATH", "fit_reasons", "line_of_therapy", "options_data"]

PATH: Path = DATA_DIR / "options.toml"


@cache
def options_data() -> OptionsData:
    """The validated options file (cached)."""
    data = load_validated(PATH, OptionsData)
    names = [("options.drugs", d) for d in data.options.drugs]
    names += [(f"fit {f.id}.drug", f.drug) for f in data.fit if f.drug is not None]
    for where, name in names:
        try:
            canonical = resolve_name(name)
        except UnknownDrugError as exc:
            raise KnowledgeBaseError(f"{PATH}: {where}: {exc}") from None
        if canonical != name:
            raise KnowledgeBaseError(f"{PATH}: {where}: use the record name {canonical!r}")
    classes = {c for d in data.options.drugs for c in record(d).classes}
    for f in data.fit:
        if f.tag is not None and f.tag not in classes:
            raise KnowledgeBaseError(
                f"{PATH}: fit {f.id}.tag: {f.tag!r} is not a class of any option "
                f"({sorted(classes)})"
            )
    ids = [f.id for f in data.fit]
    if len(set(ids)) != len(ids):
        raise KnowledgeBaseError(f"{PATH}: fit ids must be unique ({ids})")
    return data


def line_of_therapy(name: str) -> LineOfTherapy | None:
    """The cited line of therapy of a drug (by name, then by class); ``None``: not a pain option.

    >>> line_of_therapy("sertraline").line
    'no_recommendation'
    >>> line_of_therapy("omeprazole") is None
    True
    """
    rec = record(name)
    entries = options_data().line
    for e in entries:
        if e.drug is not None and e.drug == rec.name:
            return e
    for e in entries:
        if e.tag is not None and e.tag in rec.classes:
            return e
    return None


def fit_reasons(when: str) -> list[FitReason]:
    """The fit reasons of trigger ``when`` (``mood``, ``sleep``, ``always``), in file order."""
    return [f for f in options_data().fit if f.when == when]
