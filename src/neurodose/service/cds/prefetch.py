"""Prefetch templates, and fetching what the EHR did not send (HL7 CDS Hooks 2.0 §Prefetch).

A key the client sends as ``null`` means "no data" (absent). A key the client
leaves out must be fetched by the service from ``fhirServer`` with the
``fhirAuthorization`` bearer token (bounded time, never stored or logged); when
that is impossible the service answers ``412``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from neurodose.knowledge.terminology import code_tables, system_uri

__all__ = ["PrefetchUnavailableError", "fetch_missing", "fill_template", "prefetch_templates"]

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


def fetch_missing(
    templates: Mapping[str, str],
    prefetch: Mapping[str, Any],
    *,
    context: Mapping[str, Any],
    fhir_server: str | None,
    authorization: Mapping[str, Any] | None,
    timeout_s: float,
) -> dict[str, Any]:
    """The prefetch with every omitted key fetched from ``fhir_server`` (``null`` kept as None).

    Searches follow ``next`` links (at most 10 pages). The access token is only
    put in the request header, never stored. Raises :class:`PrefetchUnavailableError`.
    """
    out = dict(prefetch)
    missing = [k for k in templates if k not in prefetch]
    if not missing:
        return out
    if not fhir_server or not fhir_server.startswith(("https://", "http://")):
        raise PrefetchUnavailableError("no fhirServer to fetch " + ", ".join(missing))
    headers = {"Accept": "application/fhir+json"}
    if authorization is not None:
        headers["Authorization"] = f"Bearer {authorization.get('access_token', '')}"
    base = fhir_server.rstrip("/")
    try:
        with httpx.Client(timeout=timeout_s, headers=headers, follow_redirects=False) as client:
            for key in missing:
                url: str | None = f"{base}/{fill_template(templates[key], context)}"
                entries: list[Any] = []
                first: dict[str, Any] | None = None
                pages = 0
                while url and pages < 10:
                    r = client.get(url)
                    pages += 1
                    if r.status_code == 404 and first is None and "?" not in url:
                        first = None
                        break
                    if r.status_code != 200:
                        raise PrefetchUnavailableError(
                            f"{key}: FHIR server answered {r.status_code}"
                        )
                    data = r.json()
                    if not isinstance(data, dict) or data.get("resourceType") == "OperationOutcome":
                        raise PrefetchUnavailableError(
                            f"{key}: FHIR server answered an OperationOutcome"
                        )
                    if data.get("resourceType") != "Bundle":
                        first = data
                        break
                    first = first or data
                    entries += data.get("entry") or []
                    url = next(
                        (
                            ln.get("url")
                            for ln in data.get("link") or []
                            if ln.get("relation") == "next"
                        ),
                        None,
                    )
                if first is not None and first.get("resourceType") == "Bundle":
                    first = {**first, "entry": entries}
                out[key] = first
    except (httpx.HTTPError, ValueError) as exc:
        raise PrefetchUnavailableError(f"FHIR fetch failed: {type(exc).__name__}") from None
    return out
