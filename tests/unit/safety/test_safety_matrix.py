"""The coverage matrix: no empty cell, generated docs current, CLI prints it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from typer.testing import CliRunner

from neurodose.cli.main import app
from neurodose.knowledge import get_reference
from neurodose.knowledge.conditions import condition, condition_ids
from neurodose.safety.matrix import Matrix, build_matrix, matrix_spec, render_matrix_markdown
from neurodose.safety.rules import TIERS

ROOT = Path(__file__).resolve().parents[3]


@cache
def _matrix() -> Matrix:
    return build_matrix()


def test_no_cell_is_empty() -> None:
    m = _matrix()
    assert not m.empty(), f"empty cells (add a rule or a cited not_applicable entry): {m.empty()}"


def test_every_comorbidity_a_rule_reads_and_option_is_in_the_matrix() -> None:
    """A condition some rule reads is a row; one no rule reads acts only through what it
    implies (and those conditions have rows when a rule reads them)."""
    from neurodose.knowledge.conditions import expand_conditions
    from neurodose.safety.matrix import _conditions_read

    m = _matrix()
    ids = {r.id for r in m.rows}
    read = _conditions_read()
    assert read, "no rule reads any condition"
    for c in condition_ids():
        if condition(c).kind == "pain":
            continue
        if c in read:
            assert f"cond:{c}" in ids
        for implied in expand_conditions({c}) & read:
            assert condition(implied).kind == "pain" or f"cond:{implied}" in ids
    assert set(m.columns) == set(matrix_spec().columns)
    assert len(m.cells) == len(m.rows) * len(m.columns)


def test_cells_carry_rules_or_a_cited_reason() -> None:
    for cell in _matrix().cells.values():
        if cell.tier is not None:
            assert cell.tier in TIERS and cell.rules
        else:
            assert cell.not_applicable and cell.sources
            for s in cell.sources:
                assert get_reference(s)["title"]


def test_known_cells() -> None:
    m = _matrix()
    assert m.cell("comed:maoi_irreversible", "duloxetine").tier == "contraindicated"
    assert m.cell("hepatic:child_pugh_c", "venlafaxine").tier is not None
    assert m.cell("pgx:cyp2d6_pm", "pregabalin").status == "not applicable"
    older_c = m.cell("hepatic:child_pugh_c", "venlafaxine").tier
    older_b = m.cell("hepatic:child_pugh_b", "venlafaxine").tier
    assert TIERS.index(older_c) <= TIERS.index(older_b)


def test_docs_are_current() -> None:
    committed = (ROOT / "docs" / "safety_matrix.md").read_text(encoding="utf-8")
    assert committed == render_matrix_markdown(_matrix()), (
        "docs/safety_matrix.md is stale: "
        "run python -m neurodose.safety.matrix docs/safety_matrix.md"
    )


def test_cli_matrix_json() -> None:
    res = CliRunner().invoke(app, ["rules", "matrix", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["counts"]["EMPTY"] == 0
    assert {r["id"] for r in data["rows"]} >= {"comed:anticoagulant", "cond:hyponatraemia"}
