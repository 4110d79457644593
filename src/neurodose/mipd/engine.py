"""Adapter: the PK engine (:mod:`neurodose.pk`) as a :class:`PriorModel`.

Everything pharmacological comes from the PK engine and the knowledge base:
the structure and exact solver (:mod:`neurodose.pk.solve`), and the patient's
typical values, Omega, eta mapping and residual error after covariates,
genotype and co-medication (:func:`neurodose.pk.individual_parameters`, from
``knowledge/pkmodels/<drug>.toml``).

Fast path
---------
MAP estimation calls the prediction a few dozen times per patient with the
same doses and sample times. The doses arrive expanded once
(:class:`~neurodose.case.ExpandedDoses`, the case layer's dose list) and
:class:`EnginePredictor` calls the engine's
:func:`neurodose.pk.solve.predict_at` with them and ``check=False``: no
re-validation of the parameter arrays on each call (they are positive by
construction, ``typical * exp(eta)``). The first call of every predictor
computes both and switches the fast path off for good if it does not reproduce
:func:`neurodose.pk.solve.concentrations` (rtol 1e-9), so a fault in the fast
path costs speed, never correctness; ``tests/unit/mipd/test_engine.py`` checks
the agreement to 1e-10. ``fast=False`` uses ``concentrations`` throughout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurodose import citations
from neurodose.case.regimen import ExpandedDoses
from neurodose.errors import InputError, SolverError
from neurodose.mipd.model import PriorModel, ResidualError
from neurodose.pk import concentrations, predict_at
from neurodose.pk.individual import individual_parameters
from neurodose.pk.model import PKModel
from neurodose.pk.parameters import get_pkmodel

__all__ = ["EnginePredictor", "molar_masses", "prior_model"]

FloatArray = NDArray[np.float64]


class EnginePredictor:
    """Vectorised predictions with the PK engine's exact solver.

    Parameters
    ----------
    model : PKModel
        Structure from :func:`neurodose.pk.model.get_structure`.
    fast : bool
        Use :func:`neurodose.pk.solve.predict_at` on pre-expanded doses without
        parameter checks (see module docstring); ``False`` calls
        :func:`neurodose.pk.solve.concentrations`.
    """

    def __init__(
        self,
        model: PKModel,
        fast: bool = True,
        changes: Sequence[tuple[float, Mapping[str, float]]] = (),
        base: Mapping[str, float] | None = None,
    ) -> None:
        self.model = model
        self.fast = fast
        self.changes = tuple(changes)
        self.base = dict(base or {})
        self.n_calls = 0
        self._checked = False

    def _segments(self, theta: dict[str, FloatArray]) -> list[tuple[float, dict[str, FloatArray]]]:
        """Time-varying interaction segments with each row's own eta applied."""
        out = []
        for t_h, vals in self.changes:
            seg = {}
            for k, v in vals.items():
                b = self.base.get(k, v)
                ratio = np.asarray(theta[k]) / b if k in theta and b else 1.0
                seg[k] = np.asarray(v * ratio, dtype=np.float64)
            out.append((float(t_h), seg))
        return out

    def __call__(
        self, theta: dict[str, FloatArray], doses: ExpandedDoses, times_h: FloatArray
    ) -> dict[str, FloatArray]:
        self.n_calls += 1
        t = np.ascontiguousarray(times_h, dtype=np.float64)
        if len(doses) == 0:
            n = max(np.size(v) for v in theta.values())
            return {a: np.zeros((n, t.size)) for a in self.model.analytes}
        if not self.fast or self.changes:
            return self._public(theta, doses, t)
        if not self._checked:
            # first call: the fast path must reproduce the engine's public function,
            # else it is switched off for good (the engine's internals changed)
            ref = self._public(theta, doses, t)
            try:
                got = self._fast(theta, doses, t)
                same = all(np.allclose(got[a], ref[a], rtol=1e-9, atol=1e-12) for a in ref)
            except (AttributeError, TypeError, ValueError):
                same = False
            self._checked = True
            self.fast = same
            return ref
        return self._fast(theta, doses, t)

    def _public(
        self, theta: dict[str, FloatArray], doses: ExpandedDoses, t: FloatArray
    ) -> dict[str, FloatArray]:
        return concentrations(self.model, theta, doses, t, changes=self._segments(theta))

    def _fast(
        self, theta: dict[str, FloatArray], doses: ExpandedDoses, t: FloatArray
    ) -> dict[str, FloatArray]:
        try:
            return predict_at(self.model, theta, doses, t, check=False)
        except SolverError as exc:
            raise SolverError(f"{exc} during estimation") from None


def prior_model(
    drug: str,
    patient: Any = None,
    comedications: Sequence[Any] = (),
    fast: bool = True,
) -> PriorModel:
    """The prior for one patient on ``drug``, built from the PK engine.

    Typical values, Omega, eta mapping and residual error come from
    :func:`neurodose.pk.individual_parameters` (covariates, genotype ->
    phenotype multipliers and co-medications applied there).

    Parameters
    ----------
    drug : str
        A drug with a PK parameter set (``knowledge/pkmodels``), e.g. ``"amitriptyline"``.
    patient : neurodose.case.Patient, optional
        Covariates and genotypes.
    comedications : sequence of Comedication or "DRUG:DOSE[:EVERY]", optional
        Co-medications (inhibitors/inducers); with start/stop times their
        effects change over time (the engine's piecewise segments).
    fast : bool
        See :class:`EnginePredictor`.

    Returns
    -------
    PriorModel
        With ``rebuild(patient=..., comedications=...)`` for "what if".

    Examples
    --------
    >>> m = prior_model("amitriptyline")
    >>> m.param_names, m.moiety
    (('CL', 'CL_m', 'F'), ('amitriptyline', 'nortriptyline'))
    """
    spec = get_pkmodel(drug)
    ps = individual_parameters(spec.name, patient, list(comedications))
    names = tuple(ps.eta_names)
    if not names:
        raise InputError(f"pkmodels/{spec.name}.toml: iiv", {}, "at least one IIV entry for MAP")
    prop = float(ps.residual.get("proportional", 0.0))
    add = float(ps.residual.get("additive", 0.0))
    residual = ResidualError(
        proportional=prop,
        additive=add,
        source=",".join(sorted({q.source for q in spec.residual.values()})),
    )
    notes = list(ps.notes)
    for e in names:
        q = spec.iiv[e].quantity
        if not q.verified:
            notes.append(f"IIV of {e} is a placeholder ({q.display()}; {q.locator})")
    for key, q in spec.residual.items():
        if not q.verified:
            notes.append(f"residual {key} error is a placeholder ({q.display()}; {q.locator})")
    sources = tuple(sorted(set(ps.sources) | set(spec.sources())))
    citations.register_many(sources)

    def rebuild(**changes: Any) -> PriorModel:
        unknown = set(changes) - {"patient", "comedications"}
        if unknown:
            raise InputError("what_if", sorted(unknown), "'patient' and/or 'comedications'")
        return prior_model(
            drug,
            patient=changes.get("patient", patient),
            comedications=changes.get("comedications", comedications),
            fast=fast,
        )

    return PriorModel(
        drug=spec.name,
        param_names=names,
        typical=dict(ps.values),
        omega=np.asarray(ps.omega, dtype=float),
        residual=dict.fromkeys(spec.analytes, residual),
        predict_fn=EnginePredictor(ps.model, fast=fast, changes=ps.changes, base=ps.values),
        applies_to={e: tuple(ps.eta_applies[e]) for e in names},
        moiety=tuple(spec.tdm_sum or spec.analytes),
        sources=sources,
        rebuild=rebuild,
        notes=tuple(notes),
        context={"patient": patient, "comedications": tuple(comedications)},
    )


def molar_masses(analytes: Sequence[str]) -> Mapping[str, float]:
    """Molar masses (g/mol) of analytes that have one in the knowledge base."""
    from neurodose.errors import UnknownDrugError
    from neurodose.knowledge import record

    out: dict[str, float] = {}
    for a in analytes:
        try:
            rec = record(a)
        except UnknownDrugError:
            continue
        if rec.molar_mass is not None:
            out[a] = rec.molar_mass.canonical()
            citations.register(rec.molar_mass.source)
    return out
