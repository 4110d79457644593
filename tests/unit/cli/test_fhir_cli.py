"""``neurodose assess --fhir``, ``neurodose plan ... --fhir`` and a FHIR Bundle as the patient."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from typer.testing import CliRunner

from neurodose.cli.main import EXIT_INPUT_ERROR, app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_plan_titrate_fhir_is_a_care_plan() -> None:
    code, out, _ = invoke(
        "plan", "titrate", "--drug", "duloxetine", "--start-date", "2026-01-05", "--fhir"
    )
    assert code == 0
    cp = json.loads(out)
    CarePlan.model_validate(cp)
    assert cp["contained"][0]["medicationCodeableConcept"]["text"] == "Duloxetine"


def test_assess_fhir_from_profile_and_from_bundle(tmp_path: Path) -> None:
    code, out, _ = invoke("assess", str(ROOT / "examples/patients/sample.json"), "--fhir")
    assert code == 0
    Bundle.model_validate(json.loads(out))
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p9", "birthDate": "1950-01-01"}},
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": "Patient/p9"},
                    "medicationCodeableConcept": {"text": "Mystery pill"},
                }
            },
        ],
    }
    f = tmp_path / "b.json"
    f.write_text(json.dumps(bundle))
    code, out, err = invoke("assess", str(f), "--fhir")
    assert code == 0
    refs = {e["resource"].get("patient", {}).get("reference") for e in json.loads(out)["entry"]}
    assert refs <= {"Patient/p9", None}
    assert "Mystery pill" in err and "not checked" in err


def test_assess_bad_bundle_is_one_line_error(tmp_path: Path) -> None:
    f = tmp_path / "b.json"
    f.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{}]}))
    code, _, err = invoke("assess", str(f), "--fhir")
    assert code == EXIT_INPUT_ERROR
    assert err.startswith("error: bundle.entry[0].resource") and err.count("\n") == 1
