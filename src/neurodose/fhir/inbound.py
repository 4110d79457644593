"""FHIR R4 in: resources to the neurodose patient profile, with nothing silently dropped.

Mapping (code tables in :mod:`neurodose.knowledge.terminology`, all cited):

* ``Patient``: age in whole years from ``birthDate`` (at ``today``), ``gender``
  male/female to ``sex`` (other/unknown: not set).
* ``MedicationRequest`` / ``MedicationStatement``: RxNorm (IN or SCD) or ATC code,
  else the coding display or text as a drug name, to a knowledge-base drug;
  ``dosageInstruction[0]``: ``doseQuantity`` (UCUM mass, or tablets/capsules times
  the SCD strength) to ``dose_mg``; ``timing.repeat`` (frequency per period) or a
  timing abbreviation (``BID``) to ``every_h``. Stopped or completed ones become
  ``stopped_days_ago`` from the end of their period (for washout rules such as the
  14-day MAOI gap); a stop date that is not given counts as today.
* ``Condition``: SNOMED CT or ICD-10 code to a condition id (active ones only).
* ``Observation``: LOINC code to eGFR, CrCl, QTc, ALT, pain score (UCUM units
  converted at the boundary; the latest value wins), and genotypes (Genomics
  Reporting ``genotype`` pattern: code 84413-4, gene in component 48018-6;
  ``therapeutic-implication`` with a metabolizer phenotype in component 53040-2),
  phenotypes sent as an Observation coded 53040-2 (value ``Poor metabolizer``; gene
  from component 48018-6 or named in the code text) and CYP2D6 activity scores (an
  Observation whose code text names "activity score": no LOINC code for it is cited in
  the evidence pack). A genotype wins over an activity score, which wins over a
  phenotype. A phenotype or score that cannot be read is listed as unrecognised, never
  refusing the patient. Body weight (LOINC 29463-7) and height (8302-2) to
  ``weight_kg`` / ``height_cm`` (for Cockcroft-Gault), breastfeeding status (63895-7)
  and pregnancy status (82810-3: valueBoolean or a yes/no code) to ``breastfeeding`` /
  ``pregnant``; the latest value wins. The Child-Pugh class (NCI Thesaurus C121007 or
  C121075 with a coded class C113691/C113692/C113694) or total score (C121074, classed by
  ``child_pugh.toml``) to ``labs.child_pugh``; an occupation (LOINC 21843-8 or 11341-5)
  coded in ISCO-08 sub-major group 83 (drivers and mobile plant operators) to ``drives``.
* A one-product drug record (the lidocaine 5 % plaster) is recognised by its product-level
  RxNorm codes, a brand, or a text naming its form at its strength; an ingredient name
  ("lidocaine") or another strength is never taken as the product (named, not checked).

Whatever cannot be mapped (an unknown drug code, an unmapped condition, an
observation code neurodose does not use) is listed in :attr:`FhirCase.unrecognised`
with its codes, never dropped; the profile is built from what was recognised.

Examples
--------
>>> import datetime as dt
>>> case = case_from_resources([
...     {"resourceType": "Patient", "id": "p1", "birthDate": "1950-03-01", "gender": "female"},
...     {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
...      "subject": {"reference": "Patient/p1"},
...      "medicationCodeableConcept": {"text": "paroxetine"},
...      "dosageInstruction": [{"timing": {"code": {"coding": [{"code": "QD"}]}},
...          "doseAndRate": [{"doseQuantity": {"value": 20, "unit": "mg"}}]}]},
...     {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
...      "subject": {"reference": "Patient/p1"},
...      "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
...          "code": "999999", "display": "Zzz 5 MG Oral Tablet"}]}},
... ], today=dt.date(2026, 1, 5))
>>> case.profile["age"], case.profile["sex"], case.profile["medications"]
(75, 'female', [{'name': 'paroxetine', 'dose_mg': 20.0, 'every_h': 24.0}])
>>> [(u.kind, u.text) for u in case.unrecognised]
[('medication', 'Zzz 5 MG Oral Tablet')]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from neurodose.case.patient import Patient, load_patient
from neurodose.errors import (
    FhirError,
    GenotypeError,
    NeurodoseError,
    PatientError,
    UnknownNameError,
)
from neurodose.fhir.ucum import quantity_value
from neurodose.fhir.validate import bundle_entries, validate_resource
from neurodose.knowledge import get_drug, resolve_name
from neurodose.knowledge.conditions import condition
from neurodose.knowledge.pgx import parse_genotype
from neurodose.knowledge.terminology import (
    answer_for_code,
    condition_for_code,
    drug_for_code,
    gene_for_code,
    observation_for_code,
    product_level,
    system_name,
    timing_interval,
)
from neurodose.plausibility import birth_date_plausible, patient_plausible

__all__ = [
    "FhirCase",
    "Order",
    "Unrecognised",
    "case_from_bundle",
    "case_from_resources",
    "medication_index",
    "medication_of",
    "orders_from",
]

#: FHIR Timing.repeat.periodUnit -> hours (UCUM definitions; mo and a as 30 d and 365 d)
_PERIOD_H = {
    "s": 1 / 3600,
    "min": 1 / 60,
    "h": 1.0,
    "d": 24.0,
    "wk": 168.0,
    "mo": 720.0,
    "a": 8760.0,
}
#: dose units that count tablets or capsules (UCUM annotations and common text)
_UNIT_DOSE = {
    "{tbl}",
    "{tab}",
    "{cap}",
    "{capsule}",
    "{tablet}",
    "tab",
    "tablet",
    "tablets",
    "cap",
    "capsule",
    "capsules",
    "TAB",
    "CAP",
    "1",
}
_CURRENT = {"active", "on-hold", "draft", "intended"}
_PAST = {"stopped", "completed", "not-taken"}
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*MG\b", re.IGNORECASE)


@dataclass(frozen=True)
class Unrecognised:
    """Something in the input that neurodose could not map (listed, never dropped)."""

    where: str
    kind: str
    text: str
    codes: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "where": self.where,
            "kind": self.kind,
            "text": self.text,
            "codes": list(self.codes),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Order:
    """One medication order (draft or active): the drug it names and its dose.

    ``problems`` names what could not be read (a dose in tablets with no strength,
    a ``medicationReference`` not found in the request); the order is kept with
    that part unknown, never refused.
    """

    ref: str
    drug: str | None
    text: str
    codes: tuple[str, ...]
    dose_mg: float | None
    every_h: float | None
    resource: dict[str, Any] = field(repr=False, compare=False)
    problems: tuple[str, ...] = ()

    @property
    def daily_mg(self) -> float | None:
        """Daily dose (mg) where dose and interval are known."""
        if self.dose_mg is None:
            return None
        return self.dose_mg * (24.0 / self.every_h if self.every_h else 1.0)


@dataclass(frozen=True)
class FhirCase:
    """A patient read from FHIR: the profile (patient JSON schema) and what was not mapped."""

    profile: dict[str, Any]
    unrecognised: tuple[Unrecognised, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    patient_id: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def patient(self, *, strict: bool = False) -> Patient:
        """The validated :class:`~neurodose.case.patient.Patient` (errors name the field).

        Everything in :attr:`unrecognised` is carried into ``Patient.unchecked`` (a
        medicine as ``drug``, a condition as ``condition``, a coded entry as ``code``),
        so that no door loses an unknown.
        """
        from dataclasses import replace

        from neurodose.case.patient import Unchecked

        p = load_patient(self.profile, strict=strict)
        kinds = {"medication": "drug", "condition": "condition"}
        extra = tuple(
            Unchecked(
                kinds.get(u.kind, "code" if u.codes else "text"),
                u.text or ", ".join(u.codes) or u.where,
                f"{u.reason} ({u.where}{'; codes ' + ', '.join(u.codes) if u.codes else ''})",
            )
            for u in self.unrecognised
        )
        return replace(p, unchecked=(*p.unchecked, *extra)) if extra else p


# ----------------------------------------------------------------------------- helpers


def _codings(cc: Any) -> list[dict[str, Any]]:
    if not isinstance(cc, dict):
        return []
    return [c for c in cc.get("coding") or [] if isinstance(c, dict)]


def _code_strings(cc: Any) -> tuple[str, ...]:
    return tuple(f"{c.get('system', '')}|{c.get('code', '')}" for c in _codings(cc))


def _text(cc: Any) -> str:
    if not isinstance(cc, dict):
        return ""
    if cc.get("text"):
        return str(cc["text"])
    for c in _codings(cc):
        if c.get("display"):
            return str(c["display"])
    for c in _codings(cc):
        if c.get("code"):
            return str(c["code"])
    return ""


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) == 4:
            return dt.date(int(value), 7, 1)
        if len(value) == 7:
            return dt.date(int(value[:4]), int(value[5:7]), 15)
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _ref_id(ref: Any) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        return ref["reference"]
    return None


def _name_candidates(text: str) -> list[str]:
    """The text itself, then its leading words (``"amitriptyline 10 MG tab"`` -> ...)."""
    words = text.replace(",", " ").split()
    out = [text]
    for n in range(min(len(words), 4), 0, -1):
        out.append(" ".join(words[:n]))
    return out


#: UCUM units accepted as the measurement's unit (same number): mEq/L = mmol/L for Na, K
_SAME_UNIT = {
    "meq/l": "mmol/L",
    "mmol/l": "mmol/L",
    "/min": "/min",
    "{beats}/min": "/min",
    "mm[hg]": "mmHg",
    "mmhg": "mmHg",
    "10*9/l": "10*9/L",
    "10*3/ul": "10*9/L",
    "ms": "ms",
    "u/l": "U/L",
    "umol/l": "umol/L",
    "g/l": "g/L",
    "{inr}": "1",
    "1": "1",
    "kg/m2": "kg/m2",
    "wk": "wk",
    "mg/dl": "mg/dL",
}


def _measurement_for(res: Mapping[str, Any]) -> tuple[str, float, str | None] | None:
    """``(measurement id, value, problem)`` for an Observation whose LOINC code is a
    measurement the screen reads (``knowledge/measurements.toml``); ``None`` otherwise.
    A unit that is not the measurement's own is a problem (named), never converted by
    guess."""
    from neurodose.knowledge.measurements import measurement_defs

    by_loinc = {d.loinc: d for d in measurement_defs().values() if d.loinc}
    for c in _codings(res.get("code")):
        d = by_loinc.get(str(c.get("code")))
        if d is None or "loinc" not in str(c.get("system", "")).lower():
            continue
        vq = res.get("valueQuantity")
        if not isinstance(vq, Mapping) or not isinstance(vq.get("value"), int | float):
            return d.id, 0.0, f"{d.label}: no numeric valueQuantity"
        unit = str(vq.get("code") or vq.get("unit") or "").strip()
        if d.id == "creatinine_umol_l" and unit.lower() == "mg/dl":
            return d.id, float(vq["value"]) * 88.42, None  # 1 mg/dL = 88.42 umol/L
        if _SAME_UNIT.get(unit.lower(), unit) != d.unit and not (unit == "" and d.unit == "1"):
            return d.id, 0.0, f"{d.label}: unit {unit!r} is not {d.unit}; not read"
        return d.id, float(vq["value"]), None
    return None


def _drug_from_text(text: str) -> tuple[str | None, str | None]:
    """``(drug, None)`` for a name the knowledge base knows, ``(None, why)`` for the
    ingredient of a one-product record that does not name that product, else
    ``(None, None)``."""
    for cand in _name_candidates(text):
        try:
            drug = resolve_name(cand)
        except (UnknownNameError, NeurodoseError):
            continue
        why = _product_not_named(text, cand, drug)
        return (None, why) if why else (drug, None)
    return None, None


#: words that name a patch or plaster product in a medication text
_FORM_WORDS = ("patch", "plaster", "medicated", "transdermal", "topical system")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def _product_not_named(text: str, cand: str, drug: str) -> str | None:
    """Why a text that matched ``drug`` through ``cand`` does not name it, where ``drug``
    is one product (the lidocaine 5 % plaster): a bare ingredient name ("lidocaine",
    "capsaicin cream") or another strength ("lidocaine 4 % patch") is not the product
    (an injection, a cream, an over-the-counter patch); None when it names it (a form
    word at the same strength, or a brand)."""
    if not product_level(drug):
        return None
    rec = get_drug(drug)
    low = text.lower()
    want, got = _PERCENT.search(rec.display_name), _PERCENT.search(low)
    if want and got and float(want.group(1)) != float(got.group(1)):
        return (
            f"{text!r} is {got.group(1)} %, not {rec.display_name}; the product is not "
            "in the neurodose knowledge base; not checked"
        )
    bare = {
        a.lower()
        for a in rec.aliases
        if not any(ch.isdigit() for ch in a) and not any(w in a.lower() for w in _FORM_WORDS)
    }
    if cand.strip().lower() in bare and not any(w in low for w in _FORM_WORDS):
        return (
            f"{text!r} names the ingredient of {rec.display_name} but not the product "
            f"(an injection, a cream or another patch may be meant); not checked as "
            f"{rec.display_name}"
        )
    return None


def medication_of(
    cc: Any, *, where: str = "medication"
) -> tuple[str | None, str, tuple[str, ...], float | None]:
    """Map a medication CodeableConcept to ``(drug or None, text, codes, strength_mg)``.

    RxNorm and ATC codes are looked up in the drug records; then the coding
    displays and the text are tried as names. ``strength_mg`` is the per-unit
    strength of an RxNorm SCD (from its cited display), where the code gives one.
    A name of the ingredient of a one-product record ("lidocaine" for the 5 % plaster)
    is not that product: None (see :func:`_medication`).
    """
    drug, text, codes, strength, _ = _medication(cc)
    return drug, text, codes, strength


def _medication(
    cc: Any,
) -> tuple[str | None, str, tuple[str, ...], float | None, str | None]:
    """:func:`medication_of` and, when no drug is found, why (or None)."""
    codes = _code_strings(cc)
    text = _text(cc)
    strength: float | None = None
    for c in _codings(cc):
        hit = drug_for_code(c.get("system"), c.get("code"))
        if hit is not None:
            coded, ident = hit
            if ident.system == "RxNorm-SCD" and ident.display:
                m = _STRENGTH.search(ident.display)
                strength = float(m.group(1)) if m else None
            return coded, text or (ident.display or coded), codes, strength, None
    names = [text] + [str(c.get("display")) for c in _codings(cc) if c.get("display")]
    why: str | None = None
    for n in names:
        if n:
            drug, not_named = _drug_from_text(n)
            if drug is not None:
                m = _STRENGTH.search(n)
                return drug, text, codes, float(m.group(1)) if m else None, None
            why = why or not_named
    return None, text, codes, None, why


def _every_h(dosage: dict[str, Any]) -> float | None:
    timing = dosage.get("timing") or {}
    rep = timing.get("repeat") or {}
    if rep.get("period") is not None and rep.get("periodUnit") in _PERIOD_H:
        freq = rep.get("frequency") or 1
        return float(rep["period"]) * _PERIOD_H[rep["periodUnit"]] / float(freq)
    if rep.get("frequency") and not rep.get("period"):
        return 24.0 / float(rep["frequency"])
    for c in _codings(timing.get("code")):
        t = timing_interval(c.get("code"))
        if t is not None:
            return t.every_h
    if rep.get("timeOfDay") and isinstance(rep["timeOfDay"], list):
        return 24.0 / len(rep["timeOfDay"])
    return None


class _DoseUnknownError(Exception):
    """A dose counted in the product's units whose strength is not known (kept, named)."""


def _dose_mg(dosage: dict[str, Any], strength: float | None, where: str) -> float | None:
    """The dose in mg; a count of units (tablets, or a number with no unit, which FHIR
    reads as a count of the product) is multiplied by the strength per unit, and
    raises :class:`_DoseUnknownError` when the strength is not known."""
    for j, dr in enumerate(dosage.get("doseAndRate") or []):
        q = dr.get("doseQuantity")
        if q is None and isinstance(dr.get("doseRange"), dict):
            q = dr["doseRange"].get("high")
        if not isinstance(q, dict):
            continue
        unit = q.get("code") or q.get("unit")
        count = unit is None or (isinstance(unit, str) and not unit.strip())
        if count or unit in _UNIT_DOSE or (isinstance(unit, str) and unit.lower() in _UNIT_DOSE):
            if not isinstance(q.get("value"), int | float):
                raise FhirError(
                    f"{where}.doseAndRate[{j}].doseQuantity.value", q.get("value"), "a number"
                )
            if strength is None:
                what = f"{q['value']:g} {unit}" if not count else f"{q['value']:g} (no unit)"
                raise _DoseUnknownError(
                    f"dose {what} at {where}.doseAndRate[{j}].doseQuantity is a count of "
                    "tablets or capsules and the medication gives no strength per unit; "
                    "dose not known, dose checks not done"
                )
            return float(q["value"]) * strength
        return quantity_value(q, "mass", where=f"{where}.doseAndRate[{j}].doseQuantity")
    return None


def _end_date(res: dict[str, Any]) -> dt.date | None:
    for dosage in res.get("dosageInstruction") or res.get("dosage") or []:
        bp = ((dosage.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}
        d = _date(bp.get("end"))
        if d:
            return d
    d = _date(((res.get("dispenseRequest") or {}).get("validityPeriod") or {}).get("end"))
    if d:
        return d
    d = _date((res.get("effectivePeriod") or {}).get("end"))
    if d:
        return d
    return _date(res.get("effectiveDateTime"))


def _medication_strength(med: Mapping[str, Any]) -> float | None:
    """Strength per unit (mg) of a single-ingredient Medication (``ingredient.strength``
    as mg per 1 unit), or None."""
    ings = [x for x in med.get("ingredient") or [] if isinstance(x, dict)]
    if len(ings) != 1:
        return None
    st = ings[0].get("strength") or {}
    num, den = st.get("numerator") or {}, st.get("denominator") or {}
    if not isinstance(num.get("value"), int | float) or den.get("value", 1) != 1:
        return None
    try:
        return quantity_value(num, "mass", where="Medication.ingredient.strength")
    except FhirError:
        return None


def _resolve_medication(
    res: Mapping[str, Any], mref: str, index: Mapping[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The Medication a ``medicationReference`` names: a contained one (``#id``, in this
    resource), a bundle entry by its ``fullUrl`` (``urn:uuid:...`` or absolute), or one
    by ``Medication/id`` (bundle entries and prefetched Medication resources)."""
    if mref.startswith("#"):
        for c in res.get("contained") or []:
            if isinstance(c, dict) and f"#{c.get('id')}" == mref:
                return c if c.get("resourceType") == "Medication" else None
        return None
    if mref in index:
        return index[mref]
    m = re.search(r"(?:^|/)Medication/([^/]+?)(?:/_history/[^/]+)?$", mref)
    if m:
        return index.get(f"Medication/{m.group(1)}")
    return None


def _unresolved_order(res: dict[str, Any], where: str, ref: str, mref: str | None) -> Order:
    """An order whose ``medicationReference`` names no Medication we have: not checked."""
    display = str(res["medicationReference"].get("display") or mref or "")
    return Order(
        ref=ref,
        drug=None,
        text=display or "medicationReference",
        codes=(),
        dose_mg=None,
        every_h=_first_every_h(res),
        resource=res,
        problems=(
            f"{where}.medicationReference {mref!r}: no such Medication in the request "
            "(contained, bundle entry or prefetch); not checked",
        ),
    )


def _referenced_code(
    res: dict[str, Any], med: dict[str, Any]
) -> tuple[dict[str, Any] | None, float | None]:
    """The code of a referenced Medication (else the reference's display) and its
    ingredient strength."""
    cc = med.get("code")
    if isinstance(cc, dict) and not (_codings(cc) or cc.get("text")):
        cc = None
    if cc is None and res["medicationReference"].get("display"):
        cc = {"text": str(res["medicationReference"]["display"])}
    return cc, _medication_strength(med)


def _order_dose(
    res: dict[str, Any], strength: float | None, where: str
) -> tuple[float | None, float | None, tuple[str, ...]]:
    """Dose (mg), interval (h) and problems of the first dosage of an order."""
    dosages = res.get("dosageInstruction") or res.get("dosage") or []
    if not dosages:
        return None, None, ()
    key = "dosageInstruction" if res.get("dosageInstruction") else "dosage"
    dose = None
    problems: tuple[str, ...] = ()
    try:
        dose = _dose_mg(dosages[0], strength, f"{where}.{key}[0]")
    except _DoseUnknownError as exc:
        problems = (str(exc),)
    return dose, _every_h(dosages[0]), problems


def _order(res: dict[str, Any], where: str, index: Mapping[str, dict[str, Any]]) -> Order:
    rtype = res["resourceType"]
    ref = f"{rtype}/{res['id']}" if res.get("id") else where
    cc = res.get("medicationCodeableConcept")
    mref = _ref_id(res.get("medicationReference"))
    med_strength: float | None = None
    if cc is None and isinstance(res.get("medicationReference"), dict):
        med = _resolve_medication(res, mref, index) if mref is not None else None
        if med is None:
            return _unresolved_order(res, where, ref, mref)
        cc, med_strength = _referenced_code(res, med)
    if not isinstance(cc, dict) or not (_codings(cc) or cc.get("text")):
        raise FhirError(
            f"{where}.medication[x]",
            None,
            "a medication (a code, a name, or a Medication reference)",
        )
    drug, text, codes, strength, why = _medication(cc)
    strength = strength if strength is not None else med_strength
    dose, every, problems = _order_dose(res, strength, where)
    if drug is None and why:
        problems = (why,)
    return Order(
        ref=ref,
        drug=drug,
        text=text,
        codes=codes,
        dose_mg=dose,
        every_h=every,
        resource=res,
        problems=problems,
    )


def _first_every_h(res: Mapping[str, Any]) -> float | None:
    dosages = res.get("dosageInstruction") or res.get("dosage") or []
    return _every_h(dosages[0]) if dosages and isinstance(dosages[0], dict) else None


def medication_index(*values: Any) -> dict[str, dict[str, Any]]:
    """Medication resources by every name a reference may use: ``Medication/id`` and the
    bundle entry's ``fullUrl`` (``urn:uuid:...`` or absolute). ``values`` are Bundles,
    resources, lists of resources or ``(where, resource)`` pairs; anything else is skipped."""
    out: dict[str, dict[str, Any]] = {}

    def add(r: Any, full_url: Any = None) -> None:
        if not isinstance(r, dict):
            return
        if r.get("resourceType") == "Bundle":
            for e in r.get("entry") or []:
                if isinstance(e, dict):
                    add(e.get("resource"), e.get("fullUrl"))
            return
        if r.get("resourceType") != "Medication":
            return
        if r.get("id"):
            out.setdefault(f"Medication/{r['id']}", r)
        if isinstance(full_url, str) and full_url:
            out[full_url] = r

    for v in values:
        if isinstance(v, list):
            for x in v:
                add(x[1] if isinstance(x, tuple) else x)
        elif isinstance(v, tuple) and len(v) == 2:
            add(v[1])
        else:
            add(v)
    return out


def orders_from(
    value: Any,
    *,
    where: str = "draftOrders",
    medications: Mapping[str, dict[str, Any]] | None = None,
) -> list[Order]:
    """The MedicationRequests of a Bundle (or a list of resources), each mapped.

    Other order types (ServiceRequest ...) are not medication orders and are
    skipped. A MedicationRequest with no medication is a FhirError. A
    ``medicationReference`` is resolved in the order's ``contained`` resources, the
    bundle's entries (``Medication/id`` or ``fullUrl``) and ``medications`` (from
    :func:`medication_index`, e.g. prefetched Medication resources).
    """
    if isinstance(value, list):
        items = [
            (f"{where}[{i}]", validate_resource(r, where=f"{where}[{i}]"))
            for i, r in enumerate(value)
        ]
    else:
        items = list(bundle_entries(value, where=where))
    index = {**(medications or {}), **medication_index(value if isinstance(value, dict) else items)}
    return [_order(r, w, index) for w, r in items if r["resourceType"] == "MedicationRequest"]


# ------------------------------------------------------------------------- the case


def _latest(obs: list[tuple[dt.date | None, Any]]) -> Any:
    obs.sort(key=lambda x: x[0] or dt.date.min)
    return obs[-1][1]


#: Observation kind -> (profile key, unit dimension) for the body measurements
_BODY_KEYS = {"body_weight": ("weight_kg", "body_mass"), "body_height": ("height_cm", "length")}
#: Observation kind -> the profile flag it sets (a yes/no status)
_FLAG_KEYS = {"breastfeeding": "breastfeeding", "pregnancy_status": "pregnant"}
_FACT_KINDS = frozenset({*_BODY_KEYS, *_FLAG_KEYS})
# yes/no codes: v2-0136 Y/N, and the LOINC answers of 82810-3 (LA15173-0 Pregnant,
# LA26683-5 Not pregnant); LA4489-6 Unknown is neither, so it is named, not read as "no"
_YES = {"y", "yes", "true", "la15173-0"}
_NO = {"n", "no", "false", "la26683-5"}


def _yes_no(res: Mapping[str, Any]) -> bool | None:
    """valueBoolean, or a valueCodeableConcept coded yes/no (v2-0136 Y/N); else None."""
    if isinstance(res.get("valueBoolean"), bool):
        return bool(res["valueBoolean"])
    for c in _codings(res.get("valueCodeableConcept")):
        code = str(c.get("code", "")).strip().lower()
        if code in _YES or code in _NO:
            return code in _YES
    return None


def _genotype_value(res: dict[str, Any]) -> str:
    for key in ("valueString",):
        if isinstance(res.get(key), str):
            return str(res[key])
    return _text(res.get("valueCodeableConcept"))


def _component(res: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for comp in res.get("component") or []:
        for c in _codings(comp.get("code")):
            o = observation_for_code(c.get("system"), c.get("code"))
            if o is not None and o.kind == kind:
                return dict(comp)
    return None


def _gene_of(res: dict[str, Any], text: str) -> str | None:
    comp = _component(res, "gene_studied")
    if comp is not None:
        cc = comp.get("valueCodeableConcept")
        for c in _codings(cc):
            g = gene_for_code(c.get("system"), c.get("code"))
            if g is not None:
                return g.symbol
        t = _text(cc)
        if t:
            return t.split()[0]
    m = re.match(r"\s*([A-Z0-9]+?)\s*\*", text)
    return m.group(1) if m else None


# a gene symbol named in free text ("CYP2D6 phenotype", "Activity score CYP2D6")
_GENE_IN_TEXT = re.compile(r"\b(CYP\d+[A-Z]\d+[A-Z]?|[A-Z]{3,}\d+[A-Z]?\d*)\b", re.IGNORECASE)
_ACTIVITY_SCORE = re.compile(r"activity[\s-]+score", re.IGNORECASE)


def _gene_named(text: str) -> str | None:
    m = _GENE_IN_TEXT.search(text)
    return m.group(1).upper() if m else None


_SKIPPED_TYPES = frozenset(
    {
        "Medication",
        "AllergyIntolerance",
        "Encounter",
        "Practitioner",
        "PractitionerRole",
        "OperationOutcome",
    }
)
# Observation kind -> the UCUM dimension its valueQuantity is read in
_LAB_DIMENSIONS = {
    "egfr": "renal_function",
    "crcl": "renal_function",
    "qtc": "interval",
    "alt": "enzyme_activity",
}
# Observation kind -> the key in the profile's ``labs``
_LAB_KEYS = {"egfr": "egfr", "crcl": "crcl_ml_min", "qtc": "qtc_ms", "alt": "alt_u_per_l"}
_OLD_STOP_DAYS = 3650


def _age_years(born: dt.date, today: dt.date) -> int:
    """Age in whole years at ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _keeps_new(prev: tuple[Order, float | None], order: Order, stopped: float | None) -> bool:
    """Between two orders for one drug: keep the current one; between two current ones,
    the higher daily dose."""
    pcur, ncur = prev[1] is None, stopped is None
    return (ncur and not pcur) or (ncur == pcur and (order.daily_mg or 0) > (prev[0].daily_mg or 0))


def _condition_inactive(res: dict[str, Any]) -> bool:
    clin = [c.get("code") for c in _codings(res.get("clinicalStatus"))]
    ver = [c.get("code") for c in _codings(res.get("verificationStatus"))]
    return bool(
        (clin and not set(clin) & {"active", "recurrence", "relapse"})
        or set(ver) & {"refuted", "entered-in-error"}
    )


def _ref_or(res: dict[str, Any], where: str) -> str:
    """``Type/id`` where the resource has an id, else where it stood in the input."""
    return f"{res['resourceType']}/{res['id']}" if res.get("id") else where


def _integer_or_quantity(res: dict[str, Any], dim: str, where: str) -> float | None:
    """``valueInteger`` as a float, else ``valueQuantity`` in ``dim`` (None where neither)."""
    if isinstance(res.get("valueInteger"), int):
        return float(res["valueInteger"])
    q = res.get("valueQuantity")
    return None if q is None else quantity_value(q, dim, where=where)


def _child_pugh_value(kind: str, res: dict[str, Any], ref: str) -> str | None:
    """ "A", "B" or "C" from a Child-Pugh class (coded answer) or total score Observation."""
    from neurodose.knowledge.measurements import child_pugh_class

    if kind == "child_pugh_score":
        try:
            score = _integer_or_quantity(res, "score", f"{ref} valueQuantity")
        except FhirError:
            return None
        return child_pugh_class(score) if score is not None else None
    for c in _codings(res.get("valueCodeableConcept")):
        a = answer_for_code("child_pugh_class", c.get("system"), c.get("code"))
        if a is not None:
            return a.value
    return None


def _lab_values(labs: Mapping[str, list[tuple[dt.date | None, float]]]) -> dict[str, float]:
    """The latest value of each lab, under its profile key; then the screen's measurements."""
    lab = {_LAB_KEYS[k]: _latest(labs[k]) for k in _LAB_KEYS if k in labs}
    for key, vals in labs.items():  # measurements read by the screen (knowledge/measurements)
        if key.startswith("m:") and key[2:] not in lab:
            lab[key[2:]] = _latest(vals)
    return lab


def _profile_medications(meds: Mapping[str, tuple[Order, float | None]]) -> list[dict[str, Any]]:
    return [
        {
            "name": d,
            **({"dose_mg": o.dose_mg} if o.dose_mg is not None else {}),
            **({"every_h": o.every_h} if o.every_h is not None else {}),
            **({"stopped_days_ago": s} if s is not None else {}),
        }
        for d, (o, s) in meds.items()
    ]


@dataclass
class _CaseReader:
    """What :func:`case_from_resources` gathers, one resource at a time."""

    today: dt.date
    index: Mapping[str, dict[str, Any]]
    unrec: list[Unrecognised] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    profile: dict[str, Any] = field(default_factory=dict)
    patient_id: str | None = None
    meds: dict[str, tuple[Order, float | None]] = field(default_factory=dict)
    conds: set[str] = field(default_factory=set)
    labs: dict[str, list[tuple[dt.date | None, float]]] = field(default_factory=dict)
    pains: list[tuple[dt.date | None, float]] = field(default_factory=list)
    genos: dict[str, tuple[str, str]] = field(default_factory=dict)
    phenos: dict[str, tuple[str, str]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    geno_obs: dict[str, str] = field(default_factory=dict)
    scores: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: weight_kg, height_cm, breastfeeding: (date, value) per key, the latest wins
    facts: dict[str, list[tuple[dt.date | None, Any]]] = field(default_factory=dict)
    #: Child-Pugh class sent as such (NCIt class or total score): (date, class)
    hepatic: list[tuple[dt.date | None, str]] = field(default_factory=list)

    def read(self, where: str, res: dict[str, Any]) -> None:
        rtype = res["resourceType"]
        if rtype == "Patient":
            self.patient(where, res)
        elif rtype in ("MedicationRequest", "MedicationStatement"):
            self.medication(where, res)
        elif rtype == "Condition":
            self.condition(where, res)
        elif rtype == "Observation":
            self.observation(where, res)
        elif rtype not in _SKIPPED_TYPES:
            self.unrec.append(Unrecognised(where, "resource", rtype, (), "resource type not used"))

    # -- Patient ---------------------------------------------------------------
    def patient(self, where: str, res: dict[str, Any]) -> None:
        self.patient_id = res.get("id")
        born = _date(res.get("birthDate"))
        if born is None:
            raise FhirError(f"{where} Patient.birthDate", res.get("birthDate"), "a birth date")
        birth_date_plausible(born, f"{where} Patient.birthDate", today=self.today)
        self.profile["age"] = _age_years(born, self.today)
        if res.get("gender") in ("female", "male"):
            self.profile["sex"] = res["gender"]

    # -- MedicationRequest / MedicationStatement ------------------------------
    def medication(self, where: str, res: dict[str, Any]) -> None:
        status = res.get("status")
        if status in ("cancelled", "entered-in-error", "unknown") or res.get("intent") == "plan":
            self.notes.append(f"{where}: {res['resourceType']} with status {status!r} not used")
            return
        order = _order(res, where, self.index)
        if order.drug is None:
            reason = "; ".join(order.problems) or "not in the neurodose knowledge base; not checked"
            self.unrec.append(
                Unrecognised(order.ref, "medication", order.text, order.codes, reason)
            )
            return
        for dose_problem in order.problems:
            self.unrec.append(
                Unrecognised(order.ref, "dose", f"{order.drug} dose", order.codes, dose_problem)
            )
        stopped = self._stopped_days(order, res) if status in _PAST else None
        if stopped is not None and stopped > _OLD_STOP_DAYS:
            self.notes.append(f"{order.ref}: {order.drug} stopped over 10 years ago; not used")
            return
        prev = self.meds.get(order.drug)
        if prev is not None:
            keep_new = _keeps_new(prev, order, stopped)
            used = (order if keep_new else prev[0]).ref
            self.notes.append(f"{order.drug}: listed more than once; using {used}")
            if not keep_new:
                return
        self.meds[order.drug] = (order, stopped)

    def _stopped_days(self, order: Order, res: dict[str, Any]) -> float:
        end = _end_date(res)
        if end is None:
            self.notes.append(
                f"{order.ref}: {order.drug} {res.get('status')} with no end date; "
                "counted as stopped today for washout rules"
            )
            return 0.0
        return float(max((self.today - end).days, 0))

    # -- Condition -------------------------------------------------------------
    def condition(self, where: str, res: dict[str, Any]) -> None:
        if _condition_inactive(res):
            self.notes.append(f"{where}: condition {_text(res.get('code'))!r} not active; not used")
            return
        hit = None
        for c in _codings(res.get("code")):
            hit = condition_for_code(c.get("system"), c.get("code"))
            if hit is not None:
                break
        if hit is None:
            self.unrec.append(
                Unrecognised(
                    where=_ref_or(res, where),
                    kind="condition",
                    text=_text(res.get("code")),
                    codes=_code_strings(res.get("code")),
                    reason="no SNOMED CT / ICD-10 mapping to a neurodose condition",
                )
            )
            return
        self.conds.add(hit.condition)
        self.sources.add(hit.source)

    # -- Observation -----------------------------------------------------------
    def observation(self, where: str, res: dict[str, Any]) -> None:
        if res.get("status") in ("cancelled", "entered-in-error", "registered"):
            self.notes.append(f"{where}: observation with status {res.get('status')!r} not used")
            return
        when = _date(res.get("effectiveDateTime")) or _date(res.get("issued"))
        ref = _ref_or(res, where)
        codings = _codings(res.get("code"))
        if any(c.get("code") == "therapeutic-implication" for c in codings):
            self._implication(res, ref)
            return
        kinds = [
            o
            for c in codings
            if (o := observation_for_code(c.get("system"), c.get("code"))) is not None
        ]
        if not kinds:
            if _ACTIVITY_SCORE.search(_text(res.get("code"))):
                self._activity_score(res, ref)
                return
            self._unmapped_observation(res, ref, when)
            return
        o = kinds[0]
        self.sources.add(o.source)
        vq = f"{where} Observation.valueQuantity"
        if o.kind == "genotype":
            self._genotype(where, res, ref)
        elif o.kind == "metabolizer_effect":
            self._phenotype(res, ref)
        elif o.kind in _LAB_DIMENSIONS:
            v = quantity_value(res.get("valueQuantity"), _LAB_DIMENSIONS[o.kind], where=vq)
            self.labs.setdefault(o.kind, []).append((when, v))
        elif o.kind == "pain_score":
            pain = _integer_or_quantity(res, "score", vq)
            if pain is None:  # no value at all: quantity_value names the field
                pain = quantity_value(None, "score", where=vq)
            self.pains.append((when, pain))
        elif o.kind in ("phq9_total", "sleep_duration"):
            dim = "time" if o.kind == "sleep_duration" else "score"
            v_extra = _integer_or_quantity(res, dim, vq)
            if v_extra is not None:
                self.extras[o.kind] = v_extra
        elif o.kind in _FACT_KINDS:
            self._patient_fact(o.kind, res, ref, when)
        elif o.kind in ("child_pugh_class", "child_pugh_score"):
            self._child_pugh(o.kind, res, ref, when)
        elif o.kind == "occupation":
            self._occupation(res, ref)

    def _occupation(self, res: dict[str, Any], ref: str) -> None:
        """An occupation in ISCO-08 sub-major group 83 (drivers and mobile plant
        operators) sets ``drives``; another ISCO-08 occupation says nothing about driving;
        an occupation in another code system (or as text) is named as not read."""
        codings = _codings(res.get("valueCodeableConcept"))
        isco = [c for c in codings if system_name(c.get("system")) == "ISCO-08"]
        if any(answer_for_code("occupation", c.get("system"), c.get("code")) for c in isco):
            self.profile["drives"] = True
        elif not isco:
            self.unrec.append(
                Unrecognised(
                    ref,
                    "observation",
                    _text(res.get("valueCodeableConcept")) or "occupation",
                    _code_strings(res.get("valueCodeableConcept")),
                    "occupation not coded in ISCO-08: whether the patient drives for work "
                    "was not read",
                )
            )

    def _child_pugh(self, kind: str, res: dict[str, Any], ref: str, when: dt.date | None) -> None:
        """The Child-Pugh class as a coded answer (NCIt C113691/2/4) or a total score
        (5-15, classed by child_pugh.toml's cut-offs); anything else is named, not read."""
        cls = _child_pugh_value(kind, res, ref)
        if cls is None:
            self.unrec.append(
                Unrecognised(
                    ref,
                    "observation",
                    _text(res.get("code")) or kind.replace("_", " "),
                    _code_strings(res.get("code")),
                    "Child-Pugh "
                    + (
                        "class without a coded class (A, B, C)"
                        if kind == "child_pugh_class"
                        else "score without a value of 5 to 15"
                    )
                    + "; not read",
                )
            )
            return
        self.hepatic.append((when, cls))

    def _patient_fact(self, kind: str, res: dict[str, Any], ref: str, when: dt.date | None) -> None:
        if kind in _FLAG_KEYS:
            self._flag(kind, res, ref, when)
        else:
            self._body_fact(kind, res, ref, when)

    def _body_fact(self, kind: str, res: dict[str, Any], ref: str, when: dt.date | None) -> None:
        """Body weight (kg) or height (cm, m); another unit is named, never guessed, and
        never refuses the patient (Cockcroft-Gault then says the weight is missing)."""
        key, dim = _BODY_KEYS[kind]
        try:
            value = quantity_value(res.get("valueQuantity"), dim, where=f"{ref} valueQuantity")
        except FhirError as exc:
            self.unrec.append(
                Unrecognised(
                    ref,
                    "observation",
                    kind.replace("_", " "),
                    _code_strings(res.get("code")),
                    f"not read: {exc}",
                )
            )
            return
        self.facts.setdefault(key, []).append((when, value))

    def _facts(self) -> None:
        """Weight, height, breastfeeding, pregnancy: the latest of each. An implausible one
        (pregnant and male or aged 75, an adult of 20 kg) is named and left out, never
        refusing the patient over one Observation."""
        for key, obs in self.facts.items():
            value = _latest(obs)
            trial = {**self.profile, key: value}
            try:
                patient_plausible(
                    age=trial.get("age"),
                    weight=trial.get("weight_kg"),
                    sex=trial.get("sex"),
                    pregnant=bool(trial.get("pregnant")),
                )
            except PatientError as exc:
                self.unrec.append(
                    Unrecognised("Observation", "observation", key, (), f"not used: {exc}")
                )
                continue
            self.profile[key] = value

    def _flag(self, kind: str, res: dict[str, Any], ref: str, when: dt.date | None) -> None:
        """Breastfeeding (63895-7) or pregnancy status (82810-3): valueBoolean or a
        yes/no code; anything else (Unknown included) is named, never read as "no"."""
        flag = _yes_no(res)
        what = kind.replace("_", " ")
        if flag is None:
            self.unrec.append(
                Unrecognised(
                    ref,
                    "observation",
                    _text(res.get("code")) or what,
                    _code_strings(res.get("code")),
                    f"{what} without valueBoolean or a yes/no code (Y, N); not read",
                )
            )
            return
        self.facts.setdefault(_FLAG_KEYS[kind], []).append((when, flag))

    def _implication(self, res: dict[str, Any], ref: str) -> None:
        """A ``therapeutic-implication``: the metabolizer phenotype of a gene."""
        comp = _component(res, "metabolizer_effect")
        gene = _gene_of(res, "")
        if gene is None:
            for d in res.get("derivedFrom") or []:
                gene = self.geno_obs.get(str(_ref_id(d)))
        if comp is not None and gene is not None:
            self._pgx_value(self.phenos, gene, _text(comp.get("valueCodeableConcept")), res, ref)
            return
        self.unrec.append(
            Unrecognised(
                ref,
                "genotype",
                _text(res.get("code")),
                _code_strings(res.get("code")),
                "therapeutic implication without gene or phenotype",
            )
        )

    def _phenotype(self, res: dict[str, Any], ref: str) -> None:
        """An Observation coded 53040-2: a metabolizer phenotype (``Poor metabolizer``) as
        its value; the gene from component 48018-6 or named in the code's text."""
        gene = _gene_of(res, "") or _gene_named(_text(res.get("code")))
        value = _text(res.get("valueCodeableConcept")) or str(res.get("valueString") or "")
        self._pgx_value(self.phenos, gene, value, res, ref, what="metabolizer phenotype")

    def _activity_score(self, res: dict[str, Any], ref: str) -> None:
        """An Observation whose code text names an "activity score" (no LOINC code for
        it is cited in the evidence pack): the number in valueQuantity, valueInteger or
        valueString; the gene from component 48018-6 or the code's text."""
        gene = _gene_of(res, "") or _gene_named(_text(res.get("code")))
        value: Any = None
        vq = res.get("valueQuantity")
        if isinstance(vq, dict) and isinstance(vq.get("value"), int | float):
            value = vq["value"]
        elif isinstance(res.get("valueInteger"), int):
            value = res["valueInteger"]
        elif isinstance(res.get("valueString"), str):
            value = res["valueString"]
        text = value if isinstance(value, str) else "" if value is None else f"{value:g}"
        self._pgx_value(self.scores, gene, text, res, ref, what="activity score")

    def _pgx_value(
        self,
        into: dict[str, tuple[str, str]],
        gene: str | None,
        value: str,
        res: dict[str, Any],
        ref: str,
        what: str = "therapeutic implication",
    ) -> None:
        """Keep a phenotype or activity score that :func:`parse_genotype` reads; anything
        else goes to ``unrecognised`` with the reason (the patient is never refused)."""
        reason: str | None = None
        if gene is None:
            reason = f"{what} without a gene (component 48018-6 or the gene in the code text)"
        elif not value.strip():
            reason = f"{what} for {gene} without a value"
        else:
            try:
                parse_genotype(gene, value)
            except UnknownNameError as exc:
                reason = f"{what} {value!r} for {gene} not read: {exc}"
            except GenotypeError as exc:
                reason = f"{what} {value!r} for {gene} not read: {exc}"
        if reason is None and gene is not None:
            into[gene.upper()] = (value.strip(), ref)
            return
        self.unrec.append(
            Unrecognised(
                ref,
                "genotype",
                " ".join(x for x in (gene, value or _text(res.get("code"))) if x),
                _code_strings(res.get("code")),
                reason or what,
            )
        )

    def _unmapped_observation(self, res: dict[str, Any], ref: str, when: dt.date | None) -> None:
        """An Observation code outside the terminology table: a screen measurement or unused."""
        meas = _measurement_for(res)
        if meas is None:
            reason = "LOINC code not used by neurodose"
        else:
            mid, mval, problem = meas
            if problem is None:
                self.labs.setdefault(f"m:{mid}", []).append((when, mval))
                self.sources.add("loinc_release")
                return
            reason = problem
        self.unrec.append(
            Unrecognised(
                where=ref,
                kind="observation",
                text=_text(res.get("code")),
                codes=_code_strings(res.get("code")),
                reason=reason,
            )
        )

    def _genotype(self, where: str, res: dict[str, Any], ref: str) -> None:
        text = _genotype_value(res)
        gene = _gene_of(res, text)
        if not text or gene is None:
            raise FhirError(
                f"{where} Observation.value[x]",
                text or None,
                "a genotype such as 'CYP2D6 *1/*4' with the gene in component 48018-6",
            )
        dip = text.split("*", 1)
        value = "*" + dip[1] if len(dip) == 2 else text
        self.genos[gene.upper()] = (value.replace(" ", ""), ref)
        if res.get("id"):
            self.geno_obs[f"Observation/{res['id']}"] = gene.upper()

    # -- the profile -----------------------------------------------------------
    def case(self, pharmcat: Mapping[str, Any] | None) -> FhirCase:
        if "age" not in self.profile:
            raise FhirError("Patient", None, "a Patient resource with a birthDate")
        self.profile["conditions"] = sorted(self.conds)
        self.profile["medications"] = _profile_medications(self.meds)
        lab: dict[str, Any] = dict(_lab_values(self.labs))
        if self.hepatic:
            lab["child_pugh"] = _latest(self.hepatic)
        if lab:
            self.profile["labs"] = lab
        self._facts()
        if self.pains:
            self._pain()
        if pharmcat is not None:
            self._pharmcat(pharmcat)
        genotypes = self._genotypes()
        if genotypes:
            self.profile["genotypes"] = genotypes
        if any(g in genotypes for g in ("CYP2D6", "CYP2C19")):
            self.sources.add("hl7_genomics_reporting")
        return FhirCase(
            profile=self.profile,
            unrecognised=tuple(self.unrec),
            notes=tuple(self.notes),
            sources=tuple(sorted(self.sources)),
            patient_id=self.patient_id,
            extras=self.extras,
        )

    def _pain(self) -> None:
        pain_conds = sorted(c for c in self.conds if condition(c).kind == "pain")
        if pain_conds:
            self.profile["pain"] = {"condition": pain_conds[0], "score": _latest(self.pains)}
        else:
            self.extras["pain_score"] = _latest(self.pains)
            self.notes.append("pain score given without a coded neuropathic-pain condition")

    def _pharmcat(self, pharmcat: Mapping[str, Any]) -> None:
        """Genotypes from a PharmCAT report fill genes the Observations do not give."""
        from neurodose.fhir.pharmcat import calls_from_pharmcat

        for call in calls_from_pharmcat(pharmcat):
            self.notes.extend(call.notes)
            if call.value is not None and call.gene not in self.genos:
                self.genos[call.gene] = (call.value, "PharmCAT report")
            self.sources.add("pharmcat_docs")

    def _genotypes(self) -> dict[str, str]:
        genotypes: dict[str, str] = {}
        # a genotype is the most specific, then an activity score, then a phenotype
        given = {**self.phenos, **self.scores, **self.genos}
        for gene, (value, ref) in given.items():
            also = [
                f"{v} ({r})"
                for v, r in filter(None, (self.phenos.get(gene), self.scores.get(gene)))
                if r != ref
            ]
            if also:
                self.notes.append(f"{gene}: {value} ({ref}) used; also given: {', '.join(also)}")
            try:
                genotypes[parse_genotype(gene, value).gene] = value
            except UnknownNameError:
                self.unrec.append(
                    Unrecognised(
                        ref, "genotype", f"{gene} {value}", (), "gene not used by neurodose"
                    )
                )
            except GenotypeError as exc:
                raise FhirError(f"{ref} genotype", f"{gene} {value}", str(exc)) from None
        return genotypes


def case_from_resources(
    resources: Iterable[Any],
    *,
    today: dt.date | None = None,
    pharmcat: Mapping[str, Any] | None = None,
    medications: Mapping[str, dict[str, Any]] | None = None,
) -> FhirCase:
    """Build the patient profile from FHIR resources (each validated first).

    Parameters
    ----------
    resources : iterable of dict or (where, dict)
        Patient, MedicationRequest, MedicationStatement, Medication, Condition,
        Observation and AllergyIntolerance resources; other types are listed as
        not used.
    today : date, optional
        Reference date for age and days since a medication stopped (default today).
    pharmcat : dict, optional
        A PharmCAT ``report.json`` or ``phenotype.json`` (genotypes from it fill
        genes the Observations do not give).
    medications : dict, optional
        Medication resources that ``medicationReference`` may name, from
        :func:`medication_index` (bundle entries by ``fullUrl``, prefetched ones).
    """
    items: list[tuple[str, dict[str, Any]]] = []
    for i, r in enumerate(resources):
        where, res = r if isinstance(r, tuple) else (f"resource[{i}]", r)
        items.append((where, validate_resource(res, where=where)))
    patients = [(w, r) for w, r in items if r["resourceType"] == "Patient"]
    if len(patients) > 1 and len({r.get("id") for _, r in patients}) > 1:
        raise FhirError("Patient", [r.get("id") for _, r in patients], "one patient per request")
    reader = _CaseReader(
        today=today or dt.date.today(), index={**(medications or {}), **medication_index(items)}
    )
    for where, res in items:
        reader.read(where, res)
    return reader.case(pharmcat)


def case_from_bundle(bundle: Any, *, today: dt.date | None = None) -> FhirCase:
    """:func:`case_from_resources` for the entries of a Bundle."""
    return case_from_resources(list(bundle_entries(bundle)), today=today)
