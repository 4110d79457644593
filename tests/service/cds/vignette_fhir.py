"""The safety vignettes (tests/safety/vignettes) as an EHR would send them: FHIR R4 resources
with codes only, no text (RxNorm/ATC from the formulary, SNOMED CT / ICD-10-CM from the
condition code table, LOINC with UCUM units from the measurement definitions), and a
draft MedicationRequest per required drug.

:func:`convert` also names every fact of the profile that FHIR (as the service reads it)
cannot carry, so a disagreement can be told from a loss in translation.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodose.case.patient import load_patient
from neurodose.errors import UnknownNameError
from neurodose.fhir.outbound import medication_concept
from neurodose.knowledge.conditions import resolve_condition
from neurodose.knowledge.measurements import measurement_defs
from neurodose.knowledge.terminology import (
    code_tables,
    gene_for_code,
    observation_code,
    system_uri,
)

VIGNETTES = Path(__file__).resolve().parents[2] / "safety" / "vignettes"
PID = "vignette-patient"
UCUM = "http://unitsofmeasure.org"
#: profile keys FHIR as read by the service carries, and what cannot be carried (with why)
_NOT_CARRIED = {
    "other_medicines": "free-text other medicines have no code",
}
#: ISCO-08 sub-major group 83 "Drivers and Mobile Plant Operators": the only vignette that
#: drives is a delivery driver (driving for work); the profile does not say which driving
#: job, so the group is sent, not a unit group such as 8322 an EHR would send
_DRIVER_GROUP = "83"
#: profile facts sent as Observations: key -> (LOINC, UCUM unit or None for valueBoolean)
_FACTS = {
    "breastfeeding": ("63895-7", None),
    "pregnant": ("82810-3", None),
    "weight_kg": ("29463-7", "kg"),
    "height_cm": ("8302-2", "cm"),
}
HGNC = "http://www.genenames.org/geneId"
#: a profile condition with no code of its own, sent as the coded condition an EHR would
#: use for it (the carried profile then names the coded one): "gi_bleeding" is an alias of
#: the risk concept bleeding_risk, meaning a history of GI bleeding (ICD-10-CM K92.2)
_SENT_AS = {"gi_bleeding": "gi_bleed_history"}
_LAB_LOINC = {"egfr": "egfr", "crcl_ml_min": "crcl", "qtc_ms": "qtc", "alt_u_per_l": "alt"}


@dataclass
class Converted:
    """A vignette as FHIR: the resources, the cannot-carry reasons, and the profile
    reduced to what the resources carry (the same profile without the lost facts)."""

    resources: list[dict[str, Any]]
    lost: list[str] = field(default_factory=list)
    carried: dict[str, Any] = field(default_factory=dict)


def load(stem: str) -> dict[str, Any]:
    return json.loads((VIGNETTES / f"{stem}.json").read_text(encoding="utf-8"))


def stems() -> list[str]:
    return sorted(p.stem for p in VIGNETTES.glob("*.json"))


def _born(age: float, today: dt.date) -> str:
    years = int(age)
    try:
        d = today.replace(year=today.year - years)
    except ValueError:
        d = today.replace(year=today.year - years, day=28)
    return (d - dt.timedelta(days=1)).isoformat()


def _codes_only(drug: str) -> dict[str, Any] | None:
    concept = medication_concept(drug)
    return {"coding": concept["coding"]} if concept.get("coding") else None


def _condition_coding(cond: str) -> dict[str, Any] | None:
    # an exact code first; else a category that the table matches by prefix (I21 for I21.x)
    try:
        cond = resolve_condition(cond)
    except UnknownNameError:  # a condition the knowledge base does not know
        return None
    rows = [c for c in code_tables().conditions if c.condition == cond]
    for c in sorted(rows, key=lambda c: c.match != "exact"):
        return {"system": system_uri(c.system), "code": c.code}
    return None


def _observation(i: int, system: str, code: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"lab-{i}",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": dt.date.today().isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def _fact(key: str, value: Any) -> dict[str, Any]:
    """breastfeeding (valueBoolean), pregnancy (the LOINC answer LA15173-0 Pregnant or
    LA26683-5 Not pregnant), weight or height (valueQuantity) as an Observation."""
    loinc, unit = _FACTS[key]
    if unit is None:
        res = _observation(0, system_uri("LOINC"), loinc, 0.0, "")
        del res["valueQuantity"]
        if key == "pregnant":
            answer = "LA15173-0" if value else "LA26683-5"
            res["valueCodeableConcept"] = {
                "coding": [{"system": system_uri("LOINC"), "code": answer}]
            }
        else:
            res["valueBoolean"] = bool(value)
    else:
        res = _observation(0, system_uri("LOINC"), loinc, float(value), unit)
    res["id"] = "fact-" + key.replace("_", "-")
    return res


def _genotype(gene: str, call: str) -> dict[str, Any] | None:
    """A Genomics Reporting genotype: LOINC 84413-4 with the diplotype as the genotype
    display name, and the gene as an HGNC code in component 48018-6."""
    hgnc = next((g.code for g in code_tables().genes if g.symbol == gene), None)
    if hgnc is None or gene_for_code(HGNC, hgnc) is None:
        return None
    loinc = system_uri("LOINC")
    return {
        "resourceType": "Observation",
        "id": f"geno-{gene}",
        "status": "final",
        "code": {"coding": [{"system": loinc, "code": "84413-4"}]},
        "subject": {"reference": f"Patient/{PID}"},
        "valueCodeableConcept": {"text": f"{gene} {call}"},
        "component": [
            {
                "code": {"coding": [{"system": loinc, "code": "48018-6"}]},
                "valueCodeableConcept": {"coding": [{"system": HGNC, "code": hgnc}]},
            }
        ],
    }


def _occupation(isco: str) -> dict[str, Any]:
    """A usual occupation (LOINC 21843-8, IHE PCC ODH) coded in ISCO-08."""
    oc = next(o for o in code_tables().observations if o.kind == "occupation")
    return {
        "resourceType": "Observation",
        "id": "fact-occupation",
        "status": "final",
        "code": {"coding": [{"system": system_uri("LOINC"), "code": oc.code}]},
        "subject": {"reference": f"Patient/{PID}"},
        "valueCodeableConcept": {"coding": [{"system": system_uri("ISCO-08"), "code": isco}]},
    }


def _child_pugh_class(cls: str) -> dict[str, Any]:
    """The Child-Pugh class as an NCIt-coded Observation (C121007, answer C113691/2/4)."""
    ncit = system_uri("NCIt")
    oc = next(o for o in code_tables().observations if o.kind == "child_pugh_class")
    answer = next(
        a for a in code_tables().answers if a.kind == "child_pugh_class" and a.value == cls
    )
    return {
        "resourceType": "Observation",
        "id": "fact-child-pugh",
        "status": "final",
        "code": {"coding": [{"system": ncit, "code": oc.code}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": dt.date.today().isoformat(),
        "valueCodeableConcept": {"coding": [{"system": ncit, "code": answer.code}]},
    }


def _lab(i: int, key: str, value: float) -> tuple[dict[str, Any] | None, str | None]:
    loinc = system_uri("LOINC")
    if key in _LAB_LOINC:
        oc = observation_code(_LAB_LOINC[key])
        return _observation(i, loinc, oc.code, value, oc.unit or ""), None
    d = measurement_defs().get(key)
    if d is None or not d.loinc:
        return None, f"lab {key!r} has no LOINC code in the measurement definitions"
    return _observation(i, loinc, d.loinc, value, d.unit), None


def _med_request(i: int, m: Any, today: dt.date) -> tuple[dict[str, Any] | None, str | None]:
    concept = _codes_only(m.name)
    if concept is None:
        return None, f"medicine {m.name!r} has no RxNorm or ATC code"
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": f"med-{i}",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationCodeableConcept": concept,
    }
    if m.stopped_days_ago is not None:
        res["status"] = "stopped"
        end = today - dt.timedelta(days=float(m.stopped_days_ago))
        res["dispenseRequest"] = {"validityPeriod": {"end": end.isoformat()}}
    if m.dose_mg is not None:
        dose: dict[str, Any] = {
            "doseAndRate": [
                {"doseQuantity": {"value": m.dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}}
            ]
        }
        if m.every_h:
            dose["timing"] = {"repeat": {"frequency": 1, "period": m.every_h, "periodUnit": "h"}}
        res["dosageInstruction"] = [dose]
    return res, None


def _profile_resources(prof: dict[str, Any], today: dt.date) -> Converted:
    patient: dict[str, Any] = {"resourceType": "Patient", "id": PID}
    out = Converted([patient])
    out.carried = {k: prof[k] for k in ("age", "sex", "replacing") if k in prof}
    out.carried.update(conditions=[], medications=[], labs={})
    if prof.get("age") is not None:
        patient["birthDate"] = _born(prof["age"], today)
    if prof.get("sex") in ("female", "male"):
        patient["gender"] = prof["sex"]
    for k, why in _NOT_CARRIED.items():
        if prof.get(k):
            out.lost.append(why)
    if prof.get("drives"):
        out.resources.append(_occupation(_DRIVER_GROUP))
        out.carried["drives"] = True
    for k in _FACTS:
        if prof.get(k):
            out.resources.append(_fact(k, prof[k]))
            out.carried[k] = prof[k]
    for gene, call in (prof.get("genotypes") or {}).items():
        geno = _genotype(gene, call)
        if geno is None:
            out.lost.append(f"gene {gene!r} has no HGNC code in the code tables")
            continue
        out.resources.append(geno)
        out.carried.setdefault("genotypes", {})[gene] = call
    for i, cond in enumerate(prof.get("conditions") or []):
        sent = _SENT_AS.get(cond, cond) if isinstance(cond, str) else cond
        coding = _condition_coding(sent) if isinstance(sent, str) else None
        if coding is None:
            out.lost.append(f"condition {cond!r} has no SNOMED CT or ICD-10-CM code")
            continue
        out.carried["conditions"].append(sent)
        out.resources.append(
            {
                "resourceType": "Condition",
                "id": f"cond-{i}",
                "subject": {"reference": f"Patient/{PID}"},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [coding]},
            }
        )
    for i, (key, value) in enumerate((prof.get("labs") or {}).items()):
        if key == "child_pugh" and isinstance(value, str):
            out.resources.append(_child_pugh_class(value))
            out.carried["labs"][key] = value
            continue
        if not isinstance(value, int | float):
            out.lost.append(f"lab {key!r} = {value!r} is not a quantity FHIR carries here")
            continue
        res, why = _lab(i, key, float(value))
        out.resources += [res] if res else []
        out.lost += [why] if why else []
        if res:
            out.carried["labs"][key] = value
    i = 0
    for entry in prof.get("medications") or []:
        alone = {"age": prof.get("age", 50), "conditions": [], "medications": [entry]}
        if prof.get("replacing"):  # a medicine switched away from: sent as stopped
            alone["replacing"] = prof["replacing"]
        meds = load_patient(alone, today=today).medications
        if not meds:
            out.lost.append(f"medicine {entry!r} is not in the knowledge base")
        coded = []
        for m in meds:
            res, why = _med_request(i, m, today)
            i += 1
            out.resources += [res] if res else []
            out.lost += [why] if why else []
            coded += [m.name] if res else []
        if meds and len(coded) == len(meds):
            out.carried["medications"].append(entry)
        else:  # a combination product with a component without a code: the coded ones
            out.carried["medications"] += coded
    return out


def convert(stem: str, today: dt.date | None = None) -> Converted:
    """The vignette's patient as FHIR resources (codes only) and what was lost."""
    return _profile_resources(load(stem)["patient"], today or dt.date.today())


def draft_order(drug: str) -> dict[str, Any] | None:
    """A draft order for ``drug`` with codes only (None when the drug has no code)."""
    concept = _codes_only(drug)
    if concept is None:
        return None
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationCodeableConcept": concept,
    }


def order_sign(resources: list[dict[str, Any]], order: dict[str, Any]) -> dict[str, Any]:
    """An order-sign request with the full prefetch, keyed as neurodose's discovery."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by.setdefault(r["resourceType"], []).append(r)

    def b(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in items],
        }

    meds = by.get("MedicationRequest", [])
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/1",
            "patientId": PID,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order}],
            },
        },
        "prefetch": {
            "patient": by["Patient"][0],
            "medications": b([m for m in meds if m["status"] == "active"]),
            "recentMedications": b([m for m in meds if m["status"] == "stopped"]),
            "conditions": b(by.get("Condition", [])),
            "observations": b(by.get("Observation", [])),
            "allergies": None,
        },
    }
