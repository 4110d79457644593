"""A minimal EHR for the SMART App Launch tests: a SMART authorization server and a
read-only FHIR R4 endpoint, written to the SMART App Launch 2.x specification (HL7,
"App Launch: Launch and Authorization") and RFC 7636 (PKCE), run in a thread of the
test process on a free port.

Why it is ours: no open-source SMART authorization server runs offline here. The
reference one (smart-on-fhir/smart-launcher-v2) is a Node.js application that is not
installed and cannot be fetched; the package index has SMART *clients* only
(``fhirclient``, ``smart-on-fhir-client``, ``jupyter-smart-on-fhir``), no server.

What it checks, as a conformant server must:

- ``/fhir/.well-known/smart-configuration``: the endpoints, ``S256`` only (never
  ``plain``), capabilities;
- ``/auth/authorize``: ``response_type=code``, a registered ``client_id`` and its exact
  ``redirect_uri`` (else an error page, never a redirect), ``aud`` = the FHIR base URL,
  ``state``, ``code_challenge`` with ``code_challenge_method=S256``, a known ``launch``
  for an EHR launch (``launch`` scope) or a patient picked by the user for a standalone
  one (``launch/patient``); the user approves on a page (a form);
- ``/auth/token``: the code once only (a replay is ``invalid_grant``), the same
  ``redirect_uri`` and ``client_id``, and a ``code_verifier`` whose S256 is the
  challenge; the response has ``access_token``, ``token_type``, ``expires_in``,
  ``scope``, ``patient`` and an ``id_token`` with ``fhirUser`` (and the ``nonce`` of
  the authorization request), signed RS256 with the EHR's RSA key;
- ``/auth/jwks``: the public key as a JWK Set (RFC 7517), named by the
  smart-configuration's ``jwks_uri`` and the ``/.well-known/openid-configuration`` of
  the issuer (the EHR's origin);
- ``/fhir/Patient/{id}`` and ``/fhir/{type}?patient={id}``: a bearer token for that
  patient only.

``EHR.requests`` records every path asked for (the tests check what was not fetched);
``EHR.id_tokens`` every id_token issued (the tests check none is logged). ``EHR.sign``
replaces the signer (a test makes the EHR sign wrongly with it).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from .conftest import free_port

SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cds"
CLIENT_ID = "neurodose-clinic"
PRACTITIONER = "Practitioner/dr-ada"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_rsa_key() -> Any:
    """A new 2048-bit RSA private key."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class EHR:
    """The EHR: its patients (FHIR resources by patient id), registered client, state."""

    redirect_uri: str
    port: int = field(default_factory=free_port)
    patients: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    launches: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    #: the RSA key that signs id_tokens, and its ``kid`` in the JWK Set
    rsa: Any = field(default_factory=lambda: new_rsa_key())
    kid: str = "ehr-key-1"
    #: replaces the signer: claims -> id_token (None: RS256 with ``rsa`` and ``kid``)
    sign: Callable[[dict[str, Any]], str] | None = None
    id_tokens: list[str] = field(default_factory=list)
    #: replaces the JWK Set's body (sent in chunks, without a Content-Length)
    jwks_body: bytes | None = None
    server: uvicorn.Server | None = None
    #: the signed-in EHR user (the id_token's ``fhirUser``)
    practitioner: str = PRACTITIONER
    #: merged into the smart-configuration, the token response, the id_token's claims
    #: (a test makes the EHR misbehave with them; ``None`` removes a field)
    config_extra: dict[str, Any] = field(default_factory=dict)
    token_extra: dict[str, Any] = field(default_factory=dict)
    claims_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def iss(self) -> str:
        return self.base + "/fhir"

    # --- the EHR's own page: a patient chart with the app's launch button ---------
    async def chart(self, request: Request) -> Response:
        pid = request.query_params.get("patient", "")
        app = request.query_params.get("app", "")
        launch = secrets.token_urlsafe(16)
        self.launches[launch] = pid
        href = app + "?" + urlencode({"iss": self.iss, "launch": launch})
        name = _name(self.patients[pid][0])
        return HTMLResponse(
            f"<!doctype html><title>Test EHR</title><h1>Test EHR: {escape(name)}</h1>"
            f"<p>Patient id <code>{escape(pid)}</code>, signed in as {self.practitioner}</p>"
            f'<p><a id="launch-neurodose" href="{escape(href)}">Open in neurodose</a></p>'
        )

    async def configuration(self, request: Request) -> Response:
        return _merged(
            {
                "issuer": self.base,
                "jwks_uri": self.base + "/auth/jwks",
                "authorization_endpoint": self.base + "/auth/authorize",
                "token_endpoint": self.base + "/auth/token",
                "grant_types_supported": ["authorization_code"],
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "fhirUser", "launch", "launch/patient"],
                "capabilities": [
                    "launch-ehr",
                    "launch-standalone",
                    "client-public",
                    "context-ehr-patient",
                    "context-standalone-patient",
                    "sso-openid-connect",
                    "permission-v2",
                    "permission-patient",
                ],
            },
            self.config_extra,
        )

    async def openid_configuration(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.base,
                "jwks_uri": self.base + "/auth/jwks",
                "authorization_endpoint": self.base + "/auth/authorize",
                "token_endpoint": self.base + "/auth/token",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    def jwk(self) -> dict[str, Any]:
        """The public JWK of the signing key."""
        import json

        return {**json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key())), "kid": self.kid}

    async def jwks(self, request: Request) -> Response:
        if self.jwks_body is not None:
            body = self.jwks_body
            chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
            return StreamingResponse(chunks, media_type="application/json")
        return JSONResponse({"keys": [self.jwk()]})

    def _sign(self, claims: dict[str, Any]) -> str:
        if self.sign is not None:
            return self.sign(claims)
        return jwt.encode(claims, self.rsa, algorithm="RS256", headers={"kid": self.kid})

    def _authorize_problem(self, q: Any) -> str | None:
        scopes = q.get("scope", "").split()
        if q.get("response_type") != "code":
            return "unsupported_response_type"
        if q.get("aud") != self.iss or not q.get("state"):
            return "invalid_request"
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43:
            return "invalid_request"
        if "launch" in scopes and q.get("launch") not in self.launches:
            return "invalid_request"
        if "launch" not in scopes and "launch/patient" not in scopes:
            return "invalid_scope"
        return None

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") != self.redirect_uri:
            return HTMLResponse("<h1>Unknown client or redirect_uri</h1>", status_code=400)
        problem = self._authorize_problem(q)
        if problem:
            back = urlencode({"error": problem, "state": q.get("state", "")})
            return RedirectResponse(f"{self.redirect_uri}?{back}", status_code=302)
        fixed = self.launches.get(q.get("launch", ""))
        hidden = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in q.items()
        )
        if fixed:
            who = f"<p>Patient in context: <b>{escape(_name(self.patients[fixed][0]))}</b></p>"
        else:
            opts = "".join(
                f'<option value="{escape(p)}">{escape(_name(r[0]))} ({escape(p)})</option>'
                for p, r in self.patients.items()
            )
            who = f'<label for="pick">Patient</label><select id="pick" name="pick">{opts}</select>'
        return HTMLResponse(
            "<!doctype html><title>Authorize</title><h1>Test EHR: authorize neurodose</h1>"
            f"<p>The app <b>{escape(CLIENT_ID)}</b> asks for: <code>{escape(q['scope'])}</code></p>"
            f'<form method="post" action="/auth/approve">{hidden}{who}'
            '<button id="approve" type="submit">Authorize</button></form>'
        )

    async def approve(self, request: Request) -> Response:
        f = await request.form()
        q = {k: str(v) for k, v in f.items()}
        problem = self._authorize_problem(q) if q.get("redirect_uri") == self.redirect_uri else "x"
        if problem or q.get("client_id") != CLIENT_ID:
            return HTMLResponse("<h1>Bad request</h1>", status_code=400)
        patient = self.launches.get(q.get("launch", "")) or q.get("pick", "")
        if patient not in self.patients:
            return HTMLResponse("<h1>Unknown patient</h1>", status_code=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
            "client_id": q["client_id"],
            "scope": q["scope"],
            "patient": patient,
            "exp": time.time() + 60,
            "nonce": q.get("nonce"),
            "used": False,
        }
        back = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{self.redirect_uri}?{back}", status_code=302)

    async def token(self, request: Request) -> Response:
        f = {k: str(v) for k, v in (await request.form()).items()}
        grant = self.codes.get(f.get("code", ""))
        bad = JSONResponse({"error": "invalid_grant"}, status_code=400)
        if f.get("grant_type") != "authorization_code" or grant is None:
            return bad
        if grant["used"] or grant["exp"] < time.time():
            return bad
        grant["used"] = True  # a code is good once, even when this exchange fails
        same = f.get("redirect_uri") == grant["redirect_uri"]
        if not same or f.get("client_id") != grant["client_id"]:
            return bad
        verifier = f.get("code_verifier", "")
        if not _VERIFIER.fullmatch(verifier) or s256(verifier) != grant["challenge"]:
            return bad
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant["patient"]
        now = int(time.time())
        claims = {
            "iss": self.base,
            "sub": self.practitioner.rsplit("/", 1)[-1],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "fhirUser": f"{self.iss}/{self.practitioner}",
            "nonce": grant["nonce"],
        }
        claims = {k: v for k, v in {**claims, **self.claims_extra}.items() if v is not None}
        id_token = self._sign(claims)
        self.id_tokens.append(id_token)
        return _merged(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": grant["scope"],
                "patient": grant["patient"],
                "id_token": id_token,
                "need_patient_banner": False,
            },
            self.token_extra,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _reader(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None

    async def read_patient(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        if self._reader(request) != pid:
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
        return JSONResponse(self.patients[pid][0])

    async def search(self, request: Request) -> Response:
        pid = request.query_params.get("patient", "")
        if self._reader(request) != pid or pid not in self.patients:
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
        kind = request.path_params["kind"]
        found = [r for r in self.patients[pid] if r["resourceType"] == kind]
        return JSONResponse(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
                "entry": [{"resource": r} for r in found],
            }
        )

    def app(self) -> Starlette:
        async def record(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests.append(scope["path"])
            await inner(scope, receive, send)

        inner = Starlette(
            routes=[
                Route("/ehr", self.chart),
                Route("/fhir/.well-known/smart-configuration", self.configuration),
                Route("/.well-known/openid-configuration", self.openid_configuration),
                Route("/auth/jwks", self.jwks),
                Route("/auth/authorize", self.authorize),
                Route("/auth/approve", self.approve, methods=["POST"]),
                Route("/auth/token", self.token, methods=["POST"]),
                Route("/fhir/Patient/{pid}", self.read_patient),
                Route("/fhir/{kind}", self.search),
            ]
        )
        return record  # type: ignore[return-value]

    def start(self) -> EHR:
        from neurodose.service.cds.samples import load_samples

        for sample in load_samples(SAMPLES)[:3]:
            self.patients[sample.patient_id] = [
                r
                for r in sorted(sample.resources, key=lambda r: r["resourceType"] != "Patient")
                if r["resourceType"] in ("Patient", "Condition", "MedicationRequest", "Observation")
            ]
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        threading.Thread(target=self.server.run, daemon=True).start()
        t0 = time.monotonic()
        while not self.server.started:
            if time.monotonic() - t0 > 30:
                raise RuntimeError("the test EHR did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True


def _merged(body: dict[str, Any], extra: dict[str, Any], **kw: Any) -> JSONResponse:
    """``body`` with ``extra`` over it (a ``None`` in ``extra`` removes the field)."""
    out = {k: v for k, v in {**body, **extra}.items() if v is not None}
    return JSONResponse(out, **kw)


def _name(patient: dict[str, Any]) -> str:
    names = patient.get("name") or [{}]
    n = names[0]
    return " ".join([*n.get("given", []), n.get("family", "")]).strip() or patient.get("id", "?")


@dataclass
class SmartWorld:
    """A clinic (``neurodose serve``) registered with a running test EHR, and the user
    ``gp`` of clinic ``default``."""

    clinic: Any
    ehr: EHR

    def stop(self) -> None:
        self.clinic.stop()
        self.ehr.stop()


def smart_world(folder: Path, db_url: str = "", **env: str) -> SmartWorld:
    """Start the EHR and a clinic registered with it (``db_url``: default SQLite in
    ``folder``; ``env``: more clinic settings)."""
    import json

    from .conftest import Server, sqlite_url

    clinic = Server(db_url or sqlite_url(folder), folder)
    ehr = EHR(redirect_uri=clinic.url + "/smart/callback").start()
    reg = folder / "smart-issuers.json"
    reg.write_text(json.dumps({"issuers": [{"iss": ehr.iss, "client_id": CLIENT_ID}]}))
    # the tests launch many times from one address: no rate limit unless a test sets one
    limits = {"NEURODOSE_SMART_RATE_LIMIT": "100000"}
    clinic.env_extra.update(NEURODOSE_SMART_ISSUERS=str(reg), **{**limits, **env})
    clinic.add_user("gp")
    try:
        clinic.start()
    except Exception:
        ehr.stop()
        raise
    return SmartWorld(clinic, ehr)
