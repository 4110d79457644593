"""Screening engine: evaluate the cited rules for one option against a patient.

Findings are frozen values (never exceptions). Each carries the rule id (``code``),
the tier (``severity``), the CDS Hooks ``indicator``, a message, mechanism,
management, the source keys it rests on and whether every number behind it is
verified.

Drug tags used by the rules are computed from the knowledge base: the record's
``classes``, its name, its true interaction flags (``serotonergic``, ``maoi``,
``cns_depressant``, ``opioid``, ``benzodiazepine_or_z``,
``lowers_seizure_threshold``), ``qt_risk`` (a CredibleMeds category other than
none/unknown), ``anticholinergic`` (ACB >= 1), ``anticholinergic_definite`` (ACB >= 2)
and ``acb3`` (ACB 3), and
``<enzyme>_inhibitor`` / ``<enzyme>_inhibitor_<strength>`` / ``inducer``. A tag that
comes from an unverified flag makes the finding unverified.

Examples
--------
>>> from neurodose.case.patient import load_patient
>>> p = load_patient({"age": 50, "medications": [{"name": "phenelzine", "stopped_days_ago": 3}]})
>>> fs = screen(p, "amitriptyline")
>>> worst_severity(fs)
'contraindicated'
>>> [f.code for f in fs if f.severity == "contraindicated"]
['maoi_irreversible_gap']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from neurodose import citations
from neurodose.case.patient import Medication, Patient
from neurodose.findings import Finding, severity_rank, worst_severity
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.conditions import condition
from neurodose.knowledge.pgx import (
    Recommendation,
    cpic_table,
    cpic_tca_recommendation,
    dpwg_dose_factor,
)
from neurodose.knowledge.schema import DrugRecord, Quantity
from neurodose.knowledge.substances import enzyme_profile
from neurodose.safety.context import (
    INTERACTION_FLAGS,
    Ctx,
    cpic_drugs,
    drug_tags,
    effective_phenotypes,
    fmt_threshold,
    total_acb,
)
from neurodose.safety.criteria import match
from neurodose.safety.rules import Rule, load_rules

__all__ = [
    "INTERACTION_FLAGS",
    "Finding",
    "drug_tags",
    "effective_phenotypes",
    "screen",
    "screen_current",
    "severity_rank",
    "total_acb",
    "worst_severity",
]


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(template: str, vals: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_SafeDict(vals))
    except (ValueError, KeyError, IndexError):
        return template


def _finding(
    ctx: Ctx,
    r: Rule,
    vals: Mapping[str, Any],
    *,
    severity: str | None = None,
    key: str | None = None,
    extra_sources: Iterable[str] = (),
    verified: bool | None = None,
    involved: Iterable[str] = (),
    message: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Finding:
    base = {"drug": ctx.rec.display_name, **vals}
    srcs = tuple(dict.fromkeys([*r.sources, *extra_sources]))
    if r.also_codes:
        d = dict(details or {})
        d["merged_codes"] = tuple(dict.fromkeys([*d.get("merged_codes", ()), *r.also_codes]))
        details = d
    citations.register_many(srcs)
    return Finding(
        code=r.id,
        severity=severity or r.tier,
        message=message if message is not None else _render(r.message, base),
        drug=ctx.drug,
        involved=tuple(dict.fromkeys(involved)),
        title=r.title,
        mechanism=r.mechanism,
        management=r.management,
        sources=srcs,
        verified=r.all_verified if verified is None else verified,
        key=key,
        details=tuple(sorted((details or {}).items())),
    )


# ---------------------------------------------------------------------- evaluators


def _cond_text(ctx: Ctx, c: str) -> str:
    """A condition's label, with the measurement it was read from where it was."""
    label = condition(c).label.lower()
    basis = ctx.patient.condition_basis.get(c)
    return f"{label} ({basis})" if basis else label


def _eval_match(ctx: Ctx, r: Rule) -> list[Finding]:
    vals = match(ctx, r)
    if vals is None:
        return []
    conds = vals["_conditions"]
    common = dict(verified=vals["_verified"], involved=vals["_involved"])
    if r.key == "condition" and conds:
        return [
            _finding(
                ctx,
                r,
                {**vals, "conditions": _cond_text(ctx, c)},
                key=f"condition:{c}",
                **common,
            )
            for c in conds
        ]
    if conds:
        vals = {**vals, "conditions": ", ".join(_cond_text(ctx, c) for c in conds)}
    extra: dict[str, Any] = {}
    if r.id in ("gabapentin_renal", "pregabalin_renal"):
        crcl = ctx.patient.renal_function
        assert crcl is not None
        mx = renal_max_daily(ctx.drug, crcl, r)
        extra["max_daily"] = f"{mx.point:g}" + ("" if mx.verified else " [UNVERIFIED]")
        return [
            _finding(
                ctx,
                r,
                {**vals, **extra},
                details={"max_daily_mg": mx.point, "renal_basis": ctx.patient.renal_basis},
                **common,
            )
        ]
    key = None if r.key == "condition" else r.key  # a per-condition key needs conditions
    return [_finding(ctx, r, vals, key=key, **common)]


def renal_max_daily(drug: str, crcl: float, r: Rule | None = None) -> Quantity:
    """Maximum daily dose (mg/day) of a gabapentinoid for a CrCl, from the rule's bands.

    >>> renal_max_daily("pregabalin", 40).point
    300.0
    """
    name = resolve_name(drug)
    rr = r or next(x for x in load_rules() if x.id == f"{name}_renal")
    t = rr.thresholds
    if crcl < t["crcl_15"].point:
        return t["max_15"]
    if crcl < t["crcl_30"].point:
        return t["max_30"]
    return t["max_60"]


def _eval_record(ctx: Ctx, r: Rule) -> list[Finding]:
    if r.when.drug_any and not any(t in ctx.tags for t in r.when.drug_any):
        return []
    out = []
    statements = getattr(ctx.rec, r.statements or "contraindications")
    for st in statements:
        if st.id in ctx.patient.conditions:
            out.append(
                _finding(
                    ctx,
                    r,
                    {"conditions": condition(st.id).label.lower(), "statement": st.text},
                    key=f"condition:{st.id}",
                    extra_sources=[st.source],
                    verified=st.verified,
                )
            )
    # the rule's own generic source is only a pointer; cite the statement's source
    return [
        Finding(**{**f.__dict__, "sources": tuple(s for s in f.sources if s != r.source)})
        for f in out
    ]


_BAND_TEXT = {
    "strong": "strong_auc_fold",
    "moderate": "moderate_auc_fold_low",
    "weak": "weak_auc_fold_low",
}


def _band_effect(r: Rule, strength: str) -> str:
    t = r.thresholds
    if strength == "strong":
        return (
            f"AUC of a sensitive substrate rises >= {t['strong_auc_fold'].point:g}x "
            "(FDA class band; drug-specific value not available)"
        )
    if strength == "moderate":
        return (
            f"AUC of a sensitive substrate rises {t['moderate_auc_fold_low'].point:g}-"
            f"{t['strong_auc_fold'].point:g}x (FDA class band; drug-specific value not available)"
        )
    if strength == "weak":
        return (
            f"AUC of a sensitive substrate rises {t['weak_auc_fold_low'].point:g}-"
            f"{t['moderate_auc_fold_low'].point:g}x (FDA class band)"
        )
    return "magnitude not classified in the evidence"


def _predicted_fold(
    victim: str, perpetrator: str, patient: Patient
) -> tuple[float, tuple[str, ...], dict[str, float]] | None:
    """Predicted exposure ratio from the PK engine (largest analyte change), if modelled."""
    from neurodose.safety.exposure import interaction_ratio

    res = interaction_ratio(victim, [perpetrator], patient)
    if res is None:
        return None
    ratios, srcs = res
    key = max(ratios, key=lambda k: abs(math.log(ratios[k])) if ratios[k] > 0 else 0.0)
    return ratios[key], srcs, ratios


def _enzyme_tier(r: Rule, perpetrator: str, victim: str) -> str:
    """Tier of an enzyme interaction from the FDA classes of both sides.

    The perpetrator's strength (strong >= 5x, moderate 2-5x, weak 1.25-2x AUC of a
    sensitive substrate) applies in full to a victim that depends on the enzyme (a
    major pathway: ``*_substrate_major``) and one band lower to a minor pathway:
    strong x major -> avoid, strong x minor or moderate x major -> caution, otherwise
    monitor. ``r.tiers`` can only make a band milder, never stricter.
    """
    order = ("weak", "moderate", "strong")
    band = order.index(perpetrator) if perpetrator in order else 0
    if victim != "strong":  # a minor pathway: one band lower
        band -= 1
    tier = ("monitor", "monitor", "caution", "avoid")[max(0, band + 1)]
    cap = r.tiers.get(perpetrator)
    if cap is not None and severity_rank(cap) > severity_rank(tier):
        tier = cap
    return tier


def _eval_pk(ctx: Ctx, r: Rule) -> list[Finding]:
    inhib = r.id == "enzyme_inhibition"
    return [_pk_finding(ctx, r, inhib, *pair) for pair in _pk_pairs(ctx, inhib)]


_PkPair = tuple[DrugRecord, DrugRecord, Any, Any]


def _pk_pairs(ctx: Ctx, inhib: bool) -> list[_PkPair]:
    """``(perpetrator, victim, effect, substrate pathway)`` for every enzyme the drug and
    a current co-medication share, in both directions (inhibition or induction)."""

    def effects(rec: DrugRecord) -> list[Any]:
        inh, ind, _ = enzyme_profile(rec)
        return inh if inhib else ind

    def substrates(rec: DrugRecord) -> list[Any]:
        return enzyme_profile(rec)[2]

    pairs: list[_PkPair] = []
    for m in (m for m in ctx.comeds if m.current and m.name != ctx.drug):
        for perp, victim in ((m.record, ctx.rec), (ctx.rec, m.record)):
            for e in effects(perp):
                for s in substrates(victim):
                    if s.enzyme.upper() == e.enzyme.upper():
                        pairs.append((perp, victim, e, s))
    return pairs


def _pk_tier(r: Rule, e: Any, s: Any, pred: Any, inhib: bool) -> str:
    """The tier of an enzyme interaction: by the predicted change against the FDA fold
    bands where the PK engine predicts an inhibition (patient-specific), else the band."""
    if pred is None or not inhib:
        return _enzyme_tier(r, e.strength, s.strength)
    fold = max(max(v, 1 / v) for v in pred[2].values() if v > 0)
    for tier, key in (
        ("avoid", "strong_auc_fold"),
        ("caution", "moderate_auc_fold_low"),
        ("monitor", "weak_auc_fold_low"),
    ):
        if fold >= r.thresholds[key].point:
            return tier
    return "info"


def _pk_finding(
    ctx: Ctx, r: Rule, inhib: bool, perp: DrugRecord, victim: DrugRecord, e: Any, s: Any
) -> Finding:
    pred = _predicted_fold(victim.name, perp.name, ctx.patient)
    if pred is not None and abs(pred[0] - 1) < 0.05:
        pred = None  # the PK engine does not model this pathway: use the class band
    if pred is not None:
        _, psrc, ratios = pred
        effect = (
            "predicted steady-state exposure "
            + ", ".join(f"{k} x{v:.2f}" for k, v in ratios.items())
            + " (PK engine, typical patient)"
        )
    else:
        psrc = ()
        effect = _band_effect(r, e.strength) if inhib else "magnitude unknown"
    vals = {
        "perpetrator": perp.display_name,
        "victim": victim.display_name,
        "enzyme": e.enzyme,
        "strength": e.strength,
        "effect": effect,
    }
    other = perp.name if victim.name == ctx.drug else victim.name
    merged = (
        {"merged_codes": ("option_inhibits_comedication",)}
        if inhib and perp.name == ctx.drug
        else {}
    )
    return _finding(
        ctx,
        r,
        vals,
        severity=_pk_tier(r, e, s, pred, inhib),
        extra_sources=[e.source, s.source, *psrc],
        verified=r.all_verified and e.verified and s.verified and pred is not None,
        involved=[other],
        details={
            **merged,
            "enzyme": e.enzyme,
            "perpetrator": perp.name,
            "victim": victim.name,
            "strength": e.strength,
            "predicted_ratio": pred[0] if pred else None,
            "predicted_ratios": pred[2] if pred else None,
            "basis": "pk_engine" if pred else "fda_class_band",
        },
    )


def _eval_level(ctx: Ctx, r: Rule) -> list[Finding]:
    if not any(t in ctx.tags for t in r.when.drug_any) or ctx.planned_daily_mg is None:
        return []
    if ctx.rec.tdm is None:
        return []
    from neurodose.safety.exposure import predict_exposure

    e = predict_exposure(ctx.drug, ctx.patient, daily_mg=ctx.planned_daily_mg)
    if e is None:
        return []
    analytes = [a for a in ctx.rec.tdm.analytes if a in e.mean_conc_ng_ml]
    if not analytes:
        return []
    value = sum(e.mean_conc_ng_ml[a] for a in analytes)
    q = r.thresholds["alert"]
    if value <= q.point:
        return []
    label = "+".join(a[:3].upper() if a != "nortriptyline" else "NT" for a in analytes)
    return [
        _finding(
            ctx,
            r,
            {"analyte": label, "value": value, "threshold": fmt_threshold(q)},
            extra_sources=e.sources[:5],
            verified=False,
            involved=[m.name for m in ctx.comeds if m.current],
            details={
                "predicted_mean_ng_ml": round(value, 1),
                "daily_mg": ctx.planned_daily_mg,
                "basis": "PK engine typical individual; mean over a dosing interval",
            },
        )
    ]


def _eval_pgx(ctx: Ctx, r: Rule) -> list[Finding]:
    if r.id == "phenoconversion":
        return _eval_phenoconversion(ctx, r)
    return _eval_tca_guidance(ctx, r)


def _eval_phenoconversion(ctx: Ctx, r: Rule) -> list[Finding]:
    """A co-medication that changes the phenotype of a gene that matters for this drug
    (a major pathway, or genotype guidance)."""
    out = []
    substrates = {s.enzyme.upper() for s in ctx.rec.interactions.substrate_of}
    major = {s.enzyme.upper() for s in ctx.rec.interactions.substrate_of if s.strength == "strong"}
    for gene, st in ctx.phen.items():
        if st.perpetrator is None or gene not in substrates:
            continue
        if gene not in major and ctx.drug not in cpic_drugs():
            continue
        if st.effective == st.genotype_phenotype:
            continue
        vals = {
            "perpetrator": record(st.perpetrator).display_name,
            "gene": gene,
            "from_phenotype": st.genotype_phenotype or "NM (assumed; no genotype given)",
            "to_phenotype": st.effective,
        }
        out.append(
            _finding(
                ctx,
                r,
                vals,
                extra_sources=st.sources,
                verified=st.verified,
                involved=[st.perpetrator],
                details={"gene": gene, "effective_phenotype": st.effective},
            )
        )
    return out


def _tca_phenotypes(ctx: Ctx) -> tuple[str | None, str | None] | None:
    """The (effective) CYP2D6 and CYP2C19 phenotypes the CPIC TCA tables are asked about
    for this drug (``None`` for a gene not asked), or ``None`` when no guidance applies
    (no table for the gene, or normal metabolisers)."""
    t = cpic_table()
    d6 = ctx.phen.get("CYP2D6")
    c19 = ctx.phen.get("CYP2C19")
    p2d6 = d6.effective if d6 else None
    p2c19 = c19.effective if c19 else None
    use_c19 = p2c19 is not None and ctx.drug in {*t.cyp2c19.drugs, *t.combined.drugs}
    use_d6 = p2d6 is not None and ctx.drug in {*t.cyp2d6.drugs, *t.combined.drugs}
    if use_d6 and use_c19 and ctx.drug not in t.combined.drugs:
        use_c19 = False
    if not (use_d6 or use_c19):
        return None
    if (p2d6 in (None, "NM") or not use_d6) and (p2c19 in (None, "NM", "IM") or not use_c19):
        return None
    return (p2d6 if use_d6 else None), (p2c19 if use_c19 else None)


def _pain_band(p2d6: str | None, p2c19: str | None) -> str:
    """The rule's tier key at a pain-level dose for the effective phenotypes."""
    if p2d6 == "PM" or p2c19 == "PM":
        return "pain_pm"
    if p2d6 == "UM" or p2c19 in ("UM", "RM"):
        return "pain_um" if (p2d6 == "UM" or p2c19 == "UM") else "pain_rm"
    return "pain_im"


def _eval_tca_guidance(ctx: Ctx, r: Rule) -> list[Finding]:
    """CPIC/DPWG TCA guidance by dose band (depression-level or pain-level dose)."""
    if ctx.drug not in cpic_drugs():
        return []
    asked = _tca_phenotypes(ctx)
    if asked is None:
        return []
    q2d6, q2c19 = asked
    d6 = ctx.phen.get("CYP2D6")
    c19 = ctx.phen.get("CYP2C19")
    p2d6 = d6.effective if d6 else None
    p2c19 = c19.effective if c19 else None
    rec = cpic_tca_recommendation(ctx.drug, cyp2d6=q2d6, cyp2c19=q2c19)
    dep = r.thresholds["depression_dose"]
    depression_band = ctx.planned_daily_mg is not None and ctx.planned_daily_mg > dep.point
    involved = [s.perpetrator for s in (d6, c19) if s is not None and s.perpetrator]
    dpwg = (
        dpwg_dose_factor(ctx.drug, "CYP2D6", p2d6)
        if q2d6 is not None and ctx.drug in ("amitriptyline", "nortriptyline", "imipramine")
        else None
    )
    extra_src = list(rec.sources) + ([dpwg.source] if dpwg is not None else [])
    details: dict[str, Any] = {
        "phenotypes": dict(rec.phenotypes),
        "cpic_text": rec.text,
        "cpic_strength": rec.strength,
        "cpic_dose_factor": rec.dose_factor.value if rec.dose_factor else None,
        "dpwg_dose_factor": dpwg.value if dpwg is not None else None,
        "dose_band": "depression" if depression_band else "pain",
    }
    told = _tca_tier_message(ctx, r, rec, depression_band, p2d6, p2c19)
    if told is None:
        return []
    tier, msg = told
    return [
        _finding(
            ctx,
            r,
            {},
            severity=tier,
            message=msg,
            extra_sources=extra_src,
            verified=r.all_verified and all(s.verified for s in (d6, c19) if s is not None),
            involved=involved,
            details=details,
        )
    ]


def _tca_tier_message(
    ctx: Ctx,
    r: Rule,
    rec: Recommendation,
    depression_band: bool,
    p2d6: str | None,
    p2c19: str | None,
) -> tuple[str, str] | None:
    """The tier and message of the TCA guidance at the planned dose band (``None``: a
    depression-level dose the guidance does not change)."""
    phen_txt = ", ".join(f"{g} {ph}" for g, ph in rec.phenotypes.items())
    if depression_band:
        low = rec.text.lower()
        if "avoid" in low:
            tier = r.tiers["depression_avoid"]
        elif rec.dose_factor is not None:
            tier = r.tiers["depression_reduce"]
        else:
            return None
        return tier, f"{ctx.rec.display_name}, {phen_txt}, depression-level dose: CPIC: {rec.text}"
    sub = _pain_band(p2d6, p2c19)
    text = r.texts.get(sub, r.texts["pain_um" if sub == "pain_rm" else "pain_pm"])
    msg = (
        f"{ctx.rec.display_name}, {phen_txt}: {text} "
        f"(At depression-level doses CPIC says: {rec.text})"
    )
    return r.tiers[sub], msg


def _dose_bounds(rec: DrugRecord) -> tuple[Quantity | None, Quantity | None]:
    """The lowest cited dose (start, step, usual low) and the highest cited maximum, in mg."""
    low: Quantity | None = None
    high: Quantity | None = None
    for g in rec.doses.values():
        for q in (g.start, g.titration_step, g.usual_low):
            if q is not None and q.unit == "mg" and (low is None or q.point < low.point):
                low = q
        for q in (g.maximum, g.usual_high):
            if q is not None and q.unit == "mg" and (high is None or q.point > high.point):
                high = q
    return low, high


def _eval_dose(ctx: Ctx, r: Rule) -> list[Finding]:
    """Daily dose above the highest cited maximum, or below the lowest cited dose."""
    mg = ctx.planned_daily_mg
    if mg is None or (r.when.drug_any and not any(t in ctx.tags for t in r.when.drug_any)):
        return []
    low, high = _dose_bounds(ctx.rec)
    sub = r.id.rsplit("_", 1)[-1]
    q = high if sub == "maximum" else low
    if q is None:
        return []
    if (sub == "maximum" and mg <= q.point) or (sub != "maximum" and mg >= q.point):
        return []
    return [
        _finding(
            ctx,
            r,
            {"value": f"{mg:g}", "threshold": fmt_threshold(q)},
            extra_sources=[q.source],
            verified=q.verified,
            details={"daily_mg": mg, "cited_mg": q.point, "cited_source": q.source},
        )
    ]


def _eval_residual(ctx: Ctx, r: Rule) -> list[Finding]:
    """A stopped drug still present (within ``window_half_lives`` of its longest
    half-life, parent or active metabolite) that acts on the option: serotonergic
    load, or inhibition of an enzyme the option depends on."""
    from neurodose.knowledge.substances import substance

    n_half = r.thresholds["window_half_lives"].point
    out: list[Finding] = []
    victim_enzymes = {s.enzyme.upper() for s in enzyme_profile(ctx.rec)[2]}
    for m in ctx.comeds:
        if m.stopped_days_ago is None:
            continue
        sub = substance(m.name)
        hl = sub.half_life_max_h if sub is not None else None
        if hl is None:
            continue
        window_d = n_half * hl / 24.0
        if m.stopped_days_ago >= window_d:
            continue
        tags = drug_tags(m.record)
        why = []
        if "serotonergic" in tags and "serotonergic" in ctx.tags:
            why.append("serotonergic effect")
        for e in enzyme_profile(m.record)[0]:
            if e.enzyme.upper() in victim_enzymes and e.strength in ("strong", "moderate"):
                why.append(f"{e.strength} {e.enzyme} inhibition")
        if not why:
            continue
        citations.register(sub.source)  # type: ignore[union-attr]
        vals = {
            "comed": m.record.display_name,
            "days": f"{m.stopped_days_ago:g}",
            "half_life": f"{hl:g}",
            "window": f"{window_d:.0f}",
            "effects": " and ".join(why),
        }
        out.append(
            _finding(
                ctx,
                r,
                vals,
                extra_sources=[sub.source],  # type: ignore[union-attr]
                verified=False,
                involved=[m.name],
                details={
                    "stopped_days_ago": m.stopped_days_ago,
                    "half_life_h": hl,
                    "window_days": round(window_d, 1),
                },
            )
        )
    return out


def _eval_label(ctx: Ctx, r: Rule) -> list[Finding]:
    """Licensed age, pregnancy and breastfeeding as the option's label states them."""
    from neurodose.knowledge.substances import label_source, substance

    sub = substance(ctx.drug)
    p = ctx.patient
    if sub is None:
        return []
    what = r.id
    if what == "under_licensed_age":
        if p.age is None or sub.min_age_years is None or p.age >= sub.min_age_years:
            return []
        vals = {"age": f"{p.age:g}", "min_age": f"{sub.min_age_years:g}"}
        tier = r.tier
    elif what == "pregnancy_label":
        if not p.pregnant or sub.pregnancy in (None, "unknown", "compatible"):
            return []
        vals = {"label": sub.pregnancy, "note": sub.pregnancy_note or ""}
        tier = r.tiers.get(sub.pregnancy or "", r.tier)
    elif what == "breastfeeding_label":
        if not p.breastfeeding or sub.breastfeeding in (None, "unknown", "compatible"):
            return []
        vals = {"label": sub.breastfeeding, "note": ""}
        tier = r.tiers.get(sub.breastfeeding or "", r.tier)
    elif what == "renal_label_limit":
        crcl = p.renal_function
        limit = sub.renal_avoid_below_crcl
        if crcl is None or limit is None or crcl >= limit:
            return []
        vals = {"crcl": f"{crcl:.0f}", "basis": p.renal_basis or "", "limit": f"{limit:g}"}
        tier = r.tier
    else:  # pragma: no cover - the rule file names only these
        return []
    field_ = {"under_licensed_age": "min_age_years", "renal_label_limit": "renal"}.get(
        what, what.split("_")[0]
    )
    src, _loc, verified = label_source(sub, field_)
    return [
        _finding(
            ctx,
            r,
            vals,
            severity=tier,
            key=r.key,
            extra_sources=[src],
            verified=verified,
        )
    ]


_EVALUATORS = {
    "residual": _eval_residual,
    "label": _eval_label,
    "match": _eval_match,
    "record_statement": _eval_record,
    "pk_interaction": _eval_pk,
    "pk_level": _eval_level,
    "pgx": _eval_pgx,
    "dose_limit": _eval_dose,
}


def _merge(findings: list[Finding]) -> list[Finding]:
    """Merge findings with the same (drug, key): keep the most severe, union sources."""
    keyed: dict[tuple[str | None, str], Finding] = {}
    out: list[Finding] = []
    for f in findings:
        if f.key is None:
            out.append(f)
            continue
        k = (f.drug, f.key)
        if k not in keyed:
            keyed[k] = f
            continue
        old = keyed[k]
        best, other = (
            (f, old)
            if severity_rank(f.severity) < severity_rank(old.severity)
            else (
                old,
                f,
            )
        )
        merged = dict(best.details)
        codes = [
            *merged.get("merged_codes", ()),
            other.code,
            *dict(other.details).get("merged_codes", ()),
        ]
        merged["merged_codes"] = tuple(dict.fromkeys(c for c in codes if c != best.code))
        keyed[k] = Finding(
            **{
                **best.__dict__,
                "sources": tuple(dict.fromkeys([*best.sources, *other.sources])),
                "verified": best.verified or other.verified,
                "details": tuple(sorted(merged.items())),
            }
        )
    out.extend(keyed.values())
    out.sort(key=lambda f: (severity_rank(f.severity), f.code, f.message))
    return out


#: per record object: the rules that can apply to it (a declarative rule whose
#: ``drug_any`` names none of the option's tags cannot match, so it is never tried)
_RULES_FOR: dict[int, tuple[DrugRecord, object, tuple[Rule, ...]]] = {}


def _rules_for(rec: DrugRecord, tags: Mapping[str, bool]) -> tuple[Rule, ...]:
    from neurodose.safety.rules import rules_by_file

    files = rules_by_file()  # cached: the same object while the rule base is unchanged
    hit = _RULES_FOR.get(id(rec))
    if hit is not None and hit[0] is rec and hit[1] is files:
        return hit[2]
    rules = load_rules()
    keep = tuple(
        r
        for r in rules
        if r.kind != "match" or not r.when.drug_any or any(t in tags for t in r.when.drug_any)
    )
    if len(_RULES_FOR) > 4096:
        _RULES_FOR.clear()
    _RULES_FOR[id(rec)] = (rec, files, keep)
    return keep


def screen(
    patient: Patient,
    drug: str,
    *,
    planned_daily_mg: float | None = None,
    comeds: Iterable[Medication] | None = None,
) -> tuple[Finding, ...]:
    """Screen ``drug`` for ``patient``: every rule, merged and sorted by severity.

    Parameters
    ----------
    patient : Patient
        From :func:`neurodose.case.patient.load_patient`.
    drug : str
        Any name :func:`neurodose.knowledge.resolve_name` accepts.
    planned_daily_mg : float, optional
        Target daily dose in mg; decides the CPIC dose band (pain vs depression).
    comeds : iterable of Medication, optional
        Co-medication (default: the patient's medications other than ``drug``,
        stopped ones included for the washout windows).
    """
    name = resolve_name(drug)
    rec = record(name)
    co = tuple(m for m in (patient.medications if comeds is None else comeds) if m.name != name)
    option_current = any(m.name == name and m.current for m in patient.medications)
    stopped = [
        m.stopped_days_ago
        for m in patient.medications
        if m.name == name and m.stopped_days_ago is not None
    ]
    pheno_rule = next(x for x in load_rules() if x.id == "phenoconversion")
    ctx = Ctx(
        patient=patient,
        drug=name,
        rec=rec,
        tags=drug_tags(rec),
        comeds=co,
        planned_daily_mg=planned_daily_mg,
        option_current=option_current,
        phen=effective_phenotypes(patient, co, pheno_rule),
        option_stopped_days=None if option_current or not stopped else min(stopped),
        own_list=comeds is None,
    )
    found: list[Finding] = []
    for r in _rules_for(rec, ctx.tags):
        found.extend(_EVALUATORS[r.kind](ctx, r))
    return tuple(_merge(found))


def screen_current(patient: Patient) -> tuple[Finding, ...]:
    """Findings about the whole medication list (each current drug against the others).

    Every current drug gets every rule (its interactions, its dose against the cited
    limits, its own pharmacogenetics, age, organ function); a recently stopped drug
    gets the rules about stopping (``stopped_within``). Interaction findings seen from
    both sides are reported once.
    """
    out: list[Finding] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    stop_rules = {r.id for r in load_rules() if r.when.stopped_within}
    for m in patient.medications:
        found = screen(patient, m.name, planned_daily_mg=m.daily_mg)
        if not m.current:
            found = tuple(f for f in found if stop_rules & set(f.codes))
        for f in found:
            sig = (f.code, frozenset({f.drug or "", *f.involved}))
            if f.involved and sig in seen:
                continue
            seen.add(sig)
            out.append(f)
    out.sort(key=lambda f: (severity_rank(f.severity), f.code, f.message))
    return tuple(out)
