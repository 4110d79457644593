"""CDS Hooks services over real HTTP: a uvicorn server with two worker processes.

Covers the JWT check (16 forged-token kinds, each a bare 401; ES384, RS384 and a
jwks_url client accepted), the replay cache shared by the worker processes through
the database, CORS for configured origins only, --dev-insecure, and the conformance
harness (`neurodose cds-check`) against the running server with the sample patients.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from neurodose.testing.cds import ClientKey, make_client_key, run_checks

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "examples" / "cds"
ISS_A = "https://ehr-a.test"
ISS_B = "https://ehr-b.test"
ORIGIN = "https://ehr-a.test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _jwk(pub: Any, kid: str, alg: str) -> dict[str, Any]:
    algo = ECAlgorithm if alg.startswith("ES") else RSAAlgorithm
    d = json.loads(algo.to_jwk(pub))
    d.update({"kid": kid, "alg": alg, "use": "sig"})
    return d


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, *_a: Any) -> None:
        return

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).body)


class Keys:
    """The test EHRs' keys."""

    def __init__(self) -> None:
        self.ec = ec.generate_private_key(ec.SECP384R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = ec.generate_private_key(ec.SECP384R1())
        self.b = ec.generate_private_key(ec.SECP384R1())
        self.p256 = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("cds")
    keys = Keys()
    _Jwks.body = json.dumps({"keys": [_jwk(keys.b.public_key(), "b1", "ES384")]}).encode()
    jwks_srv = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=jwks_srv.serve_forever, daemon=True).start()
    jwks_url = f"http://127.0.0.1:{jwks_srv.server_address[1]}/.well-known/jwks.json"
    key_file, check_clients = make_client_key(tmp / "check")
    clients = {
        "clients": [
            {
                "iss": ISS_A,
                "jwks": {
                    "keys": [
                        _jwk(keys.ec.public_key(), "ec1", "ES384"),
                        _jwk(keys.rsa.public_key(), "rsa1", "RS384"),
                        _jwk(keys.p256.public_key(), "p256", "ES256"),
                    ]
                },
                "origins": [ORIGIN],
            },
            {"iss": ISS_B, "jwks_url": jwks_url},
            *json.loads(check_clients.read_text())["clients"],
        ]
    }
    (tmp / "clients.json").write_text(json.dumps(clients))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURODOSE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "neurodose",
            "cds-serve",
            "--public-url",
            base,
            "--cds-clients",
            str(tmp / "clients.json"),
            "--database",
            f"sqlite:///{tmp / 'cds.sqlite3'}",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 180
        while True:
            try:
                if httpx.get(base + "/cds-services", timeout=5).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"server did not start: {out[-2000:]}")
            time.sleep(0.3)
        yield {
            "base": base,
            "keys": keys,
            "tmp": tmp,
            "key_file": key_file,
            "db": tmp / "cds.sqlite3",
        }
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        jwks_srv.shutdown()
        jwks_srv.server_close()


def _claims(aud: str, **kw: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISS_A, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **kw}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _es384(keys: Keys, claims: dict[str, Any], **headers: Any) -> str:
    return jwt.encode(claims, keys.ec, algorithm="ES384", headers={"kid": "ec1", **headers})


def _forged(kind: str, keys: Keys, aud: str) -> str | None:
    """One forged or wrong token of ``kind`` (None: no Authorization header)."""
    now = int(time.time())
    if kind == "missing header":
        return None
    if kind == "alg none":
        h = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "ec1"}).encode())
        return f"{h}.{_b64(json.dumps(_claims(aud)).encode())}."
    if kind == "HS384 with the public key as secret":
        pem = keys.ec.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        h = _b64(json.dumps({"alg": "HS384", "typ": "JWT", "kid": "ec1"}).encode())
        p = _b64(json.dumps(_claims(aud)).encode())
        sig = hmac.new(pem, f"{h}.{p}".encode(), hashlib.sha384).digest()
        return f"{h}.{p}.{_b64(sig)}"
    if kind == "expired":
        return _es384(keys, _claims(aud, iat=now - 600, exp=now - 300))
    if kind == "iat in the future":
        return _es384(keys, _claims(aud, iat=now + 600, exp=now + 900))
    if kind == "wrong aud":
        return _es384(keys, _claims(aud.rsplit("/", 1)[0] + "/other-service"))
    if kind == "aud array without this endpoint":
        return _es384(keys, _claims(["https://elsewhere.test/cds-services"]))
    if kind == "unknown iss":
        return _es384(keys, _claims(aud, iss="https://evil.test"))
    if kind == "unknown kid":
        return jwt.encode(_claims(aud), keys.ec, algorithm="ES384", headers={"kid": "nope"})
    if kind == "tampered payload":
        tok = _es384(keys, _claims(aud))
        h, p, s = tok.split(".")
        body = json.loads(base64.urlsafe_b64decode(p + "=="))
        body["iss"] = ISS_A + "/"
        body["iss"] = ISS_A
        body["jti"] = "tampered-" + body["jti"]
        return f"{h}.{_b64(json.dumps(body).encode())}.{s}"
    if kind == "wrong key":
        return jwt.encode(_claims(aud), keys.other, algorithm="ES384", headers={"kid": "ec1"})
    if kind == "ES256 (not ES384/RS384)":
        return jwt.encode(_claims(aud), keys.p256, algorithm="ES256", headers={"kid": "p256"})
    if kind == "no jti":
        c = _claims(aud)
        del c["jti"]
        return _es384(keys, c)
    if kind == "jku not allowlisted":
        return _es384(keys, _claims(aud), jku="https://evil.test/jwks.json")
    if kind == "lifetime over 1 h":
        return _es384(keys, _claims(aud, exp=now + 2 * 86400))
    if kind == "RS384 key used with the EC kid":
        return jwt.encode(_claims(aud), keys.rsa, algorithm="RS384", headers={"kid": "ec1"})
    raise AssertionError(kind)


FORGED = [
    "missing header",
    "alg none",
    "HS384 with the public key as secret",
    "expired",
    "iat in the future",
    "wrong aud",
    "aud array without this endpoint",
    "unknown iss",
    "unknown kid",
    "tampered payload",
    "wrong key",
    "ES256 (not ES384/RS384)",
    "no jti",
    "jku not allowlisted",
    "lifetime over 1 h",
    "RS384 key used with the EC kid",
]


@pytest.mark.parametrize("kind", FORGED)
@pytest.mark.parametrize("path", ["/cds-services", "/cds-services/neurodose-order-sign/feedback"])
def test_forged_token_gets_bare_401(setup: dict[str, Any], kind: str, path: str) -> None:
    aud = setup["base"] + path
    tok = _forged(kind, setup["keys"], aud)
    headers = {"Authorization": f"Bearer {tok}"} if tok is not None else {}
    if path.endswith("feedback"):
        r = httpx.post(aud, headers=headers, json={"feedback": []}, timeout=30)
    else:
        r = httpx.get(aud, headers=headers, timeout=30)
    assert r.status_code == 401, kind
    assert r.content == b""


def test_valid_tokens_es384_rs384_aud_array_and_jwks_url(setup: dict[str, Any]) -> None:
    base, keys = setup["base"], setup["keys"]
    aud = base + "/cds-services"
    toks = [
        _es384(keys, _claims(aud)),
        jwt.encode(_claims(aud), keys.rsa, algorithm="RS384", headers={"kid": "rsa1"}),
        _es384(keys, _claims([aud, "https://other.test"])),
        jwt.encode(_claims(aud, iss=ISS_B), keys.b, algorithm="ES384", headers={"kid": "b1"}),
    ]
    for t in toks:
        r = httpx.get(aud, headers={"Authorization": f"Bearer {t}"}, timeout=30)
        assert r.status_code == 200
        assert {s["id"] for s in r.json()["services"]} >= {
            "neurodose-order-select",
            "neurodose-order-sign",
            "neurodose-patient-view",
        }


def test_replay_cache_is_shared_by_the_worker_processes(setup: dict[str, Any]) -> None:
    aud = setup["base"] + "/cds-services"
    tok = _es384(setup["keys"], _claims(aud))
    codes = []
    for _ in range(12):  # new connections: the requests spread over both workers
        with httpx.Client() as c:
            codes.append(
                c.get(aud, headers={"Authorization": f"Bearer {tok}"}, timeout=30).status_code
            )
    assert codes.count(200) == 1 and codes.count(401) == 11


def test_cors_only_for_configured_origins(setup: dict[str, Any]) -> None:
    aud = setup["base"] + "/cds-services"
    tok = _es384(setup["keys"], _claims(aud))
    r = httpx.get(aud, headers={"Authorization": f"Bearer {tok}", "Origin": ORIGIN}, timeout=30)
    assert r.headers.get("access-control-allow-origin") == ORIGIN
    tok = _es384(setup["keys"], _claims(aud))
    r = httpx.get(
        aud, headers={"Authorization": f"Bearer {tok}", "Origin": "https://evil.test"}, timeout=30
    )
    assert "access-control-allow-origin" not in r.headers
    pre = {"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"}
    assert httpx.options(aud, headers=pre, timeout=30).status_code == 400
    pre["Origin"] = ORIGIN
    assert httpx.options(aud, headers=pre, timeout=30).status_code == 200


def test_cds_check_passes_against_the_running_server(setup: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from neurodose.cli.main import app

    args = ["cds-check", setup["base"], "--key", str(setup["key_file"])]
    r = CliRunner().invoke(app, [*args, "--samples", str(SAMPLES), "--expect"])
    assert r.exit_code == 0, r.stdout
    lines = r.stdout.splitlines()
    assert lines[-1].endswith(" passed, 0 failed")
    conform = [ln for ln in lines if "carry the expected rules" in ln]
    assert len(conform) >= 12 and all(ln.startswith("PASS") for ln in conform)
    # the same run as JSON: every group of checks ran for each of the three services
    out = tmp_path / "report.json"
    r = CliRunner().invoke(app, [*args, "--format", "json", "--output", str(out)])
    assert r.exit_code == 0, r.stdout
    doc = json.loads(out.read_text())
    assert doc["passed"] and doc["counts"]["failed"] == 0
    groups: dict[str, int] = {}
    for c in doc["checks"]:
        groups[c["group"]] = groups.get(c["group"], 0) + 1
    assert groups["security"] == 3 * 7 and groups["errors"] == 3 * 5 + 1, groups
    assert groups["prefetch"] == 3 * 2 and groups["cors"] == 3 and groups["feedback"] == 3 * 2
    # feedback was stored per rule, visible through the store (shared database)
    from sqlalchemy import create_engine

    from neurodose.service.cds.store import CdsStore

    counts = CdsStore(create_engine(f"sqlite:///{setup['db']}")).feedback_counts()
    assert any(c["overridden"] >= 1 for c in counts)
    assert any(c["accepted"] >= 1 for c in counts)


def test_harness_reports_a_failure_against_a_wrong_server(setup: dict[str, Any]) -> None:
    # the same checks against a base URL with a different public URL: every JWT aud is wrong
    other = ClientKey.load(setup["key_file"])
    report = run_checks(setup["base"] + "/nope", other, SAMPLES, timeout_s=30)
    assert not report.passed and "FAIL" in report.text()


def test_harness_fails_on_a_broken_card() -> None:
    from neurodose.testing.cds import card_problems

    good = {"uuid": "u", "summary": "x", "indicator": "info", "source": {"label": "l"}}
    assert card_problems(good) == []
    assert card_problems({**good, "summary": "y" * 140})
    assert card_problems({**good, "indicator": "danger"})
    assert card_problems({**good, "suggestions": [{"label": "s", "uuid": "v", "actions": []}]})
    assert card_problems({**good, "overrideReasons": [{"system": "s", "code": "c"}]})


def test_dev_insecure_accepts_unsigned_and_warns_every_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    import uvicorn

    from neurodose.service.cds.app import create_cds_app
    from neurodose.service.cds.config import CdsConfig

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_cds_app(
        CdsConfig(public_url=base, dev_insecure=True), f"sqlite:///{tmp_path / 'x.sqlite3'}"
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        deadline = time.time() + 60
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        with caplog.at_level(logging.WARNING, logger="neurodose.cds"):
            for _ in range(2):
                assert httpx.get(base + "/cds-services", timeout=30).status_code == 200
        warnings = [r for r in caplog.records if "dev-insecure" in r.getMessage()]
        assert len(warnings) == 2
    finally:
        server.should_exit = True
        t.join(30)


def test_dev_insecure_is_never_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from neurodose.service.cds.config import CdsConfig

    monkeypatch.delenv("NEURODOSE_CDS_DEV_INSECURE", raising=False)
    assert CdsConfig.from_env(public_url="https://cds.test").dev_insecure is False
    assert CdsConfig(public_url="https://cds.test").dev_insecure is False
