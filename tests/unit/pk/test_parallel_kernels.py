"""The parallel (prange) decomposition/projection kernels: same numbers as the
former batched numpy code, and the same results whatever the thread count."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from neurodose.case import Comedication, Regimen
from neurodose.pk import kernels, population
from neurodose.pk.exact import SEP, decompose


def _reference_lower(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The former batched numpy closed form (with its diagonal separation)."""
    A = A.copy()
    d = np.diagonal(A, axis1=1, axis2=2)
    k = d.shape[1]
    scale = np.maximum(np.abs(d).max(axis=1), 1e-300)
    close = np.zeros(d.shape[0], dtype=bool)
    for i in range(k):
        for j in range(i + 1, k):
            close |= np.abs(d[:, i] - d[:, j]) < SEP * scale
    if np.any(close):
        idx = np.nonzero(close)[0]
        for j in range(k):
            A[idx, j, j] *= 1.0 + 3.0 * SEP * (j + 1)
    n = A.shape[0]
    lam = np.ascontiguousarray(np.diagonal(A, axis1=1, axis2=2))
    P = np.zeros_like(A)
    for j in range(k):
        P[:, j, j] = 1.0
        for i in range(j + 1, k):
            acc = np.zeros(n)
            for m in range(j, i):
                acc += A[:, i, m] * P[:, m, j]
            P[:, i, j] = acc / (lam[:, j] - lam[:, i])
    Pinv = np.zeros_like(A)
    for j in range(k):
        Pinv[:, j, j] = 1.0
        for i in range(j + 1, k):
            acc = np.zeros(n)
            for m in range(j, i):
                acc += P[:, i, m] * Pinv[:, m, j]
            Pinv[:, i, j] = -acc
    return lam, P, Pinv


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_decompose_lower_matches_numpy_reference(k: int) -> None:
    rng = np.random.default_rng(k)
    n = 500
    A = np.tril(rng.uniform(0.01, 2.0, (n, k, k)), -1)
    diag = -rng.uniform(0.01, 2.0, (n, k))
    if k > 1:
        diag[::3, 1] = diag[::3, 0]  # exactly equal eigenvalues: nudged apart
        diag[1::5, 1] = diag[1::5, 0] * (1.0 + 1e-12)  # nearly equal
    for i in range(k):
        A[:, i, i] = diag[:, i]
    got = tuple(np.empty_like(x) for x in (A[:, :, 0], A, A))
    kernels.decompose_lower(np.ascontiguousarray(A), *got)
    ref = _reference_lower(A)
    for g, r in zip(got, ref, strict=True):
        assert np.array_equal(g, r)
    assert np.array_equal(decompose(A, "numba")[1], ref[1])
    assert np.array_equal(decompose(A, "python")[1], ref[1])


def test_summarize_same_with_1_and_2_threads() -> None:
    reg = Regimen.oral("25 mg", every="24 h", days=14)
    t = np.arange(0.0, 14 * 24 + 1.0)
    comed = [Comedication("paroxetine", 20.0, 24.0, start_h=7 * 24.0)]
    kw = dict(
        seed=3,
        times_h=t,
        comedications=comed,
        draw_genotypes=True,
        chunk=700,
        tdm_range=(80.0, 200.0),
    )
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = population.summarize("amitriptyline", reg, n=1500, **kw)  # type: ignore[arg-type]
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = population.summarize("amitriptyline", reg, n=1500, **kw)  # type: ignore[arg-type]
    finally:
        numba.set_num_threads(before)
    assert one.keys() == two.keys()
    for a in one:
        for f in one[a]:
            assert np.array_equal(one[a][f], two[a][f], equal_nan=True), (a, f)
