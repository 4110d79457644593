"""Condition vocabulary: the condition ids a patient profile may use.

Loaded from ``knowledge/conditions.toml`` (schema :class:`ConditionsFile`) through
:func:`neurodose.knowledge.registry.load_validated`; every id names where the evidence
uses it (source key + locator). Unknown ids raise :class:`~neurodose.errors.UnknownNameError`
with the closest matches.

Examples
--------
>>> condition("postherpetic_neuralgia").localised
True
>>> resolve_condition("Diabetic neuropathy")
'diabetic_neuropathy'
>>> try:
...     resolve_condition("postherpetic_neuralgy")
... except UnknownNameError as exc:
...     "did you mean 'postherpetic_neuralgia'" in str(exc)
True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from neurodose.errors import KnowledgeBaseError, UnknownNameError
from neurodose.knowledge.registry import DATA_DIR, load_validated
from neurodose.knowledge.schema import Sourced

__all__ = [
    "PATH",
    "Condition",
    "ConditionsFile",
    "condition",
    "condition_ids",
    "expand_conditions",
    "load_conditions",
    "resolve_condition",
]

PATH: Path = DATA_DIR / "conditions.toml"


class Condition(Sourced):
    """One recognised condition id with where the evidence uses it."""

    id: str
    label: str
    kind: Literal["pain", "comorbidity"]
    peripheral: bool | None = None
    localised: bool | None = None
    implies: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="other names accepted for this id")


class ConditionsFile(BaseModel):
    """Schema of ``knowledge/conditions.toml``: a list of :class:`Condition` entries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    conditions: list[Condition] = Field(default_factory=list)


def load_conditions(path: Path = PATH) -> dict[str, Condition]:
    """Load a conditions file through ``load_validated`` (schema, source keys), then check
    that ids are unique and that every ``implies`` names a known id; errors name the file."""
    data = load_validated(path, ConditionsFile)
    out: dict[str, Condition] = {}
    for c in data.conditions:
        if c.id in out:
            raise KnowledgeBaseError(f"{path}: duplicate condition id {c.id!r}")
        out[c.id] = c
    names: dict[str, str] = {}
    for c in out.values():
        for j in c.implies:
            if j not in out:
                raise KnowledgeBaseError(f"{path}: {c.id!r} implies unknown id {j!r}")
        for a in c.aliases:
            k = _key(a)
            other = k if k in out else names.get(k)
            if other is not None and other != c.id:
                raise KnowledgeBaseError(
                    f"{path}: alias {a!r} of {c.id!r} is already {other!r} (one name, one meaning)"
                )
            names[k] = c.id
    return out


def _key(name: str) -> str:
    """Lower case, apostrophes dropped, spaces/hyphens/slashes as underscores."""
    k = name.strip().lower().replace("'", "").replace("\u2019", "")
    for ch in "-/,.()":
        k = k.replace(ch, " ")
    return "_".join(k.split())


@cache
def _conditions() -> dict[str, Condition]:
    return load_conditions(PATH)


def condition_ids(kind: str | None = None) -> list[str]:
    """All condition ids (``kind='pain'`` or ``'comorbidity'`` to filter), sorted."""
    return sorted(k for k, c in _conditions().items() if kind is None or c.kind == kind)


def resolve_condition(name: object) -> str:
    """Canonical id for ``name`` (case, spaces, hyphens and apostrophes ignored; an id or an
    alias); unknown raises with close matches, never one of opposite or different meaning
    (``hypotension`` is never offered ``hypertension``: see :func:`neurodose.errors.same_sense`)."""
    if not isinstance(name, str):
        raise UnknownNameError("condition", name, _conditions())
    key = _key(name)
    if key in _conditions():
        return key
    aliases = _condition_aliases()
    if key in aliases:
        return aliases[key]
    raise UnknownNameError("condition", name, [*_conditions(), *aliases], guard=True)


@cache
def _condition_aliases() -> dict[str, str]:
    return {_key(a): c.id for c in _conditions().values() for a in c.aliases}


def condition(name: str) -> Condition:
    """The :class:`Condition` for ``name``."""
    return _conditions()[resolve_condition(name)]


def expand_conditions(ids: list[str] | tuple[str, ...] | set[str]) -> frozenset[str]:
    """The given ids plus every id they imply (e.g. severe -> any hepatic impairment)."""
    out = set(ids)
    todo = list(ids)
    while todo:
        for j in _conditions()[todo.pop()].implies:
            if j not in out:
                out.add(j)
                todo.append(j)
    return frozenset(out)
