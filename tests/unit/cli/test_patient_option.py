"""``--patient FILE`` (the patient JSON of ``assess``) for simulate, explain, tdm, response:
the same result as the equivalent covariate, genotype and ``--with`` options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import app

RUNNER = CliRunner()

PATIENT = {
    "age": 70,
    "sex": "female",
    "weight_kg": 60,
    "labs": {"crcl_ml_min": 45},
    "genotypes": {"CYP2D6": "*1/*4"},
    "medications": [{"name": "paroxetine", "dose_mg": 20, "every_h": 24}],
}
FLAGS = [
    "--age",
    "70",
    "--sex",
    "female",
    "--weight",
    "60",
    "--crcl",
    "45",
    "--cyp2d6",
    "*1/*4",
    "--with",
    "paroxetine:20 mg:24 h",
]

COMMANDS = {
    "simulate": ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "7"],
    "explain": ["explain", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "7"],
    "tdm": [
        "tdm",
        "--drug",
        "amitriptyline",
        "--levels",
        "examples/tdm/levels.csv",
        "--dose",
        "50 mg",
        "--days",
        "28",
        "--target",
        "50-150",
    ],
    "response": [
        "response",
        "--drug",
        "amitriptyline",
        "--diary",
        "examples/tdm/diary.csv",
        "--dose",
        "25 mg",
        "--days",
        "42",
    ],
}


def _json(args: list[str]) -> dict:
    res = RUNNER.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    out.pop("defaults_applied", None)  # says which options were left out: differs by design
    return out


@pytest.fixture(scope="module")
def patient_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("patient") / "patient.json"
    p.write_text(json.dumps(PATIENT), encoding="utf-8")
    return p


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_patient_file_equals_the_options(command: str, patient_file: Path) -> None:
    by_file = _json([*COMMANDS[command], "--patient", str(patient_file)])
    by_flags = _json([*COMMANDS[command], *FLAGS])
    assert by_file == by_flags


def test_patient_file_and_covariate_options_are_exclusive(patient_file: Path) -> None:
    res = RUNNER.invoke(app, [*COMMANDS["simulate"], "--patient", str(patient_file), "--age", "50"])
    assert res.exit_code == 2
    assert "--patient" in res.output and "--age" in res.output
