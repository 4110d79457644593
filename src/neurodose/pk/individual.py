"""Individual parameters: covariates, genotype and interactions on specific pathways.

A clearance ``P`` with pathways ``(enzyme_i, fraction_i)`` becomes
``P * [(1 - sum f_i) + sum f_i * m_i]`` where ``m_i`` is the enzyme multiplier:
``m = m_genotype / S * prod(m_inducer)`` with ``S`` the inhibitor's strength factor
(``1 + [I]/Ki``: the AUC ratio of a fully sensitive substrate, from the FDA
strong/moderate/weak bands in ``_shared.toml``, ``1/S`` stored). For one pathway that
is the fm-based static model ``AUCR = 1 / (fm / S + 1 - fm)``, with no cap: a normal
metaboliser of a drug whose clearance is all CYP2D6 (fm 1) reaches ``S`` (5-fold with a
strong inhibitor). Only a poor metaboliser (the knowledge base's PM value) is left
unchanged by an inhibitor: no enzyme activity is left to inhibit.
Inhibitor/inducer multipliers come from a measured value in the drug's PK file
when there is one, else from the perpetrator's FDA strength (knowledge-base
``interactions.inhibits/induces``) mapped by ``_shared.toml``. Interactions that
start or stop change gradually (exponential onset/offset, assumed time
constants, ``verified = false``) and are applied piecewise-constant.

>>> ps = individual_parameters("amitriptyline")
>>> round(ps.values["CL_form"] + ps.values["CL_other"], 1)
70.0
>>> pm = individual_parameters("amitriptyline", Patient().with_genotype(CYP2C19="PM"))
>>> round(pm.values["CL_form"], 2)
4.9
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from neurodose import citations
from neurodose.case.patient import Comedication, Patient
from neurodose.errors import InputError, KnowledgeBaseError, PatientError
from neurodose.errors import ref as field_ref
from neurodose.knowledge.registry import record, resolve_name
from neurodose.pk.model import PKModel
from neurodose.pk.parameters import Covariate, PKModelSpec, get_pkmodel, shared

__all__ = [
    "ConcentrationDriver",
    "ParameterSet",
    "apply_etas",
    "concentration_driver",
    "covariate_values",
    "enzyme_effects",
    "get_model",
    "individual_parameters",
    "terminal_half_lives",
]

_SEGMENT_STEPS = 6  # piecewise-constant steps per time constant during onset/offset
_SEGMENT_SPAN = 5.0  # time constants after which the effect is taken as complete


def get_model(drug: str) -> PKModel:
    """The model structure of ``drug`` (see :class:`~neurodose.pk.model.PKModel`)."""
    spec = get_pkmodel(drug)
    return PKModel(spec.structure, tuple(spec.analytes), spec.name)


@dataclass(frozen=True)
class ParameterSet:
    """Typical individual values for one patient (canonical units), with provenance.

    Attributes
    ----------
    values : dict[str, float]
        Parameters at baseline (co-medications taken throughout included).
    changes : list of (t_h, dict)
        Piecewise-constant parameter sets from ``t_h`` on (time-varying interactions).
    eta_names : tuple of str
        Names of the IIV etas (the estimated parameters for MAP).
    eta_applies : dict[str, tuple[str, ...]]
        Parameters each eta multiplies (``param * exp(eta)``).
    omega : ndarray (n_eta, n_eta)
        Covariance of eta (log scale).
    residual : dict[str, float]
        ``proportional`` (fraction) and/or ``additive`` (ng/mL) SDs.
    fu : dict[str, float]
        Unbound fraction per analyte.
    sources : tuple of str
    notes : tuple of str
        What was assumed or could not be applied (e.g. no quantitative value).
    """

    drug: str
    model: PKModel
    values: dict[str, float]
    changes: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    eta_names: tuple[str, ...] = ()
    eta_applies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    omega: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    residual: dict[str, float] = field(default_factory=dict)
    fu: dict[str, float] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()

    def apply_etas(
        self, eta: NDArray[np.float64], base: Mapping[str, float] | None = None
    ) -> dict[str, NDArray[np.float64]]:
        """Parameters for eta draws ``(n, n_eta)``: ``param * exp(eta)`` (see
        :func:`apply_etas`), from ``base`` (default: this set's values)."""
        return apply_etas(
            self.values if base is None else base, self.eta_names, self.eta_applies, eta
        )


def apply_etas(
    base: Mapping[str, float | NDArray[np.float64]],
    eta_names: Sequence[str],
    eta_applies: Mapping[str, Sequence[str]],
    eta: NDArray[np.float64],
) -> dict[str, NDArray[np.float64]]:
    """Individual parameters for rows of ``eta`` ``(n, n_eta)``: every parameter that
    eta ``j`` applies to is multiplied by ``exp(eta[:, j])`` (log-normal IIV).

    The one implementation of the IIV model: :meth:`ParameterSet.apply_etas`, the
    population sampler (:func:`neurodose.pk.population.sample`) and MAP estimation
    (:class:`neurodose.mipd.model.PriorModel`) all call it.

    Parameters
    ----------
    base : mapping name -> float or array (n,)
        Typical values (canonical units); arrays give one value per row.
    eta_names : sequence of str
        Names of the etas, in the column order of ``eta``.
    eta_applies : mapping eta name -> parameter names
        The parameters each eta multiplies.
    eta : array (n, n_eta)

    Returns
    -------
    dict
        ``{name: array (n,)}`` for every parameter of ``base``.

    >>> eta = np.array([[0.0], [np.log(2.0)]])
    >>> out = apply_etas({"CL": 10.0, "V": 100.0}, ("CL",), {"CL": ("CL",)}, eta)
    >>> out["CL"].tolist(), out["V"].tolist()
    ([10.0, 20.0], [100.0, 100.0])
    """
    eta = np.atleast_2d(np.asarray(eta, dtype=np.float64))
    n = eta.shape[0]
    out = {
        k: np.array(np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))) for k, v in base.items()
    }
    for j, name in enumerate(eta_names):
        for p in eta_applies[name]:
            out[p] = out[p] * np.exp(eta[:, j])
    return out


def covariate_values(
    patient: Patient, spec: PKModelSpec | None = None
) -> dict[str, float | str | bool | None]:
    """Covariates with derived ones (IBW, BMI, SCr from CrCl by Cockcroft-Gault)."""
    sh = shared()
    crcl = patient.renal_function
    if crcl is not None and crcl <= 0:
        raise PatientError(
            "crcl", crcl, "> 0 mL/min (the PK covariate models need a positive CrCl)"
        )
    cov: dict[str, float | str | bool | None] = {
        "age": patient.age,
        "sex": patient.sex,
        "weight": patient.weight,
        "smoker": patient.smoker,
        "crcl": crcl,
        "scr": patient.scr,
        "hepatic": patient.hepatic,
        "ibw": None,
        "bmi": None,
    }
    if patient.height_cm is not None:
        inches = patient.height_cm / 2.54
        if patient.sex is not None:
            base = sh.devine["male_base" if patient.sex == "male" else "female_base"].canonical()
            cov["ibw"] = base + sh.devine["per_inch"].canonical() * (inches - 60.0)
            citations.register("devine1974")
        if patient.weight is not None:
            cov["bmi"] = patient.weight / (patient.height_cm / 100.0) ** 2
    cg = sh.cockcroft_gault
    if (
        patient.scr is None
        and crcl is not None
        and None
        not in (
            patient.age,
            patient.weight,
            patient.sex,
        )
    ):
        assert patient.age is not None and patient.weight is not None
        f = cg["female"].canonical() if patient.sex == "female" else 1.0
        num = (cg["numerator_age"].canonical() - patient.age) * patient.weight * f
        if num > 0:
            cov["scr"] = num / (cg["denominator"].canonical() * crcl)
            citations.register("cockcroft_gault1976")
    if (
        crcl is None
        and patient.scr is not None
        and None not in (patient.age, patient.weight, patient.sex)
    ):
        # the other direction: a CrCl-driven model (pregabalin, milnacipran) given a serum
        # creatinine and the Cockcroft-Gault inputs
        assert patient.age is not None and patient.weight is not None
        f = cg["female"].canonical() if patient.sex == "female" else 1.0
        num = (cg["numerator_age"].canonical() - patient.age) * patient.weight * f
        if num > 0 and patient.scr > 0:
            cov["crcl"] = num / (cg["denominator"].canonical() * patient.scr)
            citations.register("cockcroft_gault1976")
    return cov


def _strength_multiplier(kind: str, strength: str) -> tuple[float | None, str]:
    table = shared().inhibition if kind == "inhibits" else shared().induction
    q = table.get(strength)
    if q is None:
        return None, f"no quantitative mapping for strength {strength!r} ({kind})"
    citations.register(q.source)
    return q.canonical(), q.source


def enzyme_effects(
    spec: PKModelSpec, comed: Comedication
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Class-based inhibition and induction multipliers of one co-medication on the
    enzymes of ``spec``'s pathways: ``(inhibition, induction, notes)``."""
    name = resolve_name(comed.drug)  # UnknownDrugError with close names
    rec = record(name)  # cite only the effects applied
    enzymes = {p.enzyme for p in spec.pathways}
    inh: dict[str, float] = {}
    ind: dict[str, float] = {}
    notes: list[str] = []
    override = shared().strength_override.get(name)
    for e in rec.interactions.inhibits:
        if e.enzyme not in enzymes:
            continue
        strength = override.strength if override is not None else e.strength
        if override is not None:
            citations.register(override.source)
        m, why = _strength_multiplier("inhibits", strength)
        if m is None:
            notes.append(f"{name} inhibits {e.enzyme} ({strength}): {why}; not applied")
            continue
        inh[e.enzyme] = inh.get(e.enzyme, 1.0) * m
        citations.register(e.source)
    for e in rec.interactions.induces:
        if e.enzyme not in enzymes or e.enzyme == "CYP2D6":
            continue
        m, why = _strength_multiplier("induces", e.strength)
        if m is None:
            notes.append(f"{name} induces {e.enzyme} ({e.strength}): {why}; not applied")
            continue
        ind[e.enzyme] = ind.get(e.enzyme, 1.0) * m
        citations.register(e.source)
    return inh, ind, notes


def _weight_scaled(spec: PKModelSpec, patient: Patient, notes: list[str]) -> dict[str, float]:
    """Structural parameters in canonical units, per-kg ones times the patient's weight
    (the reference weight, with a note, when none is given)."""
    vals: dict[str, float] = {}
    for name, q in spec.parameters.items():
        v = q.canonical()
        if q.dimension in ("volume_per_mass", "clearance_per_mass"):
            if patient.weight is None:
                ref = shared().reference_patient["weight"]
                weight_used = ref.canonical()
                citations.register(ref.source)
                notes.append(
                    f"{name}: weight-normalised; no weight given, {weight_used:g} kg assumed"
                )
            else:
                weight_used = patient.weight
            v = v * weight_used
        vals[name] = v
    return vals


def _categorical_factor(c: Covariate, x: object, notes: list[str]) -> float:
    """Factor of a categorical covariate (1 when the patient is not in its level)."""
    assert c.level is not None and c.factor is not None
    level = str(x).lower() if isinstance(x, bool) else str(x)
    if x is not None and level == c.level:
        return c.factor.canonical()
    if x is None and c.covariate != "hepatic":
        notes.append(f"{c.parameter}: {c.covariate} not given; reference category used")
    return 1.0


def _renal_input_error(spec: PKModelSpec, c: Covariate, patient: Patient) -> PatientError | None:
    """The error for a renal function given in a form this model cannot use."""
    if c.covariate == "crcl" and patient.scr is not None:
        return PatientError(
            "crcl",
            None,
            f"a creatinine clearance ({field_ref('crcl')}, mL/min): {spec.name}'s "
            "clearance model uses it; a serum creatinine is converted to it only with "
            "age, weight and sex given (Cockcroft-Gault)",
        )
    if c.covariate == "scr" and patient.renal_function is not None:
        # a renal function was given but cannot reach this model: say so
        return PatientError(
            "scr",
            None,
            f"serum creatinine ({field_ref('scr')}, mg/dL): {spec.name}'s clearance "
            "model uses it; a creatinine clearance is converted to it only with age, "
            "weight and sex given (Cockcroft-Gault)",
        )
    return None


def _continuous_factor(
    spec: PKModelSpec, c: Covariate, x: object, patient: Patient, notes: list[str]
) -> float:
    """Factor of a power or renal-fraction covariate (1, with a note, when not given)."""
    assert c.reference is not None
    if x is None:
        err = _renal_input_error(spec, c, patient)
        if err is not None:
            raise err
        notes.append(
            f"{c.parameter}: {c.covariate} not given; model reference "
            f"{c.reference.point:g} used (no covariate effect)"
        )
        return 1.0
    xv = float(x)  # type: ignore[arg-type]
    if c.cap is not None:
        xv = min(xv, c.cap.point)
    if c.kind == "renal_fraction":
        assert c.fraction is not None
        f = c.fraction.point
        return (1.0 - f) + f * xv / c.reference.point
    assert c.exponent is not None
    return float((xv / c.reference.point) ** c.exponent.point)


def _typical(spec: PKModelSpec, patient: Patient, notes: list[str]) -> dict[str, float]:
    vals = _weight_scaled(spec, patient, notes)
    cov = covariate_values(patient, spec)
    for c in spec.covariates:
        x = cov.get(c.covariate)
        if c.kind == "categorical":
            vals[c.parameter] *= _categorical_factor(c, x, notes)
        else:
            vals[c.parameter] *= _continuous_factor(spec, c, x, patient, notes)
    if patient.hepatic is not None and not any(
        c.covariate == "hepatic" and c.level == patient.hepatic for c in spec.covariates
    ):
        notes.append(
            f"hepatic class {patient.hepatic}: no quantitative PK effect in the "
            "knowledge base; not applied"
        )
    return vals


def _genotype_multiplier(
    spec: PKModelSpec, enzyme: str, patient: Patient, notes: list[str] | None
) -> tuple[float, bool]:
    """(multiplier, is a poor metaboliser with a knowledge-base PM value) of ``enzyme``.

    A phenotype the drug's table lacks is named in the notes as an unknown effect (the
    number is then the normal metaboliser's, and the note says it does not describe this
    phenotype)."""
    table = spec.genotype.get(enzyme, {})
    ph = patient.phenotype(enzyme)
    if ph is None:
        return 1.0, False
    if ph in table:
        return table[ph].canonical(), ph == "PM"
    if notes is not None:
        notes.append(
            f"{enzyme} {ph}: effect on {spec.name} UNKNOWN (no quantitative value in the "
            "knowledge base); the numbers are a normal metaboliser's and do not describe "
            "this phenotype"
        )
    return 1.0, False


def _pathway_multipliers(
    spec: PKModelSpec,
    patient: Patient,
    inh: Mapping[str, float],
    ind: Mapping[str, float],
    notes: list[str] | None,
) -> dict[str, float]:
    """Enzyme multiplier per enzyme of the model's pathways (fm-based, no cap)."""
    out: dict[str, float] = {}
    for enzyme in sorted({p.enzyme for p in spec.pathways}):
        m_geno, poor = _genotype_multiplier(spec, enzyme, patient, notes)
        m = m_geno
        if enzyme in inh:
            if poor:
                if notes is not None:
                    notes.append(
                        f"{enzyme}: poor metaboliser, so the inhibitor adds nothing "
                        "(no enzyme activity left to inhibit)"
                    )
            else:
                m = m_geno * inh[enzyme]
                if notes is not None:
                    notes.append(_inhibition_note(spec, enzyme, inh[enzyme], m))
        out[enzyme] = m * ind.get(enzyme, 1.0)
    return out


def _inhibition_note(spec: PKModelSpec, enzyme: str, m_inh: float, m: float) -> str:
    """Names the fm-based fold change of each inhibited pathway (and a PM value it passes)."""
    parts = []
    for p in spec.pathways:
        if p.enzyme != enzyme:
            continue
        fm = p.fraction.canonical()
        parts.append(
            f"{p.parameter} fm {fm:g}: AUC ratio 1/(fm/S + 1 - fm) = "
            f"{1.0 / (fm * m_inh + 1.0 - fm):.2g} at S = {1.0 / m_inh:.3g}"
        )
    pm = spec.genotype.get(enzyme, {}).get("PM")
    extra = ""
    if pm is not None and m < pm.canonical():
        extra = (
            f"; below the knowledge base's PM value {pm.canonical():g} ({pm.source}): the PM "
            "value and the pathway fraction disagree, both are shown"
        )
    return f"{enzyme} inhibition of {spec.name} (fm-based, no cap): " + "; ".join(parts) + extra


def _apply_pathways(
    spec: PKModelSpec, base: Mapping[str, float], mult: Mapping[str, float]
) -> dict[str, float]:
    vals = dict(base)
    by_param: dict[str, list[tuple[float, str]]] = {}
    for p in spec.pathways:
        by_param.setdefault(p.parameter, []).append((p.fraction.canonical(), p.enzyme))
    for param, items in by_param.items():
        total = sum(f for f, _ in items)
        if total > 1.0 + 1e-9:
            raise KnowledgeBaseError(
                f"{spec.name}: pathway fractions of {param} sum to {total} > 1"
            )
        vals[param] = base[param] * ((1.0 - total) + sum(f * mult.get(e, 1.0) for f, e in items))
    return vals


def _measured(spec: PKModelSpec, comed: Comedication) -> dict[str, float]:
    name = resolve_name(comed.drug)
    out: dict[str, float] = {}
    for mi in spec.interactions:
        if mi.perpetrator == name:
            out[mi.parameter] = out.get(mi.parameter, 1.0) * mi.multiplier.canonical()
            citations.register(mi.multiplier.source)
    return out


def _effect_fraction(c: Comedication, t: float, kind: str) -> float:
    """Fraction (0..1) of the full effect at time ``t`` (exponential onset/offset)."""
    tc = shared().time_constants
    name = resolve_name(c.drug)
    on = tc[f"{kind}_onset"].canonical()
    off_key = f"{name}_offset" if f"{name}_offset" in tc else f"{kind}_offset"
    off = tc[off_key].canonical()
    start = -math.inf if c.start_h is None else c.start_h
    if t < start:
        return 0.0
    e = 1.0 if c.start_h is None else 1.0 - math.exp(-(t - start) / on)
    if c.stop_h is not None and t >= c.stop_h:
        e_stop = 1.0 if c.start_h is None else 1.0 - math.exp(-(c.stop_h - start) / on)
        e = e_stop * math.exp(-(t - c.stop_h) / off)
    return e


#: largest change of the effect fraction within one piecewise-constant segment when the
#: effect follows the inhibitor's own concentration
_DRIVER_TOLERANCE = 0.02


@dataclass(frozen=True)
class ConcentrationDriver:
    """Effect fraction (0..1) of an inhibitor that follows its own concentration.

    ``fraction(t) = min(1, C(t) / C_ss)``: the inhibitor's summed analyte concentration
    (e.g. fluoxetine + norfluoxetine), averaged over one dosing interval, relative to its
    steady-state average at the same dose. The class strength (FDA band) is the effect
    at therapeutic steady state; below it the log-multiplier scales with this fraction
    (an assumption: no inhibition constants are in the evidence). So an inhibitor with
    long-lived analytes (norfluoxetine) keeps acting for weeks after it is stopped.
    """

    drug: str
    t: NDArray[np.float64]
    fraction: NDArray[np.float64]
    boundaries: tuple[float, ...]

    def __call__(self, t: float) -> float:
        return float(np.interp(t, self.t, self.fraction))


def concentration_driver(c: Comedication, horizon_h: float) -> ConcentrationDriver | None:
    """The concentration-driven effect of ``c`` (None when it cannot be computed: no dose,
    no PK model for the inhibitor, or the co-medication does not start or stop)."""
    from neurodose.case.regimen import DoseEvent, Regimen
    from neurodose.pk.parameters import pkmodel_names
    from neurodose.pk.solve import concentrations

    if not c.time_varying or c.dose_mg is None:
        return None
    name = resolve_name(c.drug)
    if name not in pkmodel_names():
        return None
    every = float(c.every_h or 24.0)
    ps = individual_parameters(name)
    hl = max(terminal_half_lives(ps).values())
    if ps.model.saturable:
        hl = max(hl, math.log(2.0) * ps.values["V"] / ps.values["CL"])
    t_on = c.start_h if c.start_h is not None else -math.ceil(10.0 * hl / every) * every
    t_off = c.stop_h if c.stop_h is not None else horizon_h + every
    n_doses = max(1, math.ceil((t_off - t_on) / every - 1e-9))
    end = min(horizon_h, t_off + 7.0 * hl)
    if end <= t_on:
        return None
    sub = 8
    s = np.arange(0.0, end - t_on + every, every / sub)
    reg = Regimen((DoseEvent(amt=float(c.dose_mg), time=0.0, ii=every, addl=n_doses - 1),))
    conc = concentrations(ps.model, ps.values, reg, s)
    total = sum(v[0] for v in conc.values())
    kernel = np.ones(sub) / sub
    avg = np.convolve(total, kernel, mode="full")[: total.size]  # trailing interval mean
    # steady-state average at this dose: ten (longest) half-lives of dosing, last interval
    n_ss = max(2, math.ceil(10.0 * hl / every) + 1)
    t_ss = np.linspace((n_ss - 1) * every, n_ss * every, 4 * sub + 1)
    reg_ss = Regimen((DoseEvent(amt=float(c.dose_mg), time=0.0, ii=every, addl=n_ss - 1),))
    c_ss = sum(v[0] for v in concentrations(ps.model, ps.values, reg_ss, t_ss).values())
    ref = float(np.mean(0.5 * (c_ss[1:] + c_ss[:-1])))
    frac = np.clip(avg / ref, 0.0, 1.0) if ref > 0 else np.zeros_like(avg)
    t = s + t_on
    pts: list[float] = []
    last = frac[0]
    for ti, fi in zip(t, frac, strict=True):
        if 0.0 <= ti <= horizon_h and abs(fi - last) > _DRIVER_TOLERANCE:
            pts.append(round(float(ti), 9))
            last = fi
    if c.stop_h is not None and 0.0 <= c.stop_h <= horizon_h:
        pts.append(round(float(c.stop_h), 9))
    return ConcentrationDriver(name, t, frac, tuple(sorted(set(pts))))


def _boundaries(
    comeds: Sequence[Comedication],
    horizon_h: float,
    kinds: Mapping[int, set[str]],
    drivers: Mapping[int, ConcentrationDriver] | None = None,
) -> list[float]:
    tc = shared().time_constants
    pts: set[float] = set()
    drivers = drivers or {}
    for ci, c in enumerate(comeds):
        if not c.time_varying or not kinds.get(ci):
            continue
        if ci in drivers:
            pts.update(drivers[ci].boundaries)
            if kinds[ci] == {"inhibition"}:
                continue
        name = resolve_name(c.drug)
        for t0, key in ((c.start_h, "onset"), (c.stop_h, "offset")):
            if t0 is None:
                continue
            cand = [
                f"{kind}_{key}"
                for kind in sorted(kinds[ci])
                if not (kind == "inhibition" and ci in drivers)
            ] + ([] if ci in drivers else [f"{name}_{key}"])
            for k in cand:
                if k not in tc:
                    continue
                step = tc[k].canonical() / _SEGMENT_STEPS
                for i in range(int(_SEGMENT_STEPS * _SEGMENT_SPAN) + 1):
                    t = t0 + i * step
                    if t <= horizon_h:
                        pts.add(round(t, 9))
    return sorted(pts)


def formulation_overrides(
    spec: PKModelSpec, formulation: str | None, notes: list[str] | None = None
) -> dict[str, float]:
    """Canonical absorption parameters of ``formulation`` (empty for ``None`` or the
    default formulation); a name the model does not have is an error naming the allowed
    ones.

    >>> formulation_overrides(get_pkmodel("venlafaxine"), "extended_release")
    {'ka': 0.19}
    """
    if formulation is None:
        return {}
    key = str(formulation).strip().lower().replace("-", "_").replace(" ", "_")
    forms = spec.formulations
    if key not in forms:
        allowed = ", ".join(sorted(forms)) or "none (this model describes one formulation)"
        raise InputError("formulation", formulation, f"for {spec.name}: {allowed}")
    f = forms[key]
    out = {k: q.canonical() for k, q in f.parameters.items()}
    if notes is not None:
        detail = ", ".join(f"{k} {v:g}" for k, v in out.items()) or "the model's own absorption"
        notes.append(f"formulation {key}: {f.description} ({detail})")
    return out


def individual_parameters(
    drug: str,
    patient: Patient | None = None,
    comedications: Iterable[Comedication | str] = (),
    *,
    horizon_h: float = 24.0 * 365,
    formulation: str | None = None,
) -> ParameterSet:
    """Typical parameters of ``drug`` for ``patient`` with co-medications.

    Parameters
    ----------
    drug : str
        A drug with a PK parameter set (:func:`~neurodose.pk.parameters.pkmodel_names`).
    patient : Patient, optional
        Covariates and genotypes (default: reference adult, genotype unknown = normal).
    comedications : iterable of Comedication or ``"DRUG:DOSE[:EVERY]"``
        Co-medications; without start/stop they act throughout (steady state).
    horizon_h : float
        Last time (h) for which time-varying interaction segments are built.
    formulation : str, optional
        A formulation of the model's ``formulations`` table (e.g. venlafaxine
        ``"extended_release"``): its cited absorption parameters replace the model's.
        Default: the model's own parameters (its default formulation).

    Returns
    -------
    ParameterSet
    """
    from neurodose.case.patient import parse_comedication

    spec = get_pkmodel(drug)
    patient = patient or Patient()
    comeds = [parse_comedication(c) if isinstance(c, str) else c for c in comedications]
    notes: list[str] = []
    base = _typical(spec, patient, notes)
    base.update(formulation_overrides(spec, formulation, notes))
    effects = _comed_effects(spec, comeds, notes)
    drivers = _drivers(effects, horizon_h, notes)

    def at(t: float | None, record_notes: bool) -> dict[str, float]:
        return _values_at(spec, patient, base, effects, drivers, t, notes if record_notes else None)

    full = at(None, True)  # every effect at full size; also collects the notes
    changes: list[tuple[float, dict[str, float]]] = []
    if any(c.time_varying for c in comeds):
        kinds = {
            ci: ({"inhibition"} if (measured or inh) else set()) | ({"induction"} if ind else set())
            for ci, (_c, measured, inh, ind) in enumerate(effects)
        }
        values = at(-1e12, False)  # before any start/stop boundary
        b = _boundaries(comeds, horizon_h, kinds, drivers)
        for i, t0 in enumerate(b):
            tm = 0.5 * (t0 + b[i + 1]) if i + 1 < len(b) else t0 + 1e9
            changes.append((t0, at(tm, False)))
    else:
        values = full
    return _parameter_set(spec, values, changes, notes)


_Effect = tuple[Comedication, dict[str, float], dict[str, float], dict[str, float]]


def _comed_effects(
    spec: PKModelSpec, comeds: Sequence[Comedication], notes: list[str]
) -> list[_Effect]:
    """Per co-medication: (comed, measured multipliers, inhibition, induction)."""
    effects: list[_Effect] = []
    for c in comeds:
        measured = _measured(spec, c)
        if measured:
            effects.append((c, measured, {}, {}))
            continue
        inh, ind, n2 = enzyme_effects(spec, c)
        notes.extend(n2)
        if not inh and not ind:
            notes.append(f"{resolve_name(c.drug)}: no modelled effect on {spec.name} pathways")
        effects.append((c, {}, inh, ind))
    return effects


def _drivers(
    effects: Sequence[_Effect], horizon_h: float, notes: list[str]
) -> dict[int, ConcentrationDriver]:
    """Inhibitors with a PK model and a dose follow their own concentration."""
    drivers: dict[int, ConcentrationDriver] = {}
    for ci, (c, measured, inh, _ind) in enumerate(effects):
        if measured or inh:
            d = concentration_driver(c, horizon_h)
            if d is not None:
                drivers[ci] = d
                notes.append(
                    f"{d.drug}: inhibition follows its own concentration (relative to its "
                    "steady state at this dose), so it builds up and washes out with its PK"
                )
    return drivers


def _values_at(
    spec: PKModelSpec,
    patient: Patient,
    base: Mapping[str, float],
    effects: Sequence[_Effect],
    drivers: Mapping[int, ConcentrationDriver],
    t: float | None,
    notes: list[str] | None,
) -> dict[str, float]:
    """Parameters at time ``t`` (``None``: every effect at full size)."""
    inh_t: dict[str, float] = {}
    ind_t: dict[str, float] = {}
    direct: dict[str, float] = {}
    for ci, (c, measured, inh, ind) in enumerate(effects):
        if t is None:
            frac = 1.0
        elif ci in drivers:
            frac = drivers[ci](t)
        else:
            frac = _effect_fraction(c, t, "inhibition")
        frac_ind = 1.0 if t is None else _effect_fraction(c, t, "induction")
        for k, v in measured.items():
            direct[k] = direct.get(k, 1.0) * v**frac
        for k, v in inh.items():
            inh_t[k] = inh_t.get(k, 1.0) * v**frac
        for k, v in ind.items():
            ind_t[k] = ind_t.get(k, 1.0) * v**frac_ind
    mult = _pathway_multipliers(spec, patient, inh_t, ind_t, notes)
    vals = _apply_pathways(spec, base, mult)
    for k, v in direct.items():
        vals[k] *= v
    return vals


def _parameter_set(
    spec: PKModelSpec,
    values: dict[str, float],
    changes: list[tuple[float, dict[str, float]]],
    notes: list[str],
) -> ParameterSet:
    """The parameter set with IIV, residual error, unbound fractions and provenance."""
    if not spec.iiv:
        notes.append(
            f"{spec.name}: no between-subject variability in the knowledge base (no cited "
            "value; docs/evidence_gaps.md): population bands show genotype and covariate "
            "variation only"
        )
    eta_names, cov = spec.omega()
    omega = np.array(cov, dtype=np.float64).reshape(len(eta_names), len(eta_names))
    if eta_names and np.any(np.linalg.eigvalsh(omega) <= 0):
        raise KnowledgeBaseError(f"{spec.name}: the IIV covariance matrix is not positive definite")
    unverified = tuple(
        sorted(
            {f"parameters.{k}" for k, q in spec.parameters.items() if not q.verified}
            | {f"iiv.{k}" for k, e in spec.iiv.items() if not e.quantity.verified}
        )
    )
    return ParameterSet(
        drug=spec.name,
        model=PKModel(spec.structure, tuple(spec.analytes), spec.name),
        values=values,
        changes=changes,
        eta_names=eta_names,
        eta_applies={e: tuple(spec.iiv[e].applies_to) for e in eta_names},
        omega=omega,
        residual={k: q.canonical() for k, q in spec.residual.items()},
        fu={k: q.canonical() for k, q in spec.fu.items()},
        sources=tuple(spec.sources()),
        notes=tuple(dict.fromkeys(notes)),
        unverified=unverified,
    )


def terminal_half_lives(ps: ParameterSet) -> dict[str, float]:
    """Terminal half-life (h) per analyte: ln 2 / the slowest rate that shows in it.

    For a saturable (Michaelis-Menten) model the half-life depends on concentration; the
    terminal (low-concentration) limit ``ln 2 V / (CL + 1000 Vmax / Km)`` is returned.
    """
    from neurodose.pk.solve import decompose

    if ps.model.saturable:
        # low-concentration limit: CL + 1000 Vmax / Km (the saturable pathway unsaturated)
        v = ps.values
        cl = v["CL"] + 1000.0 * v["Vmax"] / v["Km"]
        return {ps.model.analytes[0]: math.log(2) * v["V"] / cl}
    pc = ps.model.check(ps.values, 1)
    A, b_o, _b_i, H = ps.model.matrices(pc)
    lam, P, Pinv = decompose(A)
    w = Pinv[0] @ b_o[0]
    G = H[0] @ P[0]
    out: dict[str, float] = {}
    for i, a in enumerate(ps.model.analytes):
        coef = np.abs(G[i] * w)
        use = coef > 1e-12 * coef.max()
        rate = float(np.min(-lam[0][use]))
        out[a] = math.log(2) / rate
    return out
