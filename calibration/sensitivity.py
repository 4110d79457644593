"""Global sensitivity of the prediction outputs to the uncertain PD parameters.

Issue 20 item 7. Two stages, both on the virtual-trial engine's own functions
(:func:`neurodose.trial.run.run_chunk`: population, occupancy, pain, adverse effects,
withdrawal, endpoints; no second PD model):

1. **Morris screen** (SALib, ``--morris 20 40``: two independent samples of 20 and 40
   trajectories, 4 levels) over *every* PD parameter that the knowledge base marks
   ``calibrated`` or ``verified = false`` (read from ``load_pd_parameters()`` at run time,
   so the run follows whatever the knowledge base holds). A parameter is kept when its
   normalised mu* (mu* divided by the largest mu* of that output) reaches
   ``--keep`` (default 0.05) for some output in either screen.
2. **Sobol** (Saltelli/SALib, base ``--n-base`` >= 512, first and total order with
   bootstrap 95 % CIs) over the kept parameters; the screened-out ones stay at their
   stored values. Convergence: the nested N/2 sample, an independent sample of size N
   with another scramble seed (``--replicate``), the sum of the first-order indices with
   its bootstrap CI.

Parameter ranges: a parameter stored with a plausible range (``low``..``high``) is drawn
uniformly within it; every other one log-uniformly within x/÷ ``--spread`` (default 1.5;
no source gives a range for them); fractions of the model structure (:data:`FRACTIONS`)
are clipped to [0, 1].

**Without recalibration per draw**: the calibrated parameters are varied around their
fitted values; the fit is not redone for each draw, so the indices say how much the
outputs move with each number, not how much they would move after a refit.

Common random numbers: the varied parameters are PD parameters only (PK is not
varied), so each arm's PK concentrations are computed once, with the stored
parameters, and replayed for every draw (:class:`ReplayExposure`); every draw sees the
same virtual patients (the same seeds). The PK model's age covariate takes the ages of
that first (stored-parameter) population.

Outputs (:data:`OUTPUTS`), 12-week painful-diabetic-neuropathy trials, ITT/BOCF:

* ``rd50_<drug>``: risk difference of >= 50 % relief vs placebo (1/NNT; NNT itself is
  unbounded near 0) for amitriptyline (10 -> 50 mg), duloxetine 60 mg, pregabalin 300 mg/day;
* ``rd_withdrawal_<drug>``: AE-withdrawal risk difference vs placebo (1/NNH);
* ``dose_duloxetine_120_vs_60``, ``dose_pregabalin_600_vs_300``: difference of the
  >= 50 % responder rates between the doses (dose-response);
* ``sleep_first_<drug>``: completers (no withdrawal), the week-1 fraction of the week-12
  drug-vs-placebo sleep effect minus that of the pain effect (docs/claims.md, "sleep
  improves first": > 0 when sleep improves first);
* ``age_withdrawal_amitriptyline``, ``age_responders50_amitriptyline``: AE-withdrawal
  and >= 50 % relief rates on amitriptyline in 75-year-olds minus those at the reference
  age of 60 (ages fixed).

Run (the full analysis as issue 20 asks; hours of CPU on two busy cores)::

    PYTHONPATH=src .venv/bin/python calibration/sensitivity.py --n 200 \
        --morris 20 20 --keep 0.05 --n-base 512 --replicate 512 --workers 2 \
        --cache /tmp/sensitivity_cache

or in steps (what the committed documents come from, see docs/sensitivity.md)::

    ... sensitivity.py --n 200 --morris 20 20 --morris-only           # the screens
    ... sensitivity.py --n 200 --reuse-morris --keep 0.99 --n-base 512 --replicate 0 \
        --cache /tmp/sensitivity_cache                                 # Sobol on the top

``--cache`` keeps each stage's outputs (the Sobol sample runs as its nested N/2 half and
the rest): a stopped run resumes, and ``--n-base 256`` after a stop reuses the first half.

Dask (``--workers`` local processes or ``--scheduler``) runs blocks of draws; the result
is identical to ``--serial``. Writes ``calibration/sensitivity_results.json``,
``docs/sensitivity.md``, ``docs/figures/sensitivity_sobol.png`` and
``src/neurodose/knowledge/pdmodels/sensitivity_ranking.json`` and, from it,
``docs/evidence_gaps.md`` (``neurodose.knowledge.docgen`` lists the ranked parameters
first). ``calibration/sensitivity_report.py`` re-renders the documents from the results
without re-running. Sensitivity is not validation.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.pd.params import PDParameters, load_pd_parameters  # noqa: E402
from neurodose.trial.design import Design, parse_design  # noqa: E402
from neurodose.trial.design import arm_table as _arm  # noqa: E402
from neurodose.trial.endpoints import ArmAccumulator  # noqa: E402
from neurodose.trial.run import bounded_chunk_size, plan_chunks, run_chunk  # noqa: E402

OUT_JSON = ROOT / "calibration" / "sensitivity_results.json"
DOC = ROOT / "docs" / "sensitivity.md"
FIG = ROOT / "docs" / "figures" / "sensitivity_sobol.png"
RANKING = ROOT / "src" / "neurodose" / "knowledge" / "pdmodels" / "sensitivity_ranking.json"
SEED = 777
#: scramble seed of the independent Sobol replicate
SEED_REPLICATE = 4242

#: fractions of the model structure kept in [0, 1] (where the knowledge base holds them)
FRACTIONS = (
    "descending_max_inhibition",
    "ae_tolerance_max",
    "ae_tolerance_max_drowsiness_H1",
    "sleep_sedation_effect",
    "sleep_serotonergic_effect",
    "placebo_mean",
)

OUTPUTS = (
    "rd50_amitriptyline",
    "rd50_duloxetine",
    "rd50_pregabalin",
    "rd_withdrawal_amitriptyline",
    "rd_withdrawal_duloxetine",
    "rd_withdrawal_pregabalin",
    "dose_duloxetine_120_vs_60",
    "dose_pregabalin_600_vs_300",
    "sleep_first_amitriptyline",
    "sleep_first_pregabalin",
    "age_withdrawal_amitriptyline",
    "age_responders50_amitriptyline",
)

AMI = [(1, 10, 24), (8, 25, 24), (15, 50, 24)]
#: ages of the age contrast (reference = the AE model's reference age, 60)
AGE_OLD, AGE_REF = 75.0, 60.0


# ---------------------------------------------------------------------------- problem


def uncertain_names(p: PDParameters) -> list[str]:
    """Every PD parameter the knowledge base marks calibrated or unverified."""
    return sorted(k for k, q in p.quantities.items() if q.calibrated or not q.verified)


def _ranged(q: Any) -> bool:
    return q.low is not None and q.high is not None and q.low < q.high


def problem(p: PDParameters | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """SALib problem over :func:`uncertain_names` and the stored (base) values.

    Bounds: ``[low, high]`` (canonical units) for a parameter stored with a range;
    ``[-1, 1]`` (log-scale, times ``log(spread)``) for every other one.
    """
    p = p or load_pd_parameters()
    names = uncertain_names(p)
    bounds, base = [], {}
    for k in names:
        q = p.quantities[k]
        base[k] = q.canonical()
        if _ranged(q):
            f = q.canonical() / q.point if q.point else 1.0
            bounds.append([q.low * f, q.high * f])
        else:
            bounds.append([-1.0, 1.0])
    return {"num_vars": len(names), "names": names, "bounds": bounds}, base


def subproblem(prob: dict[str, Any], keep: Sequence[str]) -> dict[str, Any]:
    """The problem restricted to ``keep`` (in ``prob``'s order)."""
    idx = [prob["names"].index(k) for k in prob["names"] if k in set(keep)]
    return {
        "num_vars": len(idx),
        "names": [prob["names"][i] for i in idx],
        "bounds": [prob["bounds"][i] for i in idx],
    }


# ----------------------------------------------------------------- trial evaluation


class ReplayExposure:
    """PK concentrations recorded once per (drug, regimen, seed stream) and replayed.

    The trial engine draws each chunk's PK seed from its own stream
    (``SeedSequence([seed, arm, chunk])``), independent of the PD parameters, so the
    generator's state identifies the virtual patients: the same state, the same
    concentrations (common random numbers). A state not recorded is computed (and
    counted in :attr:`misses`).
    """

    def __init__(self) -> None:
        self.store: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
        self.misses = 0

    @staticmethod
    def _key(drug: str, regimen: Any, n: int, rng: np.random.Generator, times: Any) -> tuple:
        return (drug, repr(regimen), n, repr(rng.bit_generator.state), len(times))

    def __call__(self, drug, regimen, pop, rng, times_h):  # type: ignore[no-untyped-def]
        key = self._key(drug, regimen, len(pop), rng, times_h)
        hit = self.store.get(key)
        if hit is not None:
            return hit
        from neurodose.trial.exposure import population_concentrations

        self.misses += 1
        out = population_concentrations(drug, regimen, pop, rng, times_h)
        self.store[key] = out
        return out


def designs(n: int) -> dict[str, Design]:
    """The trials one draw runs (12 weeks, painful diabetic neuropathy, one seed)."""

    def d(name: str, arms: list[dict], population: dict | None = None) -> Design:
        spec: dict[str, Any] = {
            "name": f"sensitivity_{name}",
            "weeks": 12,
            "condition": "diabetic_neuropathy",
            "n_per_arm": n,
            "seed": SEED,
            "arms": [_arm("placebo", "placebo"), *arms],
        }
        if population:  # the age contrast compares drug arms (no placebo needed)
            spec.update(population=population, arms=arms, analysis={"nnt": False})
        return parse_design(spec)

    fixed = {"age_sd": 0.001, "age_min": 18, "age_max": 85}
    ami = _arm("ami", "amitriptyline", AMI)
    return {
        "main": d(
            "main",
            [
                ami,
                _arm("dlx60", "duloxetine", [(1, 60, 24)]),
                _arm("dlx120", "duloxetine", [(1, 60, 12)]),
                _arm("pgb300", "pregabalin", [(1, 150, 12)]),
                _arm("pgb600", "pregabalin", [(1, 300, 12)]),
            ],
        ),
        "completers": d("completers", [ami, _arm("pgb300", "pregabalin", [(1, 150, 12)])]),
        "age_ref": d("age_ref", [ami], {"age_mean": AGE_REF, **fixed}),
        "age_old": d("age_old", [ami], {"age_mean": AGE_OLD, **fixed}),
    }


#: parameter overrides of a design (completers: nobody withdraws)
DESIGN_OVERRIDES: dict[str, dict[str, float]] = {
    "completers": {"withdrawal_hazard_base": 0.0, "withdrawal_hazard_per_ae": 0.0},
}


@dataclass
class Context:
    """Everything a worker needs to evaluate draws (scattered once to each worker)."""

    params: PDParameters
    names: list[str]
    ranged: list[bool]
    base: dict[str, float]
    spread: float
    designs: dict[str, Design]
    exposure: dict[str, ReplayExposure] = field(default_factory=dict)


def make_context(n: int, spread: float, p: PDParameters | None = None) -> Context:
    """The context for ``n`` patients per arm, with the PK of every arm recorded."""
    p = p or load_pd_parameters()
    prob, base = problem(p)
    ctx = Context(
        params=p,
        names=prob["names"],
        ranged=[_ranged(p.quantities[k]) for k in prob["names"]],
        base=base,
        spread=spread,
        designs=designs(n),
    )
    ctx.exposure = {k: ReplayExposure() for k in ctx.designs}
    _simulate(ctx, p)  # records the PK of every arm (the stored parameters)
    return ctx


def values(ctx: Context, names: Sequence[str], row: Sequence[float]) -> dict[str, float]:
    """Parameter values (canonical units) for one row of a SALib sample over ``names``."""
    out: dict[str, float] = {}
    for k, x in zip(names, row, strict=True):
        i = ctx.names.index(k)
        v = float(x) if ctx.ranged[i] else ctx.base[k] * math.exp(float(x) * math.log(ctx.spread))
        if k in FRACTIONS:
            v = min(max(v, 0.0), 1.0)
        out[k] = v
    return out


def _simulate(ctx: Context, p: PDParameters) -> dict[str, dict[str, ArmAccumulator]]:
    """Every arm of every design, one chunk after another (the engine's ``run_chunk``)."""
    res: dict[str, dict[str, ArmAccumulator]] = {}
    for key, design in ctx.designs.items():
        pp = p.with_values(**DESIGN_OVERRIDES[key]) if key in DESIGN_OVERRIDES else p
        arms: dict[str, ArmAccumulator] = {}
        for spec in plan_chunks(design, bounded_chunk_size(design.n_per_arm, design.days)):
            acc = run_chunk(design, spec, pp, ctx.exposure[key])
            name = design.arms[spec.arm_index].name
            arms[name] = arms[name].merge(acc) if name in arms else acc
        res[key] = arms
    return res


def _rate(a: ArmAccumulator, what: str) -> float:
    return float(getattr(a, what)) / a.n


def _onset_fraction(pl: ArmAccumulator, drug: ArmAccumulator, series: str) -> float:
    """Week-1 fraction of the week-12 drug-vs-placebo effect on ``series`` (0 if none)."""
    diff = (getattr(pl, series) - getattr(drug, series)) / drug.n
    if abs(diff[-1]) < 1e-9:
        return 0.0
    return float(np.clip(diff[1] / diff[-1], -1.0, 2.0))


def outputs(res: dict[str, dict[str, ArmAccumulator]]) -> dict[str, float]:
    """The prediction outputs (:data:`OUTPUTS`) from one draw's arms."""
    m, c = res["main"], res["completers"]
    rd = lambda arms, a, w: _rate(arms[a], w) - _rate(arms["placebo"], w)  # noqa: E731
    out = {}
    for arm, drug in (("ami", "amitriptyline"), ("dlx60", "duloxetine"), ("pgb300", "pregabalin")):
        out[f"rd50_{drug}"] = rd(m, arm, "responders_50")
        out[f"rd_withdrawal_{drug}"] = rd(m, arm, "withdrawal_ae")
    out["dose_duloxetine_120_vs_60"] = rd(m, "dlx120", "responders_50") - rd(
        m, "dlx60", "responders_50"
    )
    out["dose_pregabalin_600_vs_300"] = rd(m, "pgb600", "responders_50") - rd(
        m, "pgb300", "responders_50"
    )
    for arm, drug in (("ami", "amitriptyline"), ("pgb300", "pregabalin")):
        out[f"sleep_first_{drug}"] = _onset_fraction(
            c["placebo"], c[arm], "weekly_sleep"
        ) - _onset_fraction(c["placebo"], c[arm], "weekly_pain")
    old, ref = res["age_old"], res["age_ref"]
    for what, key in (("withdrawal_ae", "withdrawal"), ("responders_50", "responders50")):
        out[f"age_{key}_amitriptyline"] = _rate(old["ami"], what) - _rate(ref["ami"], what)
    return out


def evaluate(ctx: Context, names: Sequence[str], row: Sequence[float]) -> list[float]:
    """:data:`OUTPUTS` for one parameter draw (a deterministic set of virtual trials)."""
    out = outputs(_simulate(ctx, ctx.params.with_values(**values(ctx, names, row))))
    return [out[k] for k in OUTPUTS]


# ------------------------------------------------------------------------- running

Model = Callable[[Any, Sequence[str], Sequence[float]], Sequence[float]]


def _block(model: Model, ctx: Any, names: Sequence[str], rows: np.ndarray) -> np.ndarray:
    return np.array([model(ctx, names, r) for r in rows], dtype=float)


@dataclass
class Runner:
    """Evaluates blocks of draws serially or on Dask; records wall and CPU time."""

    workers: int = 2
    scheduler: str | None = None
    serial: bool = False
    block: int = 32
    #: folder where each stage's outputs are kept (a re-run with the same draws, model
    #: and parameters reuses them: a long run can be resumed stage by stage)
    cache: Path | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    _client: Any = None
    _cluster: Any = None

    def start(self) -> None:
        if self.serial or self._client is not None:
            return
        from distributed import Client, LocalCluster

        if self.scheduler:
            self._client = Client(self.scheduler)
        else:
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            )
            self._client = Client(self._cluster)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def _worker_cpu(self) -> float:
        if self._client is None:
            return 0.0
        cpu = self._client.run(lambda: time.process_time())
        return float(sum(cpu.values()))

    def run(self, label: str, model: Model, ctx: Any, names: Sequence[str], X: np.ndarray):
        """``model(ctx, names, row)`` for every row of ``X`` -> array (rows, outputs)."""
        path = self._cached(model, ctx, names, X)
        if path is not None and path.exists():
            with np.load(path) as z:
                self.log.append(json.loads(str(z["log"])))
                return np.asarray(z["Y"])
        t0, c0, w0 = time.time(), time.process_time(), self._worker_cpu()
        blocks = [X[i : i + self.block] for i in range(0, len(X), self.block)]
        if self._client is None:
            Y = np.vstack([_block(model, ctx, names, b) for b in blocks])
        else:
            fut_ctx = self._client.scatter(ctx, broadcast=True)
            futs = self._client.map(
                _block,
                [model] * len(blocks),
                [fut_ctx] * len(blocks),
                [list(names)] * len(blocks),
                blocks,
                pure=False,
            )
            Y = np.vstack(self._client.gather(futs))
        self.log.append(
            {
                "stage": label,
                "draws": len(X),
                "wall_s": round(time.time() - t0, 1),
                "cpu_s": round(time.process_time() - c0 + self._worker_cpu() - w0, 1),
                "load_after": list(os.getloadavg()),
            }
        )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, Y=Y, log=json.dumps(self.log[-1]))
        return Y

    def _cached(self, model: Model, ctx: Any, names: Sequence[str], X: np.ndarray):
        if self.cache is None:
            return None
        import hashlib

        h = hashlib.sha256(np.ascontiguousarray(X).tobytes())
        h.update(repr((getattr(model, "__qualname__", ""), list(names))).encode())
        if isinstance(ctx, Context):
            n = next(iter(ctx.designs.values())).n_per_arm
            h.update(repr((sorted(ctx.base.items()), ctx.spread, n, OUTPUTS)).encode())
        return self.cache / f"{h.hexdigest()[:20]}.npz"


# ------------------------------------------------------------------------- analysis


def morris_screen(
    prob: dict[str, Any], model: Model, ctx: Any, runner: Runner, r: int, seed: int
) -> dict[str, Any]:
    """Morris elementary effects (``r`` trajectories, 4 levels) for every output."""
    from SALib.analyze import morris as morris_an
    from SALib.sample import morris as morris_sa

    X = morris_sa.sample(prob, r, num_levels=4, seed=seed)
    Y = runner.run(f"morris r={r} seed={seed}", model, ctx, prob["names"], X)
    out: dict[str, Any] = {"trajectories": r, "seed": seed, "draws": len(X), "outputs": {}}
    for j, o in enumerate(_output_names(Y)):
        Si = morris_an.analyze(prob, X, Y[:, j], num_resamples=500, num_levels=4, seed=seed)
        mu = np.nan_to_num(np.asarray(Si["mu_star"], dtype=float))
        top = mu.max() if mu.max() > 0 else 1.0
        out["outputs"][o] = {
            "mu_star": mu.tolist(),
            "mu_star_conf": np.nan_to_num(np.asarray(Si["mu_star_conf"], dtype=float)).tolist(),
            "sigma": np.nan_to_num(np.asarray(Si["sigma"], dtype=float)).tolist(),
            "mu_star_norm": (mu / top).tolist(),
        }
    return out


_OUTPUT_NAMES: list[str] = list(OUTPUTS)


def _output_names(Y: np.ndarray) -> list[str]:
    """Output names for the columns of ``Y`` (:data:`OUTPUTS`, or y0.. for test models)."""
    if Y.shape[1] == len(_OUTPUT_NAMES):
        return _OUTPUT_NAMES
    return [f"y{j}" for j in range(Y.shape[1])]


def morris_importance(screen: dict[str, Any]) -> np.ndarray:
    """Per parameter: the largest normalised mu* over the outputs."""
    return np.array([v["mu_star_norm"] for v in screen["outputs"].values()]).max(axis=0)


def kept(prob: dict[str, Any], screens: Sequence[dict[str, Any]], threshold: float) -> list[str]:
    """Parameters whose normalised mu* reaches ``threshold`` for some output in some screen."""
    imp = np.max([morris_importance(s) for s in screens], axis=0)
    return [k for k, v in zip(prob["names"], imp, strict=True) if v >= threshold]


def screen_stability(prob: dict[str, Any], a: dict, b: dict, threshold: float) -> dict:
    """Agreement of two Morris screens: rank correlation of mu* and of the kept sets."""
    from scipy.stats import spearmanr

    ia, ib = morris_importance(a), morris_importance(b)
    ka, kb = set(kept(prob, [a], threshold)), set(kept(prob, [b], threshold))
    top = min(10, len(ia))
    return {
        "spearman_mu_star": float(spearmanr(ia, ib).statistic),
        "kept_a": len(ka),
        "kept_b": len(kb),
        "kept_both": len(ka & kb),
        "only_a": sorted(ka - kb),
        "only_b": sorted(kb - ka),
        "top10_overlap": len(set(np.argsort(-ia)[:top]) & set(np.argsort(-ib)[:top])),
    }


def sobol_sample(prob: dict[str, Any], n: int, seed: int) -> np.ndarray:
    from SALib.sample import sobol as sobol_sa

    return sobol_sa.sample(prob, n, calc_second_order=False, seed=seed)


def indices(prob: dict[str, Any], y: np.ndarray, resamples: int, seed: int = SEED) -> dict:
    """S1/ST with bootstrap 95 % CIs and the bootstrap CI of the sum of S1."""
    from SALib.analyze import sobol

    if np.ptp(y) == 0:  # a constant output: no variance to apportion
        z = [0.0] * prob["num_vars"]
        return {"S1": z, "S1_conf": z, "ST": z, "ST_conf": z, "S1_sum": 0.0,
                "S1_sum_ci": [0.0, 0.0], "constant": True}  # fmt: skip
    Si = sobol.analyze(
        prob, y, calc_second_order=False, num_resamples=resamples, keep_resamples=True, seed=seed
    )
    sums = np.asarray(Si["S1_conf_all"]).sum(axis=1)
    lo, hi = np.percentile(sums, [2.5, 97.5])
    f = lambda a: [float(x) for x in np.nan_to_num(np.asarray(a, dtype=float))]  # noqa: E731
    return {
        "S1": f(Si["S1"]),
        "S1_conf": f(Si["S1_conf"]),
        "ST": f(Si["ST"]),
        "ST_conf": f(Si["ST_conf"]),
        "S1_sum": float(np.sum(Si["S1"])),
        "S1_sum_ci": [float(lo), float(hi)],
    }


def convergence(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """How far the indices of two estimates (N/2 vs N, or two seeds) lie apart."""
    from scipy.stats import spearmanr

    sa, sb = np.array(a["ST"]), np.array(b["ST"])
    ok = np.ptp(sa) > 0 and np.ptp(sb) > 0
    return {
        "max_abs_dST": float(np.max(np.abs(sa - sb))),
        "max_abs_dS1": float(np.max(np.abs(np.array(a["S1"]) - np.array(b["S1"])))),
        "spearman_ST": float(spearmanr(sa, sb).statistic) if ok else float("nan"),
        "max_ST_conf": float(np.max(b["ST_conf"])),
    }


def sobol_stage(
    prob: dict[str, Any],
    model: Model,
    ctx: Any,
    runner: Runner,
    n_base: int,
    resamples: int,
    n_replicate: int | None = None,
) -> dict[str, Any]:
    """Sobol indices at N and at the nested N/2, and an independent sample (another
    scramble seed) of base ``n_replicate`` (default N; 0: none), compared with the
    estimate of the same size (N, or the nested N/2)."""
    per = prob["num_vars"] + 2
    n_rep = n_base if n_replicate is None else n_replicate
    X = sobol_sample(prob, n_base, SEED)
    if not np.allclose(X[: n_base // 2 * per], sobol_sample(prob, n_base // 2, SEED)):
        raise RuntimeError("the Saltelli sample of N/2 is not nested in that of N")
    # two stages, the nested N/2 first: a run stopped after it resumes (``--cache``), and
    # its outputs are those of a run with base N/2
    h = n_base // 2 * per
    Y = np.vstack(
        [
            runner.run(f"sobol N={n_base // 2}", model, ctx, prob["names"], X[:h]),
            runner.run(f"sobol N={n_base}, second half", model, ctx, prob["names"], X[h:]),
        ]
    )
    Y2 = None
    if n_rep:
        X2 = sobol_sample(prob, n_rep, SEED_REPLICATE)
        Y2 = runner.run(f"sobol N={n_rep} independent seed", model, ctx, prob["names"], X2)
    res: dict[str, Any] = {"n_base": n_base, "n_replicate": n_rep, "draws": len(X),
                           "outputs": {}, "half": {}, "replicate": {}, "conv_half": {},
                           "conv_replicate": {}}  # fmt: skip
    for j, o in enumerate(_output_names(Y)):
        full = indices(prob, Y[:, j], resamples)
        half = indices(prob, Y[: n_base // 2 * per, j], resamples)
        res["outputs"][o] = {"mean": float(Y[:, j].mean()), "sd": float(Y[:, j].std()), **full}
        res["half"][o] = half
        res["conv_half"][o] = convergence(half, full)
        if Y2 is not None:
            rep = indices(prob, Y2[:, j], resamples)
            res["replicate"][o] = rep
            res["conv_replicate"][o] = convergence(rep, full if n_rep == n_base else half)
    return res


# ----------------------------------------------------------------------------- main


def _screens(
    a: argparse.Namespace, prob: dict[str, Any], ctx: Context, runner: Runner
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Morris screens (run now, or taken from the last results with ``--reuse-morris``)
    and the timing rows of the reused ones."""
    if a.reuse_morris:
        last = json.loads(OUT_JSON.read_text(encoding="utf-8"))
        if last["parameters"] != prob["names"] or last["n_per_arm"] != a.n:
            raise SystemExit("--reuse-morris: the last screen used other parameters or n")
        return last["morris"], [t for t in last["timing"] if t["stage"].startswith("morris")]
    return [
        morris_screen(prob, evaluate, ctx, runner, r, SEED + i) for i, r in enumerate(a.morris)
    ], []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n-base", type=int, default=512, help="Saltelli base sample (power of 2)")
    ap.add_argument("--n", type=int, default=300, help="patients per arm in each trial")
    ap.add_argument("--spread", type=float, default=1.5, help="x/÷ range of unranged parameters")
    ap.add_argument("--morris", type=int, nargs="*", default=[20, 40], help="trajectories")
    ap.add_argument("--keep", type=float, default=0.05, help="normalised mu* to keep")
    ap.add_argument(
        "--reuse-morris", action="store_true", help="take the screens from the last results"
    )
    ap.add_argument("--morris-only", action="store_true", help="stop after the screen")
    ap.add_argument(
        "--replicate", type=int, default=None, help="base N of the independent sample (0: none)"
    )
    ap.add_argument("--scheduler", default=None, help="Dask scheduler address")
    ap.add_argument("--workers", type=int, default=2, help="local Dask worker processes")
    ap.add_argument("--serial", action="store_true", help="no Dask (same result)")
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--cache", type=Path, default=None, help="keep/reuse each stage's outputs")
    a = ap.parse_args(argv)
    if a.n_base < 4 or a.n_base & (a.n_base - 1):
        ap.error(f"--n-base {a.n_base}: expected a power of 2 >= 4")
    t0, c0 = time.time(), time.process_time()
    ctx = make_context(a.n, a.spread)
    prob, _ = problem(ctx.params)
    runner = Runner(a.workers, a.scheduler, a.serial, cache=a.cache)
    runner.log.append({"stage": "record PK", "wall_s": round(time.time() - t0, 1),
                       "cpu_s": round(time.process_time() - c0, 1)})  # fmt: skip
    runner.start()
    try:
        screens, earlier = _screens(a, prob, ctx, runner)
        keep = kept(prob, screens, a.keep) if screens else list(prob["names"])
        sub = subproblem(prob, keep)
        print(f"kept {len(keep)} of {prob['num_vars']}: {keep}", flush=True)
        sob: dict[str, Any] = {}
        if not a.morris_only:
            sob = sobol_stage(sub, evaluate, ctx, runner, a.n_base, a.resamples, a.replicate)
    finally:
        runner.close()
    runner.log = earlier + runner.log
    res = {
        "n_base": a.n_base,
        "n_per_arm": a.n,
        "spread": a.spread,
        "keep_threshold": a.keep,
        "recalibration_per_draw": False,
        "runner": "serial" if a.serial else (a.scheduler or f"dask LocalCluster x{a.workers}"),
        "timing": runner.log,
        "total_wall_s": round(time.time() - t0, 1),
        "cpu_count": os.cpu_count(),
        "parameters": prob["names"],
        "base": ctx.base,
        "morris": screens,
        "morris_stability": (
            screen_stability(prob, screens[0], screens[1], a.keep) if len(screens) > 1 else {}
        ),
        "kept": sub["names"],
        "sobol": sob,
        "pk_misses_per_design": {k: e.misses for k, e in ctx.exposure.items()},
    }
    OUT_JSON.write_text(json.dumps(res, indent=1), encoding="utf-8")
    if a.morris_only:
        print(f"wrote {OUT_JSON} (screen only)")
        return 0
    sys.path.insert(0, str(ROOT / "calibration"))
    from sensitivity_report import write_doc, write_ranking  # the doc writer

    write_doc(res)
    write_ranking(res)
    print(f"wrote {OUT_JSON}, {DOC}, {FIG}, {RANKING}, evidence gaps ({res['total_wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
