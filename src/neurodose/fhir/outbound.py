"""FHIR R4 out: findings, plans, TDM results and diary scores as validated resources.

* a safety finding -> ``DetectedIssue`` (severity high/moderate/low from the tier,
  the rule id as code, the message as detail, the cited sources as evidence,
  the management text as mitigation);
* a titration/taper/switch plan -> a ``CarePlan`` containing one
  ``MedicationRequest`` per drug whose ``dosageInstruction`` has one entry per step
  (``sequence``, ``timing.repeat.boundsPeriod``, frequency, ``doseAndRate``), and
  the review points as activities;
* a TDM report (``neurodose tdm --json``) -> ``Observation`` per measured level;
* diary scores -> ``Observation`` with LOINC 72514-3 (pain 0-10), 44261-6 (PHQ-9
  total), 93832-4 (sleep duration).

Every resource is validated with the ``fhir.resources`` R4B model before it is
returned (:func:`neurodose.fhir.validate.validated_json`).

Examples
--------
>>> import datetime as dt
>>> from neurodose.advice.plans import titration_plan
>>> plan = titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5))
>>> mr = care_plan(plan, patient_ref="Patient/p1")["contained"][0]
>>> first = mr["dosageInstruction"][0]
>>> mr["resourceType"], first["sequence"], first["doseAndRate"][0]["doseQuantity"]["value"]
('MedicationRequest', 1, 10.0)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from neurodose.fhir.ucum import ucum_code
from neurodose.fhir.validate import validated_json
from neurodose.knowledge import get_reference, record
from neurodose.knowledge.terminology import drug_codes, observation_code, system_uri

__all__ = [
    "ANALYTE_SYSTEM",
    "RULE_SYSTEM",
    "SEVERITY",
    "assessment_bundle",
    "bundle",
    "care_plan",
    "detected_issue",
    "detected_issues",
    "diary_observations",
    "medication_concept",
    "tdm_observations",
]

#: code system of neurodose rule ids (DetectedIssue.code, card source topic)
RULE_SYSTEM = "urn:neurodose:safety-rule"
#: code system of neurodose analytes (TDM Observations)
ANALYTE_SYSTEM = "urn:neurodose:analyte"
_UCUM = "http://unitsofmeasure.org"
#: finding tier -> DetectedIssue.severity (FHIR value set detectedissue-severity)
SEVERITY: dict[str, str] = {
    "contraindicated": "high",
    "avoid": "high",
    "caution": "moderate",
    "monitor": "moderate",
    "info": "low",
}
_ID_SYSTEM = {
    "RxNorm-IN": "RxNorm",
    "RxNorm-SCD": "RxNorm",
    "RxNorm-SBD": "RxNorm",
    "RxNorm-PCK": "RxNorm",
    "ATC": "ATC",
}
#: product-level RxNorm codes: a drug record that is one product (the lidocaine 5 %
#: plaster) is known by these, never by an ingredient code
_PRODUCT = ("RxNorm-SCD", "RxNorm-SBD", "RxNorm-PCK")
_WHEN = {"night": ["HS"], "morning": ["MORN"], "evening": ["EVE"]}


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _source_text(key: str) -> str:
    try:
        ref = get_reference(key)
    except KeyError:
        return key
    url = ref.get("URL") or (f"https://doi.org/{ref['DOI']}" if ref.get("DOI") else "")
    return f"{key}: {ref.get('title', '')}" + (f" <{url}>" if url else "")


def medication_concept(drug: str) -> dict[str, Any]:
    """CodeableConcept for a drug: its cited RxNorm ingredient and ATC codes, and its name;
    a drug with neither (a record that is one product, such as the lidocaine 5 % plaster)
    by its product-level RxNorm codes."""
    rec = record(drug)
    codes = drug_codes(drug)
    wanted: tuple[str, ...] = ("RxNorm-IN", "ATC")
    if not any(i.system in wanted for i in codes):
        wanted = _PRODUCT
    coding = [
        {
            "system": system_uri(_ID_SYSTEM[i.system]),
            "code": i.code,
            **({"display": i.display} if i.display else {}),
        }
        for i in codes
        if i.system in wanted
    ]
    out: dict[str, Any] = {"text": rec.display_name}
    if coding:
        out["coding"] = coding
    return out


def detected_issue(
    finding: Any,
    *,
    patient_ref: str | None = None,
    identified: str | None = None,
    implicated: Sequence[str] = (),
) -> dict[str, Any]:
    """One ``DetectedIssue`` from a :class:`neurodose.safety.engine.Finding`."""
    detail = finding.message
    if not finding.verified:
        detail += " [UNVERIFIED: a number behind this finding is not verified]"
    if finding.mechanism:
        detail += f" Mechanism: {finding.mechanism}"
    res: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "final",
        "code": {
            "coding": [{"system": RULE_SYSTEM, "code": finding.code, "display": finding.title}],
            "text": finding.title,
        },
        "severity": SEVERITY.get(finding.severity, "low"),
        "identifiedDateTime": identified or _now(),
        "detail": detail,
        "evidence": [{"code": [{"text": _source_text(k)}]} for k in finding.sources] or None,
        "mitigation": [{"action": {"text": finding.management}}] if finding.management else None,
        "implicated": [
            {"display": record(d).display_name}
            for d in dict.fromkeys([*([finding.drug] if finding.drug else []), *finding.involved])
        ]
        or None,
    }
    if patient_ref:
        res["patient"] = {"reference": patient_ref}
    if implicated:
        res["implicated"] = [{"reference": r} for r in implicated] + (res["implicated"] or [])
    return validated_json({k: v for k, v in res.items() if v is not None})


def unchecked_issue(items: Sequence[Any], *, patient_ref: str | None = None) -> dict[str, Any]:
    """One ``DetectedIssue`` naming everything the screen could not check (``unchecked``):
    unknown medicines, conditions, codes and free text, each with what was not checked."""
    detail = "Not checked by neurodose (not in its knowledge base; silence is not safety): " + (
        "; ".join(f"{u.kind} '{u.name}': {u.reason}" for u in items)
    )
    res: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "preliminary",
        "code": {
            "coding": [
                {"system": RULE_SYSTEM, "code": "unchecked", "display": "Not checked: unknown"}
            ],
            "text": "Not checked: unknown to the knowledge base",
        },
        "severity": "moderate",
        "identifiedDateTime": _now(),
        "detail": detail,
        "mitigation": [
            {
                "action": {
                    "text": "Check these items by hand (interactions, QT, serotonergic, "
                    "sedative and bleeding effects) before acting on the assessment."
                }
            }
        ],
    }
    if patient_ref:
        res["patient"] = {"reference": patient_ref}
    return validated_json(res)


def detected_issues(findings: Iterable[Any], **kw: Any) -> list[dict[str, Any]]:
    """:func:`detected_issue` for each finding."""
    return [detected_issue(f, **kw) for f in findings]


def _dosage(step: Any, seq: int, end: dt.date | None, unit: str) -> dict[str, Any]:
    repeat: dict[str, Any] = {"boundsPeriod": {"start": step.date.isoformat()}}
    if end is not None:
        repeat["boundsPeriod"]["end"] = end.isoformat()
    text = f"Day {step.day}: "
    if step.dose_mg <= 0:
        return {"sequence": seq, "text": text + "stop", "timing": {"repeat": repeat}}
    per_day = 24.0 / step.every_h if step.every_h else 1.0
    if per_day >= 1:
        repeat.update({"frequency": round(per_day), "period": 1, "periodUnit": "d"})
    else:
        repeat.update({"frequency": 1, "period": round(step.every_h / 24.0, 3), "periodUnit": "d"})
    if step.time_of_day in _WHEN:
        repeat["when"] = _WHEN[step.time_of_day]
    text += f"{step.dose_mg:g} {unit} every {step.every_h:g} h ({step.time_of_day})"
    if step.units:
        text += f": {step.units}"
    if step.optional:
        text += " (optional step)"
    q: dict[str, Any] = {"value": float(step.dose_mg), "unit": unit}
    if unit == "mg":
        q.update({"system": _UCUM, "code": ucum_code("mg")})
    return {
        "sequence": seq,
        "text": text,
        "timing": {"repeat": repeat},
        "doseAndRate": [{"doseQuantity": q}],
    }


def _plan_view(plan: Any) -> Any:
    """An advice ``Plan`` as is, or the plan of its ``to_dict()`` JSON (as stored by the
    clinic; :meth:`neurodose.advice.plans.Plan.from_dict`)."""
    if not isinstance(plan, Mapping):
        return plan
    from neurodose.advice.plans import Plan

    return Plan.from_dict(plan)


def care_plan(
    plan: Any,
    *,
    patient_ref: str = "Patient/unknown",
    status: str = "draft",
) -> dict[str, Any]:
    """A ``CarePlan`` with one staged ``MedicationRequest`` per drug of an advice ``Plan``
    (or of its ``to_dict()`` JSON)."""
    plan = _plan_view(plan)
    contained: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    for n, drug in enumerate(plan.drugs):
        steps = [s for s in plan.steps if s.drug == drug]
        dosages = []
        for i, s in enumerate(steps):
            nxt = steps[i + 1].date - dt.timedelta(days=1) if i + 1 < len(steps) else None
            dosages.append(_dosage(s, i + 1, nxt, plan.unit))
        mr = {
            "resourceType": "MedicationRequest",
            "id": f"mr{n + 1}",
            "status": status,
            "intent": "plan",
            "subject": {"reference": patient_ref},
            "medicationCodeableConcept": medication_concept(drug),
            "authoredOn": _now(),
            "dosageInstruction": dosages,
            "note": [{"text": t} for t in plan.notes] or None,
        }
        contained.append({k: v for k, v in mr.items() if v is not None})
        activities.append({"reference": {"reference": f"#mr{n + 1}"}})
    for r in plan.reviews:
        activities.append(
            {
                "detail": {
                    "kind": "Task",
                    "status": "not-started",
                    "description": r.text,
                    "scheduledPeriod": {"start": r.date.isoformat()},
                }
            }
        )
    names = " -> ".join(record(d).display_name for d in plan.drugs)
    cp = {
        "resourceType": "CarePlan",
        "status": status,
        "intent": "plan",
        "title": f"{plan.kind} plan: {names}",
        "description": "Decision support only; not a substitute for clinical judgement. "
        + ("" if plan.verified else "Some numbers behind this plan are UNVERIFIED. ")
        + "Sources: "
        + ", ".join(plan.sources),
        "subject": {"reference": patient_ref},
        "period": {"start": plan.start_date.isoformat()},
        "contained": contained,
        "activity": activities,
    }
    return validated_json(cp)


def _obs(kind: str, value: float, unit: str, when: str, patient_ref: str | None) -> dict[str, Any]:
    code = observation_code(kind)
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [{"system": system_uri("LOINC"), "code": code.code, "display": code.display}],
            "text": code.display,
        },
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": _UCUM, "code": ucum_code(unit)},
    }
    if kind in ("pain_score", "phq9_total"):
        res["category"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                    }
                ]
            }
        ]
    if patient_ref:
        res["subject"] = {"reference": patient_ref}
    return validated_json(res)


def diary_observations(
    entries: Iterable[Mapping[str, Any]], *, patient_ref: str | None = None
) -> list[dict[str, Any]]:
    """Observations for diary entries ``{"date", "pain", "phq9", "sleep_h"}`` (any subset).

    ``pain`` is the 0-10 numeric rating (LOINC 72514-3), ``phq9`` the PHQ-9 total
    (44261-6), ``sleep_h`` the sleep duration in hours (93832-4).
    """
    out: list[dict[str, Any]] = []
    for e in entries:
        when = str(e["date"])
        if e.get("pain") is not None:
            out.append(_obs("pain_score", float(e["pain"]), "score", when, patient_ref))
        if e.get("phq9") is not None:
            out.append(_obs("phq9_total", float(e["phq9"]), "score", when, patient_ref))
        if e.get("sleep_h") is not None:
            out.append(_obs("sleep_duration", float(e["sleep_h"]), "h", when, patient_ref))
    return out


def tdm_observations(
    report: Mapping[str, Any],
    *,
    first_dose: dt.datetime,
    patient_ref: str | None = None,
) -> list[dict[str, Any]]:
    """Observations for the measured levels of a TDM report (``neurodose tdm --json``).

    ``first_dose`` anchors the report's times (hours after the first dose; a naive
    datetime is taken as UTC). Each
    level carries the model's individual prediction as a note and BLQ levels are
    reported as below the limit of quantification.
    """
    if first_dose.tzinfo is None:  # FHIR dateTime with a time needs a zone; naive = UTC
        first_dose = first_dose.replace(tzinfo=dt.UTC)
    out: list[dict[str, Any]] = []
    for lv in report.get("levels", []):
        when = (first_dose + dt.timedelta(hours=float(lv["time_h"]))).isoformat()
        analyte = str(lv["analyte"])
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": ANALYTE_SYSTEM, "code": analyte}],
                "text": f"{analyte} [Mass/volume] in Serum or Plasma",
            },
            "effectiveDateTime": when,
            "note": [
                {
                    "text": f"neurodose MAP individual prediction {lv['ipred_ng_per_ml']:g} ng/mL "
                    f"(population {lv['pred_ng_per_ml']:g} ng/mL); drug {report.get('drug')}"
                }
            ],
        }
        if patient_ref:
            res["subject"] = {"reference": patient_ref}
        if lv.get("blq"):
            res["valueString"] = (
                f"< {lv['lloq_ng_per_ml']:g} ng/mL (below the limit of quantification)"
            )
        else:
            res["valueQuantity"] = {
                "value": float(lv["value_ng_per_ml"]),
                "unit": "ng/mL",
                "system": _UCUM,
                "code": "ng/mL",
            }
        out.append(validated_json(res))
    return out


def bundle(resources: Iterable[Mapping[str, Any]], *, kind: str = "collection") -> dict[str, Any]:
    """A Bundle of the given resources (validated)."""
    return validated_json(
        {
            "resourceType": "Bundle",
            "type": kind,
            "timestamp": _now(),
            "entry": [{"resource": dict(r)} for r in resources],
        }
    )


def assessment_bundle(assessment: Any, *, patient_id: str | None = None) -> dict[str, Any]:
    """An ``assess`` result as a Bundle: the Patient (when no id is given), a DetectedIssue
    for each finding on the current medicines and on each option, and the CarePlan of
    the top-ranked option that has a plan."""
    resources: list[dict[str, Any]] = []
    if patient_id is None:
        patient_id = "neurodose-patient"
        s = assessment.patient.summary()
        pat: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
        if s.get("sex"):
            pat["gender"] = s["sex"]
        resources.append(validated_json(pat))
    ref = f"Patient/{patient_id}"
    if assessment.patient.unchecked:  # first: what could not be checked
        resources.append(unchecked_issue(assessment.patient.unchecked, patient_ref=ref))
    resources += detected_issues(assessment.findings, patient_ref=ref)
    seen: set[tuple[str, str | None, tuple[str, ...]]] = set()
    for o in assessment.options:
        for f in o.findings:
            sig = (f.code, f.drug, f.involved)
            if sig in seen:
                continue
            seen.add(sig)
            resources.append(detected_issue(f, patient_ref=ref))
    top = next((o for o in assessment.options if o.plan is not None), None)
    if top is not None:
        resources.append(care_plan(top.plan, patient_ref=ref))
    return bundle(resources)
