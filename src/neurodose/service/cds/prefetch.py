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
    "PrefetchUnavailableError",
    "check_fhir_server",
    "fetch_missing",
    "fill_template",
    "prefetch_templates",
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


def check_fhir_server(fhir_server: str, registered: Sequence[str]) -> str:
    """The base URL to fetch from, if ``fhir_server`` is one of the client's ``registered``
    FHIR base URLs; raises :class:`PrefetchUnavailableError` otherwise.

    A registered host *name* must resolve only to public addresses (loopback,
    link-local and private addresses are refused unless registered as an IP address).
    """
    base = fhir_server.rstrip("/")
    if base not in {r.rstrip("/") for r in registered}:
        raise PrefetchUnavailableError(
            "fhirServer is not a FHIR base URL registered for this client "
            "(clients file: fhir_servers); it was not contacted"
        )
    _, host, port = _origin(base)
    if _ip(host) is None:
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except OSError:
            raise PrefetchUnavailableError("fhirServer: its host name does not resolve") from None
        for info in infos:
            addr = _ip(str(info[4][0]).split("%")[0])
            if addr is None or not addr.is_global:
                raise PrefetchUnavailableError(
                    "fhirServer: its host name resolves to a loopback, link-local or private "
                    "address; register such a server by its IP address"
                )
    return base


def _next_link(data: Mapping[str, Any]) -> str | None:
    for ln in data.get("link") or []:
        if isinstance(ln, dict) and ln.get("relation") == "next" and isinstance(ln.get("url"), str):
            return str(ln["url"])
    return None


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
    (:func:`check_fhir_server`). Searches follow ``next`` links on the same origin as
    the base URL (at most ``max_pages`` pages); a ``next`` link to another origin is
    not followed, so the access token goes only to the registered origin (and it is
    never stored). All fetches share ``budget_s``. What the page limit, the budget or
    a foreign link left out is listed in :attr:`Fetched.partial`. Upstream status
    codes and bodies are not passed on. Raises :class:`PrefetchUnavailableError`
    when the patient (or anything, with no registered server) cannot be had.
    """
    out = dict(prefetch)
    missing = [k for k in templates if k not in prefetch]
    if not missing:
        return Fetched(out)
    if not fhir_server or not fhir_server.startswith(("https://", "http://")):
        raise PrefetchUnavailableError("no fhirServer to fetch " + ", ".join(missing))
    base = check_fhir_server(fhir_server, registered)
    origin = _origin(base)
    headers = {"Accept": "application/fhir+json"}
    if authorization is not None:
        headers["Authorization"] = f"Bearer {authorization.get('access_token', '')}"
    partial: list[str] = []
    deadline = time.monotonic() + budget_s
    try:
        with httpx.Client(headers=headers, follow_redirects=False) as client:
            for key in missing:
                url: str | None = f"{base}/{fill_template(templates[key], context)}"
                entries: list[Any] = []
                first: dict[str, Any] | None = None
                pages = 0
                while url:
                    left = deadline - time.monotonic()
                    if left <= 0.05:
                        partial.append(
                            f"{key}: the time budget for reading the EHR ({budget_s:g} s) ran out"
                            + (f" after {pages} page(s)" if pages else "; not read")
                        )
                        break
                    if pages >= max_pages:
                        partial.append(f"{key}: more than {max_pages} pages; the rest not read")
                        break
                    if _origin(url) != origin or not url.startswith(base + "/"):
                        partial.append(
                            f"{key}: the next page is on another server; not followed "
                            "(the EHR's token goes only to its registered FHIR server)"
                        )
                        break
                    try:
                        r = client.get(url, timeout=min(timeout_s, left))
                    except httpx.TimeoutException:
                        partial.append(f"{key}: the EHR's FHIR server did not answer in time")
                        break
                    pages += 1
                    if r.status_code == 404 and first is None and "?" not in url:
                        break
                    if r.status_code != 200:
                        log.info("prefetch %s: FHIR server answered %s", key, r.status_code)
                        raise PrefetchUnavailableError(f"{key} could not be read from fhirServer")
                    data = r.json()
                    if not isinstance(data, dict) or data.get("resourceType") == "OperationOutcome":
                        raise PrefetchUnavailableError(f"{key} could not be read from fhirServer")
                    if data.get("resourceType") != "Bundle":
                        first = data
                        break
                    first = first or data
                    entries += data.get("entry") or []
                    url = _next_link(data)
                if first is not None and first.get("resourceType") == "Bundle":
                    first = {**first, "entry": entries}
                    first.pop("link", None)
                out[key] = first
    except (httpx.HTTPError, ValueError) as exc:
        log.info("prefetch: FHIR fetch failed: %s", type(exc).__name__)
        raise PrefetchUnavailableError("the EHR's FHIR server could not be read") from None
    return Fetched(out, tuple(partial))
