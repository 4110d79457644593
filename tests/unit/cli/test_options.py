"""Shared CLI options: regimen, patient and co-medication helpers; the option aliases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from neurodose.case import Patient, Regimen, parse_comedication
from neurodose.cli import options as opt
from neurodose.errors import (
    GenotypeError,
    InputError,
    PatientError,
    RegimenError,
    UnitError,
    UnknownNameError,
)

EXAMPLE_REGIMEN = (
    Path(__file__).resolve().parents[3] / "examples" / "tdm" / "regimen_titration.toml"
)


# --- regimen ---------------------------------------------------------------------------
def test_regimen_from_dose_options_is_regimen_oral():
    got = opt.regimen_from_options("25 mg", "12 h", doses=None, days=3)
    assert got == Regimen.oral("25 mg", every="12 h", days=3)
    assert opt.regimen_from_options("10 mg", doses=2) == Regimen.oral("10 mg", doses=2)


def test_regimen_from_toml_and_json_files(tmp_path):
    data = {"dose": "10 mg", "every": "24 h", "days": 7}
    toml = tmp_path / "r.toml"
    toml.write_text('dose = "10 mg"\nevery = "24 h"\ndays = 7\n', encoding="utf-8")
    js = tmp_path / "r.JSON"
    js.write_text(json.dumps(data), encoding="utf-8")
    expected = Regimen.from_mapping(data)
    assert opt.regimen_from_options(None, regimen_file=toml) == expected
    assert opt.regimen_from_options(None, regimen_file=js) == expected
    titration = opt.regimen_from_options(None, regimen_file=EXAMPLE_REGIMEN)
    assert len(titration.events) > 1


def test_regimen_without_dose_names_dose_and_the_alternative():
    with pytest.raises(RegimenError, match="--dose") as exc:
        opt.regimen_from_options(None, "24 h")
    assert "(or --regimen FILE)" in str(exc.value)
    with pytest.raises(RegimenError, match="--dose") as exc:
        opt.regimen_from_options(None, "24 h", days=3, file_option=False)
    assert "--regimen" not in str(exc.value)


def test_regimen_file_errors_name_the_option(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("dose = ", encoding="utf-8")
    with pytest.raises(RegimenError, match=r"--regimen.*either --regimen or --dose"):
        opt.regimen_from_options("25 mg", regimen_file=bad)
    with pytest.raises(InputError, match=r"--regimen.*an existing file"):
        opt.regimen_from_options(None, regimen_file=tmp_path / "missing.toml")
    with pytest.raises(InputError, match=r"--regimen.*valid TOML/JSON"):
        opt.regimen_from_options(None, regimen_file=bad)
    badjson = tmp_path / "bad.json"
    badjson.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=r"--regimen.*valid TOML/JSON"):
        opt.regimen_from_options(None, regimen_file=badjson)


def test_regimen_bad_dose_or_interval_names_the_field():
    with pytest.raises(UnitError, match="dose: 'lots'"):
        opt.regimen_from_options("lots", "24 h", days=1)
    with pytest.raises(UnitError, match="every: 'daily'"):
        opt.regimen_from_options("25 mg", "daily", days=1)


# --- patient ---------------------------------------------------------------------------
def test_patient_from_options_matches_patient_with_genotypes():
    got = opt.patient_from_options(70, "female", 60.0, True, 45.0, "*1/*4", "poor")
    want = Patient(age=70, sex="female", weight=60.0, smoker=True, crcl=45.0).with_genotype(
        CYP2D6="*1/*4", CYP2C19="poor"
    )
    assert got == want
    assert opt.patient_from_options() == Patient()
    only = opt.patient_from_options(cyp2c19="poor")
    assert list(only.genotypes) == ["CYP2C19"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"age": -1}, "age"),
        ({"sex": "x"}, "sex"),
        ({"weight": 0}, "weight"),
        ({"crcl": 900}, "crcl"),
    ],
)
def test_patient_bad_covariate_names_the_field(kwargs, field):
    with pytest.raises(PatientError, match=rf"^{field}: ") as exc:
        opt.patient_from_options(**kwargs)
    assert exc.value.field == field


def test_patient_bad_genotype_names_the_gene_and_close_matches():
    with pytest.raises(GenotypeError, match=r"CYP2D6 allele '\*99'.*did you mean"):
        opt.patient_from_options(cyp2d6="*99/*1")
    with pytest.raises(UnknownNameError, match="CYP2C19"):
        opt.patient_from_options(cyp2c19="sluggish")


# --- co-medications ---------------------------------------------------------------------
def test_comedications_from_options():
    assert opt.comedications_from_options(None) == []
    assert opt.comedications_from_options([]) == []
    got = opt.comedications_from_options(["paroxetine:20 mg", "fluoxetine:20 mg:24 h"])
    assert got == [
        parse_comedication("paroxetine:20 mg"),
        parse_comedication("fluoxetine:20 mg:24 h"),
    ]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (":20 mg", "with"),
        ("a:b:c:d", "with"),
        ("paroxetine:lots", "with dose"),
        ("x:1 mg:y", "with every"),
    ],
)
def test_comedication_bad_input_names_the_field(text, field):
    with pytest.raises((InputError, UnitError), match=rf"^{field}: "):
        opt.comedications_from_options([text])


# --- the option aliases -----------------------------------------------------------------
def _probe_app() -> typer.Typer:
    probe = typer.Typer()

    @probe.command()
    def run(
        drug: opt.Drug,
        dose: opt.Dose = None,
        every: opt.Every = "24 h",
        doses: opt.DosesGiven = None,
        days: opt.DaysSoFar = None,
        regimen: opt.RegimenAsSimulate = None,
        age: opt.Age = None,
        sex: opt.Sex = None,
        weight: opt.Weight = None,
        smoker: opt.Smoker = False,
        crcl: opt.Crcl = None,
        cyp2d6: opt.Cyp2d6 = None,
        cyp2c19: opt.Cyp2c19 = None,
        with_: opt.With = None,
        as_json: opt.AsJson = False,
    ) -> None:
        reg = opt.regimen_from_options(dose, every, doses, days, regimen)
        p = opt.patient_from_options(age, sex, weight, smoker, crcl, cyp2d6, cyp2c19)
        comeds = opt.comedications_from_options(with_)
        typer.echo(
            json.dumps([drug, repr(reg), p.smoker, p.age, [c.drug for c in comeds], as_json])
        )

    @probe.command()
    def other() -> None:  # a second command keeps `run` a named subcommand
        pass

    return probe


def test_aliases_declare_working_flags():
    r = CliRunner().invoke(
        _probe_app(),
        [
            *("run", "--drug", "amitriptyline", "--dose", "10 mg", "--doses", "2", "--smoker"),
            *("--age", "61", "--with", "paroxetine:20 mg", "--with", "fluoxetine:10 mg", "--json"),
        ],
    )
    assert r.exit_code == 0, r.output
    drug, reg, smoker, age, comeds, as_json = json.loads(r.stdout)
    assert (drug, smoker, age, comeds, as_json) == (
        "amitriptyline",
        True,
        61.0,
        ["paroxetine", "fluoxetine"],
        True,
    )
    assert reg == repr(Regimen.oral("10 mg", doses=2))


def test_missing_dose_through_a_command_names_dose():
    r = CliRunner().invoke(_probe_app(), ["run", "--drug", "amitriptyline"])
    assert r.exit_code != 0
    assert isinstance(r.exception, RegimenError)
    assert "--dose" in str(r.exception)


def test_commands_share_one_declaration_of_the_patient_options():
    from neurodose.cli.main import load_command

    shared = ("age", "sex", "weight", "smoker", "crcl", "cyp2c19", "with_", "dose", "every")

    def decl(command: str, name: str) -> tuple[object, ...]:
        (p,) = [p for p in load_command(command).params if p.name == name]
        return (tuple(p.opts), tuple(p.secondary_opts), p.help, p.default, p.multiple)

    for name in shared:
        seen = {decl(c, name) for c in ("simulate", "explain", "tdm", "response")}
        assert len(seen) == 1, (name, seen)
