"""One exception tree for neurodose.

Every error names the field, the value and what is allowed. Misspelt names
get the closest matches. Safety *findings* are values, never exceptions.

Tree::

    NeurodoseError
    ├── KnowledgeBaseError
    │   ├── UnknownDrugError        (also KeyError)
    │   ├── UnknownSourceError      (also KeyError)
    │   └── UnknownNameError        (also KeyError: conditions, alleles, analytes, targets ...)
    ├── UnitError                   (also ValueError)
    ├── InputError                  (also ValueError: out-of-range or malformed user input)
    │   ├── RegimenError
    │   ├── PatientError
    │   ├── DesignError
    │   └── FhirError
    ├── GenotypeError               (also ValueError)
    ├── SolverError
    ├── EstimationError
    └── SafetyRuleError

Examples
--------
>>> from neurodose.errors import UnknownDrugError
>>> err = UnknownDrugError("amitriptylin", ["amitriptyline", "nortriptyline"])
>>> "amitriptyline" in str(err)
True
>>> isinstance(err, KeyError)
True

Errors speak the library's own terms: a field is named by its path in the request
(``regimen.dose``, ``levels[2].time_h``), and a message that points to another input
names it with :func:`ref` (in backquotes). Each door maps these paths to its own
words: the CLI to flags (:func:`rename_refs` with its flag table), the API to JSON
pointers (:func:`json_pointer`). No error raised below the CLI names a flag
(``tests/unit/test_errors_in_library_terms.py``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

__all__ = [
    "DesignError",
    "EstimationError",
    "FhirError",
    "GenotypeError",
    "InputError",
    "KnowledgeBaseError",
    "NeurodoseError",
    "NoPKModelError",
    "PatientError",
    "RegimenError",
    "SafetyRuleError",
    "SolverError",
    "UnitError",
    "UnknownDrugError",
    "UnknownNameError",
    "UnknownSourceError",
    "close_matches",
    "json_pointer",
    "ref",
    "rename_refs",
]

_REF = re.compile(r"`([A-Za-z_][A-Za-z0-9_.\[\]]*)`")


def ref(path: str) -> str:
    """How a message names another input field: its path in backquotes.

    >>> f"create it first or set {ref('mkdir')}"
    'create it first or set `mkdir`'
    """
    return f"`{path}`"


def rename_refs(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each :func:`ref` whose path is in ``names`` replaced by its name
    there (a door's own word for the field: a CLI flag); other refs stay.

    >>> flags = {"days": "--days", "doses": "--doses"}
    >>> rename_refs("give `days`/`doses`, or `accept_levels`", flags)
    'give --days/--doses, or `accept_levels`'
    """
    return _REF.sub(lambda m: names.get(m.group(1), m.group(0)), text)


def json_pointer(path: str) -> str:
    """The JSON pointer (RFC 6901) of a field path.

    >>> json_pointer("levels[2].time_h"), json_pointer("regimen.dose")
    ('/levels/2/time_h', '/regimen/dose')
    """
    parts = [p for p in str(path).replace("[", ".").replace("]", "").split(".") if p]
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def close_matches(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``choices`` that look like ``name``.

    >>> close_matches("nortriptylin", ["nortriptyline", "amitriptyline", "duloxetine"])
    ['nortriptyline', 'amitriptyline']
    """
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(str(name).lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


class NeurodoseError(Exception):
    """Base class of every error neurodose raises on purpose."""

    def __str__(self) -> str:  # KeyError quotes its message; keep ours readable
        return str(self.args[0]) if self.args else self.__class__.__name__


class KnowledgeBaseError(NeurodoseError):
    """A knowledge-base file or record is invalid (missing source, bad unit, ...)."""


class UnknownNameError(KnowledgeBaseError, KeyError):
    """A name (condition, allele, analyte, target, ...) is not known.

    Parameters
    ----------
    field : str
        What kind of name was looked up (e.g. ``"condition"``).
    name : str
        The value given.
    choices : iterable of str
        The allowed values; the closest are suggested.
    """

    def __init__(self, field: str, name: object, choices: Iterable[str]) -> None:
        choices = sorted(set(choices))
        self.field = field
        self.name = name
        self.suggestions = close_matches(str(name), choices)
        msg = f"unknown {field} {name!r}"
        if self.suggestions:
            msg += f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?"
        else:
            shown = ", ".join(choices[:12]) + (" ..." if len(choices) > 12 else "")
            msg += f"; allowed: {shown}"
        super().__init__(msg)


class UnknownDrugError(UnknownNameError):
    """A drug name is not in the knowledge base (also a ``KeyError``)."""

    def __init__(self, name: object, choices: Iterable[str]) -> None:
        super().__init__("drug", name, choices)


class NoPKModelError(UnknownDrugError):
    """A drug is in the knowledge base but has no PK model.

    A subclass of :class:`UnknownDrugError` (callers that ask "can this drug be
    simulated?" catch both), but the message says exactly what is missing: the drug is
    known, it has no PK model (and why, when known), and which drugs have one.
    """

    def __init__(self, drug: str, with_models: Iterable[str], reason: str = "") -> None:
        self.drug = drug
        self.with_models = sorted(with_models)
        self.field = "drug"
        self.name = drug
        self.suggestions: list[str] = []
        why = f" ({reason})" if reason else ""
        msg = (
            f"drug {drug!r} is in the knowledge base but has no PK model{why}, so it cannot "
            f"be simulated; drugs with a PK model: {', '.join(self.with_models)}"
        )
        KnowledgeBaseError.__init__(self, msg)

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownSourceError(UnknownNameError):
    """A source key is not in the references file (also a ``KeyError``)."""

    def __init__(self, name: object, choices: Iterable[str]) -> None:
        super().__init__("source", name, choices)


class UnitError(NeurodoseError, ValueError):
    """A unit or quantity string cannot be parsed or converted."""


class InputError(NeurodoseError, ValueError):
    """User input is malformed or out of range.

    Parameters
    ----------
    field : str
        The field that is wrong (e.g. ``"age"``).
    value : object
        The value given.
    allowed : str
        What is allowed, in words (e.g. ``"0 < age <= 120 years"``).
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        given = "no value given" if value is None else f"{value!r} is not allowed"
        super().__init__(f"{field}: {given}; expected {allowed}")


class RegimenError(InputError):
    """A dosing regimen is invalid (zero dose, zero interval, overlapping steps ...)."""


class PatientError(InputError):
    """A patient profile is invalid."""


class DesignError(InputError):
    """A virtual-trial design is invalid."""


class GenotypeError(NeurodoseError, ValueError):
    """A genotype, allele, activity score or phenotype cannot be interpreted."""


class SolverError(NeurodoseError):
    """A numerical solver failed or produced non-finite values."""


class EstimationError(NeurodoseError):
    """Parameter estimation (MAP) failed or the data cannot support it."""


class SafetyRuleError(NeurodoseError):
    """A safety rule file is invalid. (Findings themselves are values, never raised.)"""


class FhirError(InputError):
    """A FHIR resource or bundle is malformed or fails validation (names the element path)."""
