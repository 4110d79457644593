# ruff: noqa: B023  (closures are evaluated inside their loop iteration; P = "parameters")
"""The adverse-effect, AE-withdrawal and sleep stage of the PD calibration (issue 20 item 6).

Called by ``calibration/calibrate_pd.py`` (every round of the full fit, or alone with
``--block ae_sleep``, which holds every efficacy parameter and refits only the keys in
:data:`AE_SLEEP_PROVENANCE`). Training data (ONLY these; the held-out checks are in
:data:`HELD_OUT` and are never used here):

* Sultan 2008 (duloxetine 60 mg, PDN, pooled): nausea 29 %, somnolence 14 %, constipation
  13 % (the SERT/NET gains); AE withdrawal 15 % vs 8 % and Finnerup 2015 SNRI NNH 11.8.
* Lyrica US PI, DPN controlled-trial table, 300 and 600 mg/day minus placebo: dizziness 23 / 29 %
  (placebo 5 %), somnolence 13 / 16 % (3 %), peripheral oedema 9 / 12 % (2 %), weight gain
  4 / 6 % (0 %): the alpha2delta gains and the dose gradient (threshold SD) of dizziness and
  somnolence.
* Straube 2008 Table 2 (pregabalin, DPN + PHN): AE withdrawal 10 % vs 6 % at 300 mg and
  19 % vs 7 % at 600 mg: the per-effect hazard and how much a stronger effect adds
  (``withdrawal_severity_exponent``), with the duloxetine data above.
* Straube 2008 Table 3 (gabapentin, maximum 1800 mg/day): somnolence 21 % vs 7 %, dizziness
  26 % vs 6 %: gabapentin's own alpha2delta drive factor.
* Finnerup 2015 TCA NNH 13.4 (amitriptyline 10 -> 50 mg): the receptor-blockade weight.
* Parsons 2018 (pooled 10 pregabalin DPN RCTs, type 2 diabetes): odds ratio of >= 30 %
  improvement in sleep interference 2.01 vs of >= 30 % pain reduction 1.91: the sedative
  effect on sleep (``sleep_sedation_effect``); its 95 % range from the two CIs.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from neurodose.knowledge.schema import Quantity

#: extra regimens of this stage (the calibration's standard design)
AE_REGIMENS: dict[str, dict[str, Any]] = {
    "pregabalin_150": {
        "name": "pregabalin_150",
        "drug": "pregabalin",
        "regimen": [{"start_day": 1, "dose_mg": 75, "every_h": 12}],
    },
    "gabapentin_1800": {
        "name": "gabapentin_1800",
        "drug": "gabapentin",
        "regimen": [
            {"start_day": 1, "dose_mg": 300, "every_h": 8},
            {"start_day": 8, "dose_mg": 600, "every_h": 8},
        ],
    },
    "amitriptyline_75": {
        "name": "amitriptyline_75",
        "drug": "amitriptyline",
        "regimen": [{"start_day": 1, "dose_mg": 75, "every_h": 24}],
    },
    "gabapentin_3600": {
        "name": "gabapentin_3600",
        "drug": "gabapentin",
        "regimen": [
            {"start_day": 1, "dose_mg": 300, "every_h": 8},
            {"start_day": 8, "dose_mg": 600, "every_h": 8},
            {"start_day": 15, "dose_mg": 1200, "every_h": 8},
        ],
    },
}

_LABEL = "lyrica_uspi_dpn_table"
_ST2 = "straube2008_tables: Table 2 (pregabalin)"
_ST3 = "straube2008_tables: Table 3 (gabapentin)"

#: parameter -> (unit, calibrated_to); the keys this stage owns in calibrated.toml
AE_SLEEP_PROVENANCE: dict[str, tuple[str, list[str]]] = {
    "ae_gain_nausea_SERT": ("1", ["sultan2008: duloxetine nausea 29%"]),
    "ae_gain_drowsiness_SERT": ("1", ["sultan2008: duloxetine somnolence 14%"]),
    "ae_gain_constipation_NET": ("1", ["sultan2008: duloxetine constipation 13%"]),
    "ae_gain_drowsiness_alpha2delta": (
        "1",
        [f"{_LABEL}: somnolence 300 mg 13%, 600 mg 16% (placebo 3%)"],
    ),
    "ae_max_incidence_drowsiness_alpha2delta": (
        "1",
        [f"{_LABEL}: somnolence 300 mg 13%, 600 mg 16% (placebo 3%): plateau"],
    ),
    "ae_gain_dizziness_alpha2delta": (
        "1",
        [f"{_LABEL}: dizziness 300 mg 23%, 600 mg 29% (placebo 5%)"],
    ),
    "ae_max_incidence_dizziness_alpha2delta": (
        "1",
        [f"{_LABEL}: dizziness 300 mg 23%, 600 mg 29% (placebo 5%): plateau"],
    ),
    "ae_gain_oedema_alpha2delta": (
        "1",
        [f"{_LABEL}: peripheral edema 300 mg 9%, 600 mg 12% (placebo 2%)"],
    ),
    "ae_gain_weight_gain_alpha2delta": (
        "1",
        [f"{_LABEL}: weight gain 300 mg 4%, 600 mg 6% (placebo 0%)"],
    ),
    "ae_drive_factor_alpha2delta_gabapentin": (
        "1",
        [f"{_ST3}: 1800 mg somnolence 21% vs 7%, dizziness 26% vs 6%"],
    ),
    "ae_gain_default": (
        "1",
        [
            "geometric mean of the five calibrated gains (duloxetine nausea, somnolence, "
            "constipation; pregabalin somnolence and dizziness as gain x maximum incidence): "
            "class default for receptors without a fitted gain"
        ],
    ),
    "withdrawal_hazard_per_ae": (
        "1",
        [
            "sultan2008: duloxetine AE withdrawal 15% vs 8%",
            "finnerup2015: NNH SNRI 11.8",
            f"{_ST2}: AE withdrawal 300 mg 10% vs 6%, 600 mg 19% vs 7%",
        ],
    ),
    "withdrawal_severity_exponent": (
        "1",
        [f"{_ST2}: AE withdrawal 300 mg 10% vs 6%, 600 mg 19% vs 7% (dose gradient)"],
    ),
    "withdrawal_weight_receptor_blockade": (
        "1",
        ["finnerup2015: NNH TCA 13.4 (amitriptyline 10 -> 50 mg as the representative TCA)"],
    ),
    "sleep_sedation_effect": (
        "1",
        [
            "parsons2018_pregabalin_sleep: type 2 diabetes, OR of >=30% sleep improvement "
            "2.01 (1.69-2.39) vs OR of >=30% pain reduction 1.91 (1.61-2.27), pregabalin "
            "300 mg/day as the pooled regimen"
        ],
    ),
}

#: the five gains whose geometric mean is the class default (the definition of rounds 1-3);
#: an alpha2delta gain acts only within its plateau fraction, so it enters as its
#: population-average drive, gain x maximum incidence
DEFAULT_FROM = (
    "ae_gain_nausea_SERT",
    "ae_gain_drowsiness_SERT",
    "ae_gain_constipation_NET",
    "ae_gain_drowsiness_alpha2delta",
    "ae_gain_dizziness_alpha2delta",
)


def class_default(cur: dict[str, float]) -> float:
    """Geometric mean of :data:`DEFAULT_FROM`, alpha2delta gains times their plateau."""
    vals = []
    for k in DEFAULT_FROM:
        f = cur.get(k.replace("ae_gain_", "ae_max_incidence_"), 1.0)
        vals.append(cur[k] * f)
    return float(np.exp(np.mean(np.log(vals))))


#: the cited numbers (value, unit, source, locator, population) live in the knowledge base
TARGETS_FILE = (
    Path(__file__).resolve().parents[1]
    / "src/neurodose/knowledge/pdmodels/ae_sleep_data/ae_sleep_targets.toml"
)


def _q(raw: dict[str, Any]) -> Quantity:
    return Quantity.model_validate(raw)


def _target_value(t: dict[str, Any]) -> float:
    kind = t["kind"]
    if kind == "rate" or kind == "nnh":
        return float(_q(t["drug"]).value or 0.0)
    if kind == "excess":
        return float((_q(t["drug"]).value or 0.0) - (_q(t["placebo"]).value or 0.0))
    if kind == "nnh_excess":
        return 1.0 / float(_q(t["drug"]).value or 1.0)
    if kind == "or_ratio":
        return float((_q(t["sleep_or"]).value or 0.0) / (_q(t["pain_or"]).value or 1.0))
    raise ValueError(
        f"{TARGETS_FILE.name}: kind {kind!r} not one of rate, excess, nnh, nnh_excess, or_ratio"
    )


def _sources(t: dict[str, Any]) -> str:
    qs = [_q(t[k]) for k in ("drug", "placebo", "sleep_or", "pain_or") if k in t]
    parts = []
    for q in qs:
        parts.append(f"{q.source}: {q.locator}")
    return "; ".join(dict.fromkeys(parts))


def load_targets() -> tuple[dict[str, float], dict[str, tuple[float, float, float, str]]]:
    """(training values, held-out (value, low, high, source)) from :data:`TARGETS_FILE`."""
    data = tomllib.loads(TARGETS_FILE.read_text(encoding="utf-8"))
    train: dict[str, float] = {}
    held: dict[str, tuple[float, float, float, str]] = {}
    for key, t in data["targets"].items():
        v = _target_value(t)
        if t["role"] == "training":
            train[key] = v
        elif t["role"] == "held_out":
            bnd = _q(t["bounds"])
            held[key] = (v, float(bnd.low or 0.0), float(bnd.high or 0.0), _sources(t))
        else:
            raise ValueError(f"{TARGETS_FILE.name}: {key}: role must be training or held_out")
    return train, held


#: training targets (fitted) and held-out checks (never fitted), from the knowledge base
TRAINING, HELD_OUT = load_targets()


def _solve(f: Callable[[float], float], lo: float, hi: float, name: str) -> float:
    """Brent root of ``f`` in [lo, hi]; bounded least squares when not bracketed."""
    flo, fhi = f(lo), f(hi)
    if flo * fhi > 0:
        res = minimize_scalar(
            lambda x: f(x) ** 2, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4}
        )
        x = float(res.x)
        print(f"  {name}: not bracketed; least squares {x:.4g} (residual {f(x):+.4g})", flush=True)
        return x
    x = float(brentq(f, lo, hi, xtol=(hi - lo) * 1e-5, rtol=1e-3, maxiter=40))
    print(f"  {name} = {x:.4g}", flush=True)
    return x


def _lsq(f: Callable[[float], float], lo: float, hi: float, name: str) -> float:
    res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": (hi - lo) * 1e-4})
    x = float(res.x)
    print(f"  {name} = {x:.4g} (sse {f(x):.3g})", flush=True)
    return x


_PLACEBO: dict[tuple[int, float], dict[str, Any]] = {}


def _placebo(sim: Any, p: Any) -> dict[str, Any]:
    """The placebo arm: nothing this stage fits changes it (no drug drive), except the
    base hazard, which is held here; cached per simulator and base hazard."""
    key = (id(sim), p.value("withdrawal_hazard_base"))
    if key not in _PLACEBO:
        _PLACEBO[key] = sim.arm("placebo", p)
    return _PLACEBO[key]


def _excess(sim: Any, P: Callable[..., Any], arm: str, ae: str, **kw: float) -> float:
    p = P(**kw)
    return float(sim.arm(arm, p)["adverse_events"][ae] - _placebo(sim, p)["adverse_events"][ae])


def fit_alpha2delta_effect(
    sim: Any, P: Callable[..., Any], cur: dict[str, float], ae: str, label: str
) -> None:
    """Gain and maximum incidence (plateau) of an alpha2delta effect from the 300 and 600 mg
    excess rates: for each plateau the gain meets 600 mg, the plateau then meets 300 mg
    (bounded 0.05-1)."""
    g_key, f_key = f"ae_gain_{ae}_alpha2delta", f"ae_max_incidence_{ae}_alpha2delta"
    t300 = TRAINING[f"pregabalin_300_{label}_excess"]
    t600 = TRAINING[f"pregabalin_600_{label}_excess"]

    def gain_for(f: float) -> float:
        return _solve(
            lambda g: _excess(sim, P, "pregabalin_600", ae, **{g_key: g, f_key: f}) - t600,
            1e-3,
            500.0,
            f"{g_key} (max incidence {f:.3g})",
        )

    def err(f: float) -> float:
        g = gain_for(f)
        return _excess(sim, P, "pregabalin_300", ae, **{g_key: g, f_key: f}) - t300

    f = _solve(err, max(t600 + 0.02, 0.05), 1.0, f_key)
    cur[f_key] = f
    cur[g_key] = gain_for(f)


def fit_adverse(sim: Any, P: Callable[..., Any], cur: dict[str, float]) -> None:
    """All AE gains, threshold SDs and drive factors (one pass; the caller repeats rounds)."""
    for key, arm, ae, tgt in (
        ("ae_gain_nausea_SERT", "duloxetine_60", "nausea", TRAINING["duloxetine_nausea"]),
        (
            "ae_gain_drowsiness_SERT",
            "duloxetine_60",
            "drowsiness",
            TRAINING["duloxetine_somnolence"],
        ),
        (
            "ae_gain_constipation_NET",
            "duloxetine_60",
            "constipation",
            TRAINING["duloxetine_constipation"],
        ),
    ):
        cur[key] = _solve(
            lambda x: sim.arm(arm, P(**{key: x}))["adverse_events"][ae] - tgt, 1e-3, 20.0, key
        )
    fit_alpha2delta_effect(sim, P, cur, "dizziness", "dizziness")
    fit_alpha2delta_effect(sim, P, cur, "drowsiness", "somnolence")
    for ae in ("oedema", "weight_gain"):
        key = f"ae_gain_{ae}_alpha2delta"
        cur[key] = _lsq(
            lambda g: sum(
                (
                    _excess(sim, P, f"pregabalin_{d}", ae, **{key: g})
                    - TRAINING[f"pregabalin_{d}_{ae}_excess"]
                )
                ** 2
                for d in (300, 600)
            ),
            1e-3,
            50.0,
            key,
        )
    key = "ae_drive_factor_alpha2delta_gabapentin"
    cur[key] = _lsq(
        lambda f: sum(
            (
                _excess(sim, P, "gabapentin_1800", ae, **{key: f})
                - TRAINING[f"gabapentin_1800_{lab}_excess"]
            )
            ** 2
            for ae, lab in (("drowsiness", "somnolence"), ("dizziness", "dizziness"))
        ),
        0.05,
        3.0,
        key,
    )
    cur["ae_gain_default"] = class_default(cur)


def _wd_excess(sim: Any, p: Any, arm: str) -> float:
    return float(sim.arm(arm, p)["withdrawal_ae"] - _placebo(sim, p)["withdrawal_ae"])


def fit_withdrawal(sim: Any, P: Callable[..., Any], cur: dict[str, float]) -> None:
    """Per-effect hazard and severity exponent (duloxetine and pregabalin 300/600 mg), then
    the receptor-blockade weight (TCA NNH)."""
    targets = (
        ("duloxetine_60", TRAINING["duloxetine_withdrawal_ae_excess"]),
        ("duloxetine_60", TRAINING["snri_withdrawal_excess_from_nnh"]),
        ("pregabalin_300", TRAINING["pregabalin_300_withdrawal_ae_excess"]),
        ("pregabalin_600", TRAINING["pregabalin_600_withdrawal_ae_excess"]),
    )

    def sse(h: float, gam: float) -> float:
        p = P(withdrawal_hazard_per_ae=h, withdrawal_severity_exponent=gam)
        return sum((_wd_excess(sim, p, a) - t) ** 2 for a, t in targets)

    def h_for(gam: float) -> tuple[float, float]:
        res = minimize_scalar(
            lambda h: sse(h, gam), bounds=(0.0, 0.1), method="bounded", options={"xatol": 2e-5}
        )
        return float(res.x), float(res.fun)

    grid = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
    fits = [h_for(g) for g in grid]
    for g, (h, e) in zip(grid, fits, strict=True):
        print(f"  withdrawal: gamma {g:.2g} -> h1 {h:.4g}, sse {e:.3g}", flush=True)
    i = int(np.argmin([e for _, e in fits]))
    gam = grid[i]
    if 0 < i < len(grid) - 1:  # parabola through the best grid point and its neighbours
        x = np.array(grid[i - 1 : i + 2])
        y = np.array([e for _, e in fits[i - 1 : i + 2]])
        a2, a1, _ = np.polyfit(x, y, 2)
        if a2 > 0:
            gam = float(np.clip(-a1 / (2 * a2), x[0], x[2]))
    h, e = h_for(gam)
    cur["withdrawal_severity_exponent"] = gam
    cur["withdrawal_hazard_per_ae"] = h
    print(
        f"  withdrawal_severity_exponent = {gam:.4g}, "
        f"withdrawal_hazard_per_ae = {h:.4g} (sse {e:.3g})",
        flush=True,
    )
    cur["withdrawal_weight_receptor_blockade"] = _solve(
        lambda x: (
            _wd_excess(sim, P(withdrawal_weight_receptor_blockade=x), "amitriptyline_50")
            - 1 / TRAINING["tca_nnh"]
        ),
        0.0,
        1.5,
        "withdrawal_weight_receptor_blockade",
    )


def completers_sleep_pain(
    sim: Any, params: Any, key: str, weeks: int = 12
) -> dict[str, np.ndarray]:
    """Per-patient week-``weeks`` relative reduction of pain and of sleep interference in
    completers (no dropout), with the calibration's population, seed and exposure cache."""
    from neurodose.pd.pain import simulate_pain
    from neurodose.trial.design import parse_design
    from neurodose.trial.population import sample_population
    from neurodose.trial.run import _drug_exposure

    reg = sim.regimens[key]
    d = parse_design(
        {
            "name": "calibration-sleep",
            "weeks": weeks,
            "condition": "diabetic_neuropathy",
            "n_per_arm": sim.n,
            "seed": sim.seed,
            "arms": [reg],
            "analysis": {"nnt": False},
        }
    )
    arm = d.arms[0]
    ss = np.random.SeedSequence([d.seed, 0, 0])
    r_pd, r_pk = (np.random.default_rng(s) for s in ss.spawn(5)[:2])
    pop = sample_population(sim.n, d.condition, params, r_pd, d.population)
    occ: dict[str, np.ndarray] = {}
    if not arm.is_placebo:
        occ = _drug_exposure(d, arm, pop, params, r_pk, sim.exposure).occ_mean
    res = simulate_pain(occ, pop.baseline, pop.placebo, pop.eta, params, days=d.days)
    base = pop.baseline
    end_p = res.pain[:, -7:].mean(axis=1)
    end_s = res.sleep[:, -7:].mean(axis=1)
    return {
        "pain_rel": (base - end_p) / base,
        "sleep_rel": (base - end_s) / base,
        "pain": res.pain,
        "sleep": res.sleep,
    }


def _odds(x: np.ndarray) -> float:
    p = float(np.clip(np.mean(x), 1e-6, 1 - 1e-6))
    return p / (1 - p)


def sleep_or_ratio(sim: Any, params: Any, arm: str = "pregabalin_300") -> float:
    """OR of >= 30 % sleep improvement / OR of >= 30 % pain reduction, drug vs placebo."""
    d = completers_sleep_pain(sim, params, arm)
    p = completers_sleep_pain(sim, params, "placebo")
    or_s = _odds(d["sleep_rel"] >= 0.3) / _odds(p["sleep_rel"] >= 0.3)
    or_p = _odds(d["pain_rel"] >= 0.3) / _odds(p["pain_rel"] >= 0.3)
    return or_s / or_p


def sleep_ratio_bounds() -> tuple[float, float]:
    """95 % range of the training ratio from the two published CIs (log scale, taken as
    independent: a conservative width, the two are measured in the same patients)."""
    t = tomllib.loads(TARGETS_FILE.read_text(encoding="utf-8"))["targets"]
    t = t["pregabalin_sleep_or_over_pain_or"]
    so, po = _q(t["sleep_or"]), _q(t["pain_or"])
    se_s = (math.log(so.ci_high or 1.0) - math.log(so.ci_low or 1.0)) / (2 * 1.96)
    se_p = (math.log(po.ci_high or 1.0) - math.log(po.ci_low or 1.0)) / (2 * 1.96)
    se = math.hypot(se_s, se_p)
    r = TRAINING["pregabalin_sleep_or_over_pain_or"]
    return r * math.exp(-1.96 * se), r * math.exp(1.96 * se)


def fit_sleep(sim: Any, P: Callable[..., Any], cur: dict[str, float]) -> dict[str, float]:
    """``sleep_sedation_effect`` to the Parsons 2018 ratio, and its range from the CIs
    (0 where the lower ratio is below what pain alone gives)."""

    def f(c: float, target: float) -> float:
        return sleep_or_ratio(sim, P(sleep_sedation_effect=c)) - target

    lo_r, hi_r = sleep_ratio_bounds()
    out: dict[str, float] = {}
    for name, tgt in (
        ("value", TRAINING["pregabalin_sleep_or_over_pain_or"]),
        ("low", lo_r),
        ("high", hi_r),
    ):
        out[name] = (
            0.0
            if f(0.0, tgt) >= 0
            else _solve(lambda c: f(c, tgt), 0.0, 30.0, f"sleep_sedation_effect ({name})")
        )
    cur["sleep_sedation_effect"] = out["value"]
    return out


def fit_round(sim: Any, P: Callable[..., Any], cur: dict[str, float]) -> dict[str, float]:
    """One round of this stage: AE gains, withdrawal, sleep; returns the sleep range."""
    fit_adverse(sim, P, cur)
    fit_withdrawal(sim, P, cur)
    return fit_sleep(sim, P, cur)


def describe(cur: dict[str, float]) -> str:
    return ", ".join(f"{k}={cur[k]:.4g}" for k in AE_SLEEP_PROVENANCE if k in cur)


RESULTS = __import__("pathlib").Path(__file__).resolve().parent / "results_ae_sleep.json"


def _rates(sim: Any, p: Any) -> dict[str, dict[str, Any]]:
    arms = (
        "placebo",
        "pregabalin_150",
        "pregabalin_300",
        "pregabalin_600",
        "gabapentin_1800",
        "gabapentin_3600",
        "duloxetine_60",
        "amitriptyline_50",
        "amitriptyline_75",
    )
    return {a: sim.arm(a, p) for a in arms}


def _achieved(r: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Model values of every training and held-out quantity (excess = drug - placebo)."""
    pl = r["placebo"]
    out: dict[str, float] = {}

    def ex(arm: str, ae: str) -> float:
        return round(r[arm]["adverse_events"][ae] - pl["adverse_events"][ae], 4)

    def wd(arm: str) -> float:
        return round(r[arm]["withdrawal_ae"] - pl["withdrawal_ae"], 4)

    d = r["duloxetine_60"]["adverse_events"]
    out["duloxetine_nausea"] = d["nausea"]
    out["duloxetine_somnolence"] = d["drowsiness"]
    out["duloxetine_constipation"] = d["constipation"]
    for dose in (150, 300, 600):
        arm = f"pregabalin_{dose}"
        out[f"{arm}_dizziness_excess"] = ex(arm, "dizziness")
        out[f"{arm}_somnolence_excess"] = ex(arm, "drowsiness")
        out[f"{arm}_oedema_excess"] = ex(arm, "oedema")
        out[f"{arm}_weight_gain_excess"] = ex(arm, "weight_gain")
        out[f"{arm}_withdrawal_ae_excess"] = wd(arm)
    out["pregabalin_300_somnolence_excess_straube"] = out["pregabalin_300_somnolence_excess"]
    out["pregabalin_600_somnolence_excess_straube"] = out["pregabalin_600_somnolence_excess"]
    for dose in (1800, 3600):
        arm = f"gabapentin_{dose}"
        out[f"{arm}_somnolence_excess"] = ex(arm, "drowsiness")
        out[f"{arm}_dizziness_excess"] = ex(arm, "dizziness")
        out[f"{arm}_withdrawal_ae_excess"] = wd(arm)
    g = out["gabapentin_1800_withdrawal_ae_excess"]
    out["gabapentin_nnh_finnerup"] = round(1 / g, 2) if g > 0 else float("inf")
    out["duloxetine_withdrawal_ae_excess"] = wd("duloxetine_60")
    out["snri_withdrawal_excess_from_nnh"] = wd("duloxetine_60")
    t = wd("amitriptyline_50")
    out["tca_nnh"] = round(1 / t, 2) if t > 0 else float("inf")
    out["amitriptyline_75_drowsiness"] = r["amitriptyline_75"]["adverse_events"]["drowsiness"]
    out["pregabalin_oedema_satoh"] = r["pregabalin_600"]["adverse_events"]["oedema"]
    out["pregabalin_weight_gain_satoh"] = r["pregabalin_600"]["adverse_events"]["weight_gain"]
    return out


def sleep_first(sim: Any, P: Callable[..., Any], c: float) -> dict[str, dict[str, float]]:
    """Completers, week 1: fraction of the week-12 drug-vs-placebo effect on sleep and on
    pain, per drug, at ``sleep_sedation_effect`` = ``c``."""
    p = P(sleep_sedation_effect=c)
    pl = completers_sleep_pain(sim, p, "placebo")
    out: dict[str, dict[str, float]] = {}
    for arm in ("amitriptyline_50", "pregabalin_300", "duloxetine_60"):
        d = completers_sleep_pain(sim, p, arm)
        fr: dict[str, float] = {}
        for k in ("pain", "sleep"):
            diff = pl[k].mean(axis=0) - d[k].mean(axis=0)
            wk1 = diff[1:8].mean()
            wk12 = diff[-7:].mean()
            fr[k] = round(float(wk1 / wk12), 3) if wk12 != 0 else float("nan")
        fr["sleep_first"] = bool(fr["sleep"] > fr["pain"])
        out[arm] = fr
    return out


def report(
    sim: Any,
    P: Any,
    cur: dict[str, float],
    sleep_range: dict[str, float],
    basis: str,
    rounds: int,
) -> dict[str, Any]:
    """Training targets vs achieved, held-out checks vs predicted, sleep-first over the
    fitted range (``P`` is the final parameter set or a factory)."""
    fin = P if not callable(P) else P()
    mk = P if callable(P) else (lambda **kw: fin.with_values(**kw))
    ach = _achieved(_rates(sim, fin))
    ach["pregabalin_sleep_or_over_pain_or"] = round(sleep_or_ratio(sim, fin), 4)
    ach["pregabalin_sleep_or_over_pain_or_t1dm"] = ach["pregabalin_sleep_or_over_pain_or"]
    c = cur.get("sleep_sedation_effect", fin.value("sleep_sedation_effect"))
    q = fin.quantities.get("sleep_sedation_effect")
    stored = {"value": c, "low": getattr(q, "low", None) or 0.0, "high": getattr(q, "high", c)}
    rng = sleep_range or stored  # --evaluate: the stored range
    return {
        "stage": "ae_sleep (issue 20 item 6)",
        "occupancy_basis": basis,
        "n_per_arm": sim.n,
        "seed": sim.seed,
        "rounds": rounds,
        "refitted": list(AE_SLEEP_PROVENANCE),
        "parameters": {k: cur[k] for k in AE_SLEEP_PROVENANCE if k in cur},
        "sleep_sedation_effect_range": rng,
        "training": {k: {"cited": v, "achieved": ach.get(k)} for k, v in TRAINING.items()},
        "held_out": {
            k: {
                "cited": v,
                "low": lo,
                "high": hi,
                "source": src,
                "predicted": ach.get(k),
                "within": ach.get(k) is not None and lo <= ach[k] <= hi,
            }
            for k, (v, lo, hi, src) in HELD_OUT.items()
            if k in ach
        },
        "sleep_first": {name: sleep_first(sim, mk, rng[name]) for name in ("low", "value", "high")},
        "note": "training = calibration fits; held_out = never fitted (docs/validation.md)",
    }


def print_report(rep: dict[str, Any]) -> None:
    for k, v in rep["training"].items():
        print(f"train {k:44s} cited {v['cited']:.4g} achieved {v['achieved']}")
    for k, v in rep["held_out"].items():
        ok = "ok " if v["within"] else "OUT"
        print(
            f"held  {k:44s} {ok} cited {v['cited']:.4g} [{v['low']:.3g}, {v['high']:.3g}] "
            f"predicted {v['predicted']}"
        )
    print("sleep_sedation_effect", rep["sleep_sedation_effect_range"])
    for name, d in rep["sleep_first"].items():
        print("sleep first at", name, d)


def update_toml(path: Any, values: dict[str, float], rep: dict[str, Any]) -> None:
    """Replace (or append) only this stage's ``[parameters.KEY]`` tables in ``path``; every
    other table is left byte for byte."""
    import json as _json
    import re

    text = path.read_text(encoding="utf-8")
    rng = rep.get("sleep_sedation_effect_range", {})
    for k, (unit, to) in AE_SLEEP_PROVENANCE.items():
        if k not in values:
            continue
        lines = [f"[parameters.{k}]", f"value = {values[k]:.6g}"]
        if k == "sleep_sedation_effect" and rng:
            lines += [f"low = {rng['low']:.6g}", f"high = {rng['high']:.6g}"]
        lines += [
            f'unit = "{unit}"',
            'source = "neurodose_pd_calibration"',
            f'locator = "calibration/{RESULTS.name}"',
            "calibrated = true",
            "calibrated_to = [" + ", ".join(_json.dumps(t) for t in to) + "]",
            "",
        ]
        block = "\n".join(lines)
        pat = re.compile(rf"^\[parameters\.{re.escape(k)}\]\n(?:(?!\[).*\n)*", re.M)
        if pat.search(text):
            text = pat.sub(lambda _m: block + "\n", text, count=1)
        else:
            text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
