"""Condition vocabulary: the condition ids a patient profile may use.

Loaded from ``knowledge/conditions.toml``; every id names where the evidence uses
it (source key + locator). Unknown ids raise :class:`~neurodose.errors.UnknownNameError`
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
from typing import Literal

from pydantic import Field, ValidationError

from neurodose.errors import KnowledgeBaseError, UnknownNameError
from neurodose.knowledge.registry import (
    DATA_DIR,
    check_sources,
    format_validation_error,
    load_toml,
)
from neurodose.knowledge.schema import Sourced

__all__ = ["Condition", "condition", "condition_ids", "expand_conditions", "resolve_condition"]


class Condition(Sourced):
    """One recognised condition id with where the evidence uses it."""

    id: str
    label: str
    kind: Literal["pain", "comorbidity"]
    peripheral: bool | None = None
    localised: bool | None = None
    implies: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="other names accepted for this id")


@cache
def _conditions() -> dict[str, Condition]:
    path = DATA_DIR / "conditions.toml"
    data = load_toml(path)
    out: dict[str, Condition] = {}
    for i, item in enumerate(data.get("conditions", [])):
        try:
            c = Condition.model_validate(item)
        except ValidationError as exc:
            raise KnowledgeBaseError(format_validation_error(f"{path}[{i}]", exc)) from None
        if c.id in out:
            raise KnowledgeBaseError(f"{path}: duplicate condition id {c.id!r}")
        out[c.id] = c
    for c in out.values():
        for j in c.implies:
            if j not in out:
                raise KnowledgeBaseError(f"{path}: {c.id!r} implies unknown id {j!r}")
    check_sources([(k, v) for k, v in out.items()], str(path))
    return out


def condition_ids(kind: str | None = None) -> list[str]:
    """All condition ids (``kind='pain'`` or ``'comorbidity'`` to filter), sorted."""
    return sorted(k for k, c in _conditions().items() if kind is None or c.kind == kind)


def resolve_condition(name: object) -> str:
    """Canonical id for ``name`` (case and spaces ignored); unknown raises with close matches."""
    if not isinstance(name, str):
        raise UnknownNameError("condition", name, _conditions())
    key = "_".join(name.strip().lower().replace("-", " ").replace("'", "").split())
    if key in _conditions():
        return key
    aliases = _condition_aliases()
    if key in aliases:
        return aliases[key]
    raise UnknownNameError("condition", name, [*_conditions(), *aliases])


@cache
def _condition_aliases() -> dict[str, str]:
    return {a: c.id for c in _conditions().values() for a in c.aliases}


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
