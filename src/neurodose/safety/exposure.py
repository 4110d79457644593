"""Patient-specific predicted exposure from the PK engine (``neurodose.pk``).

For an option with a PK model, simulates the same daily dose to steady state for
(a) the reference adult (genotype normal, no co-medication), (b) this patient
without co-medication and (c) this patient with current co-medication, and
reports the ratio of average concentrations per analyte. The ratio (c)/(b) is the
predicted interaction effect; (c)/(a) the overall patient-specific change. Where
the PK engine cannot model a drug, :func:`predict_exposure` returns ``None`` and
the screening falls back to the cited FDA class band.

>>> from neurodose.case.patient import load_patient
>>> p = load_patient({"age": 50, "medications": ["paroxetine"]})
>>> e = predict_exposure("nortriptyline", p, daily_mg=25)
>>> e is None or e.interaction_ratio["nortriptyline"] > 1.5
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from neurodose.case.patient import Patient

__all__ = ["ExposurePrediction", "interaction_ratio", "predict_exposure"]


@dataclass(frozen=True)
class ExposurePrediction:
    """Ratios of steady-state average concentrations per analyte (dimensionless)."""

    drug: str
    daily_mg: float
    patient_ratio: dict[str, float]
    interaction_ratio: dict[str, float]
    mean_conc_ng_ml: dict[str, float]
    sources: tuple[str, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "daily_mg": self.daily_mg,
            "patient_vs_reference": self.patient_ratio,
            "comedication_effect": self.interaction_ratio,
            "mean_conc_ng_ml": self.mean_conc_ng_ml,
            "sources": list(self.sources),
            "notes": list(self.notes),
            "basis": "PK engine (neurodose.pk), typical individual, steady state",
        }


def _mean_conc(drug: str, values: dict[str, float], daily_mg: float) -> dict[str, float]:
    """Mean concentration over one dosing interval at steady state (ng/mL per analyte)."""
    key = tuple(sorted((k, float(v)) for k, v in values.items()))
    return dict(_mean_conc_cached(drug, key, float(daily_mg)))


@lru_cache(maxsize=4096)
def _mean_conc_cached(
    drug: str, key: tuple[tuple[str, float], ...], daily_mg: float
) -> tuple[tuple[str, float], ...]:
    import numpy as np

    from neurodose.case import Regimen
    from neurodose.pk import predict

    reg = Regimen.oral(f"{daily_mg} mg", "24 h", doses=1, ss=True)
    t = np.linspace(0.0, 24.0, 25)
    c = predict(drug, dict(key), reg, t)
    return tuple((k, float(np.mean(v))) for k, v in c.items())


def interaction_ratio(
    victim: str, perpetrators: list[str], patient: Patient, daily_mg: float = 25.0
) -> tuple[dict[str, float], tuple[str, ...]] | None:
    """Predicted ratio of steady-state mean concentrations of ``victim`` with / without
    ``perpetrators`` in this patient (per analyte), with the PK sources; None if the PK
    engine has no model for ``victim``.
    """
    try:
        from neurodose.pk import pkmodel_names
    except ImportError:
        return None
    if victim not in pkmodel_names():
        return None
    import json

    key = (victim, tuple(sorted(perpetrators)), json.dumps(patient.summary(), sort_keys=True))
    if key in _CACHE:
        return _CACHE[key]
    out = _interaction_ratio(victim, perpetrators, patient, daily_mg)
    if len(_CACHE) > 512:
        _CACHE.clear()
    _CACHE[key] = out
    return out


_CACHE: dict[tuple[Any, ...], Any] = {}


def _interaction_ratio(
    victim: str, perpetrators: list[str], patient: Patient, daily_mg: float
) -> tuple[dict[str, float], tuple[str, ...]] | None:
    from neurodose.case import Comedication
    from neurodose.pk import individual_parameters

    try:
        alone = individual_parameters(victim, patient)
        withc = individual_parameters(victim, patient, [Comedication(n) for n in perpetrators])
        a = _mean_conc(victim, alone.values, daily_mg)
        w = _mean_conc(victim, withc.values, daily_mg)
    except Exception:  # the engine cannot handle this patient/pair: class band instead
        return None
    ratio = {k: round(w[k] / a[k], 3) for k in a if a[k] > 0}
    if not ratio or not all(math.isfinite(v) for v in ratio.values()):
        return None
    return ratio, tuple(withc.sources)


def predict_exposure(
    drug: str, patient: Patient, daily_mg: float | None = None
) -> ExposurePrediction | None:
    """Predicted exposure ratios for ``drug`` in ``patient`` (None if not modelled).

    Parameters
    ----------
    drug : str
        Option name (canonical).
    patient : Patient
    daily_mg : float, optional
        Daily dose (mg); default 25 mg (ratios do not depend on it for linear models).
    """
    try:
        from neurodose.pk import individual_parameters, pkmodel_names
    except ImportError:
        return None
    if drug not in pkmodel_names():
        return None
    dose = float(daily_mg or 25.0)
    try:
        comeds = patient.comedications(exclude=drug)
        ref = individual_parameters(drug)
        alone = individual_parameters(drug, patient)
        withc = individual_parameters(drug, patient, comeds) if comeds else alone
        c_ref = _mean_conc(drug, ref.values, dose)
        c_alone = _mean_conc(drug, alone.values, dose)
        c_with = _mean_conc(drug, withc.values, dose) if comeds else c_alone
    except Exception:  # a covariate or model the engine cannot handle: fall back
        return None
    pr = {k: c_with[k] / c_ref[k] for k in c_ref if c_ref[k] > 0}
    ir = {k: c_with[k] / c_alone[k] for k in c_alone if c_alone[k] > 0}
    if not all(math.isfinite(v) for v in (*pr.values(), *ir.values())):
        return None
    return ExposurePrediction(
        drug=drug,
        daily_mg=dose,
        patient_ratio={k: round(v, 3) for k, v in pr.items()},
        interaction_ratio={k: round(v, 3) for k, v in ir.items()},
        mean_conc_ng_ml={k: round(v, 2) for k, v in c_with.items()},
        sources=tuple(dict.fromkeys([*withc.sources, *ref.sources])),
        notes=tuple(withc.notes),
    )
