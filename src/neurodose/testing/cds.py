"""A CDS Hooks conformance kit that plays an EHR (``neurodose cds-check URL``).

It reads the target's discovery document and tests every service it declares,
whatever its ids and prefetch keys (HL7 CDS Hooks 2.0):

- **discovery**: a ``services`` list; each service with ``id`` (URL-safe, unique),
  ``hook`` (a CDS Hooks hook), ``description``, a ``prefetch`` of relative FHIR query
  templates;
- **cards** from every sample patient (examples/cds) sent with the prefetch its
  templates ask for (:mod:`neurodose.testing.cds_rules`: summary under 140 characters,
  indicator, ``source.label``, uuid, links, suggestions, actions, FHIR-valid resources,
  ``systemActions``);
- **security**: a request without a token, unsigned (``alg: none``), expired, for
  another audience, from an unknown issuer, signed with the wrong key, or replayed
  (same ``jti``) must get 401 (or 403);
- **prefetch**: without prefetch and without ``fhirServer`` 412; without prefetch and
  with ``fhirServer`` the service reads the local FHIR server the kit serves, with the
  bearer token, and does not echo it;
- **errors**: malformed JSON, a missing ``hook``/``hookInstance``/``context``, a hook
  the service does not serve: 400 (never 5xx); an unknown service: 404;
- **CORS** preflight from the client's origin; **feedback** accepted (200) and a bad
  outcome refused (400).

Every request is signed with the test client key (ES384, ``kid``, ``jti``, 5-minute
``exp``, ``aud`` the URL called). Any exception inside a check is a failed check with its
message; the report is text, JSON or JUnit XML (:mod:`neurodose.testing.cds_report`).
With ``expect=True`` the order-sign services must also give each sample's expected
rules (``source.topic.code``) and worst indicator (the neurodose examples).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from neurodose.service.cds.samples import Sample, bundle, load_samples, prefetch_for, shift_dates
from neurodose.testing.cds_report import FORMATS, CheckResult, Report
from neurodose.testing.cds_rules import (
    INDICATORS,
    action_problems,
    card_problems,
    discovery_problems,
    link_problem,
    response_problems,
)

__all__ = [
    "FORMATS",
    "CheckResult",
    "ClientKey",
    "Report",
    "card_problems",
    "hook_request",
    "load_samples",
    "make_client_key",
    "prefetch_for",
    "prefetch_from_templates",
    "run_checks",
    "shift_dates",
]

# the rule functions under their former names (tests and callers of the old module)
_action_problems = action_problems
_link_problem = link_problem
_response_problems = response_problems

DEFAULT_ORIGIN = "https://ehr.test"
_REFUSED = (401, 403)


@dataclass(frozen=True)
class ClientKey:
    """A test EHR's signing key: issuer, key id, the private JWK, the FHIR server the kit
    serves for the fetch check, and the EHR's web origin (for CORS)."""

    iss: str
    kid: str
    private_jwk: dict[str, Any]
    fhir_server: str | None = None
    origin: str = DEFAULT_ORIGIN

    @classmethod
    def load(cls, path: str | Path) -> ClientKey:
        """Read a key file written by :func:`make_client_key`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            iss=d["iss"],
            kid=d["kid"],
            private_jwk=d["private_jwk"],
            fhir_server=d.get("fhir_server"),
            origin=d.get("origin", DEFAULT_ORIGIN),
        )

    def claims(self, aud: str, *, lifetime_s: int = 300, **extra: Any) -> dict[str, Any]:
        """The claims of a token for ``aud`` (``iss``, ``aud``, ``iat``, ``exp``, ``jti``)."""
        now = int(time.time())
        iat = now if lifetime_s > 0 else now + lifetime_s - 300
        return {
            "iss": self.iss,
            "aud": aud,
            "iat": iat,
            "exp": now + lifetime_s,
            "jti": str(uuid.uuid4()),
            **extra,
        }

    def sign(self, aud: str, *, lifetime_s: int = 300, **claims: Any) -> str:
        """A JWT for ``aud`` (ES384; ``iss``, ``aud``, ``iat``, ``exp``, ``jti``)."""
        body = self.claims(aud, lifetime_s=lifetime_s, **claims)
        key = jwt.PyJWK(self.private_jwk, algorithm="ES384").key
        return jwt.encode(body, key, algorithm="ES384", headers={"kid": self.kid, "typ": "JWT"})


def _forged_tokens(key: ClientKey, aud: str) -> dict[str, str]:
    """Tokens a service must refuse, by what is wrong with them."""
    other = ec.generate_private_key(ec.SECP384R1())
    hdr = {"kid": key.kid, "typ": "JWT"}
    return {
        "unsigned (alg none)": jwt.encode(key.claims(aud), "", algorithm="none", headers=hdr),
        "expired": key.sign(aud, lifetime_s=-120),
        "for another audience": key.sign("https://wrong-audience.test/cds-services"),
        "from an unknown issuer": key.sign(aud, iss="https://unknown-issuer.test"),
        "signed with the wrong key": jwt.encode(
            key.claims(aud), other, algorithm="ES384", headers=hdr
        ),
    }


def make_client_key(
    directory: str | Path,
    iss: str = "https://ehr.test/neurodose-cds-check",
    origin: str = DEFAULT_ORIGIN,
) -> tuple[Path, Path]:
    """Write ``client-key.json`` (private, mode 600) and ``cds-clients.json`` (public JWKS).

    Give the second to the server (``--cds-clients``) and the first to ``cds-check --key``.
    Both name the local FHIR server the kit serves for the fetch check
    (``http://127.0.0.1:PORT``, a port free now), registered as this client's
    ``fhir_servers``: the service must fetch only from a registered server; and the
    EHR's web ``origin`` for the CORS check.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    priv = ec.generate_private_key(ec.SECP384R1())
    kid = uuid.uuid4().hex[:16]
    private_jwk = json.loads(ECAlgorithm.to_jwk(priv))
    public_jwk = json.loads(ECAlgorithm.to_jwk(priv.public_key()))
    private_jwk.update({"kid": kid, "alg": "ES384", "use": "sig"})
    public_jwk.update({"kid": kid, "alg": "ES384", "use": "sig"})
    key_file = d / "client-key.json"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        fhir = f"http://127.0.0.1:{sock.getsockname()[1]}"
    key_file.write_text(
        json.dumps(
            {
                "iss": iss,
                "kid": kid,
                "private_jwk": private_jwk,
                "fhir_server": fhir,
                "origin": origin,
            },
            indent=1,
        )
    )
    key_file.chmod(0o600)
    clients = d / "cds-clients.json"
    client = {
        "iss": iss,
        "jwks": {"keys": [public_jwk]},
        "fhir_servers": [fhir],
        "origins": [origin],
    }
    clients.write_text(json.dumps({"clients": [client]}, indent=1))
    return key_file, clients


# ---------------------------------------------------------------------- requests

_ORDER_HOOKS = ("order-select", "order-sign", "order-dispatch")


def hook_request(sample: Sample, hook: str, *, prefetch: dict[str, Any] | None) -> dict[str, Any]:
    """A hook call body for ``sample`` (the context the hook defines)."""
    ctx: dict[str, Any] = {"userId": "Practitioner/cds-check", "patientId": sample.patient_id}
    if hook in _ORDER_HOOKS:
        ctx["draftOrders"] = bundle([sample.order], "collection")
    if hook == "order-select":
        ctx["selections"] = [f"MedicationRequest/{sample.order['id']}"]
    if hook.startswith("encounter-"):
        ctx["encounterId"] = "cds-check-encounter"
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": ctx}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def _template_value(template: str, sample: Sample) -> Any:
    """What an EHR would send for one prefetch template: a read gives the resource (or
    null), a search a searchset Bundle of the sample's resources of that type (the
    ``status`` parameter applied)."""
    path, _, query = template.partition("?")
    rtype = path.split("/")[0]
    of_type = [r for r in sample.resources if r.get("resourceType") == rtype]
    if "/" in path:
        return of_type[0] if of_type else None
    status = parse_qs(query).get("status")
    if status:
        allowed = set(status[0].split(","))
        of_type = [r for r in of_type if r.get("status") in allowed]
    return bundle(of_type)


def prefetch_from_templates(templates: Any, sample: Sample) -> dict[str, Any]:
    """The full prefetch for ``sample`` under a service's declared templates."""
    if not isinstance(templates, dict):
        return {}
    return {
        k: _template_value(t, sample)
        for k, t in templates.items()
        if isinstance(k, str) and isinstance(t, str)
    }


# ----------------------------------------------------------------------- FHIR stub


class _Stub(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *_a: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        st = self.server
        if self.headers.get("Authorization") != f"Bearer {st.token}":
            self._send(
                401,
                {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "login"}],
                },
            )
            return
        st.hits += 1
        parts = urlsplit(self.path)
        path = parts.path.strip("/").split("/")
        q = parse_qs(parts.query)
        res: list[dict[str, Any]] = st.resources
        if len(path) == 2:
            hit = [r for r in res if r["resourceType"] == path[0] and r.get("id") == path[1]]
            if hit:
                self._send(200, hit[0])
            else:
                self._send(
                    404,
                    {
                        "resourceType": "OperationOutcome",
                        "issue": [{"severity": "error", "code": "not-found"}],
                    },
                )
            return
        rtype = path[0]
        items = [r for r in res if r["resourceType"] == rtype]
        if "status" in q:
            allowed = set(q["status"][0].split(","))
            items = [r for r in items if r.get("status") in allowed]
        self._send(200, bundle(items))

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def fhir_stub(resources: list[dict[str, Any]], token: str, port: int = 0) -> Iterator[Any]:
    """A local FHIR server (reads and searches of ``resources``) that demands ``token``
    (on ``port``; 0: any free port)."""
    srv: Any = ThreadingHTTPServer(("127.0.0.1", port), _Stub)
    srv.resources, srv.token, srv.hits = resources, token, 0
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


# ------------------------------------------------------------------------ the run


@dataclass(frozen=True)
class Target:
    """One declared service: its id, hook, prefetch templates and URL path."""

    id: str
    hook: str
    prefetch: dict[str, str]

    @property
    def path(self) -> str:
        return f"/cds-services/{self.id}"


class _Caller:
    """Calls to one CDS Hooks base URL, each signed with the client key unless told."""

    def __init__(self, http: httpx.Client, base: str, key: ClientKey, rep: Report) -> None:
        self.http, self.base, self.key, self.rep = http, base, key, rep

    def __call__(
        self, path: str, body: Any = None, *, token: str | None = "sign", raw: bytes | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if token == "sign":
            headers["Authorization"] = "Bearer " + self.key.sign(self.base + path)
        elif token:
            headers["Authorization"] = "Bearer " + token
        t0 = time.perf_counter()
        if body is None and raw is None:
            r = self.http.get(self.base + path, headers=headers)
        else:
            r = self.http.post(
                self.base + path,
                content=raw if raw is not None else json.dumps(body),
                headers=headers,
            )
        if body is not None and path.count("/") == 2 and r.status_code == 200:
            self.rep.timings_ms.append(1000 * (time.perf_counter() - t0))
        return r


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def _status(r: httpx.Response, want: tuple[int, ...]) -> list[str]:
    return [] if r.status_code in want else [f"status {r.status_code} (expected {want})"]


def _expecting(
    call: _Caller,
    path: str,
    want: tuple[int, ...],
    body: Any,
    *,
    token: str | None = "sign",
    raw: bytes | None = None,
) -> Callable[[], list[str]]:
    """A check that one call gets one of the statuses ``want``."""
    return lambda: _status(call(path, body, token=token, raw=raw), want)


def _discover(call: _Caller, rep: Report) -> list[Target]:
    """Read discovery and check it; the services to test (those with an id and a hook)."""
    found: list[Target] = []

    def check() -> list[str]:
        r = call("/cds-services")
        if r.status_code != 200:
            return [f"status {r.status_code}"]
        doc = _json(r)
        problems = discovery_problems(doc)
        for s in doc.get("services", []) if isinstance(doc, dict) else []:
            if isinstance(s, dict) and isinstance(s.get("id"), str) and s.get("id"):
                pre = s.get("prefetch")
                templates = (
                    {str(k): str(v) for k, v in pre.items()} if isinstance(pre, dict) else {}
                )
                found.append(Target(s["id"], str(s.get("hook") or ""), templates))
        if not found:
            problems.append("discovery declares no service with an id")
        return problems

    rep.check("discovery document conforms", "discovery", check)
    return found


def _card_rules(r: httpx.Response) -> list[str]:
    if r.status_code != 200:
        return [f"status {r.status_code}: {r.text[:120]}"]
    return response_problems(_json(r))


def _expect_problems(s: Sample, data: dict[str, Any]) -> list[str]:
    """The sample's expected rules (``source.topic.code``) and worst indicator."""
    topics = {(c.get("source") or {}).get("topic", {}).get("code") for c in data["cards"]}
    out = [f"missing rule {m}" for m in s.expect_rules if m not in topics]
    worst = max((INDICATORS.index(c["indicator"]) for c in data["cards"]), default=-1)
    if worst < 0 or INDICATORS[worst] != s.expect_indicator:
        got = INDICATORS[worst] if worst >= 0 else None
        out.append(f"worst indicator {got}, expected {s.expect_indicator}")
    return out


def _check_cards(
    call: _Caller, rep: Report, t: Target, samples: list[Sample], expect: bool
) -> list[dict[str, Any]]:
    """Every sample with the full prefetch the service asks for; the cards it issued."""
    issued: list[dict[str, Any]] = []
    for s in samples:

        def check(s: Sample = s) -> list[str]:
            body = hook_request(s, t.hook, prefetch=prefetch_from_templates(t.prefetch, s))
            r = call(t.path, body)
            problems = _card_rules(r)
            if problems:
                return problems
            data = _json(r)
            issued.extend(c for c in data["cards"] if isinstance(c, dict))
            if expect and t.hook == "order-sign":
                return _expect_problems(s, data)
            return []

        label = "cards conform" + (" and carry the expected rules" if expect else "")
        rep.check(f"{t.id}: {s.name}: {label}", "cards", check)
    return issued


def _check_security(call: _Caller, rep: Report, t: Target, s: Sample) -> None:
    """Requests with no, forged or replayed tokens are refused (401/403)."""
    body = hook_request(s, t.hook, prefetch=prefetch_from_templates(t.prefetch, s))
    aud = call.base + t.path
    rep.check(
        f"{t.id}: no JWT: refused",
        "security",
        lambda: _status(call(t.path, body, token=None), _REFUSED),
    )
    for what, tok in _forged_tokens(call.key, aud).items():
        rep.check(
            f"{t.id}: JWT {what}: refused",
            "security",
            _expecting(call, t.path, _REFUSED, body, token=tok),
        )

    def replay() -> list[str]:
        tok = call.key.sign(aud)
        r1, r2 = call(t.path, body, token=tok), call(t.path, body, token=tok)
        if r1.status_code != 200:
            return [f"first use: status {r1.status_code}"]
        return _status(r2, _REFUSED)

    rep.check(f"{t.id}: replayed jti: refused", "security", replay)


def _fhir_authorization(token: str) -> dict[str, Any]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-check",
    }


def _check_prefetch(call: _Caller, rep: Report, t: Target, s: Sample) -> None:
    """Without prefetch: 412 with no fhirServer; a fetch with the token with one."""
    if not t.prefetch:
        return
    rep.check(
        f"{t.id}: no prefetch and no fhirServer: 412",
        "prefetch",
        lambda: _status(call(t.path, hook_request(s, t.hook, prefetch=None)), (412,)),
    )

    def fetch() -> list[str]:
        token = uuid.uuid4().hex
        port = urlsplit(call.key.fhir_server).port if call.key.fhir_server else None
        with fhir_stub(s.resources, token, port or 0) as stub:
            body = hook_request(s, t.hook, prefetch=None)
            body["fhirServer"] = (
                call.key.fhir_server or f"http://127.0.0.1:{stub.server_address[1]}"
            )
            body["fhirAuthorization"] = _fhir_authorization(token)
            r = call(t.path, body)
            problems = _card_rules(r)
            if stub.hits == 0:
                problems.append("the FHIR server was not read with the bearer token")
            if token in r.text:
                problems.append("the fhirAuthorization token was echoed")
            return problems

    rep.check(f"{t.id}: no prefetch: reads fhirServer with the token", "prefetch", fetch)


def _bad_bodies(t: Target, s: Sample) -> list[tuple[str, Any, bytes | None]]:
    """(name, body, raw bytes) of each malformed call the service must refuse with 400."""
    good = hook_request(s, t.hook, prefetch=prefetch_from_templates(t.prefetch, s))
    out: list[tuple[str, Any, bytes | None]] = [("malformed JSON", None, b'{"hook": ')]
    for field_ in ("hook", "hookInstance", "context"):
        b = copy.deepcopy(good)
        del b[field_]
        out.append((f"no {field_}", b, None))
    b = copy.deepcopy(good)
    b["hook"] = "patient-view" if t.hook != "patient-view" else "order-sign"
    out.append(("a hook the service does not serve", b, None))
    return out


def _check_errors(call: _Caller, rep: Report, t: Target, s: Sample) -> None:
    """Bad input: 400, never 5xx; an unknown service: 404."""
    for name, body, raw in _bad_bodies(t, s):
        rep.check(
            f"{t.id}: {name}: 400",
            "errors",
            _expecting(call, t.path, (400,), body, raw=raw),
        )


def _check_cors(call: _Caller, rep: Report, t: Target) -> None:
    """A CORS preflight from the client's origin is allowed, Authorization included."""

    def check() -> list[str]:
        r = call.http.options(
            call.base + t.path,
            headers={
                "Origin": call.key.origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        p = _status(r, (200, 204))
        if r.headers.get("access-control-allow-origin") not in (call.key.origin, "*"):
            p.append(f"Access-Control-Allow-Origin is not {call.key.origin}")
        allowed = r.headers.get("access-control-allow-headers", "").lower()
        if "authorization" not in allowed and allowed != "*":
            p.append("Access-Control-Allow-Headers does not allow Authorization")
        return p

    rep.check(f"{t.id}: CORS preflight from {call.key.origin}", "cors", check)


def _feedback_items(issued: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An override of a card (with a reason it offers) and an accepted suggestion."""
    now = dt.datetime.now(dt.UTC).isoformat()
    with_uuid = [c for c in issued if isinstance(c.get("uuid"), str)]
    if not with_uuid:
        return []
    crit = next((c for c in with_uuid if c.get("overrideReasons")), with_uuid[0])
    item: dict[str, Any] = {"card": crit["uuid"], "outcome": "overridden", "outcomeTimestamp": now}
    if crit.get("overrideReasons"):
        item["overrideReason"] = {"reason": crit["overrideReasons"][0], "userComment": "cds-check"}
    fb = [item]
    sugg = next((c for c in with_uuid if c.get("suggestions")), None)
    if sugg is not None and isinstance(sugg["suggestions"][0], dict):
        fb.append(
            {
                "card": sugg["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": sugg["suggestions"][0].get("uuid")}],
                "outcomeTimestamp": now,
            }
        )
    return fb


def _check_feedback(call: _Caller, rep: Report, t: Target, issued: list[dict[str, Any]]) -> None:
    fb = _feedback_items(issued)
    if not fb:
        return
    path = t.path + "/feedback"
    rep.check(
        f"{t.id}: feedback accepted",
        "feedback",
        lambda: _status(call(path, {"feedback": fb}), (200,)),
    )
    bad = [{**fb[0], "outcome": "maybe"}]
    rep.check(
        f"{t.id}: feedback with outcome 'maybe': 400",
        "feedback",
        lambda: _status(call(path, {"feedback": bad}), (400,)),
    )


def _check_service(
    call: _Caller, rep: Report, t: Target, samples: list[Sample], expect: bool
) -> list[dict[str, Any]]:
    issued = _check_cards(call, rep, t, samples, expect)
    s = samples[0]
    steps: list[Callable[[], None]] = [
        lambda: _check_security(call, rep, t, s),
        lambda: _check_prefetch(call, rep, t, s),
        lambda: _check_errors(call, rep, t, s),
        lambda: _check_cors(call, rep, t),
        lambda: _check_feedback(call, rep, t, issued),
    ]
    for step in steps:
        step()
    return issued


def _pick(samples: list[Sample]) -> list[Sample]:
    """The samples, the one with the most resources first (for the single-sample checks)."""
    return sorted(samples, key=lambda s: -len(s.resources))


def run_checks(
    url: str,
    key: ClientKey,
    samples_dir: str | Path,
    *,
    timeout_s: float = 60.0,
    today: dt.date | None = None,
    expect: bool = False,
) -> Report:
    """Run every check against the CDS Hooks base URL ``url`` (see the module docstring).

    Never raises for what the target does: a check that cannot complete is a failed check.
    """
    base = url.rstrip("/")
    rep = Report(base)
    samples: list[Sample] = []

    def read_samples() -> list[str]:
        samples.extend(_pick(load_samples(samples_dir, today)))
        return [] if samples else [f"no sample patients in {samples_dir}"]

    rep.check("sample patients readable", "kit", read_samples)
    if not samples:
        return rep
    with httpx.Client(timeout=timeout_s) as http:
        call = _Caller(http, base, key, rep)
        targets = _discover(call, rep)
        for t in targets:
            _check_service(call, rep, t, samples, expect)
        rep.check(
            "an unknown service: 404",
            "errors",
            lambda: _status(
                call(f"/cds-services/no-such-service-{uuid.uuid4().hex[:8]}", {}), (404,)
            ),
        )
    return rep
