"""Patient view: where each current neuropathic-pain drug stands today.

For each drug on the active list: its dose, the week of treatment and the effect
review date (from the start date where known; :func:`neurodose.advice.review.review_status`)
and the TDM reference range where the record has one; with the patient given, the
pharmacogenomics: each gene's phenotype on record and the pharmacogenetic findings of the
safety screen (:func:`neurodose.safety.engine.screen_current`, rules of kind ``pgx``:
CPIC/DPWG genotype guidance, phenoconversion) about the current medicines. The CDS
Hooks ``patient-view`` card and any other door render it.

>>> import datetime as dt
>>> v = patient_view(PatientViewRequest(
...     ({"name": "amitriptyline", "dose_mg": 10},), {"amitriptyline": dt.date(2026, 1, 5)},
...     dt.date(2026, 1, 26)))
>>> d = v.drugs[0]
>>> d.display_name, d.status.week, d.status.effect_review_date.isoformat()
('Amitriptyline', 4, '2026-02-16')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neurodose.advice.review import Course, ReviewStatus, review_status
from neurodose.case.patient import Patient
from neurodose.findings import Finding

__all__ = ["CurrentDrug", "GenePhenotype", "PatientView", "PatientViewRequest", "patient_view"]

# CPIC phenotype abbreviations as words (labels only)
PHENOTYPE_WORDS = {
    "PM": "poor metaboliser",
    "IM": "intermediate metaboliser",
    "NM": "normal metaboliser",
    "RM": "rapid metaboliser",
    "UM": "ultrarapid metaboliser",
}


@dataclass(frozen=True)
class PatientViewRequest:
    """The current medications (``{"name", "dose_mg", "every_h"}``, names resolved),
    their start dates where known, and today."""

    medications: tuple[Mapping[str, Any], ...]
    starts: Mapping[str, dt.date]
    today: dt.date
    patient: Patient | None = None


@dataclass(frozen=True)
class CurrentDrug:
    """One current drug: name, dose, start, review status, TDM reference range."""

    drug: str
    display_name: str
    dose_mg: float | None
    every_h: float | None
    start: dt.date | None
    status: ReviewStatus
    reference_range: Any  # knowledge.schema TDM range, or None


@dataclass(frozen=True)
class GenePhenotype:
    """One gene's call on record: phenotype (CPIC abbreviation and in words), and the
    diplotype or activity score it came from where given."""

    gene: str
    phenotype: str
    words: str
    diplotype: str | None
    activity_score: float | None


@dataclass(frozen=True)
class PatientView:
    """The current drugs, in the order given; the phenotypes on record and the
    pharmacogenetic findings about the current medicines (empty without a patient)."""

    drugs: tuple[CurrentDrug, ...]
    phenotypes: tuple[GenePhenotype, ...] = ()
    pgx_findings: tuple[Finding, ...] = ()


def _pgx(patient: Patient) -> tuple[tuple[GenePhenotype, ...], tuple[Finding, ...]]:
    from neurodose.safety.engine import screen_current
    from neurodose.safety.rules import load_rules

    genes = tuple(
        GenePhenotype(
            g,
            c.phenotype,
            PHENOTYPE_WORDS.get(c.phenotype, c.phenotype),
            c.diplotype,
            c.activity_score,
        )
        for g, c in sorted(patient.genotypes.items())
    )
    pgx_rules = {r.id for r in load_rules() if r.kind == "pgx"}
    current = {m.name for m in patient.medications if m.current}
    findings = tuple(
        f for f in screen_current(patient) if f.code in pgx_rules and f.drug in current
    )
    return genes, findings


def patient_view(req: PatientViewRequest) -> PatientView:
    """Review status and TDM range of each current drug."""
    from neurodose.knowledge import get_drug

    out = []
    for m in req.medications:
        rec = get_drug(m["name"])
        start = req.starts.get(m["name"])
        rr = rec.tdm.reference_range if rec.tdm is not None else None
        out.append(
            CurrentDrug(
                drug=m["name"],
                display_name=rec.display_name,
                dose_mg=m.get("dose_mg"),
                every_h=m.get("every_h"),
                start=start,
                status=review_status(Course(m["name"], start), req.today),
                reference_range=rr,
            )
        )
    genes, findings = _pgx(req.patient) if req.patient is not None else ((), ())
    return PatientView(tuple(out), genes, findings)
