"""Findings to CDS Hooks cards (HL7 CDS Hooks 2.0 §Card Attributes). Translation only.

* indicator from the finding's tier: contraindicated -> ``critical``; avoid, caution,
  monitor -> ``warning``; info -> ``info`` (issue 12 contract);
* ``summary`` under 140 characters; ``detail`` GitHub-flavoured markdown with the
  message, mechanism, management and every cited source;
* ``source``: label, url, and the rule id as ``topic`` (a Coding);
* a ``uuid`` per card and per suggestion;
* suggestions where a safer action exists: the CPIC/DPWG-adjusted dose of the draft
  order (an ``update`` action), or the best-ranked alternative option from
  :func:`neurodose.advice.assess.assess` (``delete`` the draft, ``create`` a
  MedicationRequest at the alternative's starting dose), with ``selectionBehavior``;
* ``overrideReasons`` on critical cards; a link to the clinic's patients page (in demo
  mode a ``smart`` link to the mock EHR page ``/ehr-demo``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from neurodose.fhir.inbound import Order, Unrecognised
from neurodose.fhir.outbound import RULE_SYSTEM, medication_concept
from neurodose.knowledge import get_drug, get_reference

__all__ = [
    "CARD_INDICATOR",
    "OVERRIDE_REASONS",
    "SUMMARY_MAX",
    "finding_card",
    "note_card",
    "partial_data_card",
    "unrecognised_card",
]

#: finding tier -> card indicator (issue 12: contraindication critical, avoid/caution warning)
CARD_INDICATOR: dict[str, str] = {
    "contraindicated": "critical",
    "avoid": "warning",
    "caution": "warning",
    "monitor": "warning",
    "info": "info",
}
#: the spec's limit: summary SHALL be under 140 characters
SUMMARY_MAX = 139
_OVERRIDE_SYSTEM = "urn:neurodose:override-reason"
#: override reasons offered on critical cards (Coding with display, CDS Hooks §Card)
OVERRIDE_REASONS: tuple[dict[str, str], ...] = (
    {
        "system": _OVERRIDE_SYSTEM,
        "code": "benefit-outweighs-risk",
        "display": "Benefit outweighs risk for this patient",
    },
    {
        "system": _OVERRIDE_SYSTEM,
        "code": "already-tolerated",
        "display": "Patient already takes this combination without harm",
    },
    {
        "system": _OVERRIDE_SYSTEM,
        "code": "specialist-advice",
        "display": "Specialist advised this treatment",
    },
    {
        "system": _OVERRIDE_SYSTEM,
        "code": "data-incorrect",
        "display": "Patient data on file is incorrect",
    },
)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _source_line(key: str) -> str:
    try:
        ref = get_reference(key)
    except KeyError:
        return f"- `{key}`"
    url = ref.get("URL") or (f"https://doi.org/{ref['DOI']}" if ref.get("DOI") else None)
    if url is None and ref.get("PMID"):
        url = f"https://pubmed.ncbi.nlm.nih.gov/{ref['PMID']}/"
    title = str(ref.get("title", "")).replace("[", "(").replace("]", ")")
    return f"- `{key}`: [{title}]({url})" if url else f"- `{key}`: {title}"


def _source(public_url: str, code: str, title: str) -> dict[str, Any]:
    return {
        "label": "neurodose decision support",
        "url": f"{public_url}/cds-services",
        "topic": {"system": RULE_SYSTEM, "code": code, "display": title},
    }


def _link(public_url: str, patient_id: str | None, clinic_url: str | None) -> dict[str, Any]:
    """The card's link: the mock EHR page in demo mode (``clinic_url`` None), otherwise
    the clinic's SMART launch (``/smart/launch``: the EHR adds ``iss`` and ``launch``, and
    the launch opens the clinic patient linked to the EHR's patient)."""
    if clinic_url is None:
        return {
            "label": "Full neurodose assessment",
            "url": f"{public_url}/ehr-demo",
            "type": "smart",
            "appContext": f"patient={patient_id or ''}",
        }
    return {
        "label": "Open the patient in the neurodose clinic",
        "url": f"{clinic_url}/smart/launch",
        "type": "smart",
    }


def _dose_suggestion(order: Order, finding: Any) -> dict[str, Any] | None:
    det = dict(finding.details)
    factor = det.get("cpic_dose_factor") or det.get("dpwg_dose_factor")
    if not isinstance(factor, int | float) or not 0 < factor < 1 or order.dose_mg is None:
        return None
    which = "CPIC" if det.get("cpic_dose_factor") else "DPWG"
    new_dose = round(order.dose_mg * float(factor), 1)
    res = dict(order.resource)
    dosage = [dict(d) for d in res.get("dosageInstruction") or [{}]]
    dosage[0]["doseAndRate"] = [
        {
            "doseQuantity": {
                "value": new_dose,
                "unit": "mg",
                "system": "http://unitsofmeasure.org",
                "code": "mg",
            }
        }
    ]
    res["dosageInstruction"] = dosage
    band = det.get("dose_band")
    return {
        "label": f"Reduce to {new_dose:g} mg ({which} factor {factor:g})",
        "uuid": str(uuid.uuid4()),
        "isRecommended": band == "depression",
        "actions": [
            {
                "type": "update",
                "description": f"{get_drug(order.drug or '').display_name} {new_dose:g} mg "
                f"({which} {factor:g} x ordered dose; dose band: {band or 'unknown'})",
                "resource": res,
            }
        ],
    }


def _step_dosage(step: Any, routes: Sequence[str]) -> dict[str, Any]:
    """The dosage of a plan step as its text says it: the amount in the step's unit
    (mg, or patches for topical products), one administration every ``every_h`` hours,
    the product's route."""
    patches = step.units != "mg"
    unit = "patch" if patches else "mg"
    amount = f"{step.dose_mg:g} {unit}" + ("es" if patches and step.dose_mg != 1 else "")
    route = f", {routes[0]}" if routes else ""
    dosage: dict[str, Any] = {
        "text": f"{amount} every {step.every_h:g} h ({step.time_of_day}{route}); "
        "then titrate per the neurodose plan",
        "timing": {"repeat": {"frequency": 1, "period": float(step.every_h), "periodUnit": "h"}},
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": float(step.dose_mg),
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": "{patch}" if patches else "mg",
                }
            }
        ],
    }
    if routes:
        dosage["route"] = {"text": routes[0]}
    return dosage


def _alternative_suggestion(
    order: Order, alternative: tuple[str, Any] | None
) -> dict[str, Any] | None:
    """Delete the draft and order the alternative at its first plan step. Offered only
    when the alternative has a code the EHR can order (RxNorm or ATC): a text-only
    medication is named in the card, not put in an action."""
    if alternative is None or order.drug is None:
        return None
    drug, step = alternative
    concept = medication_concept(drug)
    if not concept.get("coding"):
        return None
    rec = get_drug(drug)
    name = rec.display_name
    new: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": order.resource.get("subject", {}),
    }
    if step is not None:
        new["dosageInstruction"] = [_step_dosage(step, list(rec.routes or []))]
    actions: list[dict[str, Any]] = []
    if order.resource.get("id"):
        actions.append(
            {
                "type": "delete",
                "description": f"Remove the draft order for {get_drug(order.drug).display_name}",
                "resourceId": [f"MedicationRequest/{order.resource['id']}"],
            }
        )
    actions.append({"type": "create", "description": f"Order {name} instead", "resource": new})
    return {
        "label": f"Use {name} instead (best-ranked alternative)",
        "uuid": str(uuid.uuid4()),
        "isRecommended": False,
        "actions": actions,
    }


def _alternative_note(alternative: tuple[str, Any]) -> str:
    """The alternative named in the card's text, where it cannot be an order action."""
    drug, step = alternative
    rec = get_drug(drug)
    how = f": {_step_dosage(step, list(rec.routes or []))['text']}" if step is not None else ""
    return (
        f"**Alternative:** {rec.display_name}{how}. Not offered as an order: the knowledge "
        "base has no RxNorm or ATC code for it."
    )


def finding_card(
    finding: Any,
    *,
    order: Order | None,
    public_url: str,
    patient_id: str | None,
    alternative: tuple[str, Any] | None = None,
    caveats: Sequence[str] = (),
    clinic_url: str | None = None,
) -> dict[str, Any]:
    """One card for one :class:`neurodose.safety.engine.Finding` (see module docstring).

    ``clinic_url``: the clinic the link opens (None: demo mode, the mock EHR page)."""
    indicator = CARD_INDICATOR.get(finding.severity, "info")
    drug = get_drug(finding.drug).display_name if finding.drug else "Order"
    lines = [
        f"**{finding.severity.upper()}** ({finding.title})",
        "",
        finding.message,
    ]
    if not finding.verified:
        lines += [
            "",
            "_UNVERIFIED: a number behind this finding is not checked against its source._",
        ]
    if finding.mechanism:
        lines += ["", f"**Mechanism:** {finding.mechanism}"]
    if finding.management:
        lines += ["", f"**Management:** {finding.management}"]
    for c in caveats:
        lines += ["", f"**Caveat:** {c}"]
    lines += [
        "",
        f"**Rule:** `{finding.code}`",
        "",
        "**Sources:**",
        *(_source_line(k) for k in finding.sources),
    ]
    lines += ["", "_Decision support only; not a substitute for clinical judgement._"]
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _short(f"{drug}: {finding.title}"),
        "detail": "\n".join(lines),
        "indicator": indicator,
        "source": _source(public_url, finding.code, finding.title),
        "links": [_link(public_url, patient_id, clinic_url)],
    }
    suggestions = []
    if order is not None and indicator != "info":
        s = _dose_suggestion(order, finding)
        if s is not None:
            suggestions.append(s)
        if finding.severity in ("contraindicated", "avoid"):
            a = _alternative_suggestion(order, alternative)
            if a is not None:
                suggestions.append(a)
            elif alternative is not None:
                card["detail"] += "\n\n" + _alternative_note(alternative)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if indicator == "critical":
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


def unrecognised_card(
    items: Iterable[Unrecognised], *, public_url: str, draft: bool
) -> dict[str, Any]:
    """One ``warning`` card: orders, medicines or conditions neurodose does not know were
    not checked (their interactions, QT, serotonergic, sedative and bleeding effects)."""
    items = list(items)
    names = ", ".join(u.text or ", ".join(u.codes) or "?" for u in items)
    what = "Order not checked" if draft else "Not checked"
    doses_only = all(u.kind == "dose" for u in items)
    lines = [
        f"neurodose does not recognise: {names}. "
        + (
            "The medicine was screened without its dose: dose-dependent checks were **not** done."
            if doses_only
            else "This order was **not** screened."
            if draft
            else "Their interactions (CYP enzymes), QT, serotonergic, sedative, "
            "anticholinergic and bleeding effects were **not** checked; silence is not safety."
        ),
        "",
        *(
            f"- `{u.where}`: {u.text!r} ({', '.join(u.codes) or 'no codes'}): {u.reason}"
            for u in items
        ),
    ]
    return {
        "uuid": str(uuid.uuid4()),
        "summary": _short(f"{what}: {names} not recognised by neurodose"),
        "detail": "\n".join(lines),
        "indicator": "warning",
        "source": _source(public_url, "not_recognised", "Not recognised; not checked"),
    }


def note_card(
    summary: str,
    detail: str,
    *,
    public_url: str,
    code: str,
    patient_id: str | None,
    clinic_url: str | None = None,
) -> dict[str, Any]:
    """An ``info`` card with free text (patient-view summary, data caveats)."""
    return {
        "uuid": str(uuid.uuid4()),
        "summary": _short(summary),
        "detail": detail,
        "indicator": "info",
        "source": _source(public_url, code, summary[:60]),
        "links": [_link(public_url, patient_id, clinic_url)],
    }


def partial_data_card(items: Iterable[str], *, public_url: str) -> dict[str, Any]:
    """One ``warning`` card: the EHR's data were read only in part (page limit, time
    budget, a ``next`` link to another server), so the checks may have missed something."""
    items = list(items)
    return {
        "uuid": str(uuid.uuid4()),
        "summary": "Partial data: not everything could be read from the EHR",
        "detail": "\n".join(
            [
                "neurodose screened on **partial** data: what it could not read from the EHR's "
                "FHIR server was **not** checked; silence is not safety.",
                "",
                *(f"- {x}" for x in items),
            ]
        ),
        "indicator": "warning",
        "source": _source(public_url, "partial_data", "Partial data from the EHR"),
    }
