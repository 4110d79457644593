"""SMART App Launch v2 (HL7 SMART App Launch 2.x, "App Launch: Launch and Authorization"):
the clinic as a confidential-less (public) SMART app that an EHR launches, or that a
clinician starts on its own (standalone launch), with PKCE ``S256``.

The sequence (pages in :mod:`neurodose.service.smart_pages`):

1. ``GET /smart/launch?iss=...&launch=...`` (EHR launch; without ``launch``: standalone).
   ``iss`` must be a FHIR base URL in the registration file (``NEURODOSE_SMART_ISSUERS``);
   any other is refused before anything is fetched. The EHR's
   ``{iss}/.well-known/smart-configuration`` gives the authorization and token
   endpoints (on the issuer's origin or an origin the registration lists) and must
   offer ``S256``. A new ``state`` (256 bits), PKCE ``code_verifier`` (RFC 7636) and a
   browser-binding cookie are made; the database keeps the state's SHA-256, the
   verifier, the binding cookie's SHA-256 and the expiry, so any worker can answer the
   callback. The browser goes to the authorization endpoint with ``response_type=code``,
   ``client_id``, ``redirect_uri``, ``launch``, ``scope``, ``state``, ``aud`` (= ``iss``),
   ``code_challenge`` and ``code_challenge_method=S256``.
2. ``GET /smart/callback?code=...&state=...``: the state must exist, be unexpired,
   unused (taken once, atomically) and belong to this browser (its binding cookie). The
   code is exchanged at the token endpoint with the verifier. The token response must
   carry ``access_token`` (Bearer) and the ``patient`` in context; ``fhirUser`` is read
   from the ``id_token`` once its signature is verified against the EHR's published keys
   and its ``iss``, ``aud`` (our ``client_id``), ``exp``, ``iat`` and ``nonce`` are
   checked (:mod:`neurodose.service.smart_keys`). The authorization request carries a
   ``nonce`` derived from the launch's verifier (:func:`nonce_of`).
3. ``GET /smart/resume``: the clinician is the clinic account linked to the EHR's
   ``fhirUser`` (a session is issued as at sign-in, with the account's token version).
   An unlinked ``fhirUser`` is linked only by the name and password of a clinic account
   (``POST /smart/link``, the sign-in's limits and audit), never to a session that
   happens to be open in the browser. Without a ``fhirUser``: the session, else the
   sign-in page, which comes back here. The EHR patient maps to the clinic
   patient linked to it in the clinician's clinic; when there is none, a page says so
   and offers to create one from the EHR's FHIR data
   (:func:`neurodose.fhir.inbound.case_from_resources`, as the CDS Hooks services read
   patients).

The registration file is JSON::

    {"issuers": [{"iss": "https://ehr.example.org/fhir", "client_id": "neurodose",
                  "auth_origins": ["https://login.example.org"]}]}

``iss`` is the EHR's FHIR base URL exactly as the EHR sends it (https; http only for a
loopback address), ``client_id`` the clinic's registration there, ``auth_origins``
(optional) further origins the authorization and token endpoints may be on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from sqlalchemy import delete, select, update

from neurodose.errors import InputError
from neurodose.service import login, smart_keys
from neurodose.service.models import (
    LoginThrottle,
    SmartLaunch,
    SmartPatientLink,
    SmartUserLink,
)
from neurodose.service.security import sha256

__all__ = [
    "EHR_SCOPES",
    "Endpoints",
    "Issuer",
    "SmartError",
    "authorised",
    "begin",
    "code_challenge",
    "discover",
    "exchange",
    "fetch_patient_resources",
    "finish",
    "link_patient",
    "link_user",
    "linked_patient",
    "linked_user",
    "load_issuers",
    "nonce_of",
    "oauth_error",
    "pending",
    "refused",
    "registered",
    "signing_keys",
    "take",
    "too_many_launches",
    "unlink_user",
    "user_links",
]

#: what the clinic asks for: the launch context, the user's identity, and the
#: resources a patient profile is read from (SMART v2 scopes, read + search)
EHR_SCOPES = (
    "openid fhirUser patient/Patient.rs patient/Condition.rs "
    "patient/MedicationRequest.rs patient/Observation.rs"
)
#: a FHIR resource id (FHIR R4 ``id`` datatype)
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: an OAuth error code as an authorization server returns it (shown as given)
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_TIMEOUT_S = 5.0
#: bytes a FHIR read of the EHR may have (a search's first page)
_FHIR_LIMIT = 8 * 1024 * 1024


class SmartError(Exception):
    """A launch that cannot go on: the page's status, title and message (never an
    upstream server's words)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True)
class Issuer:
    """One registered EHR: its FHIR base URL, our ``client_id`` there, extra origins."""

    iss: str
    client_id: str
    auth_origins: tuple[str, ...] = ()

    def allows(self, url: str) -> bool:
        """Whether an endpoint ``url`` is on the issuer's origin or a listed one."""
        return _origin(url) in {_origin(self.iss), *(_origin(o) for o in self.auth_origins)}


@dataclass(frozen=True)
class Endpoints:
    """What the EHR's ``smart-configuration`` says the launch needs."""

    authorize: str
    token: str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _base_url(url: Any) -> bool:
    """An https URL (http only on a loopback host), no query, fragment or user."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        return False
    return not (parts.query or parts.fragment or parts.username)


def _issuer(where: str, item: Any) -> Issuer:
    if not isinstance(item, dict):
        raise InputError(where, item, "an object with iss and client_id")
    unknown = set(item) - {"iss", "client_id", "auth_origins"}
    if unknown:
        raise InputError(f"{where}.{sorted(unknown)[0]}", "...", "iss, client_id, auth_origins")
    iss, client_id = item.get("iss"), item.get("client_id")
    if not _base_url(iss):
        raise InputError(f"{where}.iss", iss, "a FHIR base URL, https (http only on loopback)")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 200:
        raise InputError(f"{where}.client_id", client_id, "the client_id (1-200 characters)")
    origins = item.get("auth_origins", [])
    if not isinstance(origins, list) or not all(_base_url(o) for o in origins):
        raise InputError(f"{where}.auth_origins", origins, "a list of https origins")
    return Issuer(str(iss).rstrip("/"), client_id, tuple(origins))


def load_issuers(path: str | Path | None) -> tuple[Issuer, ...]:
    """Read the registration file (module docstring); none: no issuer. Errors name the
    file and the field."""
    if not path:
        return ()
    p = Path(path)
    if not p.is_file():
        raise InputError("NEURODOSE_SMART_ISSUERS", str(p), "an existing JSON file")
    try:
        items = json.loads(p.read_text(encoding="utf-8")).get("issuers")
    except (json.JSONDecodeError, AttributeError):
        items = None
    if not isinstance(items, list):
        raise InputError(str(p), "...", 'a JSON object {"issuers": [...]}')
    out = [_issuer(f"{p}: issuers[{i}]", item) for i, item in enumerate(items)]
    if len({x.iss for x in out}) != len(out):
        raise InputError(f"{p}: issuers", [x.iss for x in out], "each iss once")
    return tuple(out)


def registered(issuers: tuple[Issuer, ...], iss: str) -> Issuer:
    """The registration of ``iss`` (compared without a trailing slash), else a 400."""
    for x in issuers:
        if x.iss == iss.rstrip("/"):
            return x
    raise SmartError(
        400,
        "This EHR is not registered",
        "The clinic is not registered with the FHIR server that started this launch, so "
        "nothing was sent to it. An administrator registers EHRs in the SMART registration "
        "file (NEURODOSE_SMART_ISSUERS).",
    )


def _get_json(
    url: str, what: str, headers: dict[str, str] | None = None, limit: int = smart_keys.SMALL
) -> Any:
    """GET ``url`` with the outbound rules of :func:`smart_keys.fetch_json` (pinned
    public address, no redirects, a timeout, at most ``limit`` bytes) and its JSON;
    failures as a 502 naming ``what`` only."""
    try:
        return smart_keys.fetch_json(url, limit=limit, timeout_s=_TIMEOUT_S, headers=headers)
    except smart_keys.FetchError:
        raise SmartError(502, "The EHR did not answer", f"{what} could not be read.") from None


def discover(issuer: Issuer) -> Endpoints:
    """The endpoints from ``{iss}/.well-known/smart-configuration``; a 502 when it
    cannot be read, lacks an endpoint, puts one on an unlisted origin, or does not
    offer PKCE ``S256``."""
    conf = _get_json(issuer.iss + "/.well-known/smart-configuration", "The SMART configuration")
    if not isinstance(conf, dict):
        conf = {}
    auth, token = conf.get("authorization_endpoint"), conf.get("token_endpoint")
    methods = conf.get("code_challenge_methods_supported")
    ok = all(isinstance(u, str) and _base_url(u) and issuer.allows(u) for u in (auth, token))
    if not ok or not isinstance(methods, list) or "S256" not in methods:
        raise SmartError(
            502,
            "The EHR's SMART configuration is not usable",
            "It must name its authorization and token endpoints on a registered origin "
            "and support PKCE with S256.",
        )
    return Endpoints(str(auth), str(token))


def code_challenge(verifier: str) -> str:
    """The PKCE ``S256`` challenge of ``verifier`` (RFC 7636 4.2).

    >>> code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def nonce_of(verifier: str) -> str:
    """The OpenID ``nonce`` of a launch: derived from its PKCE verifier (kept in the
    database, never sent), so the callback knows it without storing it twice and no
    one who sees the nonce learns the verifier.

    >>> len(nonce_of("v" * 86))
    43
    """
    digest = hashlib.sha256(b"nonce:" + verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin(
    db: Any,
    issuer: Issuer,
    endpoints: Endpoints,
    *,
    redirect_uri: str,
    launch: str | None,
    lifetime_s: int,
) -> tuple[str, str]:
    """Store a new launch and return (the authorization URL, the browser-binding
    secret for the launch cookie). Expired launches are deleted on the way."""
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]: RFC 7636 4.1
    browser = secrets.token_urlsafe(32)
    now = time.time()
    with db.session() as s:
        s.execute(delete(SmartLaunch).where(SmartLaunch.expires_at < now - 3600))
        s.add(
            SmartLaunch(
                id=sha256(state),
                browser_sha256=sha256(browser),
                iss=issuer.iss,
                client_id=issuer.client_id,
                token_endpoint=endpoints.token,
                redirect_uri=redirect_uri,
                verifier=verifier,
                expires_at=now + lifetime_s,
            )
        )
    params = {
        "response_type": "code",
        "client_id": issuer.client_id,
        "redirect_uri": redirect_uri,
        "scope": ("launch " if launch else "launch/patient ") + EHR_SCOPES,
        "state": state,
        "aud": issuer.iss,
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
        "nonce": nonce_of(verifier),
    }
    if launch:
        params["launch"] = launch
    sep = "&" if urlsplit(endpoints.authorize).query else "?"
    return endpoints.authorize + sep + urlencode(params), browser


def too_many_launches(db: Any, address: str, limit: int, window_s: int) -> int:
    """Count a launch or callback from ``address``; the seconds until its window ends
    when it is over ``limit`` in ``window_s`` (0: go on).

    The count lives in the sign-in's ``login_throttle`` table (key ``s:<address>``,
    :func:`neurodose.service.login.counted`), so that every worker process agrees;
    rows whose window is over are deleted when a new window begins.
    """
    now = time.time()
    with db.session() as s:
        row = login.counted(s, "s:" + address[:70], now, window_s)
        count, start = row.failures, row.window_start
        if count == 1:  # a new window here: forget the finished ones of every address
            s.execute(
                delete(LoginThrottle).where(
                    LoginThrottle.key.like("s:%"),
                    LoginThrottle.window_start < now - window_s,
                )
            )
    return max(1, math.ceil(start + window_s - now)) if count > limit else 0


def refused(message: str) -> SmartError:
    """A launch refused with ``message`` (400, no session)."""
    return SmartError(400, "The launch could not be completed", message)


def take(db: Any, state: str, browser: str) -> dict[str, Any]:
    """The launch of ``state``, taken once: it must exist, be this browser's (its
    binding cookie ``browser``) and unexpired; a second take is refused."""
    now = time.time()
    with db.session() as s:
        row = s.get(SmartLaunch, sha256(state)) if state else None
        if row is None:
            raise refused("This launch is not known (the state does not match). Start again.")
        if not browser or not secrets.compare_digest(row.browser_sha256, sha256(browser)):
            raise refused("This launch was started in another browser. Start again.")
        if row.expires_at < now:
            raise refused("This launch took too long and has expired. Start again.")
        taken = s.execute(
            update(SmartLaunch)
            .where(SmartLaunch.id == row.id, SmartLaunch.used_at.is_(None))
            .values(used_at=now)
        )
        if taken.rowcount != 1:
            raise refused("This launch has already been used. Start again.")
        return {
            "id": row.id,
            "iss": row.iss,
            "client_id": row.client_id,
            "token_endpoint": row.token_endpoint,
            "redirect_uri": row.redirect_uri,
            "verifier": row.verifier,
            "expires_at": row.expires_at,
        }


def signing_keys(cache: smart_keys.KeyCache, issuer: Issuer, keys_s: float) -> Any:
    """``get(fresh)``: the signing keys of ``issuer`` from ``cache`` (a 502 when they
    cannot be read)."""

    def get(fresh: bool) -> Any:
        try:
            return cache.get(issuer.iss, issuer.allows, keys_s, fresh=fresh)
        except smart_keys.FetchError:
            raise SmartError(
                502,
                "The EHR's keys could not be read",
                "The EHR's identity token cannot be checked without its signing keys "
                "(the issuer and jwks_uri of its SMART configuration).",
            ) from None

    return get


def _id_token_user(id_token: Any, launch: dict[str, Any], keys: Any) -> str | None:
    """``fhirUser`` of the id_token once its signature and claims are verified against
    the EHR's keys (:func:`smart_keys.verify_id_token`); None without an id_token; a
    400 when it is refused."""
    if id_token is None:
        return None
    try:
        claims = smart_keys.verify_id_token(
            str(id_token),
            keys,
            client_id=launch["client_id"],
            nonce=nonce_of(launch["verifier"]),
        )
    except smart_keys.IdTokenError as exc:
        raise refused(str(exc)) from None
    user = claims.get("fhirUser")
    return str(user)[:500] if isinstance(user, str) and user else None


def exchange(launch: dict[str, Any], code: str, keys: Any) -> dict[str, Any]:
    """Exchange ``code`` at the token endpoint with the PKCE verifier; the context
    (``patient``, ``fhir_user``, ``access_token``, ``expires_at``) or a 400. ``keys``:
    the EHR's signing keys for the id_token (:func:`signing_keys`)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": launch["redirect_uri"],
        "code_verifier": launch["verifier"],
        "client_id": launch["client_id"],
    }
    try:
        with smart_keys.capped_client(smart_keys.SMALL) as c:
            r = c.post(launch["token_endpoint"], data=form, timeout=_TIMEOUT_S)
        body = r.json() if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        raise SmartError(
            502, "The EHR did not answer", "The token could not be obtained."
        ) from None
    if not isinstance(body, dict):
        raise refused("The EHR refused the authorisation code. Start again from the EHR.")
    token, kind, patient = body.get("access_token"), body.get("token_type"), body.get("patient")
    if not isinstance(token, str) or not token or str(kind).lower() != "bearer":
        raise refused("The EHR's token response has no bearer access token.")
    # a FHIR id, and not "." or "..", which would name another path at the EHR
    if not isinstance(patient, str) or not _FHIR_ID.fullmatch(patient) or not patient.strip("."):
        raise refused("The EHR gave no patient in context (the 'patient' of the token).")
    lifetime = body.get("expires_in")
    lifetime = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 300.0
    return {
        "patient": patient,
        "fhir_user": _id_token_user(body.get("id_token"), launch, keys),
        "access_token": token,
        "expires_at": min(time.time() + lifetime, launch["expires_at"]),
    }


def authorised(db: Any, launch_id: str, result: dict[str, Any]) -> None:
    """Keep the token response's context with the launch until the clinic page opens."""
    with db.session() as s:
        s.execute(update(SmartLaunch).where(SmartLaunch.id == launch_id).values(result=result))


def oauth_error(code: str) -> SmartError:
    """The page for an authorization server's ``error`` (its code shown only when it
    is a plain OAuth error code)."""
    shown = code if _ERROR_CODE.fullmatch(code) else "an error"
    return refused(f"The EHR did not authorise the launch ({shown}).")


def pending(db: Any, browser: str) -> dict[str, Any] | None:
    """This browser's authorised, unfinished, unexpired launch (None: there is none)."""
    if not browser:
        return None
    now = time.time()
    with db.session() as s:
        row = s.scalar(
            select(SmartLaunch)
            .where(
                SmartLaunch.browser_sha256 == sha256(browser),
                SmartLaunch.result.is_not(None),
                SmartLaunch.done_at.is_(None),
                SmartLaunch.expires_at > now,
            )
            .order_by(SmartLaunch.expires_at.desc())
            .limit(1)
        )
        if row is None or row.result is None:
            return None
        return {"id": row.id, "iss": row.iss, **row.result}


def finish(db: Any, launch_id: str) -> None:
    """Mark the launch done and forget its access token."""
    with db.session() as s:
        s.execute(
            update(SmartLaunch)
            .where(SmartLaunch.id == launch_id)
            .values(done_at=time.time(), result={"done": True})
        )


def linked_user(s: Any, iss: str, fhir_user: str | None) -> int | None:
    """The clinic account id linked to ``fhir_user`` at ``iss`` (None: not linked)."""
    if not fhir_user:
        return None
    return s.scalar(
        select(SmartUserLink.clinician_id).where(
            SmartUserLink.iss == iss, SmartUserLink.fhir_user == fhir_user
        )
    )


def link_user(s: Any, iss: str, fhir_user: str, clinician_id: int) -> None:
    """Link ``fhir_user`` at ``iss`` to the clinic account ``clinician_id``."""
    s.add(SmartUserLink(iss=iss, fhir_user=fhir_user, clinician_id=clinician_id))


def user_links(s: Any, clinician_id: int) -> list[dict[str, Any]]:
    """The EHR users linked to clinic account ``clinician_id``, oldest first: ``id``,
    ``iss``, ``fhir_user``, ``linked`` (UTC, ``YYYY-MM-DD HH:MM``)."""
    rows = s.scalars(
        select(SmartUserLink)
        .where(SmartUserLink.clinician_id == clinician_id)
        .order_by(SmartUserLink.created_at, SmartUserLink.id)
    )
    return [
        {
            "id": r.id,
            "iss": r.iss,
            "fhir_user": r.fhir_user,
            "linked": r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "",
        }
        for r in rows
    ]


def unlink_user(s: Any, link_id: int, clinician_id: int) -> tuple[str, str] | None:
    """Remove link ``link_id`` if it is one of account ``clinician_id``'s; its
    (``iss``, ``fhir_user``), or None when there is no such link of that account."""
    row = s.get(SmartUserLink, link_id)
    if row is None or row.clinician_id != clinician_id:
        return None
    s.delete(row)
    return row.iss, row.fhir_user


def linked_patient(s: Any, iss: str, ehr_patient: str, clinic: str) -> str | None:
    """The clinic patient of ``clinic`` linked to the EHR's ``ehr_patient``."""
    return s.scalar(
        select(SmartPatientLink.patient_id).where(
            SmartPatientLink.iss == iss,
            SmartPatientLink.ehr_patient == ehr_patient,
            SmartPatientLink.clinic == clinic,
        )
    )


def link_patient(s: Any, iss: str, ehr_patient: str, clinic: str, patient_id: str) -> None:
    """Link the EHR's ``ehr_patient`` to the clinic patient ``patient_id``."""
    s.add(SmartPatientLink(iss=iss, ehr_patient=ehr_patient, clinic=clinic, patient_id=patient_id))


#: what is read from the EHR to create a clinic patient (each a search by patient)
_SEARCHES = ("Condition", "MedicationRequest", "Observation")


def fetch_patient_resources(launch: dict[str, Any]) -> list[dict[str, Any]]:
    """The Patient and its Conditions, MedicationRequests and Observations from the
    launching EHR (the access token goes to the registered ``iss`` only; the first page
    of each search)."""
    base, pid = launch["iss"], launch["patient"]
    auth = {"Authorization": f"Bearer {launch['access_token']}"}
    patient = _get_json(f"{base}/Patient/{pid}", "The EHR's Patient", auth, _FHIR_LIMIT)
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise SmartError(502, "The EHR did not answer", "The EHR's Patient could not be read.")
    out = [patient]
    for kind in _SEARCHES:
        url = f"{base}/{kind}?{urlencode({'patient': pid})}"
        found = _get_json(url, f"The EHR's {kind}", auth, _FHIR_LIMIT)
        entries = found.get("entry", []) if isinstance(found, dict) else []
        out += [
            e["resource"]
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    return out
