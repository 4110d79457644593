"""A CDS Hooks conformance harness that plays an EHR (``neurodose cds-check URL``).

It signs every request with a test client key (ES384, ``kid``, ``jti``, 5-minute
``exp``, like the CDS Hooks sandbox), sends the sample hooks (examples/cds) with a
full prefetch, without prefetch (the service must fetch from a local FHIR stub the
harness serves, passing the bearer token), and with neither (412); checks every
response against the CDS Hooks card rules (required fields, indicator enum,
summary under 140 characters, uuid, suggestion actions, selectionBehavior,
override-reason displays, link types); checks bad input (400, one line), missing
and replayed tokens (401), and feedback; and prints a report.

The offline equivalent of the CDS Hooks sandbox plus Inferno's generic server
checks, which need a browser and the internet.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from neurodose.service.cds.hooks import SERVICES, service_for
from neurodose.service.cds.samples import Sample, bundle, load_samples, prefetch_for, shift_dates

__all__ = [
    "CheckResult",
    "ClientKey",
    "Report",
    "card_problems",
    "load_samples",
    "make_client_key",
    "prefetch_for",
    "run_checks",
    "shift_dates",
]

INDICATORS = ("info", "warning", "critical")
#: the service ids the harness calls, from the service registry
SERVICE_IDS = tuple(s.id for s in SERVICES)
#: the path of the service for each hook
_PATH = {
    h: f"/cds-services/{service_for(h).id}" for h in ("order-select", "order-sign", "patient-view")
}


@dataclass(frozen=True)
class ClientKey:
    """A test EHR's signing key: issuer, key id and the private JWK."""

    iss: str
    kid: str
    private_jwk: dict[str, Any]
    fhir_server: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> ClientKey:
        """Read a key file written by :func:`make_client_key`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            iss=d["iss"],
            kid=d["kid"],
            private_jwk=d["private_jwk"],
            fhir_server=d.get("fhir_server"),
        )

    def sign(self, aud: str, *, lifetime_s: int = 300, **claims: Any) -> str:
        """A JWT for ``aud`` (ES384; ``iss``, ``aud``, ``iat``, ``exp``, ``jti``)."""
        now = int(time.time())
        body = {
            "iss": self.iss,
            "aud": aud,
            "iat": now,
            "exp": now + lifetime_s,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        key = jwt.PyJWK(self.private_jwk, algorithm="ES384").key
        return jwt.encode(body, key, algorithm="ES384", headers={"kid": self.kid, "typ": "JWT"})


def make_client_key(
    directory: str | Path, iss: str = "https://ehr.test/neurodose-cds-check"
) -> tuple[Path, Path]:
    """Write ``client-key.json`` (private, mode 600) and ``cds-clients.json`` (public JWKS).

    Give the second to the server (``--cds-clients``) and the first to ``cds-check --key``.
    Both name the local FHIR server the kit serves for the fetch check
    (``http://127.0.0.1:PORT``, a port free now), registered as this client's
    ``fhir_servers``: the service must fetch only from a registered server.
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
            {"iss": iss, "kid": kid, "private_jwk": private_jwk, "fhir_server": fhir}, indent=1
        )
    )
    key_file.chmod(0o600)
    clients = d / "cds-clients.json"
    clients.write_text(
        json.dumps(
            {"clients": [{"iss": iss, "jwks": {"keys": [public_jwk]}, "fhir_servers": [fhir]}]},
            indent=1,
        )
    )
    return key_file, clients


# ------------------------------------------------------------------------- checks


def _summary_problems(card: dict[str, Any]) -> list[str]:
    s = card.get("summary")
    if not isinstance(s, str) or not s:
        return ["summary missing"]
    if len(s) >= 140:
        return [f"summary has {len(s)} characters (must be under 140)"]
    return []


def _source_problems(card: dict[str, Any]) -> list[str]:
    src = card.get("source")
    if not isinstance(src, dict) or not isinstance(src.get("label"), str) or not src["label"]:
        return ["source.label missing"]
    t = src.get("topic")
    if t is not None and not (isinstance(t, dict) and t.get("code") and t.get("system")):
        return ["source.topic is not a Coding with system and code"]
    return []


def _action_problems(a: Any, at: str) -> list[str]:
    """One suggestion action (``at`` names it, e.g. ``suggestions[0].actions[1]``)."""
    if not isinstance(a, dict) or a.get("type") not in ("create", "update", "delete"):
        return [f"{at}.type not create|update|delete"]
    p = []
    if not isinstance(a.get("description"), str):
        p.append(f"{at}.description missing")
    if a["type"] in ("create", "update") and not isinstance(a.get("resource"), dict):
        p.append(f"{at}.resource missing for {a['type']}")
    if a["type"] == "delete" and not (a.get("resourceId") or a.get("resource")):
        p.append(f"{at} delete without resourceId")
    return p


def _suggestion_problems(card: dict[str, Any]) -> list[str]:
    sugg = card.get("suggestions")
    if sugg is None:
        return []
    if not isinstance(sugg, list):
        return ["suggestions is not a list"]
    p = []
    if card.get("selectionBehavior") not in ("at-most-one", "any"):
        p.append("selectionBehavior missing or not at-most-one|any with suggestions")
    for i, sg in enumerate(sugg):
        if not isinstance(sg, dict) or not isinstance(sg.get("label"), str):
            p.append(f"suggestions[{i}].label missing")
            continue
        if not isinstance(sg.get("uuid"), str):
            p.append(f"suggestions[{i}].uuid missing")
        for j, a in enumerate(sg.get("actions") or []):
            p += _action_problems(a, f"suggestions[{i}].actions[{j}]")
    return p


def _link_problem(ln: Any, at: str) -> str | None:
    """One link (``at`` names it, e.g. ``links[0]``)."""
    if not isinstance(ln, dict) or not all(isinstance(ln.get(k), str) for k in ("label", "url")):
        return f"{at} needs label and url"
    if ln.get("type") not in ("absolute", "smart"):
        return f"{at}.type not absolute|smart"
    if ln.get("appContext") is not None and ln["type"] != "smart":
        return f"{at}.appContext only on smart links"
    return None


def card_problems(card: Any) -> list[str]:
    """What a card breaks of the CDS Hooks card rules (empty when it conforms)."""
    if not isinstance(card, dict):
        return ["card is not an object"]
    p = _summary_problems(card)
    if card.get("indicator") not in INDICATORS:
        p.append(f"indicator {card.get('indicator')!r} not in {INDICATORS}")
    p += _source_problems(card)
    if not isinstance(card.get("uuid"), str) or not card["uuid"]:
        p.append("uuid missing (needed for feedback)")
    if "detail" in card and not isinstance(card["detail"], str):
        p.append("detail is not a string")
    p += _suggestion_problems(card)
    for i, r in enumerate(card.get("overrideReasons") or []):
        if not (isinstance(r, dict) and r.get("code") and r.get("system") and r.get("display")):
            p.append(f"overrideReasons[{i}] needs system, code and display")
    for i, ln in enumerate(card.get("links") or []):
        problem = _link_problem(ln, f"links[{i}]")
        if problem is not None:
            p.append(problem)
    return p


def _response_problems(data: Any) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("cards"), list):
        return ["response has no cards list"]
    out = []
    for i, c in enumerate(data["cards"]):
        out += [f"cards[{i}]: {m}" for m in card_problems(c)]
    return out


def hook_request(sample: Sample, hook: str, *, prefetch: dict[str, Any] | None) -> dict[str, Any]:
    """A hook call body for ``sample``."""
    ctx: dict[str, Any] = {"userId": "Practitioner/cds-check", "patientId": sample.patient_id}
    if hook in ("order-select", "order-sign"):
        ctx["draftOrders"] = bundle([sample.order], "collection")
    if hook == "order-select":
        ctx["selections"] = [f"MedicationRequest/{sample.order['id']}"]
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": ctx}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


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
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


# ------------------------------------------------------------------------ the run


@dataclass
class CheckResult:
    """One check: name, pass/fail, message."""

    name: str
    ok: bool
    message: str = ""


@dataclass
class Report:
    """All checks of one run."""

    url: str
    results: list[CheckResult] = field(default_factory=list)
    timings_ms: list[float] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(r.ok for r in self.results) and bool(self.results)

    def add(self, name: str, ok: bool, message: str = "") -> None:
        """Record a check."""
        self.results.append(CheckResult(name, ok, message))

    def text(self) -> str:
        """The printed report."""
        lines = [f"neurodose cds-check {self.url}"]
        for r in self.results:
            lines.append(
                f"{'PASS' if r.ok else 'FAIL'}  {r.name}" + (f": {r.message}" if r.message else "")
            )
        n_ok = sum(r.ok for r in self.results)
        n_bad = len(self.results) - n_ok
        if self.timings_ms:
            ts = sorted(self.timings_ms)
            lines.append(
                f"hook calls: {len(ts)}, median {ts[len(ts) // 2]:.0f} ms, max {ts[-1]:.0f} ms"
            )
        lines.append(f"{n_ok} passed, {n_bad} failed")
        return "\n".join(lines)


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


def _check_discovery(call: _Caller, rep: Report) -> None:
    base, key = call.base, call.key
    r = call("/cds-services")
    ok = r.status_code == 200
    ids = {s.get("id"): s for s in r.json().get("services", [])} if ok else {}
    rep.add(
        "discovery answers 200 with the three services",
        ok and set(SERVICE_IDS) <= set(ids),
        f"status {r.status_code}",
    )
    for sid, s in ids.items():
        miss = [k for k in ("hook", "id", "description") if not s.get(k)]
        rep.add(f"discovery: {sid} has hook, id, description", not miss, ", ".join(miss))
    r = call("/cds-services", token=None)
    rep.add(
        "discovery without a JWT: bare 401",
        r.status_code == 401 and not r.content,
        f"status {r.status_code}",
    )
    tok = key.sign(base + "/cds-services")
    r1 = call("/cds-services", token=tok)
    r2 = call("/cds-services", token=tok)
    rep.add(
        "replayed jti: 401",
        r1.status_code == 200 and r2.status_code == 401,
        f"{r1.status_code}, {r2.status_code}",
    )
    r = call("/cds-services", token=key.sign(base + "/cds-services/other"))
    rep.add("JWT for another endpoint (aud): 401", r.status_code == 401, f"status {r.status_code}")


def _hook_problems(r: httpx.Response) -> list[str]:
    """The card problems of a hook answer, or its status where it is not 200."""
    return _response_problems(r.json()) if r.status_code == 200 else [f"status {r.status_code}"]


def _order_sign_message(s: Sample, data: dict[str, Any]) -> tuple[bool, str]:
    """Whether an order-sign answer conforms and carries the sample's rules and indicator."""
    probs = _response_problems(data)
    topics = {c["source"].get("topic", {}).get("code") for c in data["cards"]}
    missing = [x for x in s.expect_rules if x not in topics]
    worst = max((INDICATORS.index(c["indicator"]) for c in data["cards"]), default=-1)
    ind_ok = worst >= 0 and INDICATORS[worst] == s.expect_indicator
    msg = "; ".join(probs[:3] + [f"missing rule {m}" for m in missing])
    if not ind_ok:
        got = INDICATORS[worst] if worst >= 0 else None
        msg += f" worst indicator {got}, expected {s.expect_indicator}"
    return not probs and not missing and ind_ok, msg.strip()


def _check_sample(call: _Caller, rep: Report, s: Sample) -> list[dict[str, Any]]:
    """The three hooks for one sample, full prefetch; the order-sign cards it issued."""
    body = hook_request(s, "order-sign", prefetch=prefetch_for(s))
    r = call(_PATH["order-sign"], body)
    if r.status_code != 200:
        rep.add(f"{s.name}: order-sign", False, f"status {r.status_code}: {r.text[:200]}")
        return []
    data = r.json()
    ok, msg = _order_sign_message(s, data)
    rep.add(f"{s.name}: order-sign cards conform and carry {', '.join(s.expect_rules)}", ok, msg)
    r = call(_PATH["order-select"], hook_request(s, "order-select", prefetch=prefetch_for(s)))
    probs = _hook_problems(r)
    rep.add(f"{s.name}: order-select", not probs, "; ".join(probs[:3]))
    r = call(_PATH["patient-view"], hook_request(s, "patient-view", prefetch=prefetch_for(s)))
    probs = _hook_problems(r)
    if not probs and len(r.json()["cards"]) != 1:
        probs = [f"{len(r.json()['cards'])} cards (expected one summary card)"]
    rep.add(f"{s.name}: patient-view", not probs, "; ".join(probs[:3]))
    return list(data["cards"])


def _check_without_prefetch(call: _Caller, rep: Report, s: Sample) -> None:
    """Without prefetch the service must fetch from fhirServer with the token."""
    key = call.key
    token = uuid.uuid4().hex
    port = urlsplit(key.fhir_server).port if key.fhir_server else None
    with fhir_stub(s.resources, token, port or 0) as stub:
        body = hook_request(s, "order-sign", prefetch=None)
        body["fhirServer"] = key.fhir_server or f"http://127.0.0.1:{stub.server_address[1]}"
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "neurodose-cds",
        }
        r = call(_PATH["order-sign"], body)
        fetched: set[str] = (
            {c["source"].get("topic", {}).get("code") for c in r.json().get("cards", [])}
            if r.status_code == 200
            else set()
        )
        rep.add(
            f"no prefetch: fetched from fhirServer ({stub.hits} reads) with the same cards",
            r.status_code == 200 and set(s.expect_rules) <= fetched and stub.hits > 0,
            f"status {r.status_code}",
        )
        rep.add("fhirAuthorization token not echoed", token not in r.text)
    body = hook_request(s, "order-sign", prefetch=None)
    r = call(_PATH["order-sign"], body)
    rep.add("no prefetch and no fhirServer: 412", r.status_code == 412, f"status {r.status_code}")
    pre = prefetch_for(s)
    pre["medications"] = None
    pre["conditions"] = None
    r = call(_PATH["order-sign"], hook_request(s, "order-sign", prefetch=pre))
    rep.add("prefetch null = absent: 200", r.status_code == 200, f"status {r.status_code}")


def _bad_requests(s: Sample) -> list[tuple[str, Any, bytes | None]]:
    """(name, body, raw bytes) of each malformed order-sign call."""
    good = hook_request(s, "order-sign", prefetch=prefetch_for(s))
    bads: list[tuple[str, Any, bytes | None]] = [("malformed JSON", None, b"{not json")]
    b = copy.deepcopy(good)
    b["hook"] = "patient-view"
    bads.append(("hook not matching the service", b, None))
    b = copy.deepcopy(good)
    del b["context"]["patientId"]
    bads.append(("missing context.patientId", b, None))
    b = copy.deepcopy(good)
    del b["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"]
    bads.append(("draft order with no medication", b, None))
    b = copy.deepcopy(good)
    b["prefetch"]["medications"] = {"resourceType": "Patient", "id": s.patient_id}
    bads.append(("prefetch bundle that is not a Bundle", b, None))
    b = copy.deepcopy(good)
    b["prefetch"]["patient"] = {**b["prefetch"]["patient"], "birthDate": "yesterday"}
    bads.append(("FHIR resource failing validation", b, None))
    return bads


def _check_bad_input(call: _Caller, rep: Report, s: Sample) -> None:
    """Bad input: 400 with one line, never 500."""
    for name, bb, raw in _bad_requests(s):
        r = call(_PATH["order-sign"], bb, raw=raw)
        err = (
            r.json().get("error", "")
            if r.headers.get("content-type", "").startswith("application/json")
            else ""
        )
        ok = r.status_code == 400 and bool(err) and "\n" not in err and "Traceback" not in r.text
        rep.add(
            f"bad input ({name}): 400 with a one-line reason",
            ok,
            f"status {r.status_code}: {err[:120]}",
        )


def _feedback_for(
    crit: dict[str, Any] | None, with_sugg: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """An override of the critical card and an accepted suggestion (those there are)."""
    fb = []
    if crit is not None:
        fb.append(
            {
                "card": crit["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": crit["overrideReasons"][0],
                    "userComment": "cds-check",
                },
                "outcomeTimestamp": dt.datetime.now(dt.UTC).isoformat(),
            }
        )
    if with_sugg is not None:
        fb.append(
            {
                "card": with_sugg["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": with_sugg["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": dt.datetime.now(dt.UTC).isoformat(),
            }
        )
    return fb


def _check_feedback(call: _Caller, rep: Report, issued: list[dict[str, Any]]) -> None:
    crit = next((c for c in issued if c["indicator"] == "critical"), None)
    with_sugg = next((c for c in issued if c.get("suggestions")), None)
    fb = _feedback_for(crit, with_sugg)
    rep.add(
        "samples gave a critical card with overrideReasons",
        crit is not None and bool(crit.get("overrideReasons")),
    )
    rep.add("samples gave a card with suggestions", with_sugg is not None)
    if not fb:
        return
    r = call(_PATH["order-sign"] + "/feedback", {"feedback": fb})
    rep.add("feedback stored", r.status_code == 200, f"status {r.status_code}: {r.text[:120]}")
    r = call(
        _PATH["order-sign"] + "/feedback",
        {"feedback": [{"card": "nope", "outcome": "maybe"}]},
    )
    rep.add("bad feedback: 400", r.status_code == 400, f"status {r.status_code}")


def run_checks(
    url: str,
    key: ClientKey,
    samples_dir: str | Path,
    *,
    timeout_s: float = 60.0,
    today: dt.date | None = None,
) -> Report:
    """Run every check against the CDS Hooks base URL ``url`` (see module docstring)."""
    base = url.rstrip("/")
    rep = Report(base)
    samples = load_samples(samples_dir, today)
    with httpx.Client(timeout=timeout_s) as http:
        call = _Caller(http, base, key, rep)
        _check_discovery(call, rep)
        issued: list[dict[str, Any]] = []
        for s in samples:
            issued += _check_sample(call, rep, s)
        s = next((x for x in samples if "maoi" in x.name), samples[0])
        _check_without_prefetch(call, rep, s)
        _check_bad_input(call, rep, s)
        _check_feedback(call, rep, issued)
    return rep
