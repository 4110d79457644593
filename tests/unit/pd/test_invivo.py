"""neurodose.pd.invivo: the PET file, the translation fit and its use in drug_occupancy."""

from __future__ import annotations

import numpy as np
import pytest

from neurodose.pd import invivo
from neurodose.pd.occupancy import drug_occupancy, drug_targets, occupancies
from neurodose.pd.params import load_pd_parameters


def test_every_study_has_a_role_and_a_third_is_held_out() -> None:
    studies = invivo.pet_file().studies
    roles = [s.role for s in studies.values()]
    assert set(roles) == {"training", "validation"}
    assert roles.count("validation") >= len(roles) / 3


def test_held_out_studies_are_not_in_any_fitted_value() -> None:
    f = invivo.pet_file()
    held_out = {k for k, s in f.studies.items() if s.role == "validation"}
    fitted = [*f.translation.values(), *(q for d in f.drug_factors.values() for q in d.values())]
    assert fitted
    for q in fitted:
        assert q.calibrated and q.calibrated_to
        assert not held_out & set(q.calibrated_to), q.locator


def test_implied_factor_inverts_site_occupancy() -> None:
    f = invivo.implied_factor(0.6, 3.0, 0.85)
    assert f is not None
    assert invivo.site_occupancy(3.0, f, 0.85) == pytest.approx(0.6)
    assert invivo.implied_factor(0.9, 3.0, 0.85) is None  # above the plateau


def test_basis_of_each_drug() -> None:
    assert invivo.transporter_potency("nortriptyline", "NET").basis == "PET"
    assert invivo.transporter_potency("duloxetine", "SERT").basis == "PET"
    tp = invivo.transporter_potency("milnacipran", "NET")
    assert tp.basis == "translated"
    assert tp.interval90 is not None and tp.interval90[0] < tp.factor < tp.interval90[1]


def test_unknown_transporter_is_named() -> None:
    with pytest.raises(Exception, match="DAT"):
        invivo.transporter_potency("duloxetine", "DAT")


def test_drug_occupancy_uses_the_in_vivo_potency() -> None:
    tg = drug_targets("escitalopram")
    conc = {"escitalopram": np.array([[5.0, 20.0, 80.0]])}
    in_vitro = occupancies(tg, conc)["SERT"]
    in_vivo = drug_occupancy(tg, conc, load_pd_parameters().with_basis("pet_anchored"))["SERT"]
    emax = invivo.transporter_potency("escitalopram", "SERT").emax
    assert np.all(in_vivo < in_vitro)
    assert np.all(in_vivo <= emax)
    assert np.all(np.diff(in_vivo) > 0)


def test_nortriptyline_net_half_occupied_at_its_pet_ec50() -> None:
    # Sekine 2010 (training): EC50 59.8 ng/mL; the fitted factor also uses two dose points
    tg = drug_targets("nortriptyline")
    pet = load_pd_parameters().with_basis("pet_anchored")
    occ = drug_occupancy(tg, {"nortriptyline": np.array([[59.8]])}, pet)["NET"]
    assert 0.45 <= float(occ[0, 0]) <= 0.55


def test_in_vitro_basis_is_free_concentration_over_in_vitro_k() -> None:
    tg = drug_targets("escitalopram")
    conc = {"escitalopram": np.array([[5.0, 20.0, 80.0]])}
    iv = load_pd_parameters().with_basis("in_vitro")
    assert np.allclose(drug_occupancy(tg, conc, iv)["SERT"], occupancies(tg, conc)["SERT"])


def test_each_basis_uses_its_own_calibration() -> None:
    p = load_pd_parameters()
    iv, pet = p.with_basis("in_vitro"), p.with_basis("pet_anchored")
    assert iv.occupancy_basis == "in_vitro" and pet.occupancy_basis == "pet_anchored"
    q_iv, q_pet = iv.quantities["channel_site_factor"], pet.quantities["channel_site_factor"]
    assert q_iv.calibrated and q_pet.calibrated
    assert q_iv.locator == "calibration/results.json"
    assert q_pet.locator == "calibration/results_pet_anchored.json"
    assert q_pet.value != q_iv.value
    # switching back restores the in-vitro fit; parameters outside the block are shared
    assert pet.with_basis("in_vitro").value("channel_site_factor") == iv.value(
        "channel_site_factor"
    )
    assert pet.value("placebo_mean") == iv.value("placebo_mean")


def test_default_basis_is_declared_in_the_knowledge_base() -> None:
    import tomllib

    from neurodose.pd.params import PD_DIR

    data = tomllib.loads((PD_DIR / "assumptions.toml").read_text(encoding="utf-8"))
    assert load_pd_parameters().occupancy_basis == data["occupancy_basis"]


def test_unknown_basis_is_named() -> None:
    with pytest.raises(Exception, match=r"occupancy basis.*pet_anchored"):
        load_pd_parameters().with_basis("pet")


def test_every_study_is_listed_in_the_validation_page() -> None:
    from pathlib import Path

    page = (Path(__file__).parents[3] / "docs" / "validation_pet.md").read_text(encoding="utf-8")
    for key, st in invivo.pet_file().studies.items():
        assert f"| {key} | **{st.role}** |" in page, key


def test_pet_sources_are_cited_only_on_the_pet_basis() -> None:
    from neurodose import citations

    tg = drug_targets("duloxetine")
    conc = {"duloxetine": np.array([[20.0]])}
    p = load_pd_parameters()
    iv, pet = p.with_basis("in_vitro"), p.with_basis("pet_anchored")
    shared = set(p.sources()) | set(tg.sources(in_vivo=False))
    pet_keys = set(invivo.in_vivo_sources("duloxetine", tg.reached)) - shared
    assert "meyer2001sert" in pet_keys  # the SERT Emax
    assert pet_keys <= set(tg.sources())
    with citations.tracking() as used:
        drug_occupancy(tg, conc, iv)
    assert not pet_keys & used
    with citations.tracking() as used:
        drug_occupancy(tg, conc, pet)
    assert pet_keys <= used
