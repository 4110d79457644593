"""The CDS Hooks translation without HTTP: patient-view summary, selections, 412, 400."""

from __future__ import annotations

import datetime as dt

import pytest

from neurodose.service.cds.config import CdsConfig
from neurodose.service.cds.hooks import HookError, handle_hook

CFG = CdsConfig(public_url="https://cds.test")
TODAY = dt.date(2026, 3, 2)


def _bundle(*res: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in res]}


def _body(hook: str, **kw: object) -> dict:
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"patientId": "p1", "userId": "Practitioner/1", **kw},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"},
            "medications": _bundle(
                {
                    "resourceType": "MedicationRequest",
                    "id": "m1",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": "Patient/p1"},
                    "medicationCodeableConcept": {"text": "amitriptyline"},
                    "authoredOn": "2026-01-05",
                    "dosageInstruction": [
                        {
                            "timing": {"code": {"coding": [{"code": "BED"}]}},
                            "doseAndRate": [{"doseQuantity": {"value": 25, "unit": "mg"}}],
                        }
                    ],
                }
            ),
            "recentMedications": None,
            "conditions": None,
            "observations": None,
            "allergies": None,
        },
    }


def test_patient_view_summarises_current_drug_week_and_review() -> None:
    cards, sid = handle_hook("neurodose-patient-view", _body("patient-view"), CFG, today=TODAY)
    assert sid == "neurodose-patient-view" and len(cards) == 1
    (card,) = cards
    assert "Amitriptyline 25 mg every 24 h, week 9" in card["summary"]
    assert "effect review due 2026-02-16" in card["detail"]  # 42 d after 2026-01-05 (TCA)


def test_order_select_only_screens_the_selection() -> None:
    orders = _bundle(
        {
            "resourceType": "MedicationRequest",
            "id": "o1",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": "tramadol"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "o2",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": "nothing-known"},
        },
    )
    body = _body("order-select", draftOrders=orders, selections=["MedicationRequest/o1"])
    cards, _ = handle_hook("neurodose-order-select", body, CFG, today=TODAY)
    assert cards and all("nothing-known" not in c["summary"] for c in cards)
    body["context"]["selections"] = ["MedicationRequest/o2"]
    cards, _ = handle_hook("neurodose-order-select", body, CFG, today=TODAY)
    assert [c["indicator"] for c in cards] == ["warning"] and "not recognised" in cards[0][
        "summary"
    ]


def test_missing_patient_is_412_and_foreign_resource_is_400() -> None:
    body = _body("patient-view")
    body["prefetch"]["patient"] = None
    with pytest.raises(HookError) as e:
        handle_hook("neurodose-patient-view", body, CFG, today=TODAY)
    assert e.value.status == 412
    body = _body("patient-view")
    body["prefetch"]["medications"]["entry"][0]["resource"]["subject"]["reference"] = "Patient/p2"
    with pytest.raises(HookError) as e:
        handle_hook("neurodose-patient-view", body, CFG, today=TODAY)
    assert e.value.status == 400 and "another patient" in e.value.message


def test_cds_serve_refuses_to_start_without_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from neurodose.cli.main import EXIT_INPUT_ERROR, app

    # cds-serve writes these for its workers; monkeypatch restores them afterwards
    for k in ("NEURODOSE_PUBLIC_URL", "NEURODOSE_CDS_DEV_INSECURE", "NEURODOSE_DATABASE_URL"):
        monkeypatch.setenv(k, "")
    monkeypatch.delenv("NEURODOSE_CDS_CLIENTS", raising=False)
    r = CliRunner().invoke(app, ["cds-serve", "--public-url", "https://cds.test"])
    assert r.exit_code == EXIT_INPUT_ERROR
    assert r.stderr.startswith("error: cds-clients") and r.stderr.count("\n") == 1
    r = CliRunner().invoke(app, ["cds-serve", "--public-url", "ftp://cds.test"])
    assert r.exit_code == EXIT_INPUT_ERROR and "public-url" in r.stderr


def test_drafts_are_screened_together() -> None:
    """Signing duloxetine and tramadol in one request flags their combination (round 3)."""

    def draft(i: str, name: str) -> dict:
        return {
            "resourceType": "MedicationRequest",
            "id": i,
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": name},
        }

    body = _body(
        "order-sign",
        draftOrders=_bundle(draft("d1", "duloxetine"), draft("d2", "tramadol")),
    )
    body["prefetch"]["medications"] = _bundle()
    cards, _ = handle_hook("neurodose-order-sign", body, CFG, today=TODAY)
    text = " ".join(c["summary"] + c.get("detail", "") for c in cards)
    assert "serotonergic" in text.lower()
    assert any("Tramadol" in c.get("detail", "") for c in cards if "uloxetine" in c["summary"])
