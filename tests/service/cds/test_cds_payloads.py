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
from pathlib import Path
from typing import Any

import httpx
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


@dataclass
class Cds:
    base: str
    key: ClientKey
    tmp: Path

    def post(self, sid: str, body: Any, *, raw: bytes | None = None) -> httpx.Response:
        path = f"/cds-services/{sid}"
        headers = {
            "Authorization": "Bearer " + self.key.sign(self.base + path),
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
    base = f"http://127.0.0.1:{_free_port()}"
    config = CdsConfig(public_url=base, clients=load_clients(clients))
    yield from (Cds(base, ClientKey.load(key_file), tmp) for _ in _serve(config, tmp / "c.db"))


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
