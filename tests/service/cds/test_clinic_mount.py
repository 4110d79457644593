"""The CDS Hooks services mounted in the clinic (``neurodose serve --cds-clients``), FHIR out
for stored patients, and the admins' feedback view, over HTTP on a real server."""

from __future__ import annotations

from pathlib import Path

import httpx
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan

from neurodose.testing.cds import ClientKey, make_client_key, run_checks

from ..conftest import Server, sqlite_url

SAMPLES = Path(__file__).resolve().parents[3] / "examples" / "cds"


def test_clinic_serves_cds_hooks_fhir_and_feedback_counts(tmp_path: Path) -> None:
    key_file, clients = make_client_key(tmp_path / "ehr")
    server = Server(sqlite_url(tmp_path), tmp_path)
    server.env_extra = {"NEURODOSE_CDS_CLIENTS": str(clients)}
    server.add_user("gp")
    server.add_user("boss", role="admin")
    server.env_extra["NEURODOSE_PUBLIC_URL"] = server.url
    server.start()
    try:
        # the CDS Hooks services: the conformance harness passes against the clinic
        report = run_checks(server.url, ClientKey.load(key_file), SAMPLES)
        assert report.passed, report.text()
        # FHIR out for a stored patient
        api = server.client(server.token("gp"))
        pid = api.post(
            "/api/v1/patients",
            json={"age": 70, "conditions": ["diabetic_neuropathy"], "medications": []},
        ).json()["id"]
        b = api.get(f"/api/v1/patients/{pid}/fhir/assessment")
        assert b.status_code == 200
        Bundle.model_validate(b.json())
        kinds = {e["resource"]["resourceType"] for e in b.json()["entry"]}
        assert kinds == {"DetectedIssue", "CarePlan"}
        assert api.get(f"/api/v1/patients/{pid}/fhir/careplan").status_code == 404
        r = api.post(f"/api/v1/patients/{pid}/regimen", json={"drug": "pregabalin"})
        assert r.status_code == 201, r.text
        cp = api.get(f"/api/v1/patients/{pid}/fhir/careplan").json()
        CarePlan.model_validate(cp)
        assert cp["subject"]["reference"] == f"Patient/{pid}"
        assert cp["contained"][0]["medicationCodeableConcept"]["text"] == "Pregabalin"
        # feedback counts: admins only
        assert api.get("/api/v1/cds/feedback").status_code == 403
        admin = server.client(server.token("boss"))
        fb = admin.get("/api/v1/cds/feedback").json()
        rules = {r["rule"]: r for r in fb["rules"]}
        assert rules["maoi_irreversible_gap"]["overridden"] >= 1
        assert fb["recent"] and "outcome" in fb["recent"][0]
        # the cards link to the clinic's patients page, which exists (no /ehr-demo here)
        from neurodose.service.cds.samples import load_samples, prefetch_for
        from neurodose.testing.cds import hook_request

        key = ClientKey.load(key_file)
        sample = load_samples(SAMPLES)[0]
        path = "/cds-services/neurodose-patient-view"
        r = httpx.post(
            server.url + path,
            json=hook_request(sample, "patient-view", prefetch=prefetch_for(sample)),
            headers={"Authorization": "Bearer " + key.sign(server.url + path)},
            timeout=60,
        )
        links = [ln for c in r.json()["cards"] for ln in c.get("links", [])]
        assert links and all(ln["url"] == server.url + "/smart/launch" for ln in links)
        assert all(ln["type"] == "smart" and "appContext" not in ln for ln in links)
        page = httpx.get(links[0]["url"], timeout=30, follow_redirects=False)
        # the SMART launch exists outside demo mode; without a registered iss it refuses
        assert page.status_code == 400 and "not registered" in page.text, page.status_code
        assert httpx.get(server.url + "/ehr-demo", timeout=30).status_code == 404
    finally:
        server.stop()
