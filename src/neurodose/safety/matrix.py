"""The safety coverage matrix: every risk factor against every option drug.

A row is a risk factor (a comorbidity from the condition vocabulary, an age band,
a lab value, a genotype, pregnancy, or a co-medication class); a column is an
option drug. A cell is what the screening engine finds for a reference adult
(``baseline`` in ``knowledge/safety_matrix.toml``) with that one risk factor added,
less what it finds for the reference adult alone: the worst tier and the rule ids
at that tier. A cell with no finding must be covered by a cited
``not_applicable`` entry (reason, source, locator); otherwise it is *empty*, and
a test fails. Comorbidity rows are generated from the condition vocabulary, so a
new condition id appears in the matrix (and must be covered) automatically.
Co-medication rows list every knowledge-base drug carrying the row's class tag;
the cell is the worst over the members.

``python -m neurodose.safety.matrix docs/safety_matrix.md`` rewrites the
Markdown; ``neurodose rules matrix [--json]`` prints it.

Examples
--------
>>> m = build_matrix(rows=["cond:heart_block"], columns=["amitriptyline", "pregabalin"])
>>> m.cell("cond:heart_block", "amitriptyline").tier
'contraindicated'
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from neurodose.case.patient import load_patient
from neurodose.errors import SafetyRuleError
from neurodose.knowledge import drug_names, record
from neurodose.knowledge.conditions import condition, condition_ids
from neurodose.knowledge.registry import DATA_DIR, load_validated
from neurodose.knowledge.schema import Sourced
from neurodose.safety.context import drug_tags
from neurodose.safety.engine import Finding, screen, severity_rank
from neurodose.safety.rules import TIERS

__all__ = [
    "Cell",
    "Matrix",
    "MatrixSpec",
    "build_matrix",
    "matrix_spec",
    "render_matrix_markdown",
]

SPEC_PATH = DATA_DIR / "safety_matrix.toml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RowSpec(_Frozen):
    """A risk-factor row: a patient patch, or a co-medication class tag."""

    id: str
    label: str
    group: str
    patch: dict[str, Any] = Field(default_factory=dict)
    comed_class: str | None = Field(None, description="every KB drug with this tag is a member")
    stopped_days_ago: float | None = Field(
        None, description="co-medication rows: members stopped this many days ago"
    )


class NotApplicable(Sourced):
    """Why a row does not apply to some drugs (cited)."""

    rows: list[str] = Field(description="row ids or fnmatch patterns (e.g. 'pgx:*')")
    drug_any: list[str] = Field(description="drug tags (class or name) it covers")
    reason: str


class ClassException(Sourced):
    """A cited reason why a drug's cell is below its class's tier in one row."""

    row: str
    drug: str
    reason: str


class MatrixSpec(_Frozen):
    """``knowledge/safety_matrix.toml``."""

    schema_version: int = 1
    columns: list[str]
    baseline: dict[str, Any]
    rows: list[RowSpec]
    not_applicable: list[NotApplicable] = Field(default_factory=list)
    class_exceptions: list[ClassException] = Field(default_factory=list)


@cache
def matrix_spec() -> MatrixSpec:
    """The validated matrix specification (columns, rows, cited not-applicable entries)."""
    return load_validated(SPEC_PATH, MatrixSpec)


@dataclass(frozen=True)
class Row:
    """A resolved row: id, label, group and the patients that express it."""

    id: str
    label: str
    group: str
    patients: tuple[tuple[str, dict[str, Any]], ...]  # (member or "", patient JSON)


@dataclass(frozen=True)
class Cell:
    """One matrix cell: tier + rule ids, or not applicable (reason + source), or empty."""

    tier: str | None
    rules: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    not_applicable: str | None = None
    sources: tuple[str, ...] = ()
    findings: tuple[tuple[str, str], ...] = ()  # every (rule id, tier) the row added

    @property
    def status(self) -> str:
        """The tier, ``not applicable`` or ``EMPTY``."""
        if self.tier is not None:
            return self.tier
        return "not applicable" if self.not_applicable else "EMPTY"

    def text(self) -> str:
        """Short Markdown cell text."""
        if self.tier is not None:
            return f"{self.tier}: {', '.join(self.rules)}"
        if self.not_applicable:
            return f"n/a: {self.not_applicable} [{', '.join(self.sources)}]"
        return "EMPTY"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "status": self.status,
            "tier": self.tier,
            "rules": list(self.rules),
            "members": list(self.members),
            "not_applicable": self.not_applicable,
            "sources": list(self.sources),
            "findings": [{"rule": c, "tier": t} for c, t in self.findings],
        }


@dataclass(frozen=True)
class Matrix:
    """Rows x columns of cells."""

    rows: tuple[Row, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, row: str, column: str) -> Cell:
        """The cell of ``row`` (id) and ``column`` (drug name)."""
        return self.cells[(row, column)]

    def counts(self) -> dict[str, int]:
        """Cells per tier, plus ``not applicable`` and ``EMPTY``."""
        c = Counter(cell.status for cell in self.cells.values())
        order = [*TIERS, "not applicable", "EMPTY"]
        return {k: c.get(k, 0) for k in order}

    def empty(self) -> list[tuple[str, str]]:
        """(row, column) of every empty cell."""
        return [k for k, v in self.cells.items() if v.status == "EMPTY"]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``neurodose rules matrix --json``)."""
        return {
            "columns": list(self.columns),
            "counts": self.counts(),
            "rows": [
                {
                    "id": r.id,
                    "label": r.label,
                    "group": r.group,
                    "cells": {c: self.cell(r.id, c).to_dict() for c in self.columns},
                }
                for r in self.rows
            ],
        }


def _members(tag: str) -> list[str]:
    return [n for n in drug_names() if tag in drug_tags(record(n))]


@cache
def _conditions_read() -> frozenset[str]:
    """Condition ids some rule reads (directly, or as a drug record's statement id).

    A condition no rule reads acts only through the conditions it implies (haemodialysis
    through ``ckd_stage_5``), which have rows of their own.
    """
    from neurodose.safety.rules import load_rules

    out: set[str] = set()
    for r in load_rules():
        out.update(r.when.conditions_any)
        out.update(r.when.conditions_none)
        if r.when.comed_or_conditions is not None:
            out.update(r.when.comed_or_conditions.conditions)
    for n in drug_names():
        rec = record(n)
        out.update(st.id for st in [*rec.contraindications, *rec.cautions])
    return frozenset(out)


def _property_not_applicable(row: str, drug: str) -> tuple[str, str] | None:
    """A cited n/a for a condition row: every rule that reads the condition needs a
    property (tag) the option lacks. Returns (reason, source) or ``None``."""
    from neurodose.safety.rules import load_rules

    if not row.startswith("cond:"):
        return None
    cid = row.removeprefix("cond:")
    rules = [
        r
        for r in load_rules()
        if cid in r.when.conditions_any
        or (r.when.comed_or_conditions is not None and cid in r.when.comed_or_conditions.conditions)
    ]
    if not rules or any(not r.when.drug_any for r in rules):
        return None
    tags = drug_tags(record(drug))
    if any(t in tags for r in rules for t in r.when.drug_any):
        return None
    needs = sorted({t for r in rules for t in r.when.drug_any})
    ids = ", ".join(r.id for r in rules)
    return (
        f"the rules that read this condition ({ids}) need one of {', '.join(needs)}; "
        "the option has none of these properties",
        rules[0].source,
    )


def _rows(spec: MatrixSpec) -> list[Row]:
    base = spec.baseline
    out: list[Row] = []
    read = _conditions_read()
    for cid in condition_ids():
        c = condition(cid)
        if c.kind == "pain" or cid not in read:
            continue
        out.append(
            Row(
                f"cond:{cid}",
                c.label,
                "condition",
                (("", {**base, "conditions": [cid]}),),
            )
        )
    for r in spec.rows:
        if r.comed_class is None:
            out.append(Row(r.id, r.label, r.group, (("", {**base, **r.patch}),)))
            continue
        members = _members(r.comed_class)
        if not members:
            raise SafetyRuleError(f"matrix row {r.id!r}: no drug has the tag {r.comed_class!r}")
        pats = []
        for m in members:
            med: dict[str, Any] = {"name": m}
            if r.stopped_days_ago is not None:
                med["stopped_days_ago"] = r.stopped_days_ago
            pats.append((m, {**base, **r.patch, "medications": [med]}))
        out.append(Row(r.id, r.label, r.group, tuple(pats)))
    return out


def _not_applicable(spec: MatrixSpec, row: str, drug: str) -> NotApplicable | None:
    """The first entry whose row patterns (fnmatch) and drug tags cover the cell."""
    tags = drug_tags(record(drug))
    for na in spec.not_applicable:
        if any(fnmatch(row, pat) for pat in na.rows) and any(t in tags for t in na.drug_any):
            return na
    return None


def _new_findings(base: Iterable[Finding], now: Iterable[Finding]) -> list[Finding]:
    seen = {(f.code, f.severity) for f in base}
    return [f for f in now if (f.code, f.severity) not in seen]


def build_matrix(rows: Sequence[str] | None = None, columns: Sequence[str] | None = None) -> Matrix:
    """Screen every row against every column (optionally a subset of each)."""
    spec = matrix_spec()
    cols = tuple(columns or spec.columns)
    all_rows = _rows(spec)
    if rows is not None:
        known = {r.id for r in all_rows}
        for r in rows:
            if r not in known:
                from neurodose.errors import UnknownNameError

                raise UnknownNameError("matrix row", r, known)
        all_rows = [r for r in all_rows if r.id in set(rows)]
    base_patient = load_patient(spec.baseline)
    baseline = {d: screen(base_patient, d) for d in cols}
    cells: dict[tuple[str, str], Cell] = {}
    for row in all_rows:
        for d in cols:
            cells[(row.id, d)] = _cell(spec, row, d, baseline[d])
    return Matrix(tuple(all_rows), cols, cells)


def _cell(spec: MatrixSpec, row: Row, d: str, baseline: Iterable[Finding]) -> Cell:
    """The cell of ``row`` x drug ``d``: the worst new finding over the row's patients,
    else why the pair does not apply (or an empty cell)."""
    worst: int = len(TIERS)
    rules: list[str] = []
    members: list[str] = []
    pairs: dict[str, str] = {}
    for member, pj in row.patients:
        if member == d:
            continue
        for f in _new_findings(baseline, screen(load_patient(pj), d)):
            c = f.code  # merged codes keep no tier of their own
            if c not in pairs or severity_rank(f.severity) < severity_rank(pairs[c]):
                pairs[c] = f.severity
            rank = severity_rank(f.severity)
            codes = list(f.codes)
            if rank < worst:
                worst, rules, members = rank, codes, [member] if member else []
            elif rank == worst:
                rules += [c for c in codes if c not in rules]
                if member and member not in members:
                    members.append(member)
    if worst < len(TIERS):
        return Cell(
            TIERS[worst], tuple(rules), tuple(members), findings=tuple(sorted(pairs.items()))
        )
    return _empty_cell(spec, row.id, d)


def _empty_cell(spec: MatrixSpec, row: str, d: str) -> Cell:
    """A cell with no finding: not applicable (with its reason and source), or empty."""
    na = _not_applicable(spec, row, d)
    if na is not None:
        return Cell(None, not_applicable=na.reason, sources=(na.source,))
    pna = _property_not_applicable(row, d)
    if pna is not None:
        return Cell(None, not_applicable=pna[0], sources=(pna[1],))
    return Cell(None)


def render_matrix_markdown(m: Matrix | None = None) -> str:
    """Markdown: counts by tier, then one table per row group."""
    m = m or build_matrix()
    out = [
        "# Safety coverage matrix",
        "",
        "Generated by `python -m neurodose.safety.matrix docs/safety_matrix.md` (also "
        "`neurodose rules matrix [--json]`); do not edit by hand (a test checks it is current).",
        "",
        "Each cell: what the screen finds for a reference adult "
        f"({', '.join(f'{k} {v}' for k, v in matrix_spec().baseline.items())}) with that one "
        "risk factor added, beyond what it finds for the reference adult alone: the worst tier "
        "and the rule ids at that tier; or `n/a` with the cited reason the row does not apply. "
        "An EMPTY cell is a gap and fails the test suite. Co-medication rows take the worst "
        "over every knowledge-base drug in the class.",
        "",
        "## Counts by tier",
        "",
        "| tier | cells |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in m.counts().items()),
        "",
    ]
    groups: dict[str, list[Row]] = {}
    for r in m.rows:
        groups.setdefault(r.group, []).append(r)
    for g, rows in groups.items():
        out += [f"## {g}", ""]
        out.append("| risk factor | " + " | ".join(m.columns) + " |")
        out.append("|---|" + "---|" * len(m.columns))
        for r in rows:
            cells = [m.cell(r.id, c).text().replace("|", "\\|") for c in m.columns]
            out.append(f"| {r.label} (`{r.id}`) | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> None:
    """Write the Markdown matrix to ``argv[0]`` (default docs/safety_matrix.md)."""
    path = Path(argv[0] if argv else "docs/safety_matrix.md")
    path.write_text(render_matrix_markdown(), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
