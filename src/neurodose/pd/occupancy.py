"""Target occupancy from free concentrations and knowledge-base affinities.

For target :math:`k` reached by analytes :math:`i` (parent and active
metabolites) competing for the same site, with unbound concentration
:math:`C_{u,i}` (nM) and affinity :math:`K_{i,k}` (Ki, Kd or IC50 in nM),

.. math::

    \\mathrm{occ}_k = \\frac{\\sum_i C_{u,i}/K_{i,k}}{1 + \\sum_i C_{u,i}/K_{i,k}}

(pd_clinical.md §6a). Total plasma concentrations (ng/mL) are converted to
unbound nM with the knowledge-base free fraction ``protein_binding.fu`` and
``molar_mass``: :math:`C_u = f_u \\cdot C \\cdot 1000 / M`.

Affinities are read from the drug records only; nothing is invented. A target
with no affinity in the record (e.g. the nortriptyline H1 and alpha1 gaps, §1b) is
*unavailable* for that drug and listed with the reason. Values stored with
``verified = false`` are used and carried as unverified. Values marked ``low_trust``
(e.g. a vendor summary that states no assay or species) are used **only** where no
other value exists for that target and analyte (the amitriptyline H1 and alpha1 gap),
and are then flagged: :attr:`TargetBinding.low_trust`, :meth:`DrugTargets.low_trust`
and the ``unverified`` list say so, so every output that rests on them shows it.
Records marked ``lower_bound`` ("no effect up to 3 mM") are never used as a potency.
Where several records exist for one target (muscarinic subtypes, two
laboratories), their geometric mean is used (stated in docs/model.md). For the sodium channel the
state-dependent affinity is chosen by :data:`SODIUM_STATE` (inactivated state
for depolarised ectopic fibres; Brau 2001, Nau 2000); for NMDA, where the records
describe different mechanisms, the most potent one is used.

Translation in vitro -> in vivo is an explicit assumption: free plasma equals
free site concentration, except that ion-channel sites (sodium channel, NMDA)
may be given a *site factor* (calibrated per site, see knowledge/pdmodels/).

Examples
--------
>>> import numpy as np
>>> float(competitive_occupancy([np.array([4.3])], [4.3])[0])
0.5
>>> round(free_nm(100.0, 0.036, 277.4), 3)
12.978
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from neurodose import citations
from neurodose.errors import KnowledgeBaseError, UnknownNameError
from neurodose.knowledge import record
from neurodose.knowledge.registry import drug_names
from neurodose.knowledge.schema import DrugRecord, Quantity
from neurodose.units import convert

__all__ = [
    "POTENCY_RATIO_ONLY",
    "SODIUM_STATE",
    "TARGETS",
    "AnalyteProps",
    "DrugTargets",
    "TargetBinding",
    "alpha2delta_k_nm",
    "alpha2delta_potency_ratio",
    "competitive_occupancy",
    "drug_occupancy",
    "drug_targets",
    "free_nm",
    "occupancies",
    "uses_pet_occupancy",
]

#: targets the PD layer knows (names as in DrugRecord.targets)
TARGETS: tuple[str, ...] = (
    "SERT",
    "NET",
    "H1",
    "muscarinic",
    "alpha1",
    "sodium_channel",
    "NMDA",
    "hERG",
    "alpha2delta",
)

#: targets whose in-vitro binding constants are NOT used as in-vivo affinities, with the
#: reason; their potency comes from a calibrated value (scaled between drugs by the potency
#: ratio measured in one assay, see :func:`alpha2delta_k_nm`)
POTENCY_RATIO_ONLY: dict[str, str] = {
    "alpha2delta": (
        "in-vitro alpha2delta binding (nM; Suman-Chauhan 1993) is ~1000-fold below the "
        "plasma levels at which gabapentinoids act, so it is used only as a potency ratio "
        "to the calibrated pregabalin potency (docs/model.md §2.1)"
    ),
}

#: sodium-channel state used for the neural (ectopic-fibre) site, in order of preference
SODIUM_STATE: tuple[str, ...] = ("inactivated", "open", "resting")

Array = NDArray[np.float64]


@dataclass(frozen=True)
class TargetBinding:
    """One analyte's affinity at one target (nM), with provenance."""

    target: str
    analyte: str
    K_nM: float
    kind: str
    sources: tuple[str, ...]
    verified: bool
    note: str = ""
    low_trust: bool = False


@dataclass(frozen=True)
class AnalyteProps:
    """Free fraction and molar mass of one analyte, with provenance."""

    name: str
    fu: float
    molar_mass: float
    sources: tuple[str, ...]
    verified: bool


@dataclass(frozen=True)
class DrugTargets:
    """Everything needed to turn a drug's concentrations into occupancies.

    ``bindings[target]`` lists the analytes that reach the target;
    ``unavailable[target]`` says why a target is not modelled for this drug.
    """

    drug: str
    analytes: tuple[AnalyteProps, ...]
    bindings: Mapping[str, tuple[TargetBinding, ...]]
    unavailable: Mapping[str, str] = field(default_factory=dict)
    #: target -> analytes with neither a value nor a lower bound at that target (the
    #: affinity is *unknown*, not zero; :mod:`neurodose.pd.unknowns` carries it)
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: analytes of the drug (active metabolites, PK-model analytes) with no knowledge-base
    #: record: every affinity of theirs is unknown
    unknown_analytes: tuple[str, ...] = ()

    @property
    def reached(self) -> tuple[str, ...]:
        """Targets with at least one affinity for this drug."""
        return tuple(t for t in TARGETS if self.bindings.get(t))

    def sources(self, *, in_vivo: bool = True) -> list[str]:
        """Source keys of every affinity, free fraction and molar mass used; with ``in_vivo``
        also the PET/translation sources (only the ``pet_anchored`` occupancy basis uses them)."""
        keys: set[str] = set()
        for a in self.analytes:
            keys.update(a.sources)
        for bs in self.bindings.values():
            for b in bs:
                keys.update(b.sources)
        if in_vivo:
            from neurodose.pd.invivo import in_vivo_sources

            keys.update(in_vivo_sources(self.drug, self.reached))
        return sorted(keys)

    def unverified(self) -> list[str]:
        """Human-readable list of the unverified inputs."""
        out = [f"{a.name}: free fraction/molar mass" for a in self.analytes if not a.verified]
        for bs in self.bindings.values():
            out += [
                f"{b.analyte}: {b.target} affinity"
                + (" (LOW TRUST: " + ", ".join(b.sources) + ")" if b.low_trust else "")
                for b in bs
                if not b.verified
            ]
        return out

    def low_trust(self) -> list[str]:
        """Targets reached only through low-trust affinities, as ``analyte: target (sources)``.

        >>> drug_targets("amitriptyline").low_trust()[0].startswith("amitriptyline: H1")
        True
        """
        return [
            f"{b.analyte}: {b.target} ({', '.join(b.sources)})"
            for bs in self.bindings.values()
            for b in bs
            if b.low_trust
        ]


def free_nm(conc_ng_ml: Array | float, fu: float, molar_mass: float) -> Array | float:
    """Unbound molar concentration (nM) from a total concentration (ng/mL).

    Parameters
    ----------
    conc_ng_ml : array or float
        Total plasma concentration, ng/mL.
    fu : float
        Unbound fraction (0-1), knowledge-base ``protein_binding.fu``.
    molar_mass : float
        g/mol (knowledge-base ``molar_mass``).

    >>> free_nm(277.4, 1.0, 277.4)
    1000.0
    """
    if isinstance(conc_ng_ml, np.ndarray):
        return fu * conc_ng_ml * 1000.0 / molar_mass
    return fu * float(conc_ng_ml) * 1000.0 / molar_mass


def competitive_occupancy(free_nm: Sequence[Array], K_nm: Sequence[float]) -> Array:
    """Fractional occupancy of one site by competing ligands.

    ``occ = S / (1 + S)`` with ``S = sum_i C_i / K_i`` (all nM).

    >>> import numpy as np
    >>> round(float(competitive_occupancy([np.array([1.0]), np.array([1.0])], [1.0, 1.0])[0]), 4)
    0.6667
    """
    if len(free_nm) != len(K_nm):
        raise ValueError("free_nm and K_nm must have the same length")
    s: Array | None = None
    for c, k in zip(free_nm, K_nm, strict=True):
        if not k > 0:
            raise ValueError(f"affinity must be > 0 nM, got {k}")
        term = np.asarray(c, dtype=float) / k
        s = term if s is None else s + term
    if s is None:
        raise ValueError("no ligands given")
    return s / (1.0 + s)


def _to_nm(value: float, unit: str) -> float:
    return convert(value, unit, "nM")


def _pick(records: list, target: str) -> list:
    if target == "NMDA" and records:
        # mechanisms differ (Ca2+-dependent inhibition vs trapping block at 0 mV): use the
        # most potent one; the weaker block applies to strongly depolarised channels
        return [min(records, key=lambda r: _to_nm(r.point, r.unit))]
    if target != "sodium_channel":
        return records
    for state in SODIUM_STATE:
        hit = [r for r in records if (r.state or "") == state]
        if hit:
            return hit
    return records


@cache
def _fallbacks() -> dict[str, dict[str, Quantity]]:
    from neurodose.knowledge.registry import load_validated
    from neurodose.pd.params import PD_DIR, PDFile

    return load_validated(PD_DIR / "analyte_fallbacks.toml", PDFile).analytes


def _analyte_quantity(name: str, key: str) -> Quantity | None:
    rec = record(name)
    q = rec.molar_mass if key == "molar_mass" else rec.protein_binding.get("fu")
    if q is None:
        q = _fallbacks().get(name, {}).get(key)
        if q is not None:
            citations.register(q.source)
    return q


def _analyte_props(name: str) -> AnalyteProps:
    fu_q = _analyte_quantity(name, "fu")
    mm_q = _analyte_quantity(name, "molar_mass")
    if fu_q is None or mm_q is None:
        missing = "protein_binding.fu" if fu_q is None else "molar_mass"
        raise KnowledgeBaseError(
            f"drug {name!r}: {missing} is missing; occupancy needs the free fraction and "
            "molar mass of every analyte"
        )
    return AnalyteProps(
        name=name,
        fu=fu_q.canonical(),
        molar_mass=mm_q.canonical(),
        sources=(fu_q.source, mm_q.source),
        verified=fu_q.verified and mm_q.verified,
    )


@cache
def drug_targets(drug: str) -> DrugTargets:
    """Affinities, free fractions and molar masses for a drug and its active metabolites.

    Parameters
    ----------
    drug : str
        Drug name in the knowledge base (aliases allowed).

    Raises
    ------
    UnknownDrugError
        The drug is not in the knowledge base.
    KnowledgeBaseError
        An analyte lacks a free fraction or molar mass.

    >>> dt = drug_targets("amitriptyline")
    >>> "SERT" in dt.reached
    True
    """
    rec = record(drug)
    unavailable: dict[str, str] = {}
    names = _analyte_names(rec, unavailable)
    analytes = tuple(_analyte_props(n) for n in names)
    unknown_analytes = tuple(
        k.removeprefix("metabolite:") for k in unavailable if k.startswith("metabolite:")
    )
    bindings: dict[str, tuple[TargetBinding, ...]] = {}
    missing: dict[str, tuple[str, ...]] = {}
    for target in TARGETS:
        if target in POTENCY_RATIO_ONLY:
            if any(record(a.name).affinities(target) for a in analytes):
                unavailable[target] = POTENCY_RATIO_ONLY[target]
            else:
                unavailable[target] = _no_affinity(target, names)
            continue
        found: list[TargetBinding] = []
        gaps: list[str] = []
        for a in analytes:
            b = _binding(a.name, target, unavailable)
            if isinstance(b, TargetBinding):
                found.append(b)
            elif b:
                gaps.append(a.name)
        if gaps:
            missing[target] = tuple(gaps)
        if found:
            bindings[target] = tuple(found)
            unavailable.pop(target, None)
        elif target not in unavailable:
            unavailable[target] = _no_affinity(target, names)
    return DrugTargets(
        drug=rec.name,
        analytes=analytes,
        bindings=bindings,
        unavailable=unavailable,
        missing=missing,
        unknown_analytes=unknown_analytes,
    )


def _no_affinity(target: str, names: Sequence[str]) -> str:
    return (
        f"no {target} affinity in the knowledge base for "
        + " or ".join(names)
        + " (not invented; see docs/model.md)"
    )


def _analyte_names(rec: DrugRecord, unavailable: dict[str, str]) -> list[str]:
    """The drug and its usable active metabolites; the others are named in ``unavailable``."""
    names = [rec.name]
    known = set(drug_names())
    for m in rec.active_metabolites:
        if m in known:
            if _analyte_quantity(m, "fu") is None or _analyte_quantity(m, "molar_mass") is None:
                unavailable[f"metabolite:{m}"] = (
                    f"active metabolite {m!r} lacks protein_binding.fu or molar_mass in the "
                    "knowledge base; its contribution to occupancy is left out"
                )
                continue
            names.append(m)
        else:
            unavailable[f"metabolite:{m}"] = (
                f"active metabolite {m!r} has no knowledge-base record; its contribution "
                "to occupancy is left out"
            )
    # analytes of the drug's PK model that have no knowledge-base record (e.g.
    # norfluoxetine, O-desmethyltramadol): their concentrations are computed, but with no
    # record there is no affinity, free fraction or molar mass, so they are left out
    from neurodose.pk.parameters import pkmodel_analytes, pkmodel_names

    if rec.name in pkmodel_names():
        for m in pkmodel_analytes(rec.name):
            if m not in names and m not in known and f"metabolite:{m}" not in unavailable:
                unavailable[f"metabolite:{m}"] = (
                    f"metabolite {m!r} (in the PK model) has no knowledge-base record; its "
                    "contribution to occupancy is left out"
                )
    return names


def _binding(analyte: str, target: str, unavailable: dict[str, str]) -> TargetBinding | bool:
    """The binding of ``analyte`` at ``target``; else True for a gap (no value at all)
    or False (only a "no effect up to" bound, named in ``unavailable``)."""
    all_recs = record(analyte).affinities(target)
    bounds = [r for r in all_recs if r.lower_bound]
    all_recs = [r for r in all_recs if not r.lower_bound]
    if bounds and not all_recs:
        # "no effect up to X" says the potency is weaker than X; used as a K it
        # would invent block (gabapentin's sodium channel x the ion-channel site
        # factor gave ~25 % block at clinical levels before issue 14)
        unavailable[target] = (
            f"only a lower bound for {analyte} at {target} ("
            + "; ".join(f"> {r.point:g} {r.unit}, {r.source}" for r in bounds)
            + "): no measurable effect, not used as a potency"
        )
    recs = _pick([r for r in all_recs if not r.low_trust], target)
    low_trust = False
    if not recs:
        # a low-trust value (vendor summary: no assay, no species) fills a gap
        # only where nothing else exists; the binding carries the flag
        recs = _pick([r for r in all_recs if r.low_trust], target)
        low_trust = bool(recs)
    if not recs:
        return not bounds
    return _make_binding(analyte, target, recs, low_trust)


def _make_binding(analyte: str, target: str, recs: Sequence[Any], low_trust: bool) -> TargetBinding:
    """One binding from the picked records (geometric mean of their K)."""
    ks = [_to_nm(r.point, r.unit) for r in recs]
    k = float(math.exp(sum(math.log(x) for x in ks) / len(ks)))
    return TargetBinding(
        target=target,
        analyte=analyte,
        K_nM=k,
        kind="/".join(sorted({r.kind for r in recs})),
        sources=tuple(sorted({r.source for r in recs})),
        verified=all(r.verified for r in recs),
        note=(f"geometric mean of {len(recs)} records" if len(recs) > 1 else "")
        + (f" (state {recs[0].state})" if recs[0].state else "")
        + (" LOW TRUST (only value; vendor summary)" if low_trust else ""),
        low_trust=low_trust,
    )


def occupancies(
    targets: DrugTargets,
    conc_ng_ml: Mapping[str, Array],
    site_factor: Mapping[str, float] | None = None,
    extra_K_nM: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Array]:
    """Occupancy of every reached target from total concentrations.

    Parameters
    ----------
    targets : DrugTargets
        From :func:`drug_targets`.
    conc_ng_ml : mapping analyte -> array
        Total plasma concentrations (ng/mL), all the same shape. Analytes of the
        drug that are missing here raise; extra keys raise too.
    site_factor : mapping target -> float, optional
        Free-site / free-plasma ratio per target (default 1; calibrated values
        for ion-channel sites live in knowledge/pdmodels/).
    extra_K_nM : mapping target -> (analyte -> K nM), optional
        Affinities not in the drug record (e.g. calibrated alpha2delta potency).

    Returns
    -------
    dict target -> array of the same shape, fractions 0-1.
    """
    names = {a.name for a in targets.analytes}
    ignorable = {k.removeprefix("metabolite:") for k in targets.unavailable if ":" in k}
    given = set(conc_ng_ml)
    unknown = sorted(given - names - ignorable)
    if unknown:
        raise UnknownNameError("analyte", unknown[0], names | ignorable)
    missing = sorted(names - given)
    if missing:
        raise UnknownNameError("analyte", missing[0], given or {"(none)"})
    sf = dict(site_factor or {})
    # free_nm returns an array for an array input
    free: dict[str, Array] = {
        a.name: cast(
            Array, free_nm(np.asarray(conc_ng_ml[a.name], dtype=float), a.fu, a.molar_mass)
        )
        for a in targets.analytes
    }
    out: dict[str, Array] = {}
    for target, bs in targets.bindings.items():
        f = sf.get(target, 1.0)
        out[target] = competitive_occupancy([free[b.analyte] * f for b in bs], [b.K_nM for b in bs])
    for target, ks in (extra_K_nM or {}).items():
        if target in out:
            continue
        f = sf.get(target, 1.0)
        out[target] = competitive_occupancy([free[a] * f for a in ks], list(ks.values()))
    return out


def alpha2delta_k_nm(targets: DrugTargets, params: object) -> dict[str, float]:
    """Calibrated alpha2delta potency (free nM) for a gabapentinoid without a KB affinity.

    ``params`` is a :class:`~neurodose.pd.params.PDParameters`; the parameter
    ``alpha2delta_ec50_<drug>`` (total ng/mL, calibrated) is converted with the
    analyte's free fraction and molar mass. Returns ``{}`` when there is none.
    """
    name = f"alpha2delta_ec50_{targets.drug}"
    has = getattr(params, "has", None)
    if targets.bindings.get("alpha2delta") or has is None:
        return {}
    a = targets.analytes[0]
    if has(name):
        ec50 = params.value(name)  # type: ignore[attr-defined]
        return {a.name: float(free_nm(ec50, a.fu, a.molar_mass))}
    if targets.unavailable.get("alpha2delta") != POTENCY_RATIO_ONLY["alpha2delta"]:
        return {}  # no alpha2delta record at all: the target is unavailable
    ratio = alpha2delta_potency_ratio(targets.drug)
    if ratio is None or not has("alpha2delta_ec50_pregabalin"):
        return {}
    ref = drug_targets("pregabalin").analytes[0]
    k_ref = free_nm(params.value("alpha2delta_ec50_pregabalin"), ref.fu, ref.molar_mass)  # type: ignore[attr-defined]
    return {a.name: float(k_ref) * ratio}


@cache
def alpha2delta_potency_ratio(drug: str, reference: str = "pregabalin") -> float | None:
    """K(drug) / K(reference) at alpha2delta from records of ONE assay (same source, same
    subtype), or None when the knowledge base has no such pair.

    >>> alpha2delta_potency_ratio("gabapentin")
    1.0
    """
    mine = record(drug).affinities("alpha2delta")
    ref = record(reference).affinities("alpha2delta")
    for r in ref:
        for m in mine:
            if m.source == r.source and m.kind == r.kind:
                citations.register(m.source)
                return _to_nm(m.point, m.unit) / _to_nm(r.point, r.unit)
    return None


def uses_pet_occupancy(params: object) -> bool:
    """Whether ``params`` (PD parameters) put SERT/NET on the ``pet_anchored`` basis."""
    return getattr(params, "occupancy_basis", "pet_anchored") == "pet_anchored"


def drug_occupancy(
    targets: DrugTargets, conc_ng_ml: Mapping[str, Array], params: object
) -> dict[str, Array]:
    """Occupancies with the PD model's site factors and calibrated potencies applied.

    Ion-channel sites use calibrated site factors: ``channel_site_factor`` at the sodium
    channel and ``nmda_site_factor`` at NMDA (each fitted to its own training datum,
    docs/model.md §6); gabapentinoids get their calibrated alpha2delta potency; SERT and
    NET use the in-vivo potency of :mod:`neurodose.pd.invivo` (human PET or its translation)
    when ``params.occupancy_basis`` is ``pet_anchored``, else free concentration over the
    in-vitro K (``in_vitro``, docs/validation.md "PET-anchored occupancy: refit").
    """
    pet = uses_pet_occupancy(params)
    citations.register_many(targets.sources(in_vivo=pet))  # cited on use (drug_targets is cached)
    kp = params.value("channel_site_factor")  # type: ignore[attr-defined]
    k_nmda = params.get("nmda_site_factor", kp)  # type: ignore[attr-defined]
    extra = {}
    a2d = alpha2delta_k_nm(targets, params)
    if a2d:
        extra["alpha2delta"] = a2d
    out = occupancies(
        targets, conc_ng_ml, site_factor={"sodium_channel": kp, "NMDA": k_nmda}, extra_K_nM=extra
    )
    if pet:
        from neurodose.pd.invivo import in_vivo_occupancy

        # SERT/NET: in-vivo potency from human PET (or its translation), issue 20 item 2
        out.update(in_vivo_occupancy(targets, conc_ng_ml))
    return out
