"""Real EHR payloads and the service's limits, over real HTTP (a uvicorn server in a thread).

``medicationReference`` (contained, bundle ``urn:uuid`` entries, prefetched Medication
resources), a patient referenced by its bundle ``urn:uuid``, a dose counted in tablets
with no strength; body size (413 problem JSON) and JSON depth (400); the outbound FHIR
fetch (registered base URLs only, the token only to that origin, a page limit that
says the data were partial, upstream details not echoed); the audit line per call; the
card's link outside demo mode.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import uvicorn

from neurodose.service.cds.app import create_cds_app
from neurodose.service.cds.config import CdsConfig, load_clients
from neurodose.testing.cds import ClientKey, make_client_key

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
PID = "0f5e8a4c-3b1d-4c2e-9a7f-6d8b2e1c4a90"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Fhir(BaseHTTPRequestHandler):
    """A FHIR server for the fetch tests: the patient, and MedicationRequest searches
    whose paging depends on ``server.mode``; it records every Authorization header."""

    server: Any

    def log_message(self, *_a: Any) -> None:
        return

    def do_GET(self) -> None:
        st = self.server
        st.seen.append((self.path, self.headers.get("Authorization")))
        path = urlsplit(self.path).path.strip("/").split("/")
        if path == ["Patient", PID]:
            return self._send(200, _patient())
        if path[0] != "MedicationRequest" or "status=active" not in self.path:
            return self._send(200, {"resourceType": "Bundle", "type": "searchset", "entry": []})
        if st.mode == "error":
            return self._send(
                503,
                {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "exception", "diagnostics": SECRET}],
                },
            )
        if st.mode == "slow":
            time.sleep(2.5)
        if st.mode == "slow pages":
            time.sleep(0.3)
        med = _mr("a1", {"medicationCodeableConcept": {"text": "tramadol"}})
        page = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": med}]}
        nxt = {
            "next page": f"{st.base}/MedicationRequest?status=active&page=2",
            "evil": f"{st.evil}/MedicationRequest?status=active&page=2",
        }.get(st.mode)
        if st.mode in ("many pages", "slow pages"):
            nxt = f"{st.base}/MedicationRequest?status=active&page={len(st.seen)}"
        endless = st.mode in ("many pages", "slow pages")
        if nxt and ("page=2" not in self.path or endless):
            page["link"] = [{"relation": "next", "url": nxt}]
        return self._send(200, page)

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


SECRET = "upstream-detail-7731"


def _fhir_server() -> Any:
    srv: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Fhir)
    srv.seen, srv.mode = [], None
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@dataclass
class Cds:
    base: str
    key: ClientKey
    tmp: Path
    fhir: Any = None
    evil: Any = None
    token: str = ""

    def post(self, sid: str, body: Any, *, raw: bytes | None = None) -> httpx.Response:
        path = f"/cds-services/{sid}"
        self.token = self.key.sign(self.base + path)
        headers = {
            "Authorization": "Bearer " + self.token,
            "Content-Type": "application/json",
        }
        content = raw if raw is not None else json.dumps(body).encode()
        return httpx.post(self.base + path, content=content, headers=headers, timeout=60)


def _serve(config: CdsConfig, db: Path) -> Iterator[uvicorn.Server]:
    app = create_cds_app(config, f"sqlite:///{db}")
    port = int(config.public_url.rsplit(":", 1)[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        t.join(30)


@pytest.fixture(scope="module")
def cds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cds]:
    tmp = tmp_path_factory.mktemp("cds-payloads")
    key_file, clients = make_client_key(tmp)
    fhir, evil = _fhir_server(), _fhir_server()
    fhir.evil = evil.base
    data = json.loads(clients.read_text())
    # registered: the test FHIR server by IP; a loopback server by host name (refused)
    data["clients"][0]["fhir_servers"] += [fhir.base, f"http://localhost:{fhir.server_address[1]}"]
    clients.write_text(json.dumps(data))
    base = f"http://127.0.0.1:{_free_port()}"
    config = CdsConfig(
        public_url=base, clients=load_clients(clients), fhir_timeout_s=2.0, fhir_budget_s=1.0
    )
    try:
        for _ in _serve(config, tmp / "c.db"):
            yield Cds(base, ClientKey.load(key_file), tmp, fhir, evil)
    finally:
        for srv in (fhir, evil):
            srv.shutdown()
            srv.server_close()


def _patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PID, "birthDate": "1958-04-02", "gender": "female"}


def _request(hook: str, prefetch: dict[str, Any], **context: Any) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": "5b0f2c1e-8d3a-4f6b-9e2c-7a1d4b8c0e55",
        "context": {"patientId": PID, "userId": "Practitioner/1", **context},
        "prefetch": {
            "patient": _patient(),
            "medications": None,
            "recentMedications": None,
            "conditions": None,
            "observations": None,
            "allergies": None,
            **prefetch,
        },
    }


def _mr(mid: str, med: dict[str, Any], status: str = "active", **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"urn:uuid:{PID}"},
        **med,
        **kw,
    }


def _bundle(*entries: tuple[str | None, dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{**({"fullUrl": u} if u else {}), "resource": r} for u, r in entries],
    }


def _topics(r: httpx.Response) -> set[str]:
    assert r.status_code == 200, r.text
    return {c["source"]["topic"]["code"] for c in r.json()["cards"]}


# ------------------------------------------------------------- medicationReference


def test_medication_reference_shapes_give_the_same_cards_as_codeable_concepts(cds: Cds) -> None:
    """Tramadol active + duloxetine drafted: the serotonergic interaction must be found
    whether the medicines come as codes, as contained Medications, as bundle entries
    referenced by urn:uuid, or as prefetched Medication resources."""
    tram_urn = "urn:uuid:2b7c9e14-5a3f-4d21-8c6e-0f9a1b3d5e77"
    tramadol = {"resourceType": "Medication", "id": "tram", "code": {"text": "tramadol"}}
    dulox = {"resourceType": "Medication", "id": "dlx", "code": {"text": "duloxetine"}}

    def draft(med: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": _mr("d1", med, status="draft")}, *extra],
        }

    plain = cds.post(
        "neurodose-order-sign",
        _request(
            "order-sign",
            {
                "medications": _bundle(
                    (None, _mr("a1", {"medicationCodeableConcept": {"text": "tramadol"}}))
                )
            },
            draftOrders=draft({"medicationCodeableConcept": {"text": "duloxetine"}}),
        ),
    )
    expected = _topics(plain)
    assert len(expected) >= 1
    shapes = {
        "contained": _request(
            "order-sign",
            {
                "medications": _bundle(
                    (
                        None,
                        _mr(
                            "a1",
                            {"medicationReference": {"reference": "#t"}},
                            contained=[{**tramadol, "id": "t"}],
                        ),
                    )
                )
            },
            draftOrders=draft(
                {
                    "medicationReference": {"reference": "#x"},
                    "contained": [{**dulox, "id": "x"}],
                }
            ),
        ),
        "bundle urn:uuid": _request(
            "order-sign",
            {
                "medications": _bundle(
                    (tram_urn, tramadol),
                    (None, _mr("a1", {"medicationReference": {"reference": tram_urn}})),
                )
            },
            draftOrders=draft(
                {"medicationReference": {"reference": "urn:uuid:9d1e"}},
                {"fullUrl": "urn:uuid:9d1e", "resource": dulox},
            ),
        ),
        "prefetched Medication": _request(
            "order-sign",
            {
                "medications": _bundle(
                    (None, _mr("a1", {"medicationReference": {"reference": "Medication/tram"}})),
                ),
                "medicationResources": _bundle((None, tramadol), (None, dulox)),
            },
            draftOrders=draft({"medicationReference": {"reference": "Medication/dlx"}}),
        ),
    }
    for name, body in shapes.items():
        assert _topics(cds.post("neurodose-order-sign", body)) == expected, name


def test_patient_referenced_by_urn_uuid_and_tablets_without_strength(cds: Cds) -> None:
    meds = _bundle(
        (
            None,
            _mr(
                "a1",
                {"medicationCodeableConcept": {"text": "duloxetine"}},
                authoredOn="2026-01-05",
                dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": 1}}]}],
            ),
        ),
        (
            None,
            _mr(
                "a2",
                {"medicationCodeableConcept": {"text": "paroxetine"}},
                status="stopped",
                dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": 2}}]}],
            ),
        ),
    )
    r = cds.post("neurodose-patient-view", _request("patient-view", {"medications": meds}))
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert "Duloxetine" in card["summary"] or "duloxetine" in card["summary"].lower()
    assert "duloxetine dose" in card["detail"]
    # the same medicines on order-sign: screened, the unknown doses named with their reason
    r = cds.post(
        "neurodose-order-sign",
        _request(
            "order-sign",
            {"medications": meds},
            draftOrders={
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {
                        "resource": _mr(
                            "d1",
                            {"medicationCodeableConcept": {"text": "tramadol"}},
                            status="draft",
                        )
                    }
                ],
            },
        ),
    )
    assert r.status_code == 200, r.text
    details = " ".join(c.get("detail", "") for c in r.json()["cards"])
    assert "no strength per unit" in details and "duloxetine dose" in details
    # another patient's urn:uuid is still refused
    other = _bundle(
        (
            None,
            _mr(
                "a3",
                {"medicationCodeableConcept": {"text": "duloxetine"}},
                subject={"reference": "urn:uuid:someone-else"},
            ),
        )
    )
    r = cds.post("neurodose-patient-view", _request("patient-view", {"medications": other}))
    assert r.status_code == 400 and "another patient" in r.json()["error"]


# ------------------------------------------------------------------ pharmacogenomics

LOINC = "http://loinc.org"


def _phenotype(oid: str, value: str, code_text: str) -> dict[str, Any]:
    """A phenotype Observation as EHRs send it: LOINC 53040-2, the value as a coding."""
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": f"Patient/{PID}"},
        "code": {"coding": [{"system": LOINC, "code": "53040-2"}], "text": code_text},
        "valueCodeableConcept": {"coding": [{"system": LOINC, "display": value}]},
    }


def test_phenotype_observation_reaches_order_sign_and_patient_view(cds: Cds) -> None:
    """CYP2D6 poor metaboliser sent as a 53040-2 Observation, amitriptyline active: the
    amitriptyline order carries the CPIC genotype finding, patient-view names the
    phenotype and the finding; an unreadable phenotype is listed, never refused."""
    meds = _bundle(
        (
            None,
            _mr(
                "a1",
                {"medicationCodeableConcept": {"text": "amitriptyline"}},
                authoredOn="2026-01-05",
                dosageInstruction=[
                    {"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}]}
                ],
            ),
        )
    )
    obs = _bundle(
        (None, _phenotype("pgx1", "Poor metabolizer", "CYP2D6 phenotype")),
        (None, _phenotype("pgx2", "Wobbly metabolizer", "CYP2C19 phenotype")),
    )
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": _mr(
                    "d1",
                    {"medicationCodeableConcept": {"text": "amitriptyline"}},
                    status="draft",
                    dosageInstruction=[
                        {"doseAndRate": [{"doseQuantity": {"value": 25, "unit": "mg"}}]}
                    ],
                )
            }
        ],
    }
    sign = cds.post(
        "neurodose-order-sign",
        _request("order-sign", {"medications": meds, "observations": obs}, draftOrders=draft),
    )
    assert "cpic_tca_genotype" in _topics(sign)
    cpic = next(
        c for c in sign.json()["cards"] if c["source"]["topic"]["code"] == "cpic_tca_genotype"
    )
    assert "CYP2D6 PM" in cpic["detail"]
    # without the Observation, no CPIC finding: the phenotype is what makes it
    plain = cds.post(
        "neurodose-order-sign", _request("order-sign", {"medications": meds}, draftOrders=draft)
    )
    assert "cpic_tca_genotype" not in _topics(plain)

    view = cds.post(
        "neurodose-patient-view",
        _request("patient-view", {"medications": meds, "observations": obs}),
    )
    assert view.status_code == 200, view.text
    (card,) = view.json()["cards"]
    assert "CYP2D6 poor metaboliser" in card["detail"]
    pgx = card["detail"].split("Pharmacogenomics:", 1)[1]
    assert "**Amitriptyline**" in pgx and "CPIC" in pgx
    # the unreadable phenotype is named as not recognised, and the patient still gets a card
    assert "Wobbly metabolizer" in card["detail"].split("Not recognised:", 1)[1]
    assert "CYP2D6 PM" in card["summary"]


# ------------------------------------------------------------------- inbound limits


def test_body_over_one_mib_is_413_problem_json(cds: Cds) -> None:
    body = _request("patient-view", {})
    body["context"]["padding"] = "x" * (1024 * 1024)
    r = cds.post("neurodose-patient-view", body)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 413 and "1048576 bytes" in r.json()["detail"]
    # the same without a Content-Length (chunked) is refused too
    path = "/cds-services/neurodose-patient-view"
    raw = json.dumps(body).encode()
    r = httpx.post(
        cds.base + path,
        content=iter([raw[i : i + 65536] for i in range(0, len(raw), 65536)]),
        headers={
            "Authorization": "Bearer " + cds.key.sign(cds.base + path),
            "Content-Type": "application/json",
        },
        timeout=60,
    )
    assert r.status_code == 413
    # just under the limit is read (and answered on its merits)
    body["context"]["padding"] = "x" * (1024 * 1024 - 4096)
    assert cds.post("neurodose-patient-view", body).status_code == 200


@pytest.mark.parametrize("depth", [65, 1000, 200_000])
def test_deeply_nested_json_is_400_never_500(cds: Cds, depth: int) -> None:
    raw = b'{"hook": "patient-view", "x": ' + b"[" * depth + b"]" * depth + b"}"
    r = cds.post("neurodose-patient-view", None, raw=raw)
    assert r.status_code == 400, r.text[:200]
    assert "nested deeper than 64" in r.json()["error"]


def test_body_limit_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    from neurodose.errors import InputError

    monkeypatch.setenv("NEURODOSE_CDS_MAX_BODY_BYTES", "4096")
    assert CdsConfig.from_env(public_url="https://cds.test").max_body_bytes == 4096
    monkeypatch.setenv("NEURODOSE_CDS_MAX_BODY_BYTES", "lots")
    with pytest.raises(InputError, match="NEURODOSE_CDS_MAX_BODY_BYTES"):
        CdsConfig.from_env(public_url="https://cds.test")
    monkeypatch.delenv("NEURODOSE_CDS_MAX_BODY_BYTES")
    assert CdsConfig.from_env(public_url="https://cds.test").max_body_bytes == 1024 * 1024


# ------------------------------------------------------------- outbound FHIR fetches


def _fetching(cds: Cds, server: str, mode: str | None = None) -> httpx.Response:
    cds.fhir.mode = mode
    cds.fhir.seen.clear()
    cds.evil.seen.clear()
    body = _request("patient-view", {})
    body["prefetch"] = {}
    body["fhirServer"] = server
    body["fhirAuthorization"] = {
        "access_token": "ehr-token-123",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "neurodose-cds",
    }
    return cds.post("neurodose-patient-view", body)


def _partial(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return [c for c in r.json()["cards"] if c["source"]["topic"]["code"] == "partial_data"]


def test_registered_fhir_server_is_fetched_with_the_token(cds: Cds) -> None:
    r = _fetching(cds, cds.fhir.base + "/")
    assert r.status_code == 200 and not _partial(r)
    assert cds.fhir.seen and all(a == "Bearer ehr-token-123" for _, a in cds.fhir.seen)
    assert "ehr-token-123" not in r.text


@pytest.mark.parametrize(
    "server",
    [
        "http://127.0.0.1:9/fhir",  # loopback, not registered
        "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "http://10.0.0.7/fhir",  # private
        "https://fhir.example.org/r4",  # public, not registered for this client
        "LOCALHOST",  # a loopback host name registered by name: refused
    ],
)
def test_unregistered_or_private_fhir_server_is_never_contacted(cds: Cds, server: str) -> None:
    if server == "LOCALHOST":
        server = f"http://localhost:{cds.fhir.server_address[1]}"
    r = _fetching(cds, server)
    assert r.status_code == 412, r.text
    assert "registered" in r.json()["error"] or "loopback" in r.json()["error"]
    assert cds.fhir.seen == []


def test_token_never_goes_to_a_next_link_on_another_host(cds: Cds) -> None:
    r = _fetching(cds, cds.fhir.base, "evil")
    (card,) = _partial(r)
    assert card["indicator"] == "warning" and "another server" in card["detail"]
    assert cds.evil.seen == []
    # a next page on the same server is read (no warning)
    r = _fetching(cds, cds.fhir.base, "next page")
    assert not _partial(r) and any("page=2" in p for p, _ in cds.fhir.seen)


def test_page_limit_and_time_budget_give_a_partial_data_warning(cds: Cds) -> None:
    (card,) = _partial(_fetching(cds, cds.fhir.base, "many pages"))
    assert "more than 10 pages" in card["detail"]
    assert sum("MedicationRequest" in p and "active" in p for p, _ in cds.fhir.seen) == 10
    t0 = time.perf_counter()
    (card,) = _partial(_fetching(cds, cds.fhir.base, "slow pages"))
    assert "time budget" in card["detail"]
    r = _fetching(cds, cds.fhir.base, "slow")  # one answer slower than the budget
    (card,) = _partial(r)
    assert "did not answer in time" in card["detail"]
    # budget 1 s per call (2 calls) plus the screening: far from the 77 s seen before
    assert time.perf_counter() - t0 < 10


def test_upstream_status_and_details_are_not_echoed(cds: Cds) -> None:
    r = _fetching(cds, cds.fhir.base, "error")
    assert r.status_code == 412
    assert SECRET not in r.text and "503" not in r.text
    assert (
        r.json()["error"] == "prefetch unavailable: medications could not be read from fhirServer"
    )


# ------------------------------------------------------------------------ audit line


def test_one_audit_line_per_call_without_phi(cds: Cds, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="neurodose.cds.audit"):
        ok = cds.post(
            "neurodose-patient-view", _request("patient-view", {"medications": _bundle()})
        )
        jti = jwt.decode(cds.token, options={"verify_signature": False})["jti"]
        bad = cds.post("neurodose-order-sign", _request("order-sign", {}))  # no draftOrders
    assert ok.status_code == 200 and bad.status_code == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "neurodose.cds.audit"]
    assert len(lines) == 2
    first = dict(x.split("=", 1) for x in lines[0].split()[1:])
    assert first["client"] == cds.key.iss and first["jti"] == jti
    assert first["hook"] == "patient-view" and first["status"] == "200"
    assert first["cards"] == str(len(ok.json()["cards"])) and float(first["latency_ms"]) > 0
    import hashlib

    assert first["patient_sha256"] == hashlib.sha256(PID.encode()).hexdigest()[:16]
    assert "status=400" in lines[1] and "hook=order-sign" in lines[1]
    for line in lines:
        assert PID not in line and "1958" not in line and "tramadol" not in line


# ------------------------------------------------------------------------ card links


def test_card_links_go_to_the_clinic_outside_demo_mode(cds: Cds) -> None:
    r = cds.post("neurodose-patient-view", _request("patient-view", {}))
    links = [ln for c in r.json()["cards"] for ln in c["links"]]
    assert links and all(ln["url"] == cds.base + "/smart/launch" for ln in links)
    assert not any("/ehr-demo" in ln["url"] for ln in links)
    assert CdsConfig(public_url="https://cds.test", clinic_url="https://clinic.test").link_base == (
        "https://clinic.test"
    )
    assert CdsConfig(public_url="https://cds.test", dev_insecure=True).link_base is None
