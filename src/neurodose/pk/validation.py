"""Comparisons of the PK engine with published values (``pkmodels/_validation.toml``).

Each comparison has a kind: ``validation`` (the value was not used to build the
model), ``calibration_check`` (a parameter was fitted or solved to it) or
``consistency`` (the value was encoded or derived into the model). Only
``validation`` rows count for the PBPK acceptance (within 2-fold for >= 90 %,
GMFE reported). Each row is also marked *independent* or not of the sources of the
drug's model parameters (:func:`independence`): automatically, a row whose source key
(or a source named in its ``derived_from``) is one the parameters rest on is not
independent; a manual ``independent`` field with an ``independence_note`` overrides
that where the shared source supplies nothing the prediction uses, or marks a row that
was looked at while building the model. ``python -m neurodose.pk.validation``
rewrites the figures under ``docs/figures/`` and prints the markdown tables.

>>> rows = run(["ami_cmax_50mg_single"])
>>> rows[0].kind, 0.5 < rows[0].ratio < 2, rows[0].independent
('validation', True, False)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from neurodose.case.patient import Patient
from neurodose.case.regimen import DoseEvent, Regimen
from neurodose.errors import KnowledgeBaseError, UnknownNameError
from neurodose.knowledge.registry import load_validated, record, references
from neurodose.knowledge.schema import Quantity, iter_sourced
from neurodose.pk.individual import individual_parameters, terminal_half_lives
from neurodose.pk.parameters import PKMODEL_DIR, get_pkmodel
from neurodose.pk.solve import concentrations

__all__ = [
    "Comparison",
    "LevelRow",
    "Result",
    "comparisons",
    "gmfe",
    "independence",
    "levels_markdown",
    "levels_table",
    "parameter_sources",
    "run",
    "summary_stats",
]

Kind = Literal["validation", "calibration_check", "consistency"]


class Comparison(BaseModel):
    """One published value with its kind (validation, calibration_check, consistency)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    drug: str
    kind: Kind
    description: str
    observed: Quantity
    independent: bool | None = None
    independence_note: str = ""

    @model_validator(mode="after")
    def _note(self) -> Comparison:
        if self.independent is not None and not self.independence_note.strip():
            raise ValueError(
                f"{self.id}: a manual 'independent' needs an 'independence_note' saying why"
            )
        return self


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    comparison: list[Comparison]


@dataclass(frozen=True)
class Result:
    """A comparison evaluated: observed and predicted value (canonical units)."""

    id: str
    drug: str
    kind: str
    description: str
    observed: float
    unit: str
    predicted: float
    source: str
    locator: str
    low_trust: bool
    independent: bool = False
    shared_sources: tuple[str, ...] = ()
    independence_basis: str = "automatic"

    @property
    def ratio(self) -> float:
        return self.predicted / self.observed

    @property
    def within_2fold(self) -> bool:
        return 0.5 <= self.ratio <= 2.0


@cache
def comparisons() -> dict[str, Comparison]:
    """All comparisons of ``pkmodels/_validation.toml`` keyed by id (sources checked)."""
    rec = load_validated(PKMODEL_DIR / "_validation.toml", _File)
    assert isinstance(rec, _File)
    out: dict[str, Comparison] = {}
    for c in rec.comparison:
        if c.id in out:
            raise KnowledgeBaseError(f"_validation.toml: duplicate comparison id {c.id!r}")
        out[c.id] = c
    return out


def _keys(item: Quantity | BaseModel) -> set[str]:
    """Source keys of a cited item: its source and the reference keys that open its
    ``derived_from`` / ``calibrated_to`` entries (e.g. ``"droracle_499034 Css ..."``)."""
    known = references()
    out = {str(getattr(item, "source", ""))}
    for entry in [*getattr(item, "derived_from", []), *getattr(item, "calibrated_to", [])]:
        words = str(entry).split()
        if words and words[0] in known:
            out.add(words[0])
    return out - {""}


@cache
def parameter_sources(drug: str) -> frozenset[str]:
    """Every source key the PK model of ``drug`` rests on (parameters, IIV, pathways,
    genotypes, covariates, measured interactions, and the sources their derivations
    name)."""
    out: set[str] = set()
    for _, item in iter_sourced(get_pkmodel(drug)):
        out |= _keys(item)
    return frozenset(out)


def independence(c: Comparison) -> tuple[bool, tuple[str, ...], str]:
    """(independent, shared source keys, basis) of comparison ``c``.

    Automatic: independent when no source key of the observed value is one the drug's
    parameters rest on. A manual ``independent`` in the file overrides it (basis
    ``"manual: <note>"``).

    >>> ok, shared, basis = independence(comparisons()["ven_css_150"])
    >>> ok, shared, basis
    (False, ('droracle_499034',), 'automatic')
    """
    shared = tuple(sorted(_keys(c.observed) & parameter_sources(c.drug)))
    if c.independent is not None:
        return c.independent, shared, f"manual: {c.independence_note}"
    return not shared, shared, "automatic"


# ---------------------------------------------------------------- helpers
def _fine(t_end: float, step: float = 0.01) -> np.ndarray:
    return np.arange(0.0, t_end + step / 2, step)


def _conc(
    drug: str,
    regimen: Regimen,
    t: np.ndarray,
    patient: Patient | None = None,
    comeds: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    ps = individual_parameters(drug, patient, comeds)
    c = concentrations(ps.model, ps.values, regimen, t, changes=ps.changes)
    return {a: v[0] for a, v in c.items()}


def _half_life(drug: str, analyte: str, patient: Patient | None = None) -> float:
    return terminal_half_lives(individual_parameters(drug, patient))[analyte]


def _ss_auc(
    drug: str,
    analytes: Sequence[str],
    patient: Patient | None = None,
    comeds: Sequence[str] = (),
    dose: float = 25.0,
    ii: float = 24.0,
) -> float:
    ps = individual_parameters(drug, patient, comeds)
    reg = Regimen((DoseEvent(amt=dose, time=0.0, ii=ii, ss=1),))
    t = np.linspace(0.0, ii, 2401)
    c = concentrations(ps.model, ps.values, reg, t)
    tot = sum(c[a][0] for a in analytes)
    return float(np.sum(0.5 * (tot[1:] + tot[:-1]) * np.diff(t)))


def _css_avg(drug: str, analyte: str, daily: float) -> float:
    auc = _ss_auc(drug, [analyte], Patient(weight=None), dose=daily / 2, ii=12.0)
    return auc / 12.0


def _tmax_single(drug: str, analyte: str, dose: float, patient: Patient | None = None) -> float:
    t = _fine(72.0)
    c = _conc(drug, Regimen.oral(dose), t, patient)[analyte]
    return float(t[int(np.argmax(c))])


def _tmax_formulation(drug: str, analyte: str, dose: float, formulation: str) -> float:
    ps = individual_parameters(drug, formulation=formulation)
    t = _fine(72.0)
    c = concentrations(ps.model, ps.values, Regimen.oral(dose), t)[analyte][0]
    return float(t[int(np.argmax(c))])


def _cmax_ss(drug: str, analyte: str, dose: float, ii: float) -> float:
    ps = individual_parameters(drug)
    reg = Regimen((DoseEvent(amt=dose, time=0.0, ii=ii, ss=1),))
    t = np.linspace(0.0, ii, 1201)
    return float(concentrations(ps.model, ps.values, reg, t)[analyte][0].max())


def _gbp_f(daily: float) -> float:
    spec = get_pkmodel("gabapentin")
    dmax = spec.parameters["Dmax"].canonical()
    d50 = spec.parameters["D50"].canonical()
    return dmax / (d50 + daily / 3.0)


_AMI = ["amitriptyline", "nortriptyline"]


def _ratio(drug: str, analytes: Sequence[str], **kw: object) -> float:
    dose = float(kw["dose"]) if "dose" in kw else 25.0  # type: ignore[arg-type]
    base = _ss_auc(drug, analytes, dose=dose)
    return _ss_auc(drug, analytes, **kw) / base  # type: ignore[arg-type]


_DMS = "n_desmethylsertraline"


def _c19(phenotype: str) -> Patient:
    return Patient().with_genotype(CYP2C19=phenotype)


def _repeat_window(
    drug: str, dose: float, days: int, start_h: float, end_h: float, patient: Patient | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Repeated daily doses (no SS record: works for the saturable model too)."""
    t = np.arange(start_h, end_h + 1e-9, 0.05)
    return t, _conc(drug, Regimen.oral(f"{dose} mg", every="24 h", days=days), t, patient)


def _par_auc_single(phenotype: str) -> float:
    t = np.arange(0.0, 24.0 * 30, 0.05)
    pat = Patient().with_genotype(CYP2D6=phenotype)
    c = _conc("paroxetine", Regimen.oral(30.0), t, pat)["paroxetine"]
    return float(np.sum(0.5 * (c[1:] + c[:-1]) * np.diff(t)))


def _par_aucss(phenotype: str, dose: float = 30.0) -> float:
    t, c = _repeat_window(
        "paroxetine", dose, 15, 14 * 24.0, 15 * 24.0, Patient().with_genotype(CYP2D6=phenotype)
    )
    y = c["paroxetine"]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(t)))


def _par_ss_half_life() -> float:
    t, c = _repeat_window("paroxetine", 30.0, 30, 29 * 24.0 + 48.0, 29 * 24.0 + 96.0)
    y = c["paroxetine"]
    return float(math.log(2) * (t[-1] - t[0]) / math.log(y[0] / y[-1]))


def _par_dose_ratio() -> float:
    def cl(dose: float) -> float:
        t, c = _repeat_window("paroxetine", dose, 30, 29 * 24.0, 30 * 24.0)
        y = c["paroxetine"]
        return dose * 1000.0 / float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(t)))

    return cl(40.0) / cl(20.0)


def _cl(drug: str, patient: Patient | None = None) -> float:
    v = individual_parameters(drug, patient).values
    return float(v["CL"])


def _label_f(drug: str) -> float:
    """The label oral bioavailability of ``drug`` (knowledge-base ``pk.F``)."""
    return float(record(drug).pk["F"].canonical())


def _ami_per_kg(name: str) -> float:
    """AMI systemic CL (L/h/kg) or V (L/kg): the apparent-oral model values times the
    label F, per kg of the reference patient."""
    from neurodose.pk.parameters import shared

    v = individual_parameters("amitriptyline").values
    x = v["CL_form"] + v["CL_other"] if name == "CL" else v["V"]
    return x * _label_f("amitriptyline") / shared().reference_patient["weight"].canonical()


def _slope_half_life(drug: str, dose: float, t0: float, t1: float) -> float:
    """Half-life from the log-linear slope between ``t0`` and ``t1`` after one dose."""
    t = np.array([t0, t1])
    c = _conc(drug, Regimen.oral(dose), t)[drug]
    return float(math.log(2) * (t1 - t0) / math.log(c[0] / c[1]))


PREDICT: dict[str, Callable[[], float]] = {
    "ami_cmax_50mg_single": lambda: float(
        _conc("amitriptyline", Regimen.oral(50.0), _fine(96.0, 0.05))["amitriptyline"].max()
    ),
    "ami_tmax_single": lambda: _tmax_single("amitriptyline", "amitriptyline", 50.0),
    "ami_half_life": lambda: _half_life("amitriptyline", "amitriptyline"),
    "ami_f_nt": lambda: (
        individual_parameters("amitriptyline").values["CL_form"]
        / (
            individual_parameters("amitriptyline").values["CL_form"]
            + individual_parameters("amitriptyline").values["CL_other"]
        )
    ),
    "nt_half_life_from_ami": lambda: _half_life("amitriptyline", "nortriptyline"),
    "nt_tmax": lambda: _tmax_single("nortriptyline", "nortriptyline", 25.0),
    "ami_dpwg_pm": lambda: _ratio(
        "amitriptyline", _AMI, patient=Patient().with_genotype(CYP2D6="PM")
    ),
    "ami_dpwg_im": lambda: _ratio(
        "amitriptyline", _AMI, patient=Patient().with_genotype(CYP2D6="IM")
    ),
    "ami_dpwg_um": lambda: _ratio(
        "amitriptyline", _AMI, patient=Patient().with_genotype(CYP2D6="UM")
    ),
    "nt_dpwg_pm": lambda: _ratio(
        "nortriptyline", ["nortriptyline"], patient=Patient().with_genotype(CYP2D6="PM")
    ),
    "nt_dpwg_im": lambda: _ratio(
        "nortriptyline", ["nortriptyline"], patient=Patient().with_genotype(CYP2D6="IM")
    ),
    "nt_dpwg_um": lambda: _ratio(
        "nortriptyline", ["nortriptyline"], patient=Patient().with_genotype(CYP2D6="UM")
    ),
    "ami_cyp2c19_pm_formation": lambda: (
        individual_parameters("amitriptyline", Patient().with_genotype(CYP2C19="PM")).values[
            "CL_form"
        ]
        / individual_parameters("amitriptyline").values["CL_form"]
    ),
    "dlx_cmax_ss_40bid": lambda: _cmax_ss("duloxetine", "duloxetine", 40.0, 12.0),
    "dlx_cmax_ss_80bid": lambda: _cmax_ss("duloxetine", "duloxetine", 80.0, 12.0),
    "dlx_half_life": lambda: _half_life("duloxetine", "duloxetine"),
    "dlx_fluvoxamine_100": lambda: _ratio(
        "duloxetine", ["duloxetine"], comeds=["fluvoxamine:100 mg"]
    ),
    "dlx_fluvoxamine_25_tdm": lambda: _ratio(
        "duloxetine", ["duloxetine"], comeds=["fluvoxamine:25 mg"]
    ),
    "dlx_paroxetine": lambda: _ratio("duloxetine", ["duloxetine"], comeds=["paroxetine:20 mg"]),
    "dlx_smoking": lambda: _ratio("duloxetine", ["duloxetine"], patient=Patient(smoker=True)),
    "dlx_childpugh_b_auc": lambda: _ratio(
        "duloxetine", ["duloxetine"], patient=Patient(hepatic="B")
    ),
    "ven_css_75": lambda: _css_avg("venlafaxine", "venlafaxine", 75.0),
    "ven_css_150": lambda: _css_avg("venlafaxine", "venlafaxine", 150.0),
    "ven_css_225": lambda: _css_avg("venlafaxine", "venlafaxine", 225.0),
    "ven_css_300": lambda: _css_avg("venlafaxine", "venlafaxine", 300.0),
    "odv_css_75": lambda: _css_avg("venlafaxine", "o_desmethylvenlafaxine", 75.0),
    "odv_css_150": lambda: _css_avg("venlafaxine", "o_desmethylvenlafaxine", 150.0),
    "odv_css_225": lambda: _css_avg("venlafaxine", "o_desmethylvenlafaxine", 225.0),
    "odv_css_300": lambda: _css_avg("venlafaxine", "o_desmethylvenlafaxine", 300.0),
    "odv_ven_ratio_75": lambda: (
        _css_avg("venlafaxine", "o_desmethylvenlafaxine", 75.0)
        / _css_avg("venlafaxine", "venlafaxine", 75.0)
    ),
    "ven_half_life": lambda: _half_life("venlafaxine", "venlafaxine"),
    "odv_half_life": lambda: _half_life("venlafaxine", "o_desmethylvenlafaxine"),
    "gbp_f_900": lambda: _gbp_f(900.0),
    "gbp_f_1200": lambda: _gbp_f(1200.0),
    "gbp_f_2400": lambda: _gbp_f(2400.0),
    "gbp_f_3600": lambda: _gbp_f(3600.0),
    "gbp_f_4800": lambda: _gbp_f(4800.0),
    "gbp_half_life": lambda: _half_life("gabapentin", "gabapentin"),
    "gbp_half_life_crcl_lt30": lambda: _half_life(
        "gabapentin", "gabapentin", Patient(crcl=20, age=60, weight=70, sex="male")
    ),
    "gbp_tmax": lambda: _tmax_single("gabapentin", "gabapentin", 300.0),
    "pgb_half_life": lambda: _half_life("pregabalin", "pregabalin"),
    "pgb_tmax": lambda: _tmax_single("pregabalin", "pregabalin", 75.0),
    # round 2 (issue 14)
    "par_pm_auc_single": lambda: _par_auc_single("PM"),
    "par_em_auc_single": lambda: _par_auc_single("NM"),
    "par_em_aucss": lambda: _par_aucss("NM"),
    "par_pm_aucss": lambda: _par_aucss("PM"),
    "par_ss_half_life_label": _par_ss_half_life,
    "par_dose_nonlinearity": _par_dose_ratio,
    "flx_css_40": lambda: _ss_auc("fluoxetine", ["fluoxetine"], dose=40.0) / 24.0,
    "nflx_css_40": lambda: _ss_auc("fluoxetine", ["norfluoxetine"], dose=40.0) / 24.0,
    "flx_cmax_40_single": lambda: float(
        _conc("fluoxetine", Regimen.oral(40.0), _fine(72.0, 0.05))["fluoxetine"].max()
    ),
    "flx_half_life_acute": lambda: _half_life("fluoxetine", "fluoxetine"),
    "ser_css_100_nm": lambda: _ss_auc("sertraline", ["sertraline"], dose=100.0) / 24.0,
    "ser_cyp2c19_pm": lambda: _ratio(
        "sertraline", ["sertraline"], patient=Patient().with_genotype(CYP2C19="PM")
    ),
    "cit_half_life_label": lambda: _half_life("citalopram", "citalopram"),
    "cit_cl_label": lambda: _cl("citalopram"),
    "cit_half_life_1981": lambda: _half_life("citalopram", "citalopram"),
    "esc_cl_liu": lambda: _cl("escitalopram"),
    "esc_cl_jin": lambda: _cl("escitalopram"),
    "esc_cl_label": lambda: _cl("escitalopram"),
    "esc_half_life_label": lambda: _half_life("escitalopram", "escitalopram"),
    "esc_tmax_label": lambda: _tmax_single("escitalopram", "escitalopram", 10.0),
    "esc_cyp2c19_pm_liu": lambda: _ratio(
        "escitalopram", ["escitalopram"], patient=Patient().with_genotype(CYP2C19="PM")
    ),
    "imi_css_em": lambda: _ss_auc("imipramine", ["imipramine"], dose=100.0) / 24.0,
    "dmi_css_em": lambda: _ss_auc("imipramine", ["desipramine"], dose=100.0) / 24.0,
    "dmi_css_pm": lambda: (
        _ss_auc("imipramine", ["desipramine"], Patient().with_genotype(CYP2D6="PM"), dose=100.0)
        / 24.0
    ),
    "dms_css_100_nm": lambda: _ss_auc("sertraline", [_DMS], dose=100.0) / 24.0,
    "dms_half_life_label": lambda: _half_life("sertraline", _DMS),
    "dms_cyp2c19_pm": lambda: _ratio("sertraline", [_DMS], patient=_c19("PM"), dose=100.0),
    "dms_cyp2c19_im": lambda: _ratio("sertraline", [_DMS], patient=_c19("IM"), dose=100.0),
    "dms_cyp2c19_um": lambda: _ratio("sertraline", [_DMS], patient=_c19("UM"), dose=100.0),
    "mil_v_gelbe": lambda: float(individual_parameters("milnacipran").values["V"]),
    "mil_tmax_ruan": lambda: _tmax_single("milnacipran", "milnacipran", 50.0),
    "mil_tmax_gelbe": lambda: _tmax_single("milnacipran", "milnacipran", 50.0),
    "mil_half_life_ruan": lambda: _half_life("milnacipran", "milnacipran"),
    "mil_renal_severe": lambda: _cl("milnacipran", Patient(crcl=20.0)) / _cl("milnacipran"),
    "tra_half_life_mims": lambda: _half_life("tramadol", "tramadol"),
    "tra_cmax_100_mims": lambda: float(
        _conc("tramadol", Regimen.oral(100.0), _fine(48.0, 0.02))["tramadol"].max()
    ),
    "tra_tmax_100_mims": lambda: _tmax_single("tramadol", "tramadol", 100.0),
    "tra_m1_ratio_mims": lambda: (
        _ss_auc("tramadol", ["o_desmethyltramadol"], dose=100.0)
        / _ss_auc("tramadol", ["tramadol"], dose=100.0)
    ),
    # issue 20 item 8: independent rows
    "ami_cl_schulz_young": lambda: _ami_per_kg("CL"),
    "ami_cl_schulz_elderly": lambda: _ami_per_kg("CL"),
    "ami_v_schulz_young": lambda: _ami_per_kg("V"),
    "ami_v_schulz_elderly": lambda: _ami_per_kg("V"),
    "nt_css_elderly_dawling1981": lambda: (
        _ss_auc("nortriptyline", ["nortriptyline"], dose=50.0) / 24.0
    ),
    "nt_f_oral_availability": lambda: float(individual_parameters("nortriptyline").values["F"]),
    "par_half_life_kaye1989": lambda: _slope_half_life("paroxetine", 30.0, 24.0, 72.0),
    "par_half_life_lund1982": lambda: _slope_half_life("paroxetine", 30.0, 24.0, 72.0),
    "tra_cyp2d6_low_as_allegaert": lambda: (
        individual_parameters("tramadol", Patient().with_genotype(CYP2D6="IM")).values["CL_form"]
        / individual_parameters("tramadol").values["CL_form"]
    ),
    "gbp_half_life_blum": lambda: _half_life("gabapentin", "gabapentin"),
    "gbp_v_label": lambda: float(individual_parameters("gabapentin").values["V"]),
    "dlx_v_westanmo": lambda: float(individual_parameters("duloxetine").values["V"]),
    # issue 20 round 3: rows from sources found with the search tool
    "nt_v_smpc_iv": lambda: float(individual_parameters("nortriptyline").values["V"]),
    "nt_half_life_fachinfo": lambda: _half_life("nortriptyline", "nortriptyline"),
    "imi_css_150_fachinfo": lambda: _ss_auc("imipramine", ["imipramine"], dose=50.0, ii=8.0) / 8.0,
    "dmi_css_150_fachinfo": lambda: _ss_auc("imipramine", ["desipramine"], dose=50.0, ii=8.0) / 8.0,
    "imi_half_life_fachinfo": lambda: _half_life("imipramine", "imipramine"),
    "imi_v_fachinfo": lambda: float(individual_parameters("imipramine").values["V"]),
    "dmi_v_fachinfo": lambda: float(individual_parameters("imipramine").values["V_m"]),
    "imi_tmax_itps": lambda: _tmax_single("imipramine", "imipramine", 25.0),
    "ser_tmax_korean": lambda: _tmax_single("sertraline", "sertraline", 50.0),
    "ser_half_life_korean": lambda: _half_life("sertraline", "sertraline"),
    "ser_cmax_50_korean": lambda: float(
        _conc("sertraline", Regimen.oral(50.0), _fine(96.0, 0.05))["sertraline"].max()
    ),
    "mil_tmax_drugbank": lambda: _tmax_single("milnacipran", "milnacipran", 50.0),
    "flx_tam_css_chinese": lambda: (
        _ss_auc("fluoxetine", ["fluoxetine", "norfluoxetine"], dose=20.0) / 24.0
    ),
    "flx_css_20_icp1993": lambda: _ss_auc("fluoxetine", ["fluoxetine"], dose=20.0) / 24.0,
    "nflx_css_20_icp1993": lambda: _ss_auc("fluoxetine", ["norfluoxetine"], dose=20.0) / 24.0,
    "pgb_v_smpc": lambda: float(individual_parameters("pregabalin").values["V"]),
    "pgb_cl_renal_label": lambda: _cl(
        "pregabalin", Patient(age=30, weight=70, sex="male", crcl=110)
    ),
    "ven_xr_tmax": lambda: _tmax_formulation(
        "venlafaxine", "venlafaxine", 75.0, "extended_release"
    ),
    "dlx_tmax_label": lambda: _tmax_formulation(
        "duloxetine", "duloxetine", 60.0, "delayed_release_capsule"
    ),
    "dlx_tlag_label": lambda: float(individual_parameters("duloxetine").values["tlag"]),
    "tra_cyp2d6_slow": lambda: (
        individual_parameters("tramadol", Patient().with_genotype(CYP2D6="PM")).values["CL_form"]
        / individual_parameters("tramadol").values["CL_form"]
    ),
}


#: cited steady-state levels at a daily dose, for the levels table: (drug, daily mg,
#: every h, comparison id whose observed value is that level)
_SS_LEVEL_ROWS: tuple[tuple[str, str, float, float, str], ...] = (
    ("venlafaxine", "venlafaxine", 75.0, 12.0, "ven_css_75"),
    ("venlafaxine", "o_desmethylvenlafaxine", 75.0, 12.0, "odv_css_75"),
    ("venlafaxine", "venlafaxine", 150.0, 12.0, "ven_css_150"),
    ("venlafaxine", "o_desmethylvenlafaxine", 150.0, 12.0, "odv_css_150"),
    ("fluoxetine", "fluoxetine", 40.0, 24.0, "flx_css_40"),
    ("fluoxetine", "norfluoxetine", 40.0, 24.0, "nflx_css_40"),
    ("sertraline", "sertraline", 100.0, 24.0, "ser_css_100_nm"),
    ("sertraline", "n_desmethylsertraline", 100.0, 24.0, "dms_css_100_nm"),
    ("imipramine", "imipramine", 100.0, 24.0, "imi_css_em"),
    ("imipramine", "desipramine", 100.0, 24.0, "dmi_css_em"),
    ("paroxetine", "paroxetine", 30.0, 24.0, "par_em_aucss"),
    ("imipramine", "imipramine", 150.0, 8.0, "imi_css_150_fachinfo"),
    ("imipramine", "desipramine", 150.0, 8.0, "dmi_css_150_fachinfo"),
    ("nortriptyline", "nortriptyline", 50.0, 24.0, "nt_css_elderly_dawling1981"),
)

#: doses used where the knowledge base has no neuropathic-pain dose: (daily mg, every h, where
#: the dose comes from). Those of the cited steady-state studies (Sindrup 1992, Swiss PI,
#: Braten 2020) or a labelled dose; "illustrative" where none is cited.
_ILLUSTRATIVE = "illustrative dose (no dose for this drug in the KB)"
_STUDY_DOSES: dict[str, tuple[tuple[float, float, str], ...]] = {
    "paroxetine": ((20.0, 24.0, _ILLUSTRATIVE), (40.0, 24.0, _ILLUSTRATIVE)),
    "fluoxetine": ((20.0, 24.0, _ILLUSTRATIVE),),
    "sertraline": ((50.0, 24.0, _ILLUSTRATIVE),),
    "citalopram": ((20.0, 24.0, _ILLUSTRATIVE), (40.0, 24.0, _ILLUSTRATIVE)),
    "escitalopram": ((10.0, 24.0, _ILLUSTRATIVE), (20.0, 24.0, _ILLUSTRATIVE)),
    "milnacipran": (
        (100.0, 12.0, "labelled dose, 50 mg twice daily (savella_label_dailymed)"),
        (200.0, 12.0, "labelled maximum, 100 mg twice daily (savella_label_dailymed)"),
    ),
}


@dataclass(frozen=True)
class LevelRow:
    """Predicted steady-state level of the TDM analytes at one daily dose."""

    drug: str
    analytes: str
    daily_mg: float
    every_h: float
    dose_source: str
    cavg: float
    trough: float
    tdm_range: tuple[float, float] | None
    tdm_source: str
    observed: float | None = None
    observed_source: str = ""

    @property
    def position(self) -> str:
        if self.tdm_range is None:
            return "no TDM range"
        lo, hi = self.tdm_range
        return "below" if self.trough < lo else "above" if self.trough > hi else "in range"


def _ss_levels(
    drug: str, daily: float, every: float, analytes: Sequence[str] = ()
) -> tuple[float, float]:
    """(Cavg, trough) at steady state of ``analytes`` (default: the drug's TDM analytes),
    typical NM patient."""
    spec = get_pkmodel(drug)
    ps = individual_parameters(drug)
    dose = daily * every / 24.0
    names = list(analytes) or spec.tdm_sum or spec.analytes[:1]
    if ps.model.saturable:
        n = 40 * int(24.0 // every) if every <= 24 else 40
        t = np.linspace((n - 1) * every, n * every, 241)
        c = concentrations(
            ps.model, ps.values, Regimen((DoseEvent(amt=dose, time=0.0, ii=every, addl=n - 1),)), t
        )
    else:
        t = np.linspace(0.0, every, 241)
        c = concentrations(
            ps.model, ps.values, Regimen((DoseEvent(amt=dose, time=0.0, ii=every, ss=1),)), t
        )
    tot = sum(c[a][0] for a in names)
    cavg = float(np.sum(0.5 * (tot[1:] + tot[:-1]) * np.diff(t)) / (t[-1] - t[0]))
    return cavg, float(tot.min())


def levels_table() -> list[LevelRow]:
    """Predicted steady-state levels at usual doses vs the TDM range and cited levels.

    Doses: the knowledge base's neuropathic-pain ``usual_low``/``usual_high`` (divided as
    its ``divided_doses`` says, else once daily), otherwise the dose of a cited
    steady-state study. Issue 14 item 8.
    """
    from neurodose.knowledge.registry import get_drug
    from neurodose.pk.parameters import pkmodel_names

    comps = comparisons()
    rows: list[LevelRow] = []
    for drug in sorted(pkmodel_names()):
        rec = get_drug(drug)
        q = rec.tdm.reference_range if rec.tdm is not None else None
        rng = None
        if q is not None:
            f = q.canonical() / q.point if q.point else 1.0
            lo = q.low if q.low is not None else q.point
            hi = q.high if q.high is not None else q.point
            rng = (float(lo * f), float(hi * f))
        tdm_src = f"{q.source}{'' if q.verified else ' (UNVERIFIED)'}" if q is not None else ""
        g = rec.doses.get("neuropathic_pain")
        plan: list[tuple[float, float, str]] = []
        if g is not None and g.usual_low is not None and g.usual_high is not None:
            div = 1
            if g.divided_doses is not None:
                div = int(g.divided_doses.low or g.divided_doses.point)
            for qd in (g.usual_low, g.usual_high):
                plan.append((qd.canonical(), 24.0 / div, f"KB pain dose ({qd.source})"))
        plan.extend(_STUDY_DOSES.get(drug, ()))
        tdm_names = "+".join(get_pkmodel(drug).tdm_sum)
        for daily, every, src in plan:
            cavg, trough = _ss_levels(drug, daily, every)
            rows.append(LevelRow(drug, tdm_names, daily, every, src, cavg, trough, rng, tdm_src))
        for d2, analyte, daily, every, cid in _SS_LEVEL_ROWS:
            if d2 != drug:
                continue
            cavg, trough = _ss_levels(drug, daily, every, [analyte])
            c = comps[cid]
            obs = c.observed.canonical()
            if c.observed.dimension == "exposure":  # AUC over the interval -> mean level
                obs = obs / every
            rows.append(
                LevelRow(
                    drug,
                    analyte,
                    daily,
                    every,
                    "dose of the cited steady-state data",
                    cavg,
                    trough,
                    None,
                    "",
                    observed=obs,
                    observed_source=f"{c.observed.source} ({cid}, {c.kind})",
                )
            )
    return rows


def levels_markdown(rows: Sequence[LevelRow] | None = None) -> str:
    """The levels table as markdown."""
    rows = levels_table() if rows is None else rows
    lines = [
        "| drug | analytes | daily dose | dose from | predicted Cavg,ss (ng/mL) | "
        "predicted trough | TDM range (ng/mL, source) | trough vs range | cited mean level | "
        "pred/obs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rng = f"{r.tdm_range[0]:g}-{r.tdm_range[1]:g} ({r.tdm_source})" if r.tdm_range else "–"
        pos = r.position if r.observed is None else "–"
        obs = f"{r.observed:.4g} ({r.observed_source})" if r.observed is not None else "–"
        ratio = f"{r.cavg / r.observed:.2f}" if r.observed else "–"
        lines.append(
            f"| {r.drug} | {r.analytes} | {r.daily_mg:g} mg (every {r.every_h:g} h) | "
            f"{r.dose_source} | {r.cavg:.3g} | {r.trough:.3g} | {rng} | {pos} | {obs} | {ratio} |"
        )
    return "\n".join(lines)


def run(ids: Sequence[str] | None = None) -> list[Result]:
    """Evaluate comparisons (all, or ``ids``)."""
    comps = comparisons()
    missing = set(comps) - set(PREDICT)
    if missing:
        raise KnowledgeBaseError(f"_validation.toml: no prediction for {sorted(missing)}")
    out = []
    for cid in ids if ids is not None else list(comps):
        if cid not in comps:
            raise UnknownNameError("comparison", cid, comps)
        c = comps[cid]
        ind, shared_keys, basis = independence(c)
        out.append(
            Result(
                id=c.id,
                drug=c.drug,
                kind=c.kind,
                description=c.description,
                observed=c.observed.canonical(),
                unit=c.observed.unit,
                predicted=float(PREDICT[cid]()),
                source=c.observed.source,
                locator=c.observed.locator,
                low_trust=c.observed.low_trust,
                independent=ind,
                shared_sources=shared_keys,
                independence_basis=basis,
            )
        )
    return out


def gmfe(results: Sequence[Result]) -> float:
    """Geometric mean fold error 10^mean(|log10(pred/obs)|)."""
    return float(10 ** np.mean([abs(math.log10(r.ratio)) for r in results]))


def summary_stats(results: Sequence[Result]) -> dict[str, float]:
    """GMFE and fraction within 2-fold of the ``validation`` rows, all of them and the
    independent ones (``*_independent``)."""
    val = [r for r in results if r.kind == "validation"]
    ind = [r for r in val if r.independent]
    return {
        "n": float(len(val)),
        "gmfe": gmfe(val),
        "fraction_within_2fold": float(np.mean([r.within_2fold for r in val])),
        "n_independent": float(len(ind)),
        "gmfe_independent": gmfe(ind) if ind else math.nan,
        "fraction_within_2fold_independent": (
            float(np.mean([r.within_2fold for r in ind])) if ind else math.nan
        ),
    }


def _table(rows: Sequence[Result]) -> str:
    lines = [
        "| id | description | observed | predicted | pred/obs | within 2-fold | independent "
        "| source (locator) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lt = " (low trust)" if r.low_trust else ""
        lines.append(
            f"| {r.id} | {r.description} | {r.observed:.4g} {r.unit} | {r.predicted:.4g} | "
            f"{r.ratio:.2f} | {'yes' if r.within_2fold else 'NO'} | {_independence_cell(r)} | "
            f"{r.source}{lt} ({r.locator}) |"
        )
    return "\n".join(lines)


def _independence_cell(r: Result) -> str:
    word = "yes" if r.independent else "no"
    why = []
    if r.shared_sources:
        why.append("shares " + ", ".join(r.shared_sources))
    if r.independence_basis != "automatic":
        why.append(r.independence_basis)
    return word + (f" ({'; '.join(why)})" if why else "")


def _fig_ratios(plt: object, res: Sequence[Result], stats: dict[str, float], fig_dir: Path) -> None:
    """Figure 1: predicted / observed per comparison (filled: independent validation)."""
    colors = {
        "validation": "tab:blue",
        "calibration_check": "tab:orange",
        "consistency": "tab:gray",
    }
    fig, ax = plt.subplots(figsize=(9, 8))  # type: ignore[attr-defined]
    for i, r in enumerate(res):
        ax.scatter(
            r.ratio,
            i,
            color=colors[r.kind],
            marker="o" if not r.low_trust else "s",
            facecolors=colors[r.kind] if r.independent or r.kind != "validation" else "none",
        )
    ax.axvspan(0.5, 2.0, color="green", alpha=0.08)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(res)))
    ax.set_yticklabels([r.id for r in res], fontsize=6)
    ax.set_xlabel("predicted / observed (green: within 2-fold; open: validation, not independent)")
    handles = [plt.Line2D([], [], color=c, marker="o", ls="") for c in colors.values()]  # type: ignore[attr-defined]
    ax.legend(handles, list(colors), fontsize=8, loc="lower right")
    ax.set_title(
        f"PK comparisons (validation n={int(stats['n'])}, "
        f"{100 * stats['fraction_within_2fold']:.0f} % within 2-fold; independent "
        f"n={int(stats['n_independent'])}, "
        f"{100 * stats['fraction_within_2fold_independent']:.0f} %)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(fig_dir / "pk_validation_ratios.png", dpi=100)
    plt.close(fig)  # type: ignore[attr-defined]


def _fig_gabapentin(plt: object, res: Sequence[Result], fig_dir: Path) -> None:
    """Figure 2: gabapentin F vs dose."""
    fig, ax = plt.subplots(figsize=(6, 4))  # type: ignore[attr-defined]
    daily = np.linspace(300, 5000, 200)
    ax.plot(daily, [_gbp_f(d) for d in daily], label="Al-Zubaydi/Carlsson F = Dmax/(D50 + dose)")
    pts = [r for r in res if r.id.startswith("gbp_f_")]
    ax.scatter(
        [float(r.id.split("_")[-1]) for r in pts],
        [r.observed for r in pts],
        color="k",
        label="Neurontin label (TID)",
    )
    ax.set_xlabel("daily dose (mg, TID)")
    ax.set_ylabel("bioavailability")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(fig_dir / "pk_gabapentin_F.png", dpi=100)
    plt.close(fig)  # type: ignore[attr-defined]


def _fig_ami_cyp2d6(plt: object, res: Sequence[Result], fig_dir: Path) -> None:
    """Figure 3: AMI+NT ratios by CYP2D6 phenotype (calibration check)."""
    fig, ax = plt.subplots(figsize=(6, 4))  # type: ignore[attr-defined]
    ph = ["PM", "IM", "UM"]
    obs = [next(r for r in res if r.id == f"ami_dpwg_{p.lower()}") for p in ph]
    x = np.arange(3)
    ax.bar(x - 0.2, [r.observed for r in obs], 0.4, label="DPWG-implied (1/dose factor)")
    ax.bar(x + 0.2, [r.predicted for r in obs], 0.4, label="model (calibrated CYP2D6 share)")
    ax.set_xticks(x)
    ax.set_xticklabels(ph)
    ax.set_ylabel("AMI+NT steady-state AUC ratio vs NM")
    ax.set_title("Calibration check (not validation)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(fig_dir / "pk_ami_cyp2d6_calibration.png", dpi=100)
    plt.close(fig)  # type: ignore[attr-defined]


def _fig_ami_population(plt: object, fig_dir: Path) -> None:
    """Figure 4: AMI 25 mg nightly, population band vs TDM range."""
    from neurodose.pk import population

    reg = Regimen.oral("25 mg", clock="22:00", days=28)
    times = np.arange(0.0, 34 * 24 + 1.0)
    typ = _conc("amitriptyline", reg, times)
    pop = population.sample("amitriptyline", 1000, seed=1, draw_genotypes=True)
    pc = population.simulate_population(pop, reg, times)
    tot_p = population.percentiles(pc["amitriptyline"] + pc["nortriptyline"])
    fig, ax = plt.subplots(figsize=(8, 4))  # type: ignore[attr-defined]
    td = times / 24
    ax.fill_between(
        td,
        tot_p["p05"],
        tot_p["p95"],
        alpha=0.3,
        label="AMI+NT 5-95 % (1000 subjects, IIV + drawn genotypes)",
    )
    ax.plot(td, tot_p["p50"], "--", label="AMI+NT median")
    ax.plot(td, typ["amitriptyline"] + typ["nortriptyline"], label="AMI+NT typical (NM/NM)")
    tdm = record("amitriptyline").tdm
    if tdm is not None and tdm.reference_range is not None:
        q = tdm.reference_range
        ax.axhspan(
            q.low or 0.0,
            q.high or 0.0,
            color="green",
            alpha=0.1,
            label=f"TDM range {q.low:g}-{q.high:g} ng/mL (depression; {q.source})",
        )
    ax.set_xlabel("day (25 mg at 22:00 for 28 days)")
    ax.set_ylabel("ng/mL")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(fig_dir / "pk_ami_25mg_population.png", dpi=100)
    plt.close(fig)  # type: ignore[attr-defined]


def _summary_head(stats: dict[str, float]) -> str:
    def met(x: float) -> str:
        return "met" if x >= 0.9 else "NOT met"

    fi = stats["fraction_within_2fold_independent"]
    return (
        f"Validation rows: n = {int(stats['n'])}, GMFE = {stats['gmfe']:.2f}, "
        f"{100 * stats['fraction_within_2fold']:.0f} % within 2-fold "
        f"(acceptance: >= 90 %: {met(stats['fraction_within_2fold'])}). "
        f"Independent of the parameters' sources: n = {int(stats['n_independent'])} "
        f"(target >= 25), GMFE = {stats['gmfe_independent']:.2f}, {100 * fi:.0f} % within "
        f"2-fold (acceptance: >= 90 %: {met(fi)})."
    )


def report(fig_dir: Path) -> str:
    """Markdown tables and figures (matplotlib imported here only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = run()
    stats = summary_stats(res)
    fig_dir.mkdir(parents=True, exist_ok=True)
    _fig_ratios(plt, res, stats, fig_dir)
    _fig_gabapentin(plt, res, fig_dir)
    _fig_ami_cyp2d6(plt, res, fig_dir)
    _fig_ami_population(plt, fig_dir)
    parts = []
    for kind, title in (
        ("validation", "Validation (values not used to build the model)"),
        ("calibration_check", "Calibration checks (a parameter was fitted or solved to these)"),
        ("consistency", "Consistency checks (values encoded or derived into the model)"),
    ):
        parts.append(f"### {title}\n\n" + _table([r for r in res if r.kind == kind]))
    parts.append(
        "### Steady-state levels at usual doses (issue 14 item 8)\n\n"
        "Typical patient (CYP NM, reference covariates). The TDM ranges are therapeutic "
        "ranges for depression (AGNP 2017 or laboratory ranges), not pain targets; "
        "'cited level' rows compare the mean steady-state level with a published one "
        "(those ids are also in the tables above).\n\n" + levels_markdown()
    )
    return _summary_head(stats) + "\n\n" + "\n\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/figures")
    print(report(out))
