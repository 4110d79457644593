import numpy as np

from neurodose.dosing import Regimen
from neurodose.pk import population


def test_seeded_reproducible():
    a = population.sample("amitriptyline", 50, seed=3, draw_genotypes=True)
    b = population.sample("amitriptyline", 50, seed=3, draw_genotypes=True)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    c = population.sample("amitriptyline", 50, seed=4)
    assert not np.array_equal(a.params["CL_m"], c.params["CL_m"])


def test_iiv_spread_matches_omega():
    pop = population.sample("duloxetine", 4000, seed=1)
    sd = np.std(np.log(pop.params["CL"]))
    assert abs(sd - np.sqrt(np.log1p(0.59**2))) < 0.03


def test_percentiles_and_streamed_summaries():
    r = Regimen.oral("25 mg", days=14)
    s1 = population.summarize("amitriptyline", r, n=90, seed=2, chunk=30, tdm_range=(80, 200))
    assert set(s1) == {"amitriptyline", "nortriptyline", "total"}
    assert s1["total"]["fraction_time_in_range"].shape == (90,)
    s2 = population.summarize("amitriptyline", r, n=90, seed=2, chunk=30, tdm_range=(80, 200))
    np.testing.assert_array_equal(s1["total"]["auc_ng_h_per_ml"], s2["total"]["auc_ng_h_per_ml"])
    assert np.all(s1["total"]["cmax_ng_per_ml"] >= s1["total"]["cmin_last_ng_per_ml"])
    pop = population.sample("nortriptyline", 200, seed=1)
    c = population.simulate_population(pop, r, np.arange(0, 337.0))
    p = population.percentiles(c["nortriptyline"])
    assert np.all(p["p05"] <= p["p50"]) and np.all(p["p50"] <= p["p95"])


def test_residual_error_added():
    pop = population.sample("pregabalin", 20, seed=1)
    t = np.arange(1, 25.0)
    a = population.simulate_population(pop, Regimen.oral("75 mg"), t)
    b = population.simulate_population(pop, Regimen.oral("75 mg"), t, residual=True, seed=1)
    assert not np.allclose(a["pregabalin"], b["pregabalin"])
    assert np.all(b["pregabalin"] >= 0)
