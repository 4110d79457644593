"""Configuration of the CDS Hooks services: trusted clients, public URL, CORS, limits.

The clients file (``--cds-clients FILE`` or ``NEURODOSE_CDS_CLIENTS``) is JSON::

    {"clients": [
        {"iss": "https://ehr.example.org", "jwks": {"keys": [...]},
         "origins": ["https://ehr.example.org"]},
        {"iss": "https://sandbox.example.org",
         "jwks_url": "https://sandbox.example.org/.well-known/jwks.json"}
     ]}

``iss`` is the allowlisted issuer; its public keys are given inline (``jwks``) or
at ``jwks_url``, which is then the only ``jku`` a token of that client may name.
``origins`` are the browser origins allowed by CORS (none by default).
``fhir_servers`` are the FHIR base URLs (``https://ehr.example.org/fhir``) this
client may name as ``fhirServer``: the service fetches a missing prefetch only from
one of them, and sends the client's FHIR token only to that origin. Any other
``fhirServer`` is never contacted (412). A registered host name must resolve to
public addresses; a loopback, link-local or private server is registered by its
IP address (``http://10.0.0.5/fhir``).

Environment: ``NEURODOSE_PUBLIC_URL`` (the base URL EHRs call; ``aud`` must equal
``{public_url}/cds-services[/{id}[/feedback]]`` exactly), ``NEURODOSE_CDS_CLIENTS``,
``NEURODOSE_CDS_DEV_INSECURE=1`` (accept unsigned requests, local demos only),
``NEURODOSE_CDS_FHIR_TIMEOUT_S`` (prefetch fetches, default 2 s),
``NEURODOSE_CDS_MAX_BODY_BYTES`` (largest request body, default 1 MiB; larger gets 413),
``NEURODOSE_CDS_FHIR_BUDGET_S`` (all prefetch fetches of one call, default 6 s),
``NEURODOSE_CLINIC_URL`` (the clinic the cards link to; default the public URL).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from neurodose.errors import InputError

__all__ = ["CdsClient", "CdsConfig", "load_clients"]


@dataclass(frozen=True)
class CdsClient:
    """One trusted EHR: issuer, keys (inline or at an allowlisted URL), CORS origins."""

    iss: str
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    origins: tuple[str, ...] = ()
    fhir_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class CdsConfig:
    """Everything the CDS Hooks routes need.

    Attributes
    ----------
    public_url : str
        Base URL the EHR calls (no trailing slash), e.g. ``https://cds.example.org``.
    clients : tuple of CdsClient
        Allowlisted issuers and their keys.
    dev_insecure : bool
        Accept requests without a valid JWT (local demos only; warns on every request).
    fhir_timeout_s : float
        Time limit of one FHIR fetch for a missing prefetch key, s.
    max_token_lifetime_s : float
        Longest accepted ``exp - iat`` (the replay cache keeps each jti this long), s.
    clock_skew_s : float
        Allowed clock difference for ``iat`` (not in the future by more than this), s.
    max_body_bytes : int
        Largest accepted request body (bytes); a larger one gets ``413``.
    clinic_url : str, optional
        Base URL of the neurodose clinic the cards link to (default ``public_url``: the
        CDS services mounted on the clinic app).
    fhir_budget_s : float
        Time budget of all FHIR fetches of one hook call, s; when it runs out the
        cards carry a warning that the data were partial.
    fhir_max_pages : int
        Most search-result pages read per prefetch key (more: partial, with a warning).
    max_json_depth : int
        Deepest accepted JSON nesting (objects and arrays); deeper gets ``400``. A CDS
        Hooks request with FHIR bundles nests about 12 deep.
    """

    public_url: str
    clients: tuple[CdsClient, ...] = ()
    dev_insecure: bool = False
    fhir_timeout_s: float = 2.0
    max_token_lifetime_s: float = 3600.0
    clock_skew_s: float = 60.0
    fhir_budget_s: float = 6.0
    fhir_max_pages: int = 10
    clinic_url: str | None = None
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 64
    extra_origins: tuple[str, ...] = field(default=())

    @property
    def origins(self) -> list[str]:
        """All CORS origins (the clients' and any extra ones)."""
        return sorted({o for c in self.clients for o in c.origins} | set(self.extra_origins))

    @property
    def link_base(self) -> str | None:
        """Where the cards' link goes: the clinic (its ``/patients`` page); None in demo
        mode (``dev_insecure``), where it is the mock EHR page ``/ehr-demo``."""
        if self.dev_insecure:
            return None
        return (self.clinic_url or self.public_url).rstrip("/")

    def client(self, iss: str) -> CdsClient | None:
        """The client with issuer ``iss`` (None when not allowlisted)."""
        for c in self.clients:
            if c.iss == iss:
                return c
        return None

    @classmethod
    def from_env(
        cls,
        *,
        public_url: str | None = None,
        clients_file: str | Path | None = None,
        dev_insecure: bool | None = None,
    ) -> CdsConfig:
        """Build from arguments, falling back to the environment (see module docstring)."""
        url = public_url or os.environ.get("NEURODOSE_PUBLIC_URL")
        if not url:
            raise InputError(
                "public-url", url, "the base URL EHRs call, e.g. https://cds.example.org"
            )
        if not url.startswith(("http://", "https://")):
            raise InputError("public-url", url, "an http(s) URL")
        path = clients_file or os.environ.get("NEURODOSE_CDS_CLIENTS")
        clients = load_clients(path) if path else ()
        insecure = (
            dev_insecure
            if dev_insecure is not None
            else os.environ.get("NEURODOSE_CDS_DEV_INSECURE", "") == "1"
        )
        raw_t = os.environ.get("NEURODOSE_CDS_FHIR_TIMEOUT_S", "2")
        try:
            timeout = float(raw_t)
        except ValueError:
            raise InputError("NEURODOSE_CDS_FHIR_TIMEOUT_S", raw_t, "seconds, 0.1-30") from None
        if not 0.1 <= timeout <= 30:
            raise InputError("NEURODOSE_CDS_FHIR_TIMEOUT_S", raw_t, "seconds, 0.1-30")
        raw_g = os.environ.get("NEURODOSE_CDS_FHIR_BUDGET_S", "6")
        try:
            budget = float(raw_g)
        except ValueError:
            budget = 0.0
        if not 0.1 <= budget <= 60:
            raise InputError("NEURODOSE_CDS_FHIR_BUDGET_S", raw_g, "seconds, 0.1-60")
        raw_b = os.environ.get("NEURODOSE_CDS_MAX_BODY_BYTES", str(1024 * 1024))
        try:
            max_body = int(raw_b)
        except ValueError:
            max_body = 0
        if max_body < 1024:
            raise InputError("NEURODOSE_CDS_MAX_BODY_BYTES", raw_b, "bytes, an integer >= 1024")
        return cls(
            public_url=url.rstrip("/"),
            clients=clients,
            dev_insecure=insecure,
            fhir_timeout_s=timeout,
            max_body_bytes=max_body,
            fhir_budget_s=budget,
            clinic_url=os.environ.get("NEURODOSE_CLINIC_URL") or None,
        )


def _read_clients_file(p: Path) -> list[Any]:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("cds-clients", str(p), "an existing JSON file") from None
    except json.JSONDecodeError as exc:
        raise InputError("cds-clients", str(p), f"valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("clients"), list):
        raise InputError(f"{p}: clients", None, 'a JSON object {"clients": [...]}')
    return list(data["clients"])


def _fhir_base_ok(u: Any) -> bool:
    if not isinstance(u, str):
        return False
    parts = urlsplit(u)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and not parts.username
    )


def _client_keys(c: dict[str, Any], where: str, iss: str) -> tuple[Any, str | None]:
    """The client's inline ``jwks`` or its ``jwks_url`` (exactly one)."""
    jwks, url = c.get("jwks"), c.get("jwks_url")
    if (jwks is None) == (url is None):
        raise InputError(where, iss, "exactly one of jwks (inline) or jwks_url")
    if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        raise InputError(f"{where}.jwks", type(jwks).__name__, 'a JWK Set {"keys": [...]}')
    if url is not None and not (
        isinstance(url, str) and url.startswith(("https://", "http://127.0.0.1"))
    ):
        raise InputError(f"{where}.jwks_url", url, "an https URL")
    return jwks, url


def _client(c: Any, where: str) -> CdsClient:
    """One entry of the clients file."""
    if not isinstance(c, dict):
        raise InputError(where, c, "an object with iss and jwks or jwks_url")
    unknown = set(c) - {"iss", "jwks", "jwks_url", "origins", "fhir_servers"}
    if unknown:
        raise InputError(
            f"{where}.{sorted(unknown)[0]}", "...", "iss, jwks, jwks_url, origins, fhir_servers"
        )
    iss = c.get("iss")
    if not isinstance(iss, str) or not iss:
        raise InputError(f"{where}.iss", iss, "the issuer (a non-empty string)")
    jwks, url = _client_keys(c, where, iss)
    origins = c.get("origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise InputError(f"{where}.origins", origins, "a list of origins (https://host)")
    servers = c.get("fhir_servers", [])
    if not isinstance(servers, list) or not all(_fhir_base_ok(u) for u in servers):
        raise InputError(
            f"{where}.fhir_servers", servers, "a list of FHIR base URLs (https://host/fhir)"
        )
    return CdsClient(
        iss=iss,
        jwks=jwks,
        jwks_url=url,
        origins=tuple(origins),
        fhir_servers=tuple(u.rstrip("/") for u in servers),
    )


def load_clients(path: str | Path) -> tuple[CdsClient, ...]:
    """Read the clients file (module docstring); errors name the file and the field."""
    p = Path(path)
    out: list[CdsClient] = []
    for i, c in enumerate(_read_clients_file(p)):
        where = f"{p}: clients[{i}]"
        client = _client(c, where)
        if any(x.iss == client.iss for x in out):
            raise InputError(f"{where}.iss", client.iss, "each issuer once")
        out.append(client)
    return tuple(out)
