"""Properties of the screen (hypothesis): monotone in risk factors, class floors, washouts."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neurodose.case.patient import Patient, load_patient
from neurodose.errors import PatientError
from neurodose.findings import TIERS, Finding, severity_rank
from neurodose.knowledge import drug_names, get_drug
from neurodose.knowledge.conditions import condition, condition_ids
from neurodose.safety.context import drug_tags
from neurodose.safety.engine import screen
from neurodose.safety.matrix import build_matrix, matrix_spec
from neurodose.safety.rules import load_rules

OPTIONS = (
    "amitriptyline",
    "nortriptyline",
    "duloxetine",
    "venlafaxine",
    "milnacipran",
    "pregabalin",
)
COMORBID = tuple(c for c in condition_ids() if condition(c).kind != "pain")
#: co-medications that do not inhibit CYP2D6/CYP2C19: with an inhibitor, phenoconversion
#: replaces the genotype finding by a phenoconversion finding (a different code by design)
PLAIN_MEDS = tuple(
    n
    for n in drug_names()
    if not any(
        t.startswith(("cyp2d6_inhibitor", "cyp2c19_inhibitor")) for t in drug_tags(get_drug(n))
    )
    and n not in OPTIONS
)


def _tiers(fs: tuple[Finding, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in fs:
        for c in f.codes:
            out[c] = min(out.get(c, 99), severity_rank(f.severity))
    return out


def _plausible(profile: dict) -> Patient | None:
    """The patient, or None where the plausibility model refuses it (pregnancy at 85)."""
    try:
        return load_patient(profile)
    except PatientError as exc:
        if exc.field != "pregnant":
            raise
        return None


patients = st.fixed_dictionaries(
    {
        "age": st.sampled_from([30, 50, 70, 85]),
        "conditions": st.lists(st.sampled_from(COMORBID), max_size=2, unique=True),
        "medications": st.lists(st.sampled_from(PLAIN_MEDS), max_size=2, unique=True),
        "labs": st.sampled_from([{}, {"egfr": 25}, {"child_pugh": "B"}, {"qtc_ms": 480}]),
        "genotypes": st.sampled_from([{}, {"CYP2D6": "PM"}, {"CYP2D6": "UM"}]),
    }
)
extra = st.one_of(
    st.tuples(st.just("conditions"), st.sampled_from(COMORBID)),
    st.tuples(st.just("medications"), st.sampled_from(PLAIN_MEDS)),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(patients, extra, st.sampled_from(OPTIONS))
def test_adding_a_risk_factor_never_lowers_a_tier(p: dict, add: tuple[str, str], drug: str) -> None:
    field, value = add
    if value in p[field]:
        return
    before_p, after_p = _plausible(p), _plausible({**p, field: [*p[field], value]})
    assume(before_p is not None and after_p is not None)  # e.g. pregnancy at 85: refused
    assert before_p is not None and after_p is not None
    before = _tiers(screen(before_p, drug))
    after = _tiers(screen(after_p, drug))
    for code, rank in before.items():
        assert code in after, (code, add)
        assert after[code] <= rank, (code, TIERS[rank], TIERS[after[code]], add)


@cache
def _class_rules(tag: str) -> frozenset[str]:
    return frozenset(r.id for r in load_rules() if tag in r.when.drug_any)


def test_no_drug_below_its_class_tier_without_a_cited_exception() -> None:
    m = build_matrix()
    spec = matrix_spec()
    exceptions = {(e.row, e.drug) for e in spec.class_exceptions}
    problems = []
    for tag in ("tca", "snri", "gabapentinoid"):
        members = [c for c in m.columns if tag in drug_tags(get_drug(c))]
        rules = _class_rules(tag)
        for row in m.rows:
            floor = min(
                (
                    severity_rank(t)
                    for d in members
                    for code, t in m.cell(row.id, d).findings
                    if code in rules
                ),
                default=len(TIERS),
            )
            for d in members:
                cell = m.cell(row.id, d)
                rank = severity_rank(cell.tier) if cell.tier else len(TIERS)
                if rank > floor and (row.id, d) not in exceptions:
                    problems.append(
                        f"{row.id} x {d}: {cell.status}, class {tag} floor {TIERS[floor]}"
                    )
    assert not problems, problems


def _window_rules() -> list:
    return [r for r in load_rules() if r.when.comed_window]


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(range(len(_window_rules()))), st.floats(0, 1, exclude_max=True), st.booleans()
)
def test_stopping_within_the_washout_keeps_the_interaction(
    i: int, frac: float, inside: bool
) -> None:
    r = _window_rules()[i]
    w = r.thresholds[r.when.comed_window or ""]
    days = w.canonical() / 24.0 if w.dimension == "time" else w.point
    comeds = [n for n in drug_names() if set(r.when.comed_any) & set(drug_tags(get_drug(n)))]
    options = [
        d
        for d in OPTIONS
        if set(r.when.drug_any) & set(drug_tags(get_drug(d)))
        and not set(r.when.drug_not) & set(drug_tags(get_drug(d)))
    ]
    stopped = days * frac if inside else days * (1 + frac)
    for med in comeds:
        for d in options:
            p = load_patient(
                {"age": 50, "medications": [{"name": med, "stopped_days_ago": stopped}]}
            )
            codes = {c for f in screen(p, d) for c in f.codes}
            assert (r.id in codes) == inside, (r.id, med, d, stopped)
