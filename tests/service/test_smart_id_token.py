"""The SMART ``id_token`` verified against the EHR's published keys, over HTTP against a
real clinic server and the test EHR (:mod:`tests.service.smart_ehr`, which signs
RS256 and serves its JWK Set): every forged, misdirected or stale token is refused with
a page (400, no traceback, no session), and no token reaches the server's log; the keys
are cached, refetched once for an unknown ``kid`` (rotation), read only from the
registered origin and within a size limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from .smart_ehr import CLIENT_ID, SmartWorld, new_rsa_key, smart_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmartWorld]:
    folder = tmp_path_factory.mktemp("smart-idt")
    w = smart_world(folder)
    # a second registration of the same EHR by a host name that resolves to loopback:
    # the outbound rules of the CDS fetcher refuse it (read before the first request)
    reg = folder / "smart-issuers.json"
    regs = json.loads(reg.read_text())
    regs["issuers"].append({"iss": f"http://localhost:{w.ehr.port}/fhir", "client_id": CLIENT_ID})
    reg.write_text(json.dumps(regs))
    try:
        yield w
    finally:
        w.stop()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unsigned(header: dict[str, Any], claims: dict[str, Any], sig: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(sig)


def _launch(world: SmartWorld, c: httpx.Client) -> httpx.Response:
    """An EHR launch through the callback in browser ``c``: the callback's answer."""
    chart = httpx.get(
        world.ehr.base + "/ehr",
        params={"patient": "p01", "app": world.clinic.url + "/smart/launch"},
    )
    href = chart.text.split('id="launch-neurodose" href="', 1)[1].split('"', 1)[0]
    q = {k: v[0] for k, v in parse_qs(urlsplit(href.replace("&amp;", "&")).query).items()}
    r = c.get("/smart/launch", params=q)
    assert r.status_code == 303, r.text[-400:]
    p = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert len(p["nonce"]) == 43
    r = httpx.post(world.ehr.base + "/auth/approve", data=p)
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    return c.get("/smart/callback", params={"code": code, "state": p["state"]})


def _jwks_reads(world: SmartWorld) -> int:
    return world.ehr.requests.count("/auth/jwks")


def _refused(world: SmartWorld, c: httpx.Client, r: httpx.Response, says: str) -> None:
    assert r.status_code == 400, r.text[-600:]
    assert says in r.text and "could not be completed" in r.text
    assert "Traceback" not in r.text and "text/html" in r.headers["content-type"]
    assert c.get("/smart/resume").status_code == 400  # nothing authorised
    assert "nd_session" not in c.cookies
    log = world.clinic.log()
    for token in world.ehr.id_tokens:  # neither its claims nor its signature
        assert all(part not in log for part in token.split(".")[1:] if part)
    assert world.ehr.tokens and not any(access in log for access in world.ehr.tokens)
    assert "/smart/callback" in log  # the log is the server's, with its requests


def _sign_with(key: Any, kid: str | None = "ehr-key-1", alg: str = "RS256") -> Callable:
    headers = {"kid": kid} if kid else {}
    return lambda claims: jwt.encode(claims, key, algorithm=alg, headers=headers)


def _alg_none(claims: dict[str, Any]) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": "ehr-key-1"}, claims)


def _tampered(world: SmartWorld) -> Callable:
    def sign(claims: dict[str, Any]) -> str:
        good = _sign_with(world.ehr.rsa)(claims)
        head, _, sig = good.split(".")
        forged = {**claims, "fhirUser": world.ehr.iss + "/Practitioner/someone-else"}
        return head + "." + _b64(json.dumps(forged).encode()) + "." + sig

    return sign


def _hs256_with_public_key(world: SmartWorld) -> Callable:
    """The classic key confusion: HS256 with the EHR's public key (PEM) as the secret."""

    def sign(claims: dict[str, Any]) -> str:
        pem = world.ehr.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": "ehr-key-1"}
        unsigned = _unsigned(header, claims).rsplit(".", 1)[0]
        sig = hmac.new(pem, unsigned.encode(), hashlib.sha256).digest()
        return unsigned + "." + _b64(sig)

    return sign


def test_a_signed_token_is_accepted_and_the_keys_are_cached(world):
    before = _jwks_reads(world)
    for _ in range(2):
        c = world.clinic.client()
        assert _launch(world, c).status_code == 200
        assert "Link your EHR user" in c.get("/smart/resume").text
    assert _jwks_reads(world) - before <= 1  # read once (or not at all: already kept)
    # a token without a kid, when the EHR publishes one key: that key
    world.ehr.sign = _sign_with(world.ehr.rsa, kid=None)
    try:
        c = world.clinic.client()
        assert _launch(world, c).status_code == 200
    finally:
        world.ehr.sign = None


SIGNERS: dict[str, tuple[Callable[[SmartWorld], Callable], str]] = {
    "wrong key": (lambda w: _sign_with(new_rsa_key()), "does not verify"),
    "unknown kid": (lambda w: _sign_with(w.ehr.rsa, kid="nobody"), "does not publish"),
    "alg none": (lambda w: _alg_none, "public-key algorithm"),
    "HS256 with the public key": (_hs256_with_public_key, "public-key algorithm"),
    "RS256 key as ES256": (lambda w: _sign_with(new_ec_key(), alg="ES256"), "does not publish"),
    "tampered payload": (_tampered, "does not verify"),
}


def new_ec_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("kind", list(SIGNERS))
def test_a_badly_signed_token_is_refused(world, kind):
    make, says = SIGNERS[kind]
    world.ehr.sign = make(world)
    try:
        c = world.clinic.client()
        before = _jwks_reads(world)
        _refused(world, c, _launch(world, c), says)
        if kind == "unknown kid":  # the keys were read again, once
            assert _jwks_reads(world) - before == 1
    finally:
        world.ehr.sign = None


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"exp": int(time.time()) - 3600}, "has expired"),
        ({"exp": None}, "has expired"),
        ({"iat": int(time.time()) + 3600}, "not for this clinic"),
        ({"iat": None}, "not for this clinic"),
        ({"aud": "another-app"}, "not for this clinic"),
        ({"aud": None}, "not for this clinic"),
        ({"iss": "http://evil.example"}, "not for this clinic"),
        ({"iss": None}, "not for this clinic"),
        ({"nonce": "another-launch"}, "nonce differs"),
        ({"nonce": None}, "nonce differs"),
    ],
)
def test_a_token_for_someone_else_or_out_of_time_is_refused(world, claims, says):
    world.ehr.claims_extra = claims
    try:
        c = world.clinic.client()
        _refused(world, c, _launch(world, c), says)
    finally:
        world.ehr.claims_extra = {}


def test_a_rotated_key_is_fetched_once_and_via_the_openid_configuration(world):
    """The EHR rotates its key and names its JWK Set only in its OpenID configuration:
    the unknown kid makes one fresh read, through ``/.well-known/openid-configuration``."""
    saved = world.ehr.rsa, world.ehr.kid
    world.ehr.rsa, world.ehr.kid = new_rsa_key(), "ehr-key-2"
    world.ehr.config_extra = {"jwks_uri": None}
    try:
        before, oidc = (
            _jwks_reads(world),
            world.ehr.requests.count("/.well-known/openid-configuration"),
        )
        c = world.clinic.client()
        assert _launch(world, c).status_code == 200
        assert _jwks_reads(world) - before == 1
        assert world.ehr.requests.count("/.well-known/openid-configuration") == oidc + 1
    finally:
        world.ehr.rsa, world.ehr.kid = saved
        world.ehr.config_extra = {}


@pytest.mark.parametrize(
    "config",
    [
        {"jwks_uri": "http://127.0.0.2:9/jwks"},
        {"jwks_uri": "https://keys.example/jwks"},
        {"issuer": None},
        {"issuer": "https://login.example"},
    ],
)
def test_keys_only_from_the_registered_origin(world, config):
    world.ehr.config_extra = config
    world.ehr.sign = _sign_with(world.ehr.rsa, kid="rotated-away")  # forces a fresh read
    try:
        c = world.clinic.client()
        r = _launch(world, c)
        assert r.status_code == 502 and "keys could not be read" in r.text, r.text[-500:]
        assert "Traceback" not in r.text
    finally:
        world.ehr.config_extra = {}
        world.ehr.sign = None


def test_an_oversized_key_set_is_not_read(world):
    junk = json.dumps({"kty": "RSA", "kid": "x", "n": "A" * 1000, "e": "AQAB"})
    world.ehr.jwks_body = ('{"keys": [' + ",".join([junk] * 400) + "]}").encode()
    world.ehr.sign = _sign_with(world.ehr.rsa, kid="rotated-away")
    try:
        c = world.clinic.client()
        r = _launch(world, c)
        assert r.status_code == 502 and "keys could not be read" in r.text
    finally:
        world.ehr.jwks_body = None
        world.ehr.sign = None


def test_a_host_name_on_a_private_address_is_not_contacted(world):
    """Registered as ``http://localhost:PORT/fhir``: the name resolves to loopback, which
    the CDS fetcher's rules allow only for a server registered by its IP address."""
    before = len(world.ehr.requests)
    c = world.clinic.client()
    iss = f"http://localhost:{world.ehr.port}/fhir"
    r = c.get("/smart/launch", params={"iss": iss, "launch": "x"})
    assert r.status_code == 502 and "could not be read" in r.text
    assert world.ehr.requests[before:] == []
