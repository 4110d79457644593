"""MAP Bayesian estimation of one patient's PK parameters.

The optimiser is a damped Newton method on eta with a finite-difference
gradient and Hessian built from **one vectorised call** to the PK engine per
iteration (the 1 + 2k + 2k(k-1) stencil points are predicted together), and a
vectorised line search (several step lengths in one call). Sparse data give
flat, sometimes multimodal objectives, so the fit starts from a design of
candidate points (prior mode, +-1.5 SD along each principal axis of Omega and
prior draws), evaluated together, and runs the local search from the prior
mode and from the best distinct candidates; the lowest optimum wins and the
result says whether the starts agreed.

Uncertainty: Laplace (covariance of eta = 2 H^-1, H the Hessian of OFV at the
optimum) or sampling importance resampling (SIR; Dosne et al. 2016) around
the Laplace approximation.

References
----------
Dosne AG, Bergstrand M, Harling K, Karlsson MO. Improving the estimation of
parameter uncertainty distributions in nonlinear mixed effects models using
sampling importance resampling. J Pharmacokinet Pharmacodyn 2016;43:583-596.
doi:10.1007/s10928-016-9487-8
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from neurodose.case.regimen import ExpandedDoses
from neurodose.errors import EstimationError, InputError
from neurodose.mipd.levels import Observations
from neurodose.mipd.model import PriorModel, require_oral
from neurodose.mipd.objective import Objective

__all__ = ["FitDiagnostics", "MapResult", "fit_map", "newton_minimise", "sir_samples"]

FloatArray = NDArray[np.float64]

#: finite-difference step on eta (log scale) for gradient and Hessian
FD_STEP = 1e-3
#: largest Newton step (eta units) per iteration
MAX_STEP = 1.5
_ALPHAS = np.array([1.0, 0.5, 0.25, 0.1, 0.02])  # [0] is the optimistic full step


def _stencil(k: int, h: float) -> FloatArray:
    """Offsets for central-difference gradient and Hessian: 1 + 2k + 2k(k-1) rows."""
    rows = [np.zeros(k)]
    eye = np.eye(k) * h
    rows += list(eye)
    rows += list(-eye)
    for i in range(k):
        for j in range(i + 1, k):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                r = np.zeros(k)
                r[i], r[j] = si * h, sj * h
                rows.append(r)
    return np.asarray(rows)


def _grad_hess(fv: FloatArray, k: int, h: float) -> tuple[FloatArray, FloatArray]:
    f0 = fv[0]
    fp, fm = fv[1 : k + 1], fv[k + 1 : 2 * k + 1]
    g = (fp - fm) / (2 * h)
    H = np.diag((fp - 2 * f0 + fm) / (h * h))
    pos = 2 * k + 1
    for i in range(k):
        for j in range(i + 1, k):
            fpp, fpm, fmp, fmm = fv[pos : pos + 4]
            H[i, j] = H[j, i] = (fpp - fpm - fmp + fmm) / (4 * h * h)
            pos += 4
    return g, H


def _newton_direction(g: FloatArray, H: FloatArray) -> FloatArray:
    w, V = np.linalg.eigh(H)
    floor = max(1e-8, 1e-6 * float(np.max(np.abs(w))))
    w = np.maximum(np.abs(w), floor)  # positive definite (saddle-free Newton)
    d = -(V @ ((V.T @ g) / w))
    n = float(np.linalg.norm(d))
    if n > MAX_STEP:
        d *= MAX_STEP / n
    return d


@dataclass
class _LocalResult:
    eta: FloatArray
    ofv: float
    grad: FloatArray
    hess: FloatArray
    n_iter: int
    n_eval: int
    converged: bool


def newton_minimise(
    f: Callable[[FloatArray], FloatArray], eta0: FloatArray, max_iter: int = 50, tol: float = 1e-8
) -> _LocalResult:
    """Damped Newton from ``eta0`` with vectorised finite differences.

    Each iteration evaluates the stencil (gradient and Hessian) directly at the
    full Newton step; if that does not lower OFV, a vectorised line search
    (step lengths 0.5 ... 0.02) runs first. Stops when the predicted decrease
    ``0.5 g' H^-1 g`` is below ``tol`` and the step is below 1e-5, or when no
    step length lowers OFV.
    """
    k = eta0.size
    st = _stencil(k, FD_STEP)
    eta = np.asarray(eta0, dtype=float).copy()
    fv = f(eta + st)
    n_eval = st.shape[0]
    f0 = float(fv[0])
    g, H = _grad_hess(fv, k, FD_STEP)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        d = _newton_direction(g, H)
        pred_dec = -float(g @ d)
        if pred_dec < tol and float(np.max(np.abs(d))) < 1e-5:
            converged = True
            break
        fv = f(eta + d + st)
        n_eval += st.shape[0]
        if np.isfinite(fv[0]) and fv[0] < f0:
            eta = eta + d
        else:
            trial = eta + _ALPHAS[1:, None] * d
            ft = f(trial)
            n_eval += trial.shape[0]
            best = int(np.argmin(ft))
            if not ft[best] < f0:
                # no descent along d: at the optimum within FD accuracy
                converged = pred_dec < 1e-6
                break
            eta = trial[best]
            fv = f(eta + st)
            n_eval += st.shape[0]
        f_prev, f0 = f0, float(fv[0])
        g, H = _grad_hess(fv, k, FD_STEP)
        if f_prev - f0 < tol * 0.1 and float(np.max(np.abs(d))) < 1e-6:
            converged = True
            break
    return _LocalResult(eta, f0, g, H, it, n_eval, converged)


@dataclass(frozen=True)
class FitDiagnostics:
    """How the fit went and how far the data moved the prior."""

    converged: bool
    n_iter: int
    n_eval: int
    gradient_norm: float
    hessian_condition: float
    n_starts: int
    n_distinct_optima: int
    ofv_spread_between_starts: float
    posterior_sd_ratio: dict[str, float]
    ipred: list[float]
    pred: list[float]
    iwres: list[float]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MapResult:
    """Result of :func:`fit_map`.

    Attributes
    ----------
    eta : (k,) array
        MAP estimate of eta (log-scale deviations from the typical values).
    cov_eta : (k, k) array
        Laplace covariance of eta (2 H^-1).
    ofv, ofv_data, ofv_prior : float
        Objective at the optimum and its data and prior parts.
    """

    model: PriorModel
    doses: ExpandedDoses
    obs: Observations
    eta: FloatArray
    cov_eta: FloatArray
    ofv: float
    ofv_data: float
    ofv_prior: float
    diagnostics: FitDiagnostics

    @property
    def individual(self) -> dict[str, float]:
        """Individual parameter values at the MAP estimate."""
        th = self.model.theta(self.eta[None, :])
        return {p: float(th[p][0]) for p in self.model.varying}

    @property
    def prior(self) -> dict[str, float]:
        """Typical values (the prior mode) for this patient."""
        return {p: float(self.model.typical[p]) for p in self.model.varying}

    def interval(self, level: float = 0.90) -> dict[str, tuple[float, float]]:
        """Laplace interval of each individual parameter (log-normal)."""
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2))
        M = self.model.eta_matrix
        se = np.sqrt(np.einsum("ij,jk,ik->i", M, self.cov_eta, M))
        ind = self.individual
        return {
            p: (ind[p] * float(np.exp(-z * se[i])), ind[p] * float(np.exp(z * se[i])))
            for i, p in enumerate(self.model.varying)
        }

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        method: Literal["laplace", "sir"] = "laplace",
    ) -> FloatArray:
        """``n`` posterior draws of eta (n, k) by Laplace or SIR."""
        if method == "laplace":
            L = _safe_chol(self.cov_eta)
            return self.eta + rng.standard_normal((n, self.eta.size)) @ L.T
        if method == "sir":
            return sir_samples(self, n, rng)
        raise InputError("method", method, "'laplace' or 'sir'")

    def objective(self) -> Objective:
        return Objective(self.model, self.doses, self.obs)


def _safe_chol(c: FloatArray) -> FloatArray:
    w, V = np.linalg.eigh((c + c.T) / 2)
    w = np.maximum(w, 1e-12 * max(1.0, float(np.max(w))))
    return np.asarray(V * np.sqrt(w))


def _candidates(model: PriorModel, n_random: int, rng: np.random.Generator) -> FloatArray:
    w, V = np.linalg.eigh(model.omega)
    axes = (V * np.sqrt(w)).T * 1.5
    rows = [np.zeros(model.k), *axes, *(-axes)]
    if n_random > 0:
        rows += list(np.clip(model.sample_prior(n_random, rng), -3.0, 3.0))
    return np.asarray(rows)


def _a_priori(model: PriorModel, doses: ExpandedDoses, obs: Observations) -> MapResult:
    """No levels: the a-priori prediction (eta = 0, the prior covariance)."""
    diag = FitDiagnostics(
        True,
        0,
        0,
        0.0,
        float(np.linalg.cond(model.omega)),
        0,
        1,
        0.0,
        dict.fromkeys(model.param_names, 1.0),
        [],
        [],
        [],
        ["no levels: a-priori prediction from the population model"],
    )
    return MapResult(model, doses, obs, np.zeros(model.k), model.omega.copy(), 0.0, 0.0, 0.0, diag)


def _starts(
    model: PriorModel, f: Objective, n_starts: int, n_candidates: int, seed: int
) -> tuple[list[FloatArray], int]:
    """The prior mode and the best distinct candidate points; objective evaluations used."""
    starts = [np.zeros(model.k)]
    if n_starts <= 1:
        return starts, 0
    cand = _candidates(model, n_candidates, np.random.default_rng(seed))
    fc = f(cand)
    for i in np.argsort(fc):
        if len(starts) >= n_starts:
            break
        if np.isfinite(fc[i]) and all(np.max(np.abs(cand[i] - s)) > 0.25 for s in starts):
            starts.append(cand[i])
    return starts, int(cand.shape[0])


def _covariance(
    H: FloatArray, model: PriorModel, best: _LocalResult, distinct: int, n_ok: int
) -> tuple[FloatArray, list[str]]:
    """Laplace covariance (the prior's when H is not positive definite) and the
    optimiser's warnings."""
    warnings: list[str] = []
    if np.min(np.linalg.eigvalsh(H)) <= 0:
        warnings.append(
            "Hessian at the optimum is not positive definite; uncertainty uses the prior covariance"
        )
        cov = model.omega.copy()
    else:
        cov = np.asarray(2.0 * np.linalg.inv(H), dtype=np.float64)
    if not best.converged:
        warnings.append(f"optimiser did not meet the tolerance in {best.n_iter} iterations")
    if distinct > 1:
        warnings.append(
            f"{distinct} distinct local optima found from {n_ok} starts; the lowest is reported"
        )
    return cov, warnings


def _data_warnings(
    model: PriorModel, obs: Observations, iwres: FloatArray, eta: FloatArray, sd_ratio: FloatArray
) -> list[str]:
    """Warnings about the levels: outlying residuals, extreme etas, uninformative data."""
    warnings: list[str] = []
    if np.any(np.abs(iwres[~obs.blq]) > 3):
        warnings.append("a level lies more than 3 residual SDs from the individual fit (|IWRES|>3)")
    z_eta = eta / np.sqrt(np.diag(model.omega))
    for p, z in zip(model.param_names, z_eta, strict=True):
        if abs(z) > 3:
            warnings.append(
                f"{p} is {z:+.1f} SD from the population value: check doses, sample "
                "times and adherence before acting on it"
            )
    for p, r_ in zip(model.param_names, sd_ratio, strict=True):
        if r_ > 0.9:
            warnings.append(f"the levels hardly inform {p} (posterior SD {r_:.0%} of prior SD)")
    return warnings


def _local_searches(
    f: Objective, starts: list[FloatArray], tol: float
) -> tuple[list[_LocalResult], _LocalResult, int, int]:
    """Newton from every start: the finite results, the best, the number of distinct
    optima and the objective evaluations used."""
    results = [newton_minimise(f, s, tol=tol) for s in starts]
    n_eval = sum(r.n_eval for r in results)
    ok = [r for r in results if np.isfinite(r.ofv)]
    if not ok:
        raise EstimationError("MAP estimation failed: the objective was not finite at any start")
    best = min(ok, key=lambda r: r.ofv)
    distinct = 1 + sum(
        1
        for r in ok
        if r is not best and r.ofv - best.ofv > 1e-3 and np.max(np.abs(r.eta - best.eta)) > 1e-2
    )
    return ok, best, distinct, n_eval


def fit_map(
    model: PriorModel,
    doses: ExpandedDoses,
    obs: Observations | None = None,
    n_starts: int = 3,
    n_candidates: int = 16,
    seed: int = 0,
    tol: float = 1e-8,
) -> MapResult:
    """MAP estimate of eta for one patient.

    Parameters
    ----------
    model : PriorModel
        Prior for this patient (typical values after covariates, Omega, residual).
    doses : ExpandedDoses
        Doses given (times in h after the first dose, mg; oral), e.g.
        ``Regimen.oral("25 mg", every="24 h", doses=28).expand()``.
    obs : Observations, optional
        Measured levels; none gives the a-priori prediction (eta = 0).
    n_starts : int
        Local searches: from the prior mode and from the ``n_starts - 1`` best
        distinct candidate points.
    n_candidates : int
        Random prior draws added to the axis design for choosing starts.
    seed : int
        Seed for the candidate draws (results are reproducible).
    tol : float
        Convergence tolerance on the predicted OFV decrease.

    Returns
    -------
    MapResult

    Raises
    ------
    EstimationError
        If no local search converged.
    """
    require_oral(doses)
    if obs is None:
        obs = Observations.empty()
    if n_starts < 1:
        raise InputError("n_starts", n_starts, "at least 1")
    if len(obs):
        obs.check_after(doses.first_h if len(doses) else 0.0)
    if len(doses) == 0 and len(obs):
        raise InputError("regimen", "no doses", "at least one dose before the first level")
    f = Objective(model, doses, obs)
    k = model.k
    if len(obs) == 0:
        return _a_priori(model, doses, obs)

    starts, n_eval = _starts(model, f, n_starts, n_candidates, seed)
    ok, best, distinct, n_local = _local_searches(f, starts, tol)
    n_eval += n_local
    ofvs = np.array([r.ofv for r in ok])
    H = (best.hess + best.hess.T) / 2
    cov, warnings = _covariance(H, model, best, distinct, len(ok))
    eta = best.eta
    ofv_prior = float(f.prior_terms(eta)[0])
    ofv = best.ofv
    both, both_sd = f.predictions_and_sd(np.vstack([eta, np.zeros(k)]))
    ipred, pred, sig = both[0], both[1], both_sd[0]
    iwres = np.where(obs.blq, np.nan, (obs.value - ipred) / sig)
    sd_ratio = np.sqrt(np.diag(cov) / np.diag(model.omega))
    warnings += _data_warnings(model, obs, iwres, eta, sd_ratio)
    diag = FitDiagnostics(
        converged=best.converged,
        n_iter=best.n_iter,
        n_eval=n_eval,
        gradient_norm=float(np.linalg.norm(best.grad)),
        hessian_condition=float(np.linalg.cond(H)),
        n_starts=len(ok),
        n_distinct_optima=distinct,
        ofv_spread_between_starts=float(np.max(ofvs) - np.min(ofvs)),
        posterior_sd_ratio={
            p: float(r_) for p, r_ in zip(model.param_names, sd_ratio, strict=True)
        },
        ipred=[float(x) for x in ipred],
        pred=[float(x) for x in pred],
        iwres=[None if np.isnan(x) else float(x) for x in iwres],  # type: ignore[misc]
        warnings=warnings,
    )
    return MapResult(model, doses, obs, eta, cov, ofv, ofv - ofv_prior, ofv_prior, diag)


def sir_samples(
    result: MapResult,
    n: int,
    rng: np.random.Generator,
    n_proposals: int | None = None,
    inflation: float = 1.5,
    df: float = 5.0,
) -> FloatArray:
    """Posterior draws of eta by sampling importance resampling.

    Proposals come from a multivariate t (``df``) centred on the MAP estimate
    with the Laplace covariance times ``inflation``; each is weighted by
    ``exp(-OFV/2) / q`` and ``n`` are resampled without replacement.
    """
    m = int(n_proposals or max(5 * n, 1000))
    if n > m:
        raise InputError("n", n, f"at most the number of proposals ({m})")
    k = result.eta.size
    L = _safe_chol(result.cov_eta * inflation)
    z = rng.standard_normal((m, k))
    u = rng.chisquare(df, size=m) / df
    x = result.eta + (z / np.sqrt(u)[:, None]) @ L.T
    ofv = result.objective()(x)
    # log density of the multivariate t (up to a constant)
    sol = np.linalg.solve(L, (x - result.eta).T).T
    q = -0.5 * (df + k) * np.log1p(np.sum(sol * sol, axis=1) / df)
    logw = -0.5 * ofv - q
    logw[~np.isfinite(logw)] = -np.inf
    if not np.any(np.isfinite(logw)):
        raise EstimationError("SIR: no proposal had a finite objective")
    w = np.exp(logw - np.max(logw))
    w /= w.sum()
    nonzero = int(np.count_nonzero(w))
    idx = rng.choice(m, size=min(n, nonzero), replace=False, p=w)
    return np.asarray(x[idx])
