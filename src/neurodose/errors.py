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
    "same_sense",
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


def close_matches(
    name: str, choices: Iterable[str], n: int = 3, *, guard: bool = False
) -> list[str]:
    """Return up to ``n`` entries of ``choices`` that look like ``name``.

    With ``guard=True`` (clinical names: conditions) a look-alike of different meaning is
    never offered: see :func:`same_sense`.

    >>> close_matches("nortriptylin", ["nortriptyline", "amitriptyline", "duloxetine"])
    ['nortriptyline', 'amitriptyline']
    >>> close_matches("hypotension", ["hypertension", "orthostatic_hypotension"], guard=True)
    ['orthostatic_hypotension']
    """
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    query = str(name).lower()
    pool = [c for c in lowered if same_sense(query, c)] if guard else list(lowered)
    hits = difflib.get_close_matches(query, pool, n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


#: word-initial prefixes of opposite or different meaning: two names that differ only there
#: name different things (hypo/hyper-kalaemia, brady/tachy-cardia, in/ex-halation)
_OPPOSITE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("hypo", "hyper"),
    ("brady", "tachy"),
    ("intra", "extra"),
    ("inter", "intra"),
    ("in", "ex"),
    ("pre", "post"),
    ("ante", "post"),
    ("micro", "macro"),
    ("mono", "poly"),
    ("uni", "bi"),
    ("hemi", "para"),
    ("endo", "exo"),
    ("hypo", "normo"),
    ("hyper", "normo"),
    ("oligo", "poly"),
)
#: negating prefixes: ``non_``/``un``/``anti`` + a word names the opposite of the word
_NEGATIONS: tuple[str, ...] = ("non", "un", "in", "dis", "anti", "no", "not", "without")
#: whole words of opposite or different meaning
_OPPOSITE_WORDS: tuple[tuple[str, str], ...] = (
    ("left", "right"),
    ("upper", "lower"),
    ("acute", "chronic"),
    ("primary", "secondary"),
    ("central", "peripheral"),
    ("open", "closed"),
    ("open", "closure"),
    ("systolic", "diastolic"),
    ("reduced", "preserved"),
    ("high", "low"),
    ("proximal", "distal"),
    ("mild", "severe"),
    ("mild", "moderate"),
    ("moderate", "severe"),
    ("benign", "malignant"),
    ("male", "female"),
    ("controlled", "uncontrolled"),
    ("early", "late"),
    ("current", "history"),
    ("recent", "old"),
    ("overactive", "underactive"),
    ("wet", "dry"),
    ("type_1", "type_2"),
    ("first", "second"),
    ("first", "third"),
    ("second", "third"),
)
_ORDINALS = {
    "first": "1", "1st": "1", "i": "1", "one": "1",
    "second": "2", "2nd": "2", "ii": "2", "two": "2",
    "third": "3", "3rd": "3", "iii": "3", "three": "3",
    "fourth": "4", "4th": "4", "iv": "4", "four": "4",
    "fifth": "5", "5th": "5", "v": "5", "five": "5",
}  # fmt: skip


def _words(name: str) -> list[str]:
    out = []
    for w in "".join(ch if ch.isalnum() else " " for ch in name.lower()).split():
        out.append(_ORDINALS.get(w, w))
    return out


def _numbers(words: list[str]) -> list[str]:
    import re

    return sorted(m for w in words for m in re.findall(r"\d+", w))


def _similar(a: str, b: str, cutoff: float = 0.75) -> bool:
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= cutoff


def same_sense(name: str, candidate: str) -> bool:
    """False when ``candidate`` looks like ``name`` but names a different thing, so it must
    never be offered as a spelling correction.

    Different: a word-initial prefix swapped for its opposite (hypo/hyper, brady/tachy,
    in/ex, pre/post ...), a negation added or dropped (``non``/``un``), an opposite word
    (left/right, open/closed, acute/chronic, systolic/diastolic ...), a different number
    (type 1/type 2, stage 3/stage 4, second/third degree), or two short abbreviations
    (one word of at most 6 letters: AF/AFL, HFrEF/HFpEF differ by a letter).

    >>> same_sense("hypotension", "hypertension"), same_sense("tachycardia", "bradycardia")
    (False, False)
    >>> same_sense("hypokalemia", "hypokalaemia"), same_sense("ckd 3", "ckd_stage_4")
    (True, False)
    """
    a, b = name.lower(), candidate.lower()
    if a == b:
        return True
    wa, wb = _words(a), _words(b)
    if _numbers(wa) != _numbers(wb):
        return False
    if len(wa) == 1 and len(wb) == 1 and max(len(wa[0]), len(wb[0])) <= 6:
        return False
    sa, sb = set(wa), set(wb)
    if _opposite_words(sa, sb):
        return False
    if any(u != v and _different_words(u, v) for u in wa for v in wb):
        return False
    return all((neg in sa) == (neg in sb) for neg in ("non", "no", "not", "without", "un"))


def _opposite_words(sa: set[str], sb: set[str]) -> bool:
    """One name has a word (or words) whose opposite the other has (left/right ...)."""
    for x, y in _OPPOSITE_WORDS:
        xs, ys = set(x.split("_")), set(y.split("_"))
        if (xs <= sa and ys <= sb and not ys <= sa) or (ys <= sa and xs <= sb and not xs <= sa):
            return True
    return False


def _different_words(u: str, v: str) -> bool:
    """Two different words of two names that mean different things: an opposite prefix,
    the same meaning-bearing prefix on different stems, or a negation."""
    return _opposite_prefix(u, v) or _same_prefix_other_stem(u, v) or _negation(u, v)


def _opposite_prefix(u: str, v: str) -> bool:
    """``u`` and ``v`` differ by a prefix swapped for its opposite (hypo/hyper ...)."""
    for p, r in _OPPOSITE_PREFIXES:
        for x, y in ((p, r), (r, p)):
            if (
                u.startswith(x)
                and v.startswith(y)
                and len(u) >= len(x) + (0 if len(x) >= 4 else 3)
                and not (y.startswith(x) and u.startswith(y))
                and not (x.startswith(y) and v.startswith(x))
                and (min(len(x), len(y)) >= 4 or _similar(u[len(x) :], v[len(y) :]))
            ):
                return True
    return False


def _same_prefix_other_stem(u: str, v: str) -> bool:
    """The same meaning-bearing prefix on different stems: a different thing
    (hypo-tension and hypo-s, hyper-thyroidism and hyper-parathyroidism)."""
    return any(
        u.startswith(x)
        and v.startswith(x)
        and len(x) >= 4
        and not _similar(u[len(x) :], v[len(x) :], 0.8)
        for x in {x for pair in _OPPOSITE_PREFIXES for x in pair}
    )


def _negation(u: str, v: str) -> bool:
    """One word is the other with a negation (``non``, ``un`` ...) added."""
    return any(
        (u.startswith(neg) and _similar(u[len(neg) :], v, 0.85))
        or (v.startswith(neg) and _similar(v[len(neg) :], u, 0.85))
        for neg in _NEGATIONS
    )


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
    guard : bool
        Clinical names: never suggest a look-alike of different meaning (:func:`same_sense`).
    """

    def __init__(
        self, field: str, name: object, choices: Iterable[str], *, guard: bool = False
    ) -> None:
        choices = sorted(set(choices))
        self.field = field
        self.name = name
        self.suggestions = close_matches(str(name), choices, guard=guard)
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
