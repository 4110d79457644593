"""Client JWT check for every CDS Hooks call (HL7 CDS Hooks 2.0, Security and Safety).

Accepted only when all hold (otherwise the caller answers a bare ``401``):

1. ``Authorization: Bearer <JWT>`` is present; header ``alg`` is ES384 or RS384
   (never ``none``, never HMAC), ``typ`` is JWT when given, ``kid`` is present;
2. the (unverified) ``iss`` is an allowlisted client; ``kid`` resolves in that
   client's JWK Set, configured inline or fetched from its ``jwks_url``; a token
   ``jku`` must equal that allowlisted URL;
3. the signature verifies with that key and ``alg``;
4. ``aud`` (string or array) contains the exact endpoint URL being called;
5. ``exp`` is in the future; ``iat`` is not more than 60 s in the future;
   ``exp - iat`` is at most the maximum lifetime (1 h);
6. ``jti`` was never seen before from that issuer (the replay cache lives in the
   database, shared by every server process).

Nothing here logs a token. PyJWT does the JOSE work.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from neurodose.service.cds.config import CdsClient, CdsConfig
from neurodose.service.cds.store import CdsStore

__all__ = ["ALGORITHMS", "JwtRejectedError", "TokenChecker"]

#: the only signing algorithms accepted (CDS Hooks: ES384 and RS384 recommended; no HMAC)
ALGORITHMS = ("ES384", "RS384")


class JwtRejectedError(Exception):
    """The token is not acceptable; ``reason`` is for tests and logs (never sent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenChecker:
    """Checks client JWTs against a :class:`CdsConfig`, with a JWKS cache and a replay cache."""

    def __init__(self, config: CdsConfig, store: CdsStore, *, jwks_ttl_s: float = 300.0) -> None:
        self.config = config
        self.store = store
        self.jwks_ttl_s = jwks_ttl_s
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        #: parsed public keys by (alg, JWK JSON): a rotated key is a new JWK, a new entry
        self._verified_keys: dict[tuple[str, str], Any] = {}

    # ---------------------------------------------------------------- keys

    def _fetch_jwks(self, url: str) -> dict[str, Any]:
        try:
            r = httpx.get(url, timeout=self.config.fhir_timeout_s, follow_redirects=False)
            r.raise_for_status()
            data = r.json()
        except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            raise JwtRejectedError(f"jwks_url unavailable: {type(exc).__name__}") from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise JwtRejectedError("jwks_url did not return a JWK Set")
        return data

    def _keys(self, client: CdsClient, *, refresh: bool = False) -> list[dict[str, Any]]:
        if client.jwks is not None:
            return list(client.jwks["keys"])
        assert client.jwks_url is not None
        now = time.monotonic()
        with self._lock:
            hit = self._jwks.get(client.jwks_url)
            # refetch on expiry, or on an unknown kid at most every 30 s (key rotation)
            if hit is None or now - hit[0] > self.jwks_ttl_s or (refresh and now - hit[0] > 30):
                hit = (now, self._fetch_jwks(client.jwks_url))
                self._jwks[client.jwks_url] = hit
        return list(hit[1]["keys"])

    def _key_for(self, client: CdsClient, kid: str, alg: str) -> Any:
        for refresh in (False, True):
            for k in self._keys(client, refresh=refresh):
                if isinstance(k, dict) and k.get("kid") == kid:
                    if k.get("alg") not in (None, alg):
                        raise JwtRejectedError("key alg differs from token alg")
                    return self._parsed(k, alg)
            if client.jwks is not None:
                break
        raise JwtRejectedError("unknown kid")

    def _parsed(self, jwk: dict[str, Any], alg: str) -> Any:
        """The public key of ``jwk`` for ``alg``, parsed once per distinct JWK."""
        ck = (alg, json.dumps(jwk, sort_keys=True))
        hit = self._verified_keys.get(ck)
        if hit is not None:
            return hit
        try:
            key = PyJWK(jwk, algorithm=alg).key
        except jwt.PyJWTError as exc:
            raise JwtRejectedError(f"unusable key: {type(exc).__name__}") from None
        if len(self._verified_keys) > 256:
            self._verified_keys.clear()
        self._verified_keys[ck] = key
        return key

    # --------------------------------------------------------------- check

    def check(self, authorization: str | None, endpoint_url: str) -> dict[str, Any]:
        """The verified claims of the request's token, or :class:`JwtRejectedError`."""
        if not authorization or not authorization.startswith("Bearer "):
            raise JwtRejectedError("no bearer token")
        token = authorization[len("Bearer ") :].strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise JwtRejectedError("malformed token") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise JwtRejectedError(f"alg {alg!r} not accepted")
        if header.get("typ") not in (None, "JWT"):
            raise JwtRejectedError("typ is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise JwtRejectedError("no kid")
        iss = unverified.get("iss")
        client = self.config.client(iss) if isinstance(iss, str) else None
        if client is None:
            raise JwtRejectedError("iss not allowlisted")
        jku = header.get("jku")
        if jku is not None and jku != client.jwks_url:
            raise JwtRejectedError("jku not allowlisted for this iss")
        key = self._key_for(client, kid, str(alg))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(alg)],
                audience=endpoint_url,
                issuer=client.iss,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise JwtRejectedError(type(exc).__name__) from None
        now = time.time()
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int | float) or iat > now + self.config.clock_skew_s:
            raise JwtRejectedError("iat in the future")
        if exp - iat > self.config.max_token_lifetime_s:
            raise JwtRejectedError("token lifetime too long")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 200:
            raise JwtRejectedError("bad jti")
        when = dt.datetime.fromtimestamp(float(exp), dt.UTC)
        if not self.store.remember_jti(client.iss, jti, when):
            raise JwtRejectedError("jti replayed")
        return claims
