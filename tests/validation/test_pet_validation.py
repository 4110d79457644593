"""SERT/NET occupancy against human PET/SPECT studies held out of the in-vivo translation.

The split (training / validation) is fixed in knowledge/pet/pet_occupancy.toml (``role``) and
listed in docs/validation_pet.md. Known misses are xfail(strict=True) with the reason, so a fix
shows up as an XPASS.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurodose.case.regimen import Regimen
from neurodose.pd import invivo
from neurodose.pd.occupancy import drug_occupancy, drug_targets
from neurodose.pd.params import load_pd_parameters
from neurodose.simulation import simulate

# Meyer 2004 (held out): mean occupancy at the minimum therapeutic dose 76-85 % (abstract)
MEYER_2004 = (0.76, 0.85)


def _steady_state_occupancy(drug: str, daily_mg: float, per_day: int = 1) -> dict[str, float]:
    every = 24.0 / per_day
    n = 28 * per_day
    reg = Regimen.oral(dose=f"{daily_mg / per_day} mg", every=f"{every} h", doses=n)
    t = np.linspace((n - 1) * every, n * every, 49)
    res = simulate(drug, reg, times_h=t)
    tg = drug_targets(drug)
    conc = {a.name: np.atleast_2d(res.concentrations[a.name]) for a in tg.analytes}
    occ = drug_occupancy(tg, conc, load_pd_parameters().with_basis("pet_anchored"))
    return {k: float(v.mean()) for k, v in occ.items() if k in ("SERT", "NET")}


@pytest.mark.parametrize(
    ("drug", "daily_mg"),
    [
        ("fluoxetine", 20),
        ("sertraline", 50),
        ("paroxetine", 20),
        pytest.param(
            "citalopram",
            20,
            marks=pytest.mark.xfail(
                strict=True,
                reason="citalopram's PET factor averages Meyer 2001 (77 %, DASB) with the Klein "
                "2006/2007 SPECT points (lower); 20 mg/day comes out at about 74 %",
            ),
        ),
    ],
)
def test_ssri_lowest_effective_dose_within_meyer_2004(drug: str, daily_mg: float) -> None:
    occ = _steady_state_occupancy(drug, daily_mg)["SERT"]
    assert MEYER_2004[0] <= occ <= MEYER_2004[1], f"{drug}: {occ:.3f}"


@pytest.mark.xfail(
    strict=True,
    reason="venlafaxine is translated on total concentration; its free fraction (~0.7, with "
    "ODV) is far above the training drugs', so 75 mg/day gives about 40 % (fold 0.5)",
)
def test_venlafaxine_75_within_meyer_2004() -> None:
    occ = _steady_state_occupancy("venlafaxine", 75)["SERT"]
    assert MEYER_2004[0] <= occ <= MEYER_2004[1]


def _interval(drug: str, transporter: str, occ: float) -> tuple[float, float]:
    """Occupancy range from the translated factor's 90 % prediction interval."""
    tp = invivo.transporter_potency(drug, transporter)
    assert tp.basis == "translated" and tp.interval90 is not None
    x = occ / (tp.emax - occ)  # s * S at the point estimate
    lo, hi = (invivo.site_occupancy(x / tp.factor, f, tp.emax) for f in tp.interval90)
    return lo, hi


def test_milnacipran_100_net_within_prediction_interval() -> None:
    # Nogami 2013 (held out): NET 40.0 % at 100 mg/day
    occ = _steady_state_occupancy("milnacipran", 100, per_day=2)["NET"]
    lo, hi = _interval("milnacipran", "NET", occ)
    assert lo <= 0.400 <= hi, (occ, lo, hi)
    assert occ < 0.6  # in vitro gave about 90 %


@pytest.mark.xfail(
    strict=True,
    reason="milnacipran's in-vitro SERT Ki (8.5 nM) makes it look as potent as an SSRI; "
    "PET finds 38.6 % at 100 mg/day and the translation predicts about 69 % (fold 1.8)",
)
def test_milnacipran_100_sert_within_prediction_interval() -> None:
    occ = _steady_state_occupancy("milnacipran", 100, per_day=2)["SERT"]
    lo, hi = _interval("milnacipran", "SERT", occ)
    assert lo <= 0.386 <= hi, (occ, lo, hi)


def test_stored_translation_matches_a_refit_on_training_studies() -> None:
    f = invivo.pet_file()
    fit = invivo.fit_translation()
    for t, q in f.translation.items():
        assert q.value == pytest.approx(fit[t].scale, rel=0.01), t
        for d, v in fit[t].drug_factors.items():
            assert f.drug_factors[d][t].value == pytest.approx(v, rel=0.01), (d, t)


def _gm_fold(rows: list[invivo.PredictionRow], attr: str) -> float:
    logs = [abs(math.log(getattr(r, attr) / (0.5 * sum(r.observed)))) for r in rows]
    return math.exp(sum(logs) / len(logs))


def test_independent_validation_rows_beat_in_vitro() -> None:
    rows = [r for r in invivo.prediction_rows() if r.independent]
    assert len(rows) >= 10
    assert _gm_fold(rows, "predicted") < _gm_fold(rows, "predicted_invitro")
    within2 = sum(0.5 <= r.fold <= 2.0 for r in rows) / len(rows)
    assert within2 >= 0.75, within2
