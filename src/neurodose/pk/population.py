"""Seeded virtual populations and streamed per-patient summaries.

IIV is log-normal with the model's omega (diagonal where the evidence gives no
correlations). Genotypes are either the patient's (all subjects alike) or drawn
from phenotype frequencies (``_shared.toml``: midpoints of cross-population
ranges; derived, documented). No covariate distributions are in the evidence,
so all subjects share the given patient's covariates; for covariate-varying
populations, sample per covariate group and concatenate.

>>> from neurodose.case import Regimen
>>> pop = sample("nortriptyline", n=4, seed=1)
>>> pop.params["CL"].shape
(4,)
>>> s = summarize("nortriptyline", Regimen.oral("25 mg", days=14), n=100, seed=1, chunk=40)
>>> s["nortriptyline"]["cmax_ng_per_ml"].shape
(100,)

Percentile bands of a population too large for memory are streamed
(:func:`streamed_bands`): subjects are simulated chunk by chunk and each time
point's values are counted in fixed log-spaced bins (:class:`BandHistogram`),
from which the percentiles are read within half a bin of the exact ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.patient import Comedication, Patient
from neurodose.case.regimen import Regimen
from neurodose.errors import InputError
from neurodose.pk.individual import ParameterSet, apply_etas, individual_parameters
from neurodose.pk.parameters import get_pkmodel, shared
from neurodose.pk.solve import concentrations, summaries, validate_times

__all__ = [
    "BandHistogram",
    "Population",
    "StreamedBands",
    "percentiles",
    "sample",
    "simulate_population",
    "streamed_bands",
    "summarize",
]

Arr = NDArray[np.float64]


@dataclass(frozen=True)
class Population:
    """Per-subject parameters (arrays of length n), segments and genotypes."""

    drug: str
    params: dict[str, Arr]
    changes: list[tuple[float, dict[str, Arr]]] = field(default_factory=list)
    phenotypes: dict[str, NDArray[np.str_]] = field(default_factory=dict)
    eta: Arr = field(default_factory=lambda: np.zeros((0, 0)))
    typical: ParameterSet | None = None

    @property
    def n(self) -> int:
        return int(next(iter(self.params.values())).shape[0])


def _phenotype_draws(
    spec_genes: Sequence[str], patient: Patient, n: int, rng: np.random.Generator, draw: bool
) -> dict[str, NDArray[np.str_]]:
    out: dict[str, NDArray[np.str_]] = {}
    freqs = shared().frequencies
    for gene in spec_genes:
        ph = patient.phenotype(gene)
        if ph is not None or not draw or gene not in freqs:
            out[gene] = np.full(n, ph if ph is not None else "NM")
            continue
        names = list(freqs[gene])
        p = np.array([freqs[gene][k].canonical() for k in names])
        p = p / p.sum()
        out[gene] = np.asarray(names)[rng.choice(len(names), size=n, p=p)]
    return out


def sample(
    drug: str,
    n: int,
    seed: int | None = None,
    *,
    patient: Patient | None = None,
    comedications: Iterable[Comedication | str] = (),
    draw_genotypes: bool = False,
    iiv: bool = True,
    horizon_h: float = 24.0 * 365,
    cache: dict[tuple[str, ...], ParameterSet] | None = None,
    formulation: str | None = None,
) -> Population:
    """Draw ``n`` subjects' parameters (seeded, reproducible).

    Parameters
    ----------
    drug : str
    n : int (>= 1)
    seed : int, optional
    patient : Patient, optional
        Covariates (and genotypes) shared by all subjects.
    comedications : iterable
        As in :func:`~neurodose.pk.individual.individual_parameters`.
    draw_genotypes : bool
        Draw phenotypes of genes the model uses from the shared frequencies
        (only for genes the patient does not fix).
    iiv : bool
        Apply log-normal inter-individual variability.
    cache : dict, optional
        Reused between calls with the same drug/patient/co-medications (chunks):
        typical parameters per phenotype combination.
    formulation : str, optional
        As in :func:`~neurodose.pk.individual.individual_parameters`.
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise InputError("n", n, "a whole number >= 1")
    n = int(n)
    rng = np.random.default_rng(seed)
    patient = patient or Patient()
    comeds = list(comedications)
    spec = get_pkmodel(drug)
    genes = sorted({p.enzyme for p in spec.pathways} & set(spec.genotype))
    ph = _phenotype_draws(genes, patient, n, rng, draw_genotypes)
    combos: dict[tuple[str, ...], ParameterSet] = {}
    keys = list(zip(*(ph[g] for g in genes), strict=True)) if genes else [()] * n
    store = cache if cache is not None else {}
    for key in sorted(set(keys)):
        if key not in store:
            pat = patient.with_genotype(**dict(zip(genes, key, strict=True))) if genes else patient
            store[key] = individual_parameters(
                drug, pat, comeds, horizon_h=horizon_h, formulation=formulation
            )
        combos[key] = store[key]
    typical = combos[keys[0]]
    idx_of = {k: i for i, k in enumerate(combos)}
    idx = np.array([idx_of[k] for k in keys])
    ps_list = list(combos.values())

    def stack(get: object) -> dict[str, Arr]:
        names = list(ps_list[0].values)
        tab = {nm: np.array([get(ps)[nm] for ps in ps_list]) for nm in names}  # type: ignore[operator]
        return {nm: v[idx] for nm, v in tab.items()}

    base = stack(lambda ps: ps.values)
    n_seg = len(typical.changes)
    seg_t = [t for t, _ in typical.changes]
    changes = [(seg_t[i], stack(lambda ps, i=i: ps.changes[i][1])) for i in range(n_seg)]
    k = len(typical.eta_names)
    eta = (
        rng.multivariate_normal(np.zeros(k), typical.omega, size=n, method="cholesky")
        if (iiv and k)
        else np.zeros((n, k))
    )

    def apply(vals: dict[str, Arr]) -> dict[str, Arr]:
        return apply_etas(vals, typical.eta_names, typical.eta_applies, eta)

    return Population(
        drug=typical.drug,
        params=apply(base),
        changes=[(t, apply(v)) for t, v in changes],
        phenotypes=ph,
        eta=eta,
        typical=typical,
    )


def simulate_population(
    pop: Population,
    regimen: Regimen,
    times_h: ArrayLike,
    *,
    residual: bool = False,
    seed: int | None = None,
    unbound: bool = False,
) -> dict[str, Arr]:
    """Concentrations ``{analyte: (n, T)}`` (ng/mL) for a population.

    ``residual`` adds the model's residual error (seeded); ``unbound`` returns free
    concentrations (``fu x total``, fu from the parameter set) instead of total.
    """
    assert pop.typical is not None
    out = concentrations(pop.typical.model, pop.params, regimen, times_h, changes=pop.changes)
    if residual:
        rng = np.random.default_rng(seed)
        prop = pop.typical.residual.get("proportional", 0.0)
        add = pop.typical.residual.get("additive", 0.0)
        for a, c in out.items():
            sd = np.sqrt((prop * c) ** 2 + add**2)
            out[a] = np.maximum(c + rng.standard_normal(c.shape) * sd, 0.0)
    if unbound:
        out = {a: c * pop.typical.fu.get(a, 1.0) for a, c in out.items()}
    return out


def percentiles(conc: Arr, q: Sequence[float] = (5, 50, 95)) -> dict[str, Arr]:
    """Percentiles over subjects at each time: ``{"p05": .., "p50": .., "p95": ..}``."""
    vals = np.percentile(conc, q, axis=0)
    return {f"p{int(x):02d}": vals[i] for i, x in enumerate(q)}


def _bin_value(lo: float, width: float, n_bins: int, j: Arr) -> Arr:
    """The value a bin stands for: 0 (bin 0: zero), ``lo`` (bin 1: below ``lo``), the
    geometric midpoint of a regular bin (2 .. n_bins + 1), the top edge (overflow)."""
    mid = np.exp(math.log(lo) + (np.clip(j, 2, n_bins + 1) - 1.5) * width)
    top = math.exp(math.log(lo) + n_bins * width)
    return np.where(j == 0, 0.0, np.where(j == 1, lo, np.where(j > n_bins + 1, top, mid)))


@dataclass
class BandHistogram:
    """Counts per time point in log-spaced bins of relative width ``exp(width) - 1``,
    from ``lo`` up (bin 0: zero; 1: below ``lo``; ``n_bins`` regular; one overflow).

    >>> h = BandHistogram.spanning(np.array([[1.0, 10.0], [2.0, 20.0]]), 0.01, 10_000)
    >>> h.add(np.array([[1.0, 10.0], [2.0, 20.0]]))
    >>> [round(float(x), 2) for x in h.percentiles((50,))["p50"]]
    [1.5, 15.0]
    """

    lo: float
    width: float
    n_bins: int
    counts: NDArray[np.int32]

    @classmethod
    def spanning(cls, first: Arr, precision: float, max_cells: int) -> BandHistogram:
        """Bins over 10x beyond the range of ``first`` (subjects x times) each way, of
        relative width ``precision`` (wider where more than ``max_cells`` cells would be
        needed); values below 1e-9 of the largest (numerical noise) share bin 1."""
        pos = first[first > 0]
        top = float(pos.max()) if pos.size else 1.0
        lo = max(float(pos.min()) if pos.size else 0.0, top * 1e-9) / 10.0
        hi = top * 10.0
        n_times = first.shape[1]
        most = max(max_cells // max(n_times, 1) - 3, 16)
        width = max(math.log1p(precision), math.log(hi / lo) / most)
        n_bins = math.ceil(math.log(hi / lo) / width)
        return cls(lo, width, n_bins, np.zeros((n_times, n_bins + 3), dtype=np.int32))

    @property
    def half_bin(self) -> float:
        """Largest relative error of a percentile read from the bins (half a bin)."""
        return math.expm1(self.width / 2.0)

    def add(self, values: Arr) -> None:
        """Count ``values`` (subjects x times)."""
        stride = self.n_bins + 3
        x = np.maximum(values, 1e-300)  # in place from here: one float and one int copy
        np.log(x, out=x)
        x -= math.log(self.lo)
        x /= self.width
        np.floor(x, out=x)
        np.clip(x, -1, self.n_bins, out=x)
        b = x.astype(np.int64)
        del x
        b += 2
        b[values <= 0] = 0
        b += np.arange(values.shape[1], dtype=np.int64)[None, :] * stride
        self.counts += np.bincount(b.ravel(), minlength=self.counts.size).reshape(self.counts.shape)

    def percentiles(self, q: Sequence[float] = (5, 50, 95)) -> dict[str, Arr]:
        """Percentiles per time point, interpolated between the order statistics'
        bins as :func:`numpy.percentile` does between the values."""
        cum = np.cumsum(self.counts, axis=1, dtype=np.int32)
        n = cum[:, -1]
        out: dict[str, Arr] = {}
        for x in q:
            rank = x / 100.0 * (n - 1)
            k = np.floor(rank).astype(np.int64)
            k1 = np.minimum(k + 1, n - 1)
            v0 = _bin_value(self.lo, self.width, self.n_bins, (cum <= k[:, None]).sum(axis=1))
            v1 = _bin_value(self.lo, self.width, self.n_bins, (cum <= k1[:, None]).sum(axis=1))
            out[f"p{int(x):02d}"] = v0 + (rank - k) * (v1 - v0)
        return out


@dataclass(frozen=True)
class StreamedBands:
    """Percentile bands ``{name: {"p05": (T,), ...}}`` of ``n`` subjects simulated in
    ``chunks`` chunks; ``precision`` is the largest relative error of a percentile
    (``None``: exact, the population fitted one chunk)."""

    bands: dict[str, dict[str, Arr]]
    n: int
    chunks: int
    precision: float | None


def _chunk_seeds(seed: int | None, n_chunks: int) -> list[int | None]:
    """``seed`` itself for one chunk (the same subjects as the exact path), else seeds
    spawned from it (reproducible for a given chunk size)."""
    if n_chunks == 1:
        return [seed]
    return [int(ss.generate_state(1)[0]) for ss in np.random.SeedSequence(seed).spawn(n_chunks)]


def streamed_bands(
    draw: Callable[[int, int | None], Mapping[str, Arr]],
    n: int,
    seed: int | None,
    chunk: int,
    *,
    precision: float = 0.01,
    max_cells: int = 16_000_000,
    exact: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StreamedBands:
    """p05/p50/p95 per time point of ``n`` subjects, ``draw(m, seed)`` giving the values
    ``{name: (m, T)}`` of ``m`` subjects.

    A population of at most ``chunk`` subjects is drawn at once with ``seed`` and its
    percentiles are exact (unless ``exact=False``: the same subjects through the
    histograms). A larger one is drawn in chunks with seeds spawned from ``seed`` and
    counted in :class:`BandHistogram` bins of relative width ``precision`` (memory: one
    chunk and ``max_cells`` counts per name). ``progress(done, n)`` after each chunk.

    >>> draw = lambda m, s: {"x": np.random.default_rng(s).lognormal(size=(m, 3))}
    >>> b = streamed_bands(draw, 1_000, 1, chunk=300)
    >>> b.chunks, round(b.precision, 4), bool((b.bands["x"]["p05"] <= b.bands["x"]["p95"]).all())
    (4, 0.005, True)
    """
    for name, v in (("n", n), ("chunk", chunk)):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise InputError(name, v, "a whole number >= 1")
    n, chunk = int(n), int(chunk)
    n_chunks = (n + chunk - 1) // chunk
    if n_chunks == 1 and exact is not False:
        bands = {a: percentiles(c) for a, c in draw(n, seed).items()}
        if progress is not None:
            progress(n, n)
        return StreamedBands(bands, n, 1, None)
    hist: dict[str, BandHistogram] = {}
    done = 0
    for s in _chunk_seeds(seed, n_chunks):
        m = min(chunk, n - done)
        for a, c in draw(m, s).items():
            if a not in hist:
                hist[a] = BandHistogram.spanning(c, precision, max_cells)
            hist[a].add(c)
        done += m
        if progress is not None:
            progress(done, n)
    worst = max(h.half_bin for h in hist.values())
    return StreamedBands({a: h.percentiles() for a, h in hist.items()}, n, n_chunks, worst)


def summarize(
    drug: str,
    regimen: Regimen,
    n: int,
    seed: int | None = None,
    *,
    times_h: ArrayLike | None = None,
    patient: Patient | None = None,
    comedications: Iterable[Comedication | str] = (),
    draw_genotypes: bool = False,
    chunk: int = 20_000,
    window_h: float = 24.0,
    tdm_range: tuple[float, float] | None = None,
) -> dict[str, dict[str, Arr]]:
    """Per-patient summaries, streamed in chunks (memory bounded whatever ``n``).

    Returns ``{analyte (and "total" for a TDM sum): {summary: array (n,)}}`` with
    the fields of :data:`neurodose.pk.solve.SUMMARY_FIELDS` (Cmax, Tmax, AUC,
    Cmin over the last ``window_h``, time to 90 % steady state, fraction of time in
    ``tdm_range`` for the TDM sum, or the first analyte). Summaries are computed
    inside the numba kernel, so no n x T matrix is kept. Chunks use seeds spawned
    from ``seed`` (reproducible for a given chunk size).
    """
    if isinstance(chunk, bool) or int(chunk) < 1:
        raise InputError("chunk", chunk, "a whole number >= 1")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise InputError("n", n, "a whole number >= 1")
    spec = get_pkmodel(drug)
    default_t = np.arange(0.0, regimen.last_dose_time + 24.0 + 1e-9, 1.0)
    t = validate_times(times_h if times_h is not None else default_t)
    seeds = np.random.SeedSequence(seed).spawn((int(n) + chunk - 1) // chunk)
    comeds = list(comedications)
    total = spec.tdm_sum if len(spec.tdm_sum) > 1 else []
    parts: dict[str, dict[str, list[Arr]]] = {}
    cache: dict[tuple[str, ...], ParameterSet] = {}
    start = 0
    for ss in seeds:
        m = min(chunk, int(n) - start)
        pop = sample(
            drug,
            m,
            int(ss.generate_state(1)[0]),
            patient=patient,
            comedications=comeds,
            draw_genotypes=draw_genotypes,
            horizon_h=float(t[-1]),
            cache=cache,
        )
        assert pop.typical is not None
        res = summaries(
            pop.typical.model,
            pop.params,
            regimen,
            t,
            changes=pop.changes,
            total=total,
            window_h=window_h,
            tdm_range=tdm_range,
        )
        for a, d in res.items():
            for k, v in d.items():
                parts.setdefault(a, {}).setdefault(k, []).append(v)
        start += m
    out = {a: {k: np.concatenate(v) for k, v in d.items()} for a, d in parts.items()}
    if tdm_range is None:
        for d in out.values():
            d.pop("fraction_time_in_range", None)
    return out


def genotype_counts(phenotypes: Mapping[str, NDArray[np.str_]]) -> dict[str, dict[str, int]]:
    """Counts of each phenotype per gene (for reports)."""
    out: dict[str, dict[str, int]] = {}
    for g, v in phenotypes.items():
        names, counts = np.unique(v, return_counts=True)
        out[g] = {str(a): int(b) for a, b in zip(names, counts, strict=True)}
    return out
