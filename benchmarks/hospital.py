"""The requests a hospital sends, shared by the service benchmarks and the profiler.

* CDS Hooks ``order-sign`` bodies built on the sample patients of ``examples/cds``:
  a 20-medicine list, an order that earns an avoid/contraindicated card (so the
  service assesses an alternative), several drafts signed together, and a patient
  bundle with 200 Observations (electrolytes, creatinine, heart rate, QTc over a year);
* clinic profiles (the ``assess`` sample patient, one per age so each is a cold
  assessment) and diary-entry bodies.

Only medicine names and LOINC codes the knowledge base reads are used; the values
are ordinary lab values (no clinical claim rests on them: they are load).
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "cds"

#: a typical older inpatient's list (19 more medicines on top of the sample's tramadol)
HOSPITAL_MEDICINES = (
    "metformin",
    "atorvastatin",
    "amlodipine",
    "ramipril",
    "bisoprolol",
    "omeprazole",
    "aspirin",
    "furosemide",
    "levothyroxine",
    "paracetamol",
    "apixaban",
    "allopurinol",
    "tamsulosin",
    "salbutamol",
    "finasteride",
    "donepezil",
    "mirtazapine",
    "simvastatin",
    "bendroflumethiazide",
)
#: (LOINC, unit, value) cycled over the 200 Observations
_LABS = (
    ("2951-2", "mmol/L", 139.0),  # sodium
    ("2823-3", "mmol/L", 4.2),  # potassium
    ("2160-0", "umol/L", 88.0),  # creatinine
    ("8867-4", "/min", 72.0),  # heart rate
    ("8636-3", "ms", 430.0),  # QTc
)


def _samples() -> dict[str, Any]:
    from neurodose.service.cds.samples import load_samples

    return {s.name: s for s in load_samples(SAMPLES)}


def _med(pid: str, i: int, name: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"{pid}-h{i}",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {"text": name},
    }


def _obs(pid: str, i: int, today: dt.date) -> dict[str, Any]:
    code, unit, value = _LABS[i % len(_LABS)]
    return {
        "resourceType": "Observation",
        "id": f"{pid}-lab{i}",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": (today - dt.timedelta(days=365 - i)).isoformat(),
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org"},
    }


def _draft(like: dict[str, Any], drug: str, n: int) -> dict[str, Any]:
    d = copy.deepcopy(like)
    d["id"] = f"{like['id']}-{n}"
    d["medicationCodeableConcept"] = {"text": drug}
    return d


def order_sign_bodies() -> dict[str, dict[str, Any]]:
    """label -> an ``order-sign`` body with a full prefetch (a fresh ``hookInstance``
    is the caller's business: the replay cache keys on the JWT, not the body)."""
    from neurodose.testing.cds import hook_request, prefetch_for

    today = dt.date.today()
    s = _samples()
    base = s["01_interaction_tramadol_duloxetine"]
    pid = base.patient_id
    meds = [_med(pid, i, n) for i, n in enumerate(HOSPITAL_MEDICINES)]
    twenty = replace(base, resources=[*base.resources, *meds])
    labs = replace(base, resources=[*base.resources, *(_obs(pid, i, today) for i in range(200))])
    avoid = s["11_maoi_within_14_days_duloxetine"]
    drafts = hook_request(base, "order-sign", prefetch=prefetch_for(base))
    drafts["context"]["draftOrders"]["entry"] += [
        {"resource": _draft(base.order, d, k)}
        for k, d in enumerate(("pregabalin", "amitriptyline"))
    ]
    return {
        "20-medicine list": hook_request(twenty, "order-sign", prefetch=prefetch_for(twenty)),
        "avoid card (alternative assessed)": hook_request(
            avoid, "order-sign", prefetch=prefetch_for(avoid)
        ),
        "3 drafts signed together": drafts,
        "bundle with 200 Observations": hook_request(
            labs, "order-sign", prefetch=prefetch_for(labs)
        ),
    }


def fresh(body: dict[str, Any], k: int) -> dict[str, Any]:
    """A copy of an ``order-sign`` body that the service has not seen: every Observation
    gets a new id and the Patient a birth date ``k + 1`` years earlier (ages are whole
    years; caches keyed by the resources or by the patient miss, as for a new patient's
    first order; use ``k`` < 30)."""
    out = copy.deepcopy(body)
    for value in out.get("prefetch", {}).values():
        if not isinstance(value, dict):
            continue
        resources = [e.get("resource", {}) for e in value.get("entry", [])]
        for res in resources if value.get("resourceType") == "Bundle" else [value]:
            if res.get("resourceType") == "Observation":
                res["id"] = f"{res['id']}-new{k}"
            elif res.get("resourceType") == "Patient" and res.get("birthDate"):
                born = dt.date.fromisoformat(res["birthDate"])
                res["birthDate"] = born.replace(year=born.year - k - 1, day=1).isoformat()
    return out


def clinic_profile(i: int) -> dict[str, Any]:
    """The ``assess`` sample patient, aged 25-89 by ``i`` (a different profile each)."""
    from neurodose.cli.assess import SAMPLE_PATIENT

    return {**SAMPLE_PATIENT, "age": 25 + i % 65, "weight_kg": 50 + i % 60}


def diary_body(k: int) -> dict[str, Any]:
    """A diary entry for ``k`` days ago (one entry per patient and date)."""
    return {
        "id": str(uuid.uuid4()),
        "date": (dt.date.today() - dt.timedelta(days=k)).isoformat(),
        "pain": k % 11,
        "sleep": 3,
        "side_effects": 1,
    }
