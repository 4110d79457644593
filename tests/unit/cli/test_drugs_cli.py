"""``neurodose drugs list|show`` and ``neurodose sources``: output, JSON, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import EXIT_INPUT_ERROR, app
from neurodose.knowledge import DATA_DIR, drug_names, get_drug, references
from neurodose.knowledge.schema import DrugRecord
from neurodose.knowledge.substances import substances

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_list_json_has_every_drug_file() -> None:
    code, out, _ = invoke("drugs", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    on_disk = sorted(p.stem for p in (DATA_DIR / "drugs").glob("*.toml"))
    assert on_disk == drug_names()
    assert [r["name"] for r in rows] == sorted({*on_disk, *substances()})  # + the formulary
    ami = next(r for r in rows if r["name"] == "amitriptyline")
    rec = get_drug("amitriptyline")
    n_numbers = sum(1 for _, item in rec.iter_sourced() if hasattr(item, "unit"))
    assert ami["record"] == "full"
    assert ami["numbers"] == n_numbers > 0
    assert ami["unverified_items"] == sum(1 for _, i in rec.iter_sourced() if not i.verified)
    assert ami["unverified_items"] > 0  # the record holds UNVERIFIED values


@pytest.mark.parametrize("kind", ["full", "partner"])
def test_list_filters_by_record_kind(kind: str) -> None:
    code, out, _ = invoke("drugs", "list", "--json", "--record", kind)
    assert code == 0
    rows = json.loads(out)
    assert {r["record"] for r in rows} <= {kind}
    full = set(drug_names("full"))
    want = drug_names(kind) if kind == "full" else sorted({*drug_names(kind), *substances()} - full)
    assert [r["name"] for r in rows] == want


def test_list_bad_record_kind_is_a_usage_error() -> None:
    code, _, err = invoke("drugs", "list", "--record", "partial")
    assert code == 2
    assert "partial" in err


@pytest.mark.parametrize("columns", ["80", "200"])
def test_list_table_names_every_drug(columns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)  # names are never wrapped, whatever the width
    code, out, _ = invoke("drugs", "list")
    assert code == 0
    for name in drug_names():
        assert name in out
    assert "#unverified" in out


def test_show_table_has_sections_sources_and_unverified_marks() -> None:
    code, out, _ = invoke("drugs", "show", "amitriptyline")
    assert code == 0
    for section in (
        "Identifiers",
        "Targets",
        "Protein binding",
        "Pharmacokinetics",
        "Doses by indication",
        "neuropathic_pain",
        "depression",
        "TDM",
        "Efficacy",
        "Adverse effects",
        "Contraindications",
        "Cautions",
        "Withdrawal",
        "Interaction profile",
        "Sources of Amitriptyline",
    ):
        assert section in out, section
    rec = get_drug("amitriptyline")
    for _, item in rec.iter_sourced():
        assert item.source in out
    assert "UNVERIFIED" in out


def test_show_accepts_case_and_spaces() -> None:
    code, out, _ = invoke("drugs", "show", "  Amitriptyline ")
    assert code == 0
    assert "Amitriptyline" in out


def test_show_json_is_the_full_record() -> None:
    code, out, _ = invoke("drugs", "show", "amitriptyline", "--json")
    assert code == 0
    data = json.loads(out)
    assert DrugRecord.model_validate(data) == get_drug("amitriptyline")
    f = data["pk"]["F"]
    assert {"value", "unit", "source", "locator", "verified"} <= set(f)
    flags = [t["verified"] for t in data["targets"]]
    assert flags == [t.verified for t in get_drug("amitriptyline").targets]
    assert False in flags  # some targets are UNVERIFIED in the evidence


def test_show_misspelt_drug_exits_nonzero_with_suggestion() -> None:
    code, out, err = invoke("drugs", "show", "amitriptylin")
    assert code == EXIT_INPUT_ERROR
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown drug 'amitriptylin'")
    assert "'amitriptyline'" in lines[0]


def test_sources_lists_every_reference() -> None:
    code, out, _ = invoke("sources", "--json")
    assert code == 0
    items = json.loads(out)
    assert sorted(i["id"] for i in items) == sorted(references())
    code, out, _ = invoke("sources")
    assert code == 0
    assert f"{len(references())} sources" in out


def test_sources_one_key_with_citing_records() -> None:
    code, out, _ = invoke("sources", "koh2019", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["id"] == "koh2019"
    n = sum(1 for _, i in get_drug("amitriptyline").iter_sourced() if i.source == "koh2019")
    assert data["cited_by"]["amitriptyline"] == n > 0
    code, out, _ = invoke("sources", "koh2019")
    assert code == 0
    assert "cited by" in out and "amitriptyline" in out


def test_sources_unknown_key_suggests() -> None:
    code, _, err = invoke("sources", "finerup2015")
    assert code == EXIT_INPUT_ERROR
    assert err.startswith("error: unknown source 'finerup2015'; did you mean 'finnerup2015'")


def _script() -> Path:
    path = Path(sys.executable).parent / "neurodose"
    assert path.exists(), f"the neurodose script is not installed next to {sys.executable}"
    return path


def test_installed_script_bad_drug_exits_2_with_one_line() -> None:
    proc = subprocess.run(
        [str(_script()), "drugs", "show", "amitriptylin"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_INPUT_ERROR
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0
    assert "did you mean 'amitriptyline'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_installed_script_list_json() -> None:
    proc = subprocess.run(
        [str(_script()), "drugs", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert [r["name"] for r in json.loads(proc.stdout)] == sorted({*drug_names(), *substances()})


def test_python_dash_m_and_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "neurodose", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert proc.stdout.startswith("neurodose ")


def test_no_arguments_shows_help() -> None:
    code, out, err = invoke()
    assert code == 2  # click's convention for "no command given"
    assert "Usage" in out + err
    assert "drugs" in out + err
