"""Prefetch templates, and fetching what the EHR did not send (HL7 CDS Hooks 2.0 §Prefetch).

A key the client sends as ``null`` means "no data" (absent). A key the client
leaves out must be fetched by the service from ``fhirServer`` with the
``fhirAuthorization`` bearer token (bounded time, never stored or logged), and only
from a FHIR base URL registered for the calling client; when that is impossible the
service answers ``412``. Data cut short (page limit, time budget, a ``next`` link to
another server) are used and the cards say they were partial.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from neurodose.knowledge.terminology import code_tables, system_uri

__all__ = [
    "Fetched",
    "FhirTarget",
    "PrefetchUnavailableError",
    "check_fhir_server",
    "fetch_missing",
    "fill_template",
    "pinned_get",
    "prefetch_templates",
    "resolve_fhir_server",
]

log = logging.getLogger("neurodose.cds")

_LOINC_KINDS = ("egfr", "crcl", "qtc", "alt", "genotype", "pain_score")


class PrefetchUnavailableError(Exception):
    """A missing prefetch key could not be fetched (the route answers 412)."""


def prefetch_templates(hook: str) -> dict[str, str]:
    """The prefetch templates of a service (FHIR queries with ``{{context.patientId}}``)."""
    loinc = system_uri("LOINC")
    codes = [f"{loinc}|{o.code}" for o in code_tables().observations if o.kind in _LOINC_KINDS]
    codes.append(
        "http://hl7.org/uv/genomics-reporting/CodeSystem/tbd-codes-cs|therapeutic-implication"
    )
    pid = "{{context.patientId}}"
    out = {
        "patient": f"Patient/{pid}",
        "medications": f"MedicationRequest?patient={pid}&status=active,on-hold",
        "recentMedications": f"MedicationRequest?patient={pid}&status=stopped,completed"
        "&_sort=-authoredon&_count=50",
        "conditions": f"Condition?patient={pid}&clinical-status=active",
        "observations": f"Observation?patient={pid}&code={','.join(codes)}&_sort=-date&_count=100",
        "allergies": f"AllergyIntolerance?patient={pid}",
    }
    return out


_TOKEN = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")


def fill_template(template: str, context: Mapping[str, Any]) -> str:
    """Replace ``{{context.x}}`` tokens with root-level primitive context values."""

    def sub(m: re.Match[str]) -> str:
        v = context.get(m.group(1))
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise PrefetchUnavailableError(f"context.{m.group(1)} is not a primitive value")
        return str(v)

    return _TOKEN.sub(sub, template)


@dataclass(frozen=True)
class Fetched:
    """The completed prefetch, and what was left out (each a line for the warning card)."""

    prefetch: dict[str, Any]
    partial: tuple[str, ...] = ()


def _origin(url: str) -> tuple[str, str, int]:
    u = urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, (u.hostname or "").lower(), port


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class FhirTarget:
    """A registered FHIR base URL and the address to connect to: ``pin`` is the public
    address its host name resolved to when it was checked (None when the URL names an IP
    address). Every fetch connects to ``pin`` (with the original Host header and TLS
    server name), so a second DNS answer (rebinding) cannot redirect it to a private
    address."""

    base: str
    pin: str | None = None

    @property
    def origin(self) -> tuple[str, str, int]:
        return _origin(self.base)


def _public_address(host: str, port: int) -> str:
    """The first address ``host`` resolves to; every address must be public."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise PrefetchUnavailableError("fhirServer: its host name does not resolve") from None
    addrs = [str(info[4][0]).split("%")[0] for info in infos]
    for a in addrs:
        addr = _ip(a)
        if addr is None or not addr.is_global:
            raise PrefetchUnavailableError(
                "fhirServer: its host name resolves to a loopback, link-local or private "
                "address; register such a server by its IP address"
            )
    if not addrs:
        raise PrefetchUnavailableError("fhirServer: its host name does not resolve")
    return addrs[0]


def resolve_fhir_server(fhir_server: str, registered: Sequence[str]) -> FhirTarget:
    """The :class:`FhirTarget` to fetch from, if ``fhir_server`` is one of the client's
    ``registered`` FHIR base URLs; raises :class:`PrefetchUnavailableError` otherwise.

    A registered host *name* is resolved once, here, and must resolve only to public
    addresses (loopback, link-local and private addresses are refused unless registered
    as an IP address); the fetches then connect to that address.
    """
    base = fhir_server.rstrip("/")
    if base not in {r.rstrip("/") for r in registered}:
        raise PrefetchUnavailableError(
            "fhirServer is not a FHIR base URL registered for this client "
            "(clients file: fhir_servers); it was not contacted"
        )
    _, host, port = _origin(base)
    if _ip(host) is not None:
        return FhirTarget(base)
    return FhirTarget(base, _public_address(host, port))


def check_fhir_server(fhir_server: str, registered: Sequence[str]) -> str:
    """The base URL to fetch from (see :func:`resolve_fhir_server`)."""
    return resolve_fhir_server(fhir_server, registered).base


def pinned_get(
    client: httpx.Client, url: str, pin: str | None, *, timeout: float
) -> httpx.Response:
    """GET ``url``, connecting to the address ``pin`` (None: as the URL says) with the
    URL's host as the Host header and the TLS server name (certificates are checked
    against the host name, not the address)."""
    if pin is None:
        return client.get(url, timeout=timeout)
    u = urlsplit(url)
    host = u.hostname or ""
    addr = f"[{pin}]" if ":" in pin else pin
    netloc = addr + (f":{u.port}" if u.port else "")
    req = client.build_request(
        "GET",
        u._replace(netloc=netloc).geturl(),
        headers={"Host": u.netloc.rpartition("@")[2]},
        timeout=timeout,
        extensions={"sni_hostname": host},
    )
    return client.send(req)


def _next_link(data: Mapping[str, Any]) -> str | None:
    for ln in data.get("link") or []:
        if isinstance(ln, dict) and ln.get("relation") == "next" and isinstance(ln.get("url"), str):
            return str(ln["url"])
    return None


@dataclass
class _Fetcher:
    """The fetches of one hook call: one client, one target, one time budget."""

    client: httpx.Client
    target: FhirTarget
    timeout_s: float
    budget_s: float
    max_pages: int
    deadline: float
    partial: list[str]

    def _stop(self, key: str, url: str, pages: int) -> str | None:
        """Why the read of ``key`` stops before ``url`` (None: go on)."""
        left = self.deadline - time.monotonic()
        if left <= 0.05:
            return f"{key}: the time budget for reading the EHR ({self.budget_s:g} s) ran out" + (
                f" after {pages} page(s)" if pages else "; not read"
            )
        if pages >= self.max_pages:
            return f"{key}: more than {self.max_pages} pages; the rest not read"
        if _origin(url) != self.target.origin or not url.startswith(self.target.base + "/"):
            return (
                f"{key}: the next page is on another server; not followed "
                "(the EHR's token goes only to its registered FHIR server)"
            )
        return None

    def _page(self, key: str, url: str) -> httpx.Response | None:
        left = self.deadline - time.monotonic()
        try:
            return pinned_get(self.client, url, self.target.pin, timeout=min(self.timeout_s, left))
        except httpx.TimeoutException:
            self.partial.append(f"{key}: the EHR's FHIR server did not answer in time")
            return None

    def read(self, key: str, url: str | None) -> dict[str, Any] | None:
        """One prefetch key: a read, or a search with its ``next`` pages."""
        entries: list[Any] = []
        first: dict[str, Any] | None = None
        pages = 0
        while url:
            why = self._stop(key, url, pages)
            if why is not None:
                self.partial.append(why)
                break
            r = self._page(key, url)
            if r is None:
                break
            pages += 1
            if r.status_code == 404 and first is None and "?" not in url:
                break
            data = _fhir_json(key, r)
            if data.get("resourceType") != "Bundle":
                first = data
                break
            first = first or data
            entries += data.get("entry") or []
            url = _next_link(data)
        if first is not None and first.get("resourceType") == "Bundle":
            first = {**first, "entry": entries}
            first.pop("link", None)
        return first


def _fhir_json(key: str, r: httpx.Response) -> dict[str, Any]:
    """A FHIR answer's resource; upstream errors are logged by status, never passed on."""
    if r.status_code != 200:
        log.info("prefetch %s: FHIR server answered %s", key, r.status_code)
        raise PrefetchUnavailableError(f"{key} could not be read from fhirServer")
    data = r.json()
    if not isinstance(data, dict) or data.get("resourceType") == "OperationOutcome":
        raise PrefetchUnavailableError(f"{key} could not be read from fhirServer")
    return data


def fetch_missing(
    templates: Mapping[str, str],
    prefetch: Mapping[str, Any],
    *,
    context: Mapping[str, Any],
    fhir_server: str | None,
    authorization: Mapping[str, Any] | None,
    timeout_s: float,
    registered: Sequence[str] = (),
    budget_s: float = 6.0,
    max_pages: int = 10,
) -> Fetched:
    """The prefetch with every omitted key fetched from ``fhir_server`` (``null`` kept as None).

    ``fhir_server`` must be one of the client's ``registered`` base URLs
    (:func:`resolve_fhir_server`; a host name is resolved once and every fetch connects
    to that address). Searches follow ``next`` links on the same origin as the base URL
    (at most ``max_pages`` pages); a ``next`` link to another origin is not followed, so
    the access token goes only to the registered origin (and it is never stored). All
    fetches share ``budget_s``. What the page limit, the budget or a foreign link left
    out is listed in :attr:`Fetched.partial`. Upstream status codes and bodies are not
    passed on. Raises :class:`PrefetchUnavailableError` when the patient (or anything,
    with no registered server) cannot be had.
    """
    out = dict(prefetch)
    missing = [k for k in templates if k not in prefetch]
    if not missing:
        return Fetched(out)
    if not fhir_server or not fhir_server.startswith(("https://", "http://")):
        raise PrefetchUnavailableError("no fhirServer to fetch " + ", ".join(missing))
    target = resolve_fhir_server(fhir_server, registered)
    headers = {"Accept": "application/fhir+json"}
    if authorization is not None:
        headers["Authorization"] = f"Bearer {authorization.get('access_token', '')}"
    partial: list[str] = []
    try:
        with httpx.Client(headers=headers, follow_redirects=False) as client:
            fetcher = _Fetcher(
                client,
                target,
                timeout_s,
                budget_s,
                max_pages,
                time.monotonic() + budget_s,
                partial,
            )
            for key in missing:
                out[key] = fetcher.read(
                    key, f"{target.base}/{fill_template(templates[key], context)}"
                )
    except (httpx.HTTPError, ValueError) as exc:
        log.info("prefetch: FHIR fetch failed: %s", type(exc).__name__)
        raise PrefetchUnavailableError("the EHR's FHIR server could not be read") from None
    return Fetched(out, tuple(partial))
