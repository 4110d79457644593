"""Every door carries the covariates declared for it, with the declared bounds and units.

The declaration (:data:`neurodose.case.covariates.COVARIATES`) names, per covariate of
``Patient``, its unit, bounds, JSON path and the doors that carry it. Each door is
enumerated here from its own code (the CLI's options, the API's request models, the
clinic form's template and builder, the FHIR map's observation kinds) and checked both
ways: a declared covariate missing from a door fails, and so does a door carrying a
covariate not declared for it; bounds are checked by behaviour (the value at a bound is
accepted, a value past it refused naming the field) and units against the door's help,
hint or UCUM code.

A known disagreement is listed in ``KNOWN_GAPS`` with its reason; the check is strict:
a listed gap that is no longer a gap fails too (remove it).
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from neurodose.case import Patient, load_patient
from neurodose.case.covariates import COVARIATES, DOORS, Covariate, covariate
from neurodose.errors import PatientError

NAMES = {c.name for c in COVARIATES}
NUMBERS = [c for c in COVARIATES if c.kind == "number"]
SRC = Path(__file__).resolve().parents[3] / "src" / "neurodose"

#: the code files a covariate added to a door touches (CONTRIBUTING.md "Adding a covariate");
#: every covariate: ``case/covariates.py`` (its declaration) and ``case/patient.py``
DOOR_FILES = {
    "json": ("case/covariates.py", "case/patient.py"),
    "cli": (
        "cli/options.py",
        "cli/simulate.py",
        "cli/explain.py",
        "cli/tdm.py",
        "workflows/patients.py",
    ),
    "api": ("service/schemas.py",),
    "form": ("service/pages/patients.py", "service/templates/new_patient.html"),
    "fhir": ("fhir/inbound.py",),
}

#: (door, covariate) -> why the door disagrees with the declaration today (strict)
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _declared(door: str) -> set[str]:
    return {c.name for c in COVARIATES if door in c.doors}


def _past(c: Covariate) -> list[float]:
    """Values just outside the declared bounds."""
    assert c.low is not None and c.high is not None
    return [c.high + 1.0, c.low - 1.0 if c.low_inclusive else c.low]


def _inside(c: Covariate) -> list[float]:
    """Values at the declared bounds (where inclusive) and between them."""
    assert c.low is not None and c.high is not None
    return [c.high, (c.low + c.high) / 2] + ([c.low] if c.low_inclusive else [])


def _set_path(profile: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, leaf = path.split(".")
    node = profile
    for p in parents:
        node = node.setdefault(p, {"condition": "diabetic_neuropathy"} if p == "pain" else {})
    node[leaf] = value
    return profile


# -- the declaration itself -------------------------------------------------------------


def test_declaration_covers_every_covariate_field_of_patient() -> None:
    import dataclasses

    fields = {f.name for f in dataclasses.fields(Patient)}
    assert fields >= NAMES
    not_covariates = {  # lists, records and derived state, not one measured value
        "conditions", "medications", "genotypes", "pain_condition", "priorities",
        "measurements", "condition_basis", "unchecked", "drives", "replacing",
    }  # fmt: skip
    assert fields - NAMES == not_covariates
    assert all(c.doors <= set(DOORS) for c in COVARIATES)


def test_declared_sources_are_references() -> None:
    from neurodose.knowledge import get_reference

    for c in COVARIATES:
        if c.source is not None:
            assert get_reference(c.source)["title"], c.name


# -- the library: Patient and the patient JSON (assess, the API's profiles) -------------


@pytest.mark.parametrize("c", NUMBERS, ids=lambda c: c.name)
def test_patient_validates_the_declared_bounds(c: Covariate) -> None:
    for v in _inside(c):
        assert getattr(Patient(**{c.name: v}), c.name) == v
    for v in _past(c):
        with pytest.raises(PatientError, match=re.escape(f"expected {c.allowed}")):
            Patient(**{c.name: v})


@pytest.mark.parametrize("c", [c for c in COVARIATES if c.json], ids=lambda c: c.name)
def test_patient_json_carries_the_declared_path_and_bounds(c: Covariate) -> None:
    assert c.json is not None
    base = {} if c.name == "age" else {"age": 60}
    if c.kind == "number":
        for v in _inside(c):
            assert getattr(load_patient(_set_path(dict(base), c.json, v)), c.name) == v
        for v in _past(c):
            with pytest.raises(PatientError, match=re.escape(c.json)):
                load_patient(_set_path(dict(base), c.json, v))
    elif c.kind == "choice":
        for v in c.choices:
            assert getattr(load_patient(_set_path(dict(base), c.json, v)), c.name) == v
        with pytest.raises(PatientError, match=re.escape(c.json)):
            load_patient(_set_path(dict(base), c.json, "X"))
    else:
        assert getattr(load_patient(_set_path(dict(base), c.json, True)), c.name) is True


def test_json_schema_choices_match_the_declaration() -> None:
    from neurodose.case.patient import LabsIn, PatientIn

    def literal(annotation: Any) -> set[str]:
        args = set()
        for a in typing.get_args(annotation) or (annotation,):
            args |= set(typing.get_args(a)) if typing.get_origin(a) is typing.Literal else set()
            args |= (
                literal(a)
                if typing.get_args(a) and typing.get_origin(a) is not typing.Literal
                else set()
            )
        return {x for x in args if isinstance(x, str)}

    assert literal(PatientIn.model_fields["sex"].annotation) == set(covariate("sex").choices)
    child_pugh = LabsIn.model_fields["child_pugh"].annotation
    assert literal(child_pugh) == set(covariate("hepatic").choices)


# -- the CLI: every command's covariate options ----------------------------------------


def _cli_commands() -> dict[str, Any]:
    from neurodose.cli.main import COMMANDS, load_command

    return {name: load_command(name) for name in COMMANDS}


def test_cli_options_carry_the_declared_covariates_with_their_units() -> None:
    cli = _declared("cli")
    carrying = {}
    gaps = set()
    for name, cmd in _cli_commands().items():
        params = {p.name: p for p in cmd.params}
        have = set(params) & NAMES
        if not have:
            continue  # a command that takes no covariate (assess reads the patient JSON)
        carrying[name] = have
        assert have <= cli, (
            f"{name}: {sorted(have - cli)} not declared for the CLI: edit {DOOR_FILES['json'][0]}"
        )
        gaps |= {(f"cli {name}", n) for n in cli - have}
        for n in have:
            c = covariate(n)
            if c.kind == "number":
                assert c.unit in (params[n].help or ""), (name, n, params[n].help)
    assert {"simulate", "explain"} <= set(carrying)
    assert gaps == {k for k in KNOWN_GAPS if k[0].startswith("cli")}, (gaps, DOOR_FILES["cli"])


@pytest.mark.parametrize(
    "c", [covariate(n) for n in sorted(_declared("cli"))], ids=lambda c: c.name
)
def test_cli_options_keep_the_declared_bounds(c: Covariate) -> None:
    from neurodose.cli.options import patient_from_options

    if c.kind != "number":
        value = c.choices[0] if c.kind == "choice" else True
        assert getattr(patient_from_options(**{c.name: value}), c.name) == value
        return
    for v in _inside(c):
        assert getattr(patient_from_options(**{c.name: v}), c.name) == v
    for v in _past(c):
        with pytest.raises(PatientError, match=re.escape(c.allowed)):
            patient_from_options(**{c.name: v})


# -- the API: the request models with covariate fields ---------------------------------


def _api_models() -> dict[str, Any]:
    from pydantic import BaseModel

    from neurodose.service import schemas

    return {
        n: m
        for n, m in vars(schemas).items()
        if isinstance(m, type) and issubclass(m, BaseModel) and set(m.model_fields) & NAMES
    }


def _bounds(field: Any) -> dict[str, float]:
    out = {}
    for m in field.metadata:
        for k in ("gt", "ge", "le", "lt"):
            if getattr(m, k, None) is not None:
                out[k] = getattr(m, k)
    return out


def test_api_models_carry_the_declared_covariates_and_bounds() -> None:
    api = _declared("api")
    models = _api_models()
    assert {"SimulateIn", "ExplainIn"} <= set(models)
    gaps = set()
    for name, model in models.items():
        have = set(model.model_fields) & NAMES
        assert have == api, (
            f"{name}: has {sorted(have)}, declared {sorted(api)}: {DOOR_FILES['api']}"
        )
        for n in have:
            c, f = covariate(n), model.model_fields[n]
            if c.kind == "number" and _bounds(f) != c.pydantic_bounds():
                gaps.add(("api", n))
            if c.kind == "choice":
                choice = typing.get_args(f.annotation)[0]  # X of X | None
                if typing.get_origin(choice) is typing.Annotated:
                    choice = typing.get_args(choice)[0]
                assert set(typing.get_args(choice)) == set(c.choices)
    assert gaps == {k for k in KNOWN_GAPS if k[0] == "api"}, (gaps, DOOR_FILES["api"])


# -- the clinic: the new-patient form --------------------------------------------------


def _form_fields() -> dict[str, str]:
    """``{form field: hint}`` of the new-patient template (selects: empty hint)."""
    html = (SRC / "service" / "templates" / "new_patient.html").read_text(encoding="utf-8")
    out = {m[0]: m[1] for m in re.findall(r'field\("(\w+)", "[^"]*", "([^"]*)"', html)}
    out.update({m: "" for m in re.findall(r'<select id="(\w+)"', html)})
    return out


def _form_name(c: Covariate) -> str:
    return c.name if c.json in (None, "pain.score") else c.json.split(".")[-1]


def test_clinic_form_carries_the_declared_covariates_with_their_units() -> None:
    from neurodose.service.pages.patients import _profile_from_form

    fields = _form_fields()
    have = {c.name for c in COVARIATES if _form_name(c) in fields}
    assert have == _declared("form"), (have, DOOR_FILES["form"])
    for n in have:
        c = covariate(n)
        if c.kind == "number":
            assert fields[_form_name(c)].startswith(c.unit), (n, fields[_form_name(c)])
        value = c.choices[0] if c.kind == "choice" else "7"
        form = {"age": "60", "pain_condition": "diabetic_neuropathy", _form_name(c): value}
        profile = _profile_from_form(form)
        node: Any = profile
        for part in (c.json or c.name).split("."):
            node = node[part]
        assert node == (value if c.kind == "choice" else float(value)), (n, profile)
        if c.kind == "number":  # the form's profile is validated as the JSON is
            for v in _past(c):
                form[_form_name(c)] = f"{v:g}"
                with pytest.raises(PatientError):
                    load_patient(_profile_from_form(form))


# -- FHIR: the observation kinds and Patient elements mapped to covariates ---------------


def _fhir_kinds() -> dict[str, str]:
    """``{observation kind: covariate}`` of the FHIR map's labs and pain score."""
    from neurodose.fhir import inbound

    by_leaf = {c.json.split(".")[-1]: c.name for c in COVARIATES if c.json}
    out = {kind: by_leaf[key] for kind, key in inbound._LAB_KEYS.items()}
    out["pain_score"] = "pain_score"
    return out


def _bundle_case(observations: list[dict[str, Any]]) -> dict[str, Any]:
    from neurodose.fhir.inbound import case_from_resources

    patient = {"resourceType": "Patient", "id": "p", "birthDate": "1960-01-01", "gender": "male"}
    pain = {  # a pain condition: the pain score belongs to it
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "230572002"}]},
    }
    case = case_from_resources([patient, pain, *observations], today=dt.date(2026, 1, 5))
    return case.profile


def test_fhir_map_carries_the_declared_covariates_with_their_ucum_units() -> None:
    from neurodose.knowledge.terminology import code_tables

    kinds = _fhir_kinds()
    declared = {c.fhir: c.name for c in COVARIATES if "fhir" in c.doors}
    assert set(kinds.values()) | {"age", "sex"} == _declared("fhir"), DOOR_FILES["fhir"]
    for kind, name in kinds.items():
        c = covariate(name)
        assert declared[kind] == name
        codes = [o for o in code_tables().observations if o.kind == kind]
        assert codes, kind
        for o in codes:
            assert o.unit == c.ucum, (kind, o.code, o.unit, c.ucum)
        assert c.high is not None and c.json is not None
        v = c.high if c.name != "pain_score" else 7.0
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": "http://loinc.org", "code": codes[0].code}]},
            "valueQuantity": {"value": v, "unit": c.ucum, "system": "http://unitsofmeasure.org"},
        }
        node: Any = _bundle_case([obs])
        for part in c.json.split("."):
            node = node[part]
        assert node == v, (kind, node)
    profile = _bundle_case([])
    assert profile["age"] == 66 and profile["sex"] == "male"
    assert covariate("age").fhir == "Patient.birthDate"
    assert covariate("sex").fhir == "Patient.gender"


def test_door_files_exist() -> None:
    for files in DOOR_FILES.values():
        for f in files:
            assert (SRC / f).is_file(), f


def test_known_gaps_name_declared_doors() -> None:
    for door, name in KNOWN_GAPS:
        assert door.split()[0] in DOORS and door.split()[0] in covariate(name).doors
