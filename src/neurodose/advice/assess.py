"""Assess a patient: screen, rank and plan the eight neuropathic-pain options.

Options: amitriptyline, nortriptyline, duloxetine, venlafaxine, pregabalin,
gabapentin, lidocaine plaster, capsaicin 8 % patch.

Verdict per option, from the worst finding (``neurodose.safety``) and the fit:

* ``contraindicated`` / ``avoid`` / ``caution``: the worst safety finding's tier;
* ``recommended``: no finding worse than monitor and a first-line option
  (NeuPSIG strong recommendation: TCAs, SNRIs, pregabalin, gabapentin; Finnerup
  2015 Table 3), or a topical for localised peripheral pain;
* ``acceptable``: otherwise (second-line options, specialist-only starts).

Order within a verdict: an evidence score (10/NNT for 50 % relief, Finnerup 2015)
plus fit reasons (comorbidities and priorities) minus a penalty per caution/monitor
finding. The weights are an ordering heuristic, not clinical numbers; each reason
names its source.

Examples
--------
>>> from neurodose.case.patient import load_patient
>>> import datetime as dt
>>> a = assess(load_patient({"age": 60, "conditions": ["diabetic_neuropathy"]}),
...            start_date=dt.date(2026, 1, 5))
>>> len(a.options), a.options[0].verdict
(8, 'recommended')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neurodose import citations
from neurodose.advice.data import evidence_fallback
from neurodose.advice.plans import Plan, titration_plan
from neurodose.case.patient import Patient
from neurodose.errors import InputError, NeurodoseError
from neurodose.findings import Finding, severity_rank
from neurodose.knowledge import get_reference, record, resolve_name
from neurodose.knowledge.conditions import condition
from neurodose.knowledge.options import fit_reasons, line_of_therapy, options_data
from neurodose.knowledge.schema import FitReason
from neurodose.safety.coverage import Check, checks
from neurodose.safety.engine import drug_tags, screen, screen_current
from neurodose.safety.exposure import predict_exposure
from neurodose.safety.rules import rule

__all__ = [
    "OPTIONS",
    "VERDICTS",
    "Assessment",
    "OptionResult",
    "Reason",
    "assess",
    "non_drug_statement",
]

#: the options ranked by default (``knowledge/options.toml``, cited)
OPTIONS: tuple[str, ...] = tuple(options_data().options.drugs)
VERDICTS: tuple[str, ...] = ("recommended", "acceptable", "caution", "avoid", "contraindicated")

#: ordering heuristic (not clinical numbers): score points per fit reason / finding
W_FIT = 1.0
W_CAUTION = 0.75
W_MONITOR = 0.25


@dataclass(frozen=True)
class Reason:
    """A fit or evidence reason behind a rank (+ favours, - argues against)."""

    text: str
    weight: float
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "weight": self.weight, "sources": list(self.sources)}


@dataclass(frozen=True)
class OptionResult:
    drug: str
    display_name: str
    verdict: str
    rank: int
    score: float
    nnt: float | None
    nnh: float | None
    reasons: tuple[Reason, ...]
    findings: tuple[Finding, ...]
    plan: Plan | None
    exposure: dict[str, Any] | None
    sources: tuple[str, ...]
    checks: tuple[Check, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        lt = line_of_therapy(self.drug)
        return {
            "drug": self.drug,
            "display_name": self.display_name,
            "verdict": self.verdict,
            "rank": self.rank,
            "line_of_therapy": None
            if lt is None
            else {"line": lt.line, "text": lt.text, "source": lt.source, "locator": lt.locator},
            "score": round(self.score, 3),
            "evidence": {"nnt_50": self.nnt, "nnh": self.nnh},
            "reasons": [r.to_dict() for r in self.reasons],
            "findings": [f.to_dict() for f in self.findings],
            "plan": self.plan.to_dict() if self.plan else {"steps": []},
            "predicted_exposure": self.exposure,
            "checks": [c.to_dict() for c in self.checks],
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class Assessment:
    patient: Patient
    options: tuple[OptionResult, ...]
    findings: tuple[Finding, ...]
    non_drug: dict[str, Any]
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    #: what was checked and what could not be, per current (or recently stopped) medicine
    current_checks: tuple[Check, ...] = ()

    def not_checked(self) -> list[Check]:
        """Every domain not checked, for the options and the current medicines."""
        out = [c for o in self.options for c in o.checks if c.status != "checked"]
        return out + [c for c in self.current_checks if c.status != "checked"]

    def option(self, drug: str) -> OptionResult:
        name = resolve_name(drug)
        for o in self.options:
            if o.drug == name:
                return o
        raise KeyError(drug)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unchecked": [u.to_dict() for u in self.patient.unchecked],
            "patient_summary": self.patient.summary(),
            "options": [o.to_dict() for o in self.options],
            "findings": [f.to_dict() for f in self.findings],
            "current_checks": [{"drug": c.drug, **c.to_dict()} for c in self.current_checks],
            "non_drug": self.non_drug,
            "notes": list(self.notes),
            "sources": [_source_entry(k) for k in self.sources],
            "disclaimer": "Decision support only; not a substitute for clinical judgement.",
        }


def _source_entry(key: str) -> dict[str, Any]:
    ref = get_reference(key)
    out: dict[str, Any] = {"key": key, "title": ref.get("title")}
    for k in ("DOI", "PMID", "PMCID", "URL"):
        if ref.get(k):
            out[k.lower()] = ref[k]
    return out


def non_drug_statement() -> dict[str, Any]:
    """Non-drug complements: the evidence packs hold no trial data for any; say so."""
    return {
        "items": [],
        "statement": "The evidence behind neurodose contains no trial data on non-drug "
        "treatments (exercise, psychological therapies, physical therapies) for neuropathic "
        "pain, so none is listed with a citation. Their absence here is not evidence "
        "against them; discuss them with the care team.",
        "sources": [],
    }


# --------------------------------------------------------------------- evidence


def _nnt_nnh(drug: str) -> tuple[float | None, float | None, tuple[str, ...]]:
    rec = record(drug)
    nnt = nnh = None
    srcs: list[str] = []
    eff = rec.efficacy
    for key in sorted(eff, key=lambda k: ("class" in k, k)):
        if key.startswith("nnt_50") and "er_" not in key and "all_form" not in key and not nnt:
            nnt = eff[key].point
            srcs.append(eff[key].source)
    for key in sorted(eff, key=lambda k: ("class" in k, k)):
        if key.startswith("nnh") and "withdrawal" not in key and "er_" not in key and not nnh:
            nnh = eff[key].point
            srcs.append(eff[key].source)
    fb = evidence_fallback(drug)
    if fb is not None:
        if nnt is None and fb.get("nnt"):
            nnt = float(fb["nnt"])
            srcs.append(fb["meta"].source)
        if nnh is None and fb.get("nnh"):
            nnh = float(fb["nnh"])
            srcs.append(fb["meta"].source)
        if nnt is None:
            srcs.append(fb["meta"].source)
    return nnt, nnh, tuple(dict.fromkeys(srcs))


# -------------------------------------------------------------------------- fit


def _fit(drug: str, p: Patient) -> list[Reason]:
    tags = drug_tags(record(drug))
    conds = p.conditions
    pri = set(p.priorities)
    out: list[Reason] = []
    pain = p.pain_condition
    topical = "topical" in tags
    if topical and pain is not None:
        c = condition(pain)
        if c.peripheral and c.localised:
            out.append(
                Reason(
                    "Localised peripheral pain: a topical is a fair first choice "
                    "(no systemic adverse effects).",
                    2 * W_FIT,
                    ("finnerup2015", "nice_cg173_safety"),
                )
            )
        elif c.peripheral is False:
            out.append(
                Reason(
                    "Central neuropathic pain: topicals are recommended for peripheral pain only.",
                    -3 * W_FIT,
                    ("finnerup2015",),
                )
            )
        else:
            out.append(
                Reason(
                    "Diffuse peripheral pain: topicals are second line (weak recommendation).",
                    -0.5 * W_FIT,
                    ("finnerup2015",),
                )
            )
    if pain == "trigeminal_neuralgia":
        out.append(
            Reason(
                "Trigeminal neuralgia: NICE CG173 offers carbamazepine first; the ranked "
                "options are not the first choice.",
                -1 * W_FIT,
                ("nice_cg173_safety",),
            )
        )
    triggers = {
        "mood": "depression" in conds or "mood" in pri,
        "sleep": "insomnia" in conds or "sleep" in pri,
    }
    for when in ("mood", "sleep"):
        if triggers[when]:
            out += _table_reason(when, drug, tags)
    older = (
        p.age is not None and p.age >= rule("gabapentinoid_older_adult").thresholds["older"].point
    )
    cardiac = conds & {
        "heart_failure",
        "arrhythmia",
        "heart_block",
        "recent_myocardial_infarction",
        "coronary_artery_insufficiency",
        "long_qt_syndrome",
    }
    if "tca" in tags and (older or cardiac):
        why = "older age" if older else "cardiac disease"
        out.append(
            Reason(
                f"TCA with {why}: anticholinergic, orthostatic and cardiac effects argue "
                "against a TCA.",
                -W_FIT,
                ("beers2023", "uk_smpc_amitriptyline_accord2018"),
            )
        )
    renal_band = rule("pregabalin_renal").thresholds["crcl_60"].point
    if "gabapentinoid" in tags and p.renal_function is not None and p.renal_function < renal_band:
        out.append(
            Reason(
                f"Renal function ({p.renal_basis} {p.renal_function:g} mL/min): "
                "gabapentinoid dose must "
                "be reduced.",
                -0.5 * W_FIT,
                ("blum1994", "shoji2011"),
            )
        )
    out += _table_reason("always", drug, tags)
    return out


def _matching(when: str, drug: str, tags: Mapping[str, bool]) -> FitReason | None:
    """The first fit reason of trigger ``when`` that names ``drug`` or one of its tags."""
    return next(
        (f for f in fit_reasons(when) if f.drug == drug or (f.tag is not None and f.tag in tags)),
        None,
    )


def _table_reason(when: str, drug: str, tags: Mapping[str, bool]) -> list[Reason]:
    f = _matching(when, drug, tags)
    return [] if f is None else [Reason(f.text, f.weight * W_FIT, f.sources)]


def _first_line(drug: str, p: Patient) -> bool:
    tags = drug_tags(record(drug))
    if "topical" in tags:
        c = condition(p.pain_condition) if p.pain_condition else None
        return bool(c and c.peripheral and c.localised)
    always = _matching("always", drug, tags)
    if always is not None and always.not_first_line:
        return False
    lt = line_of_therapy(drug)
    return lt is not None and lt.line == "first"


def _verdict(drug: str, p: Patient, findings: tuple[Finding, ...], fit: list[Reason]) -> str:
    worst = min((severity_rank(f.severity) for f in findings), default=5)
    if worst <= 2:
        return ("contraindicated", "avoid", "caution")[worst]
    if any(r.weight <= -3 * W_FIT for r in fit):
        return "avoid"
    if _first_line(drug, p) and p.pain_condition != "trigeminal_neuralgia":
        return "recommended"
    return "acceptable"


def _planned_daily(drug: str, p: Patient) -> float | None:
    for m in p.medications:
        if m.name == drug and m.current and m.daily_mg:
            return m.daily_mg
    return None


def assess(
    patient: Patient,
    drugs: tuple[str, ...] | list[str] | None = None,
    *,
    start_date: dt.date | None = None,
) -> Assessment:
    """Screen, rank and plan the options for ``patient``.

    Parameters
    ----------
    patient : Patient
    drugs : sequence of str, optional
        Options to assess (default :data:`OPTIONS`): neuropathic-pain options only (one
        of :data:`OPTIONS` or a drug with neuropathic-pain dosing in the knowledge base).
    start_date : date, optional
        Day 0 of the plans (default today).

    Raises
    ------
    InputError
        A drug that is not a neuropathic-pain option (e.g. omeprazole): it would be
        ranked as if it treated pain.
    """
    start_date = start_date or dt.date.today()
    names = tuple(resolve_name(d) for d in (drugs or OPTIONS))
    for name in names:
        _check_option(name)
    with citations.tracking() as used:
        results = [_assess_option(name, patient, start_date) for name in names]
        order = sorted(
            results, key=lambda r: (VERDICTS.index(r[0].verdict), -r[0].score, r[0].drug)
        )
        options = tuple(
            OptionResult(**{**r.__dict__, "rank": i + 1}) for i, (r, _) in enumerate(order)
        )
        current_findings = screen_current(patient)
        current_checks = tuple(
            c for m in patient.medications for c in checks(patient, m.name, m.daily_mg)
        )
    notes_all = tuple(n for _, ns in results for n in ns)
    keys = {s for o in options for s in o.sources} | {
        s for f in current_findings for s in f.sources
    }
    keys |= set(used)
    keys = {k for k in keys if _known(k)}
    return Assessment(
        patient=patient,
        options=options,
        findings=current_findings,
        non_drug=non_drug_statement(),
        notes=notes_all,
        sources=tuple(sorted(keys)),
        current_checks=current_checks,
    )


def _check_option(name: str) -> None:
    """Refuse a drug that is not a neuropathic-pain option (it would be ranked as if it
    treated pain)."""
    if (
        name not in OPTIONS
        and "neuropathic_pain" not in record(name).doses
        and line_of_therapy(name) is None
    ):
        raise InputError(
            "drug",
            name,
            f"a neuropathic-pain option ({', '.join(OPTIONS)}); "
            f"{record(name).display_name} is in the knowledge base but is not a "
            "treatment for neuropathic pain (list it among the patient's medications "
            "to screen it)",
        )


def _option_plan(
    name: str, patient: Patient, start_date: dt.date, current: float | None
) -> tuple[Plan | None, str | None]:
    """The titration plan of an option, or why there is none."""
    try:
        plan = titration_plan(
            name, start_date=start_date, patient=patient, current_daily_mg=current
        )
    except NeurodoseError as exc:
        return None, str(exc)
    return plan, None


def _exposure(name: str, patient: Patient, current: float | None, fit: list[Reason]) -> Any:
    """The predicted exposure (JSON) of a systemic option; a reason is added to ``fit``
    when it differs from a typical adult's by 25 % or more."""
    if "topical" in drug_tags(record(name)):
        return None
    e = predict_exposure(name, patient, daily_mg=current or 25.0)
    if e is None:
        return None
    big = {k: v for k, v in e.patient_ratio.items() if abs(v - 1) >= 0.25}
    if big:
        fit.append(
            Reason(
                "Predicted exposure vs a typical adult: "
                + ", ".join(f"{k} x{v:.2f}" for k, v in big.items())
                + " (PK engine).",
                -0.25 * W_FIT * len(big),
                e.sources[:3],
            )
        )
    return e.to_dict()


def _score(nnt: float | None, fit: list[Reason], findings: tuple[Finding, ...]) -> float:
    penalty = {"caution": W_CAUTION, "monitor": W_MONITOR}
    score = (10.0 / nnt) if nnt else 0.5
    score += sum(r.weight for r in fit)
    score -= sum(penalty.get(f.severity, 0) for f in findings)
    return score


def _evidence_reason(nnt: float | None, nnh: float | None, esrc: Any) -> Reason:
    if not nnt:
        return Reason("No NNT available (low-quality evidence).", 0, esrc)
    return Reason(
        f"NNT {nnt:g} for 50 % relief" + (f", NNH {nnh:g}" if nnh else "") + " (NeuPSIG).",
        0.0,
        esrc,
    )


def _assess_option(
    name: str, patient: Patient, start_date: dt.date
) -> tuple[OptionResult, tuple[str, ...]]:
    """One option screened, scored and planned (rank 0), with its notes."""
    rec = record(name)
    current = _planned_daily(name, patient)
    plan, plan_error = _option_plan(name, patient, start_date, current)
    target = plan.extra.get("maximum_daily") if plan else current
    if current is not None and (target is None or current > target):
        target = current
    findings = screen(patient, name, planned_daily_mg=target)
    fit = _fit(name, patient)
    nnt, nnh, esrc = _nnt_nnh(name)
    exp = _exposure(name, patient, current, fit)
    verdict = _verdict(name, patient, findings, fit)
    if verdict == "contraindicated":
        plan = None
    srcs = [*esrc, *(s for f in findings for s in f.sources)]
    srcs += [s for r in fit for s in r.sources]
    if plan is not None:
        srcs += list(plan.sources)
    notes = (f"no plan: {plan_error}",) if plan_error else ()
    option = OptionResult(
        drug=name,
        display_name=rec.display_name,
        verdict=verdict,
        rank=0,
        score=_score(nnt, fit, findings),
        nnt=nnt,
        nnh=nnh,
        reasons=(_evidence_reason(nnt, nnh, esrc), *fit),
        findings=findings,
        plan=plan,
        exposure=exp,
        sources=tuple(dict.fromkeys(srcs)),
        checks=checks(patient, name, target),
    )
    return option, notes


def _known(key: str) -> bool:
    try:
        get_reference(key)
    except KeyError:
        return False
    return True
