"""The EHR's signing keys and the SMART ``id_token`` check (OpenID Connect Core 1.0
§3.1.3.7; SMART App Launch 2.x, "Scopes for requesting identity data").

Every outbound read of a SMART launch goes through :func:`fetch_json`: only to an
origin the registration allows (the caller checks), connected to the address the
host name resolved to once, with the CDS Hooks fetcher's rules (a host name must
resolve to public addresses only; loopback, link-local and private addresses only when
registered as an IP address: :func:`neurodose.service.cds.prefetch.resolve_fhir_server`
and :func:`~neurodose.service.cds.prefetch.pinned_get`), no redirects, a timeout, and a
size limit counted while the body arrives (an uncompressed body is asked for; a
compressed one is refused, so a small body cannot expand past the limit).

The keys: the issuer of identity tokens and its ``jwks_uri`` come from the EHR's
``smart-configuration`` (``issuer``, ``jwks_uri``; SMART 2.x requires both with
``sso-openid-connect``); without ``jwks_uri`` from the issuer's
``/.well-known/openid-configuration`` (whose ``issuer`` must be the same, OpenID
Connect Discovery §4.3). Both must be on an origin the registration allows. The key
set is kept per registered EHR for ``keys_s`` seconds; a token whose ``kid`` is not in
it makes one fresh fetch (key rotation), and is refused if the kid is still unknown.

A token is accepted only when its header's ``alg`` is a public-key algorithm (RS*, PS*,
ES*, EdDSA: never ``none``, never HS*, so a public key can never serve as an HMAC
secret), the key with its ``kid`` (or the only key, when the token names none) has that
algorithm's key type, the signature verifies, ``iss`` is the issuer, ``aud`` is our
``client_id``, ``exp`` is in the future and ``iat`` not in the future (60 s leeway),
and ``nonce`` is the one the launch sent. Tokens are never logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from neurodose.service.cds.prefetch import (
    PrefetchUnavailableError,
    pinned_get,
    resolve_fhir_server,
)

__all__ = [
    "ASYMMETRIC",
    "FetchError",
    "IdTokenError",
    "KeyCache",
    "capped_client",
    "fetch_json",
    "verify_id_token",
]

#: the JWS algorithms an id_token may be signed with (public-key ones only)
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: clock skew allowed on ``exp`` and ``iat``, s
LEEWAY_S = 60
#: bytes a configuration or key set may have
SMALL = 256 * 1024


class FetchError(Exception):
    """An outbound read that failed (the reason is for the log, never for the page)."""


class IdTokenError(Exception):
    """An id_token that is refused: the page's message."""


class _TooLargeError(ValueError):
    pass


class _Capped(httpx.SyncByteStream):
    """A response body that stops with an error past ``limit`` bytes."""

    def __init__(self, inner: Any, limit: int) -> None:
        self.inner, self.limit = inner, limit

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self.inner:
            seen += len(chunk)
            if seen > self.limit:
                raise _TooLargeError("the answer is larger than allowed")
            yield chunk

    def close(self) -> None:
        self.inner.close()


def _cap(limit: int) -> Callable[[httpx.Response], None]:
    def hook(r: httpx.Response) -> None:
        if r.headers.get("content-encoding", "identity").lower() != "identity":
            raise _TooLargeError("a compressed answer (an uncompressed one was asked for)")
        if int(r.headers.get("content-length") or 0) > limit:
            raise _TooLargeError("the answer is larger than allowed")
        r.stream = _Capped(r.stream, limit)

    return hook


def _origin_of(url: str) -> str:
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def capped_client(limit: int, headers: dict[str, str] | None = None) -> httpx.Client:
    """An HTTP client that follows no redirect, asks for JSON uncompressed and stops
    reading an answer past ``limit`` bytes (a ``ValueError``)."""
    hdrs = {"Accept": "application/json", "Accept-Encoding": "identity", **(headers or {})}
    return httpx.Client(
        follow_redirects=False, headers=hdrs, event_hooks={"response": [_cap(limit)]}
    )


def fetch_json(
    url: str, *, limit: int = SMALL, timeout_s: float = 5.0, headers: dict[str, str] | None = None
) -> Any:
    """GET ``url`` with the fetcher's address rules (module docstring) and return its
    JSON; :class:`FetchError` for anything else than a 200 with JSON of at most
    ``limit`` bytes."""
    origin = _origin_of(url)
    try:
        target = resolve_fhir_server(origin, [origin])
    except PrefetchUnavailableError as exc:
        raise FetchError(str(exc)) from None
    try:
        with capped_client(limit, headers) as c:
            r = pinned_get(c, url, target.pin, timeout=timeout_s)
        if r.status_code != 200:
            raise FetchError(f"HTTP {r.status_code}")
        return r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise FetchError(type(exc).__name__) from None


@dataclass(frozen=True)
class _Keys:
    issuer: str
    jwks_uri: str
    keys: tuple[dict[str, Any], ...]
    expires_at: float

    def find(self, kid: Any) -> dict[str, Any] | None:
        if kid is None:
            return self.keys[0] if len(self.keys) == 1 else None
        return next((k for k in self.keys if k.get("kid") == kid), None)


def _usable(jwks: Any) -> tuple[dict[str, Any], ...]:
    """The signature keys of a JWK Set (RFC 7517 §5), without private parts' use."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        return ()
    return tuple(
        k
        for k in keys
        if isinstance(k, dict)
        and k.get("kty") in ("RSA", "EC", "OKP")
        and k.get("use", "sig") == "sig"
        and "d" not in k  # a private key published by mistake is not used
    )


class KeyCache:
    """The signing keys of each registered EHR (by its FHIR base URL), kept
    ``keys_s`` seconds; thread-safe (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, _Keys] = {}

    def get(
        self, fhir_base: str, allows: Callable[[str], bool], keys_s: float, *, fresh: bool = False
    ) -> _Keys:
        """The key set of ``fhir_base`` (fetched when absent, expired or ``fresh``)."""
        with self._lock:
            cached = self._sets.get(fhir_base)
        if cached is not None and not fresh and cached.expires_at > time.time():
            return cached
        found = _fetch_keys(fhir_base, allows, keys_s)
        with self._lock:
            self._sets[fhir_base] = found
        return found


def _https(url: Any, allows: Callable[[str], bool]) -> bool:
    if not isinstance(url, str):
        return False
    u = urlsplit(url)
    http_ok = u.scheme == "http" and u.hostname in ("127.0.0.1", "::1", "localhost")
    return (u.scheme == "https" or http_ok) and not u.username and not u.fragment and allows(url)


def _fetch_keys(fhir_base: str, allows: Callable[[str], bool], keys_s: float) -> _Keys:
    """Issuer and keys from the smart-configuration (else the OpenID configuration)."""
    conf = fetch_json(fhir_base + "/.well-known/smart-configuration")
    conf = conf if isinstance(conf, dict) else {}
    issuer, jwks_uri = conf.get("issuer"), conf.get("jwks_uri")
    if not _https(issuer, allows):
        raise FetchError("the smart-configuration names no usable issuer")
    if jwks_uri is None:
        oidc = fetch_json(str(issuer).rstrip("/") + "/.well-known/openid-configuration")
        if not isinstance(oidc, dict) or oidc.get("issuer") != issuer:
            raise FetchError("the OpenID configuration is for another issuer")
        jwks_uri = oidc.get("jwks_uri")
    if not _https(jwks_uri, allows):
        raise FetchError("no jwks_uri on a registered origin")
    keys = _usable(fetch_json(str(jwks_uri)))
    if not keys:
        raise FetchError("the key set has no signature key")
    return _Keys(str(issuer), str(jwks_uri), keys, time.time() + keys_s)


def _key(token: str, get: Callable[[bool], _Keys]) -> tuple[jwt.PyJWK, str]:
    """The key that must have signed ``token`` and the issuer (refetched once when the
    token's kid is unknown)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise IdTokenError("The EHR's identity token could not be read.") from None
    alg = header.get("alg")
    if alg not in ASYMMETRIC:
        raise IdTokenError(
            "The EHR's identity token is not signed with a public-key algorithm, so it "
            "was not accepted."
        )
    keys = get(False)
    jwk = keys.find(header.get("kid"))
    if jwk is None:  # a key the EHR has rotated in since the keys were read
        keys = get(True)
        jwk = keys.find(header.get("kid"))
    if jwk is None or jwk.get("alg", alg) != alg:
        raise IdTokenError(
            "The EHR's identity token is signed with a key the EHR does not publish."
        )
    try:
        return jwt.PyJWK(jwk, algorithm=alg), keys.issuer
    except jwt.PyJWTError:  # the key's type is not the algorithm's
        raise IdTokenError(
            "The EHR's identity token is signed with a key the EHR does not publish."
        ) from None


def verify_id_token(
    token: str, get: Callable[[bool], Any], *, client_id: str, nonce: str | None
) -> dict[str, Any]:
    """The claims of ``token`` once verified (module docstring); :class:`IdTokenError`
    otherwise. ``get(fresh)`` gives the EHR's key set (a :class:`KeyCache` lookup)."""
    key, issuer = _key(token, get)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat"]},
        )
    except jwt.InvalidSignatureError:
        raise IdTokenError(
            "The EHR's identity token's signature does not verify with the EHR's keys."
        ) from None
    except jwt.PyJWTError:
        raise IdTokenError(
            "The EHR's identity token is not for this clinic or has expired."
        ) from None
    if nonce is not None and claims.get("nonce") != nonce:
        raise IdTokenError("The EHR's identity token is not for this launch (its nonce differs).")
    return claims
