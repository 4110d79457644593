"""Percentile bands streamed in chunks (issue 24 item 3): the histogram path agrees with
the exact one within its stated precision, bands are ordered at every time point, and a
population that fits one chunk is exactly what it was before streaming."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodose.case import Regimen
from neurodose.pk import population
from neurodose.simulation import _population_bands, population_chunk, simulate

Arr = np.ndarray
KEYS = ("p05", "p50", "p95")


def _close(got: dict[str, Arr], exact: dict[str, Arr], precision: float, floor: float) -> None:
    """Each percentile within ``precision`` of the exact one (relative), or below ``floor``
    (the histograms' noise floor: 1e-9 of the peak, and 10x below it)."""
    for k in KEYS:
        g, e = got[k], exact[k]
        ok = (np.abs(g - e) <= precision * e + 1e-12) | ((e <= floor) & (g <= floor))
        assert ok.all(), (k, g[~ok][:5], e[~ok][:5], precision)


def test_one_chunk_histogram_path_matches_exact_path() -> None:
    r = Regimen.oral("25 mg", days=14)
    t = np.arange(0.0, 24.0 * 16 + 1e-9, 1.0)
    args = ("amitriptyline", r, t, 400, 7, None, [], True)
    exact = _population_bands(*args)
    hist = _population_bands(*args, exact=False)
    assert exact.precision is None and exact.chunks == 1
    assert hist.precision is not None and 0 < hist.precision <= 0.0051 and hist.chunks == 1
    assert set(exact.bands) == set(hist.bands) == {"amitriptyline", "nortriptyline"}
    for a in exact.bands:
        peak = float(exact.bands[a]["p95"].max())
        _close(hist.bands[a], exact.bands[a], hist.precision, peak * 1e-9)
        # zero before the first dose is exactly zero in both
        assert hist.bands[a]["p05"][0] == exact.bands[a]["p05"][0] == 0.0


def test_workflow_passes_progress_and_refuses_beyond_the_cap() -> None:
    from neurodose.errors import InputError
    from neurodose.workflows import SimulateRequest
    from neurodose.workflows import simulate as run

    calls: list[tuple[int, int]] = []
    req = SimulateRequest(
        "pregabalin",
        Regimen.oral("75 mg", days=2),
        population=30,
        seed=1,
        progress=lambda *a: calls.append(a),
    )
    assert run(req).result.population["pregabalin"]["p50"].size > 0
    assert calls == [(30, 30)]
    big = SimulateRequest(
        "pregabalin", Regimen.oral("75 mg", days=2), hours=87672.0, population=200_000
    )
    with pytest.raises(InputError, match="at most 17,109 virtual subjects"):
        run(big)


def test_small_population_is_byte_identical_to_the_unstreamed_bands() -> None:
    """Within one chunk, the bands are those of one draw of ``population`` subjects
    with ``seed`` (as before streaming), and no note is added."""
    r = Regimen.oral("60 mg", days=7)
    res = simulate("duloxetine", r, population=50, seed=3)
    pop = population.sample("duloxetine", 50, 3, horizon_h=float(res.times_h[-1]))
    want = population.percentiles(population.simulate_population(pop, r, res.times_h)["duloxetine"])
    for k in KEYS:
        np.testing.assert_array_equal(res.population["duloxetine"][k], want[k])
    assert not any("streamed" in n for n in res.notes)


def test_large_population_is_streamed_with_its_precision_stated() -> None:
    r = Regimen.oral("60 mg", days=56)
    t = np.arange(0.0, 1344.0 + 1e-9, 1.0)
    n = population_chunk(len(t)) + 100  # two chunks
    calls: list[tuple[int, int]] = []
    res = simulate(
        "duloxetine", r, times_h=t, population=n, seed=1, progress=lambda *a: calls.append(a)
    )
    assert calls == [(population_chunk(len(t)), n), (n, n)]  # the CLI's bar, chunk by chunk
    note = [x for x in res.notes if x.startswith("population bands streamed")]
    assert len(note) == 1 and f"{n:,} virtual subjects in 2 chunks" in note[0], res.notes
    b = res.population["duloxetine"]
    assert b["p05"].shape == t.shape
    assert np.all(b["p05"] <= b["p50"]) and np.all(b["p50"] <= b["p95"])
    # steady state: the median trough lies between the bands and is positive
    assert 0 < b["p05"][-1] < b["p50"][-1] < b["p95"][-1]
    assert json.loads(res.to_json_text())["analytes"]["duloxetine"]["p50"]


def _recording(scale: float, zeros: float) -> tuple[list[Arr], object]:
    seen: list[Arr] = []

    def draw(m: int, s: int | None) -> dict[str, Arr]:
        rng = np.random.default_rng(s)
        c = rng.lognormal(0.0, scale, size=(m, 4)) * np.array([0.0, 1.0, 10.0, 100.0])
        c[rng.random(c.shape) < zeros] = 0.0
        seen.append(c)
        return {"x": c}

    return seen, draw


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 400),
    chunk=st.integers(1, 150),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.01, 3.0),
    zeros=st.floats(0.0, 0.5),
)
def test_bands_ordered_and_within_precision(
    n: int, chunk: int, seed: int, scale: float, zeros: float
) -> None:
    seen, draw = _recording(scale, zeros)
    b = population.streamed_bands(draw, n, seed, chunk)  # type: ignore[arg-type]
    x = b.bands["x"]
    assert np.all(x["p05"] <= x["p50"]) and np.all(x["p50"] <= x["p95"])
    assert b.chunks == -(-n // chunk) and sum(len(c) for c in seen) == n
    exact = population.percentiles(np.concatenate(seen))
    if b.precision is None:  # one chunk: exact
        for k in KEYS:
            np.testing.assert_array_equal(x[k], exact[k])
    else:  # values beyond the first chunk's range by 10x fall outside the bins
        first = seen[0][seen[0] > 0]
        inside = np.concatenate(seen)
        lo = (first.min() if first.size else 0) / 10.0
        hi = (first.max() if first.size else 0) * 10.0
        if first.size and np.all((inside == 0) | ((inside >= lo) & (inside <= hi))):
            _close(x, exact, b.precision, 0.0)


def test_histogram_memory_does_not_grow_with_the_population() -> None:
    _, draw = _recording(1.0, 0.0)
    small = population.BandHistogram.spanning(draw(10, 1)["x"], 0.01, 10_000)
    big = population.BandHistogram.spanning(draw(10_000, 1)["x"], 0.01, 10_000)
    assert small.counts.shape[0] == big.counts.shape[0] == 4
    assert small.counts.size <= 10_000 and big.counts.size <= 10_000


def test_explain_occupancy_bands_streamed_and_stated() -> None:
    from neurodose.simulation import explain

    r = Regimen.oral("60 mg", days=2)
    small = explain("duloxetine", r, days=2, population=30, seed=1)
    assert not any("streamed" in n for n in small["notes"])
    n_times = len(small["occupancy"]["SERT"]["time_h"])
    n = population_chunk(n_times) + 10
    big = explain("duloxetine", r, days=2, population=n, seed=1)
    assert any(f"{n:,} virtual subjects in 2 chunks" in x for x in big["notes"]), big["notes"]
    band = big["occupancy"]["SERT"]["population"]
    assert all(a <= b <= c for a, b, c in zip(band["p05"], band["p50"], band["p95"], strict=True))
    # the streamed median is close to the small population's (sampling, not bias)
    assert abs(band["p50"][-1] - small["occupancy"]["SERT"]["population"]["p50"][-1]) < 0.05
