"""The generated knowledge-base documents are up to date with the data."""

from __future__ import annotations

from pathlib import Path

from neurodose.knowledge import docgen, get_drug

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_knowledge_base_doc_is_up_to_date() -> None:
    committed = (DOCS / "knowledge_base.md").read_text(encoding="utf-8")
    assert committed == docgen.render_knowledge_base(), (
        "docs/knowledge_base.md is stale: run python -m neurodose.knowledge.docgen"
    )


def test_evidence_gaps_doc_is_up_to_date() -> None:
    committed = (DOCS / "evidence_gaps.md").read_text(encoding="utf-8")
    assert committed == docgen.render_evidence_gaps(), (
        "docs/evidence_gaps.md is stale: run python -m neurodose.knowledge.docgen"
    )


def test_docs_list_every_number_and_gap() -> None:
    kb = docgen.render_knowledge_base()
    gaps = docgen.render_evidence_gaps()
    dlx = get_drug("duloxetine")
    assert "| pk.ddi_fluvoxamine_auc_ratio | 5.6 | ratio | knadler2011 |" in kb
    for m in dlx.missing:
        assert m in gaps
    # every unverified value of venlafaxine appears in the gaps document
    for path, item in get_drug("venlafaxine").iter_sourced():
        if not item.verified:
            assert f"| {path} |" in gaps, path


def test_check_mode(tmp_path: Path) -> None:
    assert docgen.main(["--out", str(tmp_path)]) == 0
    assert docgen.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "evidence_gaps.md").write_text("stale\n", encoding="utf-8")
    assert docgen.main(["--out", str(tmp_path), "--check"]) == 1


def test_formulary_doc_is_current() -> None:
    committed = (DOCS / "formulary.md").read_text(encoding="utf-8")
    assert committed == docgen.render_formulary(), (
        "docs/formulary.md is stale: run python -m neurodose.knowledge.docgen"
    )
