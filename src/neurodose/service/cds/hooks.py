"""The three services: request checks, prefetch, screening through the library, cards.

Translation only: the patient comes from :func:`neurodose.fhir.inbound.case_from_resources`,
the findings of each draft order and the alternative from
:func:`neurodose.workflows.screen_orders`, review timing from the cited plan data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from neurodose.advice.assess import OPTIONS
from neurodose.errors import FhirError
from neurodose.fhir.inbound import (
    FhirCase,
    Order,
    Unrecognised,
    case_from_resources,
    medication_index,
    orders_from,
)
from neurodose.fhir.validate import bundle_entries, validate_resource
from neurodose.knowledge import get_drug
from neurodose.service.cds.cards import (
    finding_card,
    note_card,
    partial_data_card,
    unrecognised_card,
)
from neurodose.service.cds.config import CdsConfig
from neurodose.service.cds.prefetch import (
    PrefetchUnavailableError,
    fetch_missing,
    prefetch_templates,
)
from neurodose.service.library import alternatives
from neurodose.workflows.screening import DraftOrder, OrderScreenRequest, screen_orders

__all__ = [
    "SERVICES",
    "HookCall",
    "HookError",
    "Service",
    "discovery",
    "handle_hook",
    "service_for",
]


@dataclass(frozen=True)
class HookCall:
    """One validated hook call as a handler gets it: the service, the request body,
    the completed prefetch, the patient case read from it, the config and today."""

    service: Service
    body: dict[str, Any]
    prefetch: dict[str, Any]
    case: FhirCase
    config: CdsConfig
    today: dt.date


@dataclass(frozen=True)
class Service:
    """One CDS service: id, hook, title, description, the prefetch templates it asks
    for (from the hook, :func:`~neurodose.service.cds.prefetch.prefetch_templates`) and
    the handler that turns a :class:`HookCall` into cards. :data:`SERVICES` is the one
    registry: discovery, dispatch, the EHR demo and the conformance kit
    (:mod:`neurodose.testing.cds`) read it."""

    id: str
    hook: str
    title: str
    description: str
    handler: Callable[[HookCall], list[dict[str, Any]]]

    @property
    def prefetch(self) -> dict[str, str]:
        return dict(prefetch_templates(self.hook))


_ORDER_KEYS = ("patient", "medications", "recentMedications", "conditions", "observations")


class HookError(Exception):
    """A request the service answers with ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())


def discovery() -> dict[str, Any]:
    """The discovery document (``GET /cds-services``)."""
    return {
        "services": [
            {
                "hook": s.hook,
                "id": s.id,
                "title": s.title,
                "description": s.description,
                "prefetch": s.prefetch,
                "usageRequirements": "Signed JWT from an allowlisted client (ES384/RS384).",
            }
            for s in SERVICES
        ]
    }


def service(service_id: str) -> Service | None:
    """The service with this id (None when unknown)."""
    return _BY_ID.get(service_id)


def _check_request(svc: Service, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise HookError(400, "request body: expected a JSON object")
    if body.get("hook") != svc.hook:
        raise HookError(
            400, f"hook: {body.get('hook')!r} does not match service {svc.id} ({svc.hook})"
        )
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise HookError(400, "hookInstance: expected a UUID string")
    ctx = body.get("context")
    if not isinstance(ctx, dict):
        raise HookError(400, "context: expected an object")
    if not isinstance(ctx.get("patientId"), str) or not ctx["patientId"]:
        raise HookError(400, "context.patientId: missing (a Patient id is required)")
    auth = body.get("fhirAuthorization")
    if auth is not None:
        if not isinstance(auth, dict) or not isinstance(auth.get("access_token"), str):
            raise HookError(400, "fhirAuthorization: expected an object with access_token")
        if auth.get("token_type") not in (None, "Bearer"):
            raise HookError(400, "fhirAuthorization.token_type: expected 'Bearer'")
        if not body.get("fhirServer"):
            raise HookError(400, "fhirServer: required when fhirAuthorization is sent")
    if body.get("fhirServer") is not None and not isinstance(body["fhirServer"], str):
        raise HookError(400, "fhirServer: expected a URL string")
    pre = body.get("prefetch", {})
    if pre is None:
        pre = {}
    if not isinstance(pre, dict):
        raise HookError(400, "prefetch: expected an object")
    if svc.hook in ("order-select", "order-sign") and "draftOrders" not in ctx:
        raise HookError(400, "context.draftOrders: missing (a Bundle of draft orders)")
    return pre


def _patient_urls(prefetch: Mapping[str, Any], pid: str) -> set[str]:
    """The ``fullUrl`` of every Patient entry with id ``pid`` in the prefetch bundles."""
    out: set[str] = set()
    for value in prefetch.values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            for e in value.get("entry") or []:
                r = e.get("resource") if isinstance(e, dict) else None
                if (
                    isinstance(r, dict)
                    and r.get("resourceType") == "Patient"
                    and r.get("id") == pid
                    and isinstance(e.get("fullUrl"), str)
                ):
                    out.add(e["fullUrl"])
    return out


def _subject_ok(res: Mapping[str, Any], pid: str, urls: Collection[str] = ()) -> bool:
    """Whether the resource's subject is the context patient: ``Patient/{pid}``, an
    absolute ``.../Patient/{pid}``, the ``fullUrl`` of that Patient's bundle entry, or
    ``urn:uuid:{pid}`` (bundles whose Patient id is its entry's uuid)."""
    for key in ("subject", "patient"):
        ref = res.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            r = ref["reference"]
            return (
                r in (f"Patient/{pid}", pid, f"urn:uuid:{pid}")
                or r in urls
                or r.endswith(f"/Patient/{pid}")
            )
    return True


def _case(
    prefetch: Mapping[str, Any],
    pid: str,
    today: dt.date,
    medications: Mapping[str, dict[str, Any]] | None = None,
) -> FhirCase:
    patient = prefetch.get("patient")
    if patient is None:
        raise HookError(412, "prefetch.patient: no Patient available (age is needed to screen)")
    items: list[tuple[str, dict[str, Any]]] = [
        ("prefetch.patient", validate_resource(patient, where="prefetch.patient", expect="Patient"))
    ]
    if items[0][1].get("id") not in (None, pid):
        raise HookError(
            400, f"prefetch.patient: id {items[0][1].get('id')!r} is not context.patientId"
        )
    urls = _patient_urls(prefetch, pid)
    for key in _ORDER_KEYS[1:]:
        value = prefetch.get(key)
        if value is None:
            continue
        for where, res in bundle_entries(value, where=f"prefetch.{key}"):
            if res.get("resourceType") == "OperationOutcome":
                continue
            if not _subject_ok(res, pid, urls):
                raise HookError(400, f"{where}: belongs to another patient than context.patientId")
            items.append((where, res))
    return case_from_resources(items, today=today, medications=medications)


def _medications(body: Mapping[str, Any], prefetch: Mapping[str, Any]) -> dict[str, Any]:
    """Medication resources a ``medicationReference`` may name: every prefetch value and
    the draft orders (bundle entries by ``Medication/id`` and ``fullUrl``)."""
    ctx = body.get("context") or {}
    return medication_index(*prefetch.values(), ctx.get("draftOrders"))


def _drafts(orders: list[Order]) -> list[tuple[Order, DraftOrder]]:
    """The recognised FHIR orders, each with the draft the screening workflow takes."""
    return [
        (o, DraftOrder(o.drug, o.dose_mg, o.every_h, o.daily_mg))
        for o in orders
        if o.drug is not None
    ]


def _pgx_caveats(case: FhirCase, finding: Any) -> list[str]:
    genes = set(dict(finding.details).get("phenotypes", {}) or {}) | (
        {dict(finding.details).get("gene")} if dict(finding.details).get("gene") else set()
    )
    return [n for n in case.notes if any(g and g in n for g in genes)]


def _selected(svc: Service, ctx: Mapping[str, Any], orders: list[Order]) -> list[Order]:
    """order-select: only the orders named in ``context.selections`` (when given)."""
    if svc.hook != "order-select" or ctx.get("selections") is None:
        return orders
    sel = ctx["selections"]
    if not isinstance(sel, list) or not all(isinstance(s, str) for s in sel):
        raise HookError(400, "context.selections: expected a list of references")
    return [o for o in orders if o.ref in sel]


def _unknown_orders_card(orders: list[Order], config: CdsConfig) -> list[dict[str, Any]]:
    """A warning card naming the orders neurodose does not know (none: no card)."""
    unknown = [o for o in orders if o.drug is None or o.problems]
    if not unknown:
        return []
    items = [
        Unrecognised(
            o.ref,
            "medication" if o.drug is None else "dose",
            o.text,
            o.codes,
            "; ".join(o.problems) or "not in the neurodose knowledge base",
        )
        for o in unknown
    ]
    return [unrecognised_card(items, public_url=config.public_url, draft=True)]


def _order_cards(
    svc: Service,
    body: dict[str, Any],
    prefetch: Mapping[str, Any],
    case: FhirCase,
    config: CdsConfig,
    today: dt.date,
) -> list[dict[str, Any]]:
    ctx = body["context"]
    meds_index = _medications(body, prefetch)
    # every draft of the request is screened together with the others and the active list
    all_drafts = orders_from(
        ctx["draftOrders"], where="context.draftOrders", medications=meds_index
    )
    orders = _selected(svc, ctx, list(all_drafts))
    cards = _unknown_orders_card(orders, config)
    known = _drafts(orders)
    res = screen_orders(
        OrderScreenRequest(
            case.patient(),
            tuple(d for _, d in known),
            tuple(d for _, d in _drafts(all_drafts)),
            today,
            candidates=alternatives,
        )
    )
    for (order, _), scr in zip(known, res.screens, strict=True):
        cards += [
            finding_card(
                f,
                order=order,
                public_url=config.public_url,
                patient_id=ctx["patientId"],
                clinic_url=config.link_base,
                alternative=scr.alternative,
                caveats=_pgx_caveats(case, f),
            )
            for f in scr.findings
        ]
    meds = [
        u for u in case.unrecognised if u.kind in ("medication", "dose", "condition", "observation")
    ]
    if meds:
        cards.append(unrecognised_card(meds, public_url=config.public_url, draft=False))
    return cards


def _start_date(res: Mapping[str, Any]) -> dt.date | None:
    for d in res.get("dosageInstruction") or []:
        s = (((d.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}).get("start")
        if isinstance(s, str):
            try:
                return dt.date.fromisoformat(s[:10])
            except ValueError:
                pass
    s = res.get("authoredOn")
    if isinstance(s, str):
        try:
            return dt.date.fromisoformat(s[:10])
        except ValueError:
            return None
    return None


def _start_dates(prefetch: Mapping[str, Any]) -> dict[str, dt.date]:
    """The earliest start date of each active drug (its MedicationRequests)."""
    starts: dict[str, dt.date] = {}
    value = prefetch.get("medications")
    if value is None:
        return starts
    orders = orders_from(
        value, where="prefetch.medications", medications=medication_index(*prefetch.values())
    )
    for o in orders:
        d = _start_date(o.resource)
        if o.drug and d:
            starts[o.drug] = min(d, starts.get(o.drug, d))
    return starts


def _current_lines(cur: Any) -> tuple[str, list[str]]:
    """One current medicine: its part of the summary, and its lines of the detail."""
    dose = f"{cur.dose_mg:g} mg" if cur.dose_mg else "dose not given"
    if cur.every_h:
        dose += f" every {cur.every_h:g} h"
    rv, week, due = cur.status.effect_review, cur.status.week, cur.status.effect_review_date
    if cur.start and due is not None:
        part = f"{cur.display_name} {dose}, week {week}"
        lines = [
            f"- **{cur.display_name}** {dose}; started {cur.start.isoformat()} (week {week}); "
            f"effect review due {due.isoformat()} ({rv.value:g} {rv.unit} after start; "
            f"`{rv.source}`{'' if rv.verified else ', UNVERIFIED'})."
        ]
    else:
        part = f"{cur.display_name} {dose}"
        lines = [f"- **{cur.display_name}** {dose}; start date not on the order."]
    rr = cur.reference_range
    if rr is not None:
        lines.append(
            f"  Level: a trough level can guide dosing (reference range {rr.low:g}-{rr.high:g} "
            f"{rr.unit}, `{rr.source}`); run `neurodose tdm` with the measured level."
            if rr.low is not None and rr.high is not None
            else f"  Level: TDM range on file (`{rr.source}`)."
        )
    return part, lines


def _patient_view(
    prefetch: Mapping[str, Any], case: FhirCase, config: CdsConfig, pid: str, today: dt.date
) -> list[dict[str, Any]]:
    current = [
        m
        for m in case.profile.get("medications", [])
        if m["name"] in OPTIONS and "stopped_days_ago" not in m
    ]
    from neurodose.workflows import PatientViewRequest, patient_view

    view = patient_view(
        PatientViewRequest(tuple(current), _start_dates(prefetch), today, case.patient())
    )
    pgx = _pgx_lines(view)
    if not current:
        summary = "No neuropathic-pain medicine on the active list"
        lines = [
            "neurodose found none of its neuropathic-pain options among the active "
            "MedicationRequests. Open the full assessment for ranked options.",
            *pgx,
        ]
    else:
        parts: list[str] = []
        lines = []
        for cur in view.drugs:
            part, more = _current_lines(cur)
            parts.append(part)
            lines += more
        lines.extend(pgx)
        if view.phenotypes:
            parts.append("PGx " + ", ".join(f"{g.gene} {g.phenotype}" for g in view.phenotypes))
        lines.append("- Diary response: this patient is not linked to a neurodose clinic diary.")
        if case.unrecognised:
            lines.append(f"- Not recognised: {', '.join(u.text for u in case.unrecognised)}.")
        summary = "Neuropathic pain: " + "; ".join(parts)
    return [
        note_card(
            summary,
            "\n".join(lines),
            public_url=config.public_url,
            code="patient_view_summary",
            patient_id=pid,
            clinic_url=config.link_base,
        )
    ]


def _pgx_lines(view: Any) -> list[str]:
    """The pharmacogenomics of a :class:`~neurodose.workflows.views.PatientView` as
    card lines: the phenotypes on record, then each pharmacogenetic finding of the
    safety screen about a current medicine (its message, tier and sources)."""
    if view.phenotypes:
        genes = "; ".join(
            f"{g.gene} {g.words}"
            + (
                f" ({g.diplotype})"
                if g.diplotype
                else f" (activity score {g.activity_score:g})"
                if g.activity_score is not None
                else " (phenotype as reported)"
            )
            for g in view.phenotypes
        )
        lines = [f"- Pharmacogenomics: {genes}."]
    else:
        lines = ["- Pharmacogenomics: no CYP2D6 or CYP2C19 result on record."]
    for f in view.pgx_findings:
        name = get_drug(f.drug).display_name if f.drug else "Medicine"
        src = ", ".join(f"`{x}`" for x in f.sources[:4])
        lines.append(
            f"  - **{name}** ({f.severity.upper()}, {f.title or f.code}): {f.message}"
            + (f" Sources: {src}." if src else "")
            + ("" if f.verified else " _UNVERIFIED._")
        )
    if view.phenotypes and not view.pgx_findings:
        lines.append(
            "  No CPIC/DPWG genotype guidance or phenoconversion applies to the current medicines."
        )
    return lines


def _order_handler(call: HookCall) -> list[dict[str, Any]]:
    return _order_cards(call.service, call.body, call.prefetch, call.case, call.config, call.today)


def _patient_view_handler(call: HookCall) -> list[dict[str, Any]]:
    pid = call.body["context"]["patientId"]
    return _patient_view(call.prefetch, call.case, call.config, pid, call.today)


SERVICES: tuple[Service, ...] = (
    Service(
        "neurodose-order-select",
        "order-select",
        "neurodose: neuropathic-pain medicine check (order select)",
        "Screens a selected draft medication order of any drug in the neurodose knowledge base: "
        "interactions, CYP2D6/CYP2C19 by dose band with phenoconversion, Beers, renal, QT, MAOI "
        "washout. Cards cite their sources.",
        _order_handler,
    ),
    Service(
        "neurodose-order-sign",
        "order-sign",
        "neurodose: neuropathic-pain medicine check (order sign)",
        "Final check of draft medication orders before signing (same rules as order-select).",
        _order_handler,
    ),
    Service(
        "neurodose-patient-view",
        "patient-view",
        "neurodose: neuropathic-pain therapy summary",
        "One card: current neuropathic-pain medicine and dose, week of treatment, review due, "
        "level guidance, and the pharmacogenomic findings for the current medicines.",
        _patient_view_handler,
    ),
)
_BY_ID = {s.id: s for s in SERVICES}


def service_for(hook: str) -> Service:
    """The (first) service for ``hook``."""
    return next(s for s in SERVICES if s.hook == hook)


def handle_hook(
    service_id: str,
    body: Any,
    config: CdsConfig,
    *,
    today: dt.date | None = None,
    client: str | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Cards for one hook call, and the service id (raises :class:`HookError`).

    ``client`` is the issuer of the caller's JWT: a missing prefetch is fetched only
    from a ``fhirServer`` registered for it (``fhir_servers`` in the clients file).
    """
    svc = _BY_ID.get(service_id)
    if svc is None:
        raise HookError(404, f"service {service_id!r} not found")
    today = today or dt.date.today()
    pre = _check_request(svc, body)
    ctx = body["context"]
    for k, v in pre.items():
        if v is not None and not isinstance(v, dict):
            raise HookError(400, f"prefetch.{k}: expected a FHIR resource or Bundle (or null)")
    caller = config.client(client) if client is not None else None
    try:
        fetched = fetch_missing(
            svc.prefetch,
            pre,
            context=ctx,
            fhir_server=body.get("fhirServer"),
            authorization=body.get("fhirAuthorization"),
            timeout_s=config.fhir_timeout_s,
            registered=caller.fhir_servers if caller is not None else (),
            budget_s=config.fhir_budget_s,
            max_pages=config.fhir_max_pages,
        )
    except PrefetchUnavailableError as exc:
        raise HookError(412, f"prefetch unavailable: {exc}") from None
    pre = fetched.prefetch
    try:
        case = _case(pre, ctx["patientId"], today, _medications(body, pre))
        cards = svc.handler(HookCall(svc, body, pre, case, config, today))
    except FhirError as exc:
        raise HookError(400, str(exc)) from None
    if fetched.partial:
        cards.append(partial_data_card(fetched.partial, public_url=config.public_url))
    return cards, svc.id
