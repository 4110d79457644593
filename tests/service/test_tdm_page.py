"""TDM from what happened, over HTTP: the diary's missed doses enter the fit, and a
level far from the prediction still gets the safe direction, the likely explanations,
and an "accept the level" choice on the levels page (a sentence and a table)."""

from __future__ import annotations

import datetime as dt

from tests.service.test_hardening import sign_in


def _ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


def test_missed_doses_and_a_level_far_from_the_prediction(
    sqlite_clinic, sample_profile, make_entry
):
    api = sqlite_clinic.api("alice")
    pid = api.post("/api/v1/patients", json=sample_profile).json()["id"]
    r = api.post(
        f"/api/v1/patients/{pid}/regimen", json={"drug": "amitriptyline", "start_date": _ago(14)}
    )
    assert r.status_code == 201, r.text
    token = api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]
    pat = sqlite_clinic.server.client()
    for i in range(14):
        e = make_entry(_ago(14 - i), 6)
        if i in (10, 11, 12):
            e["missed_dose"] = True
        assert pat.post(f"/api/v1/diary/{token}/entries", json=e).status_code == 201
    # a level ten times the prediction (a poor metaboliser, say)
    csv_text = (
        f"datetime,analyte,value,unit\n{_ago(1)} 09:00,amitriptyline,400,ng/mL\n"
        f"{_ago(1)} 09:00,nortriptyline,300,ng/mL\n"
    )
    r = api.post(
        f"/api/v1/patients/{pid}/levels", content=csv_text, headers={"content-type": "text/csv"}
    )
    assert r.status_code in (200, 201), r.text
    j = api.get(f"/api/v1/patients/{pid}/tdm", params={"target": "50-150"}).json()
    assert any("3 missed" in n for n in j["notes"]), j["notes"]
    assert j["recommendation"] is None
    assert j["far_from_prediction"]["direction"] == "high"

    c, _csrf = sign_in(sqlite_clinic.server.url, "alice")
    try:
        html = c.get(f"/patients/{pid}/levels", params={"target": "50-150"}).text
        assert "The level is far from the prediction" in html
        assert "hold or reduce" in html and "poor-metaboliser genotype" in html
        assert 'id="accept-level"' in html and 'id="rec-sentence"' not in html
        html = c.get(f"/patients/{pid}/levels", params={"target": "50-150", "accept": "1"}).text
        # the level is high: the recommendation is the smallest tablet, said in a sentence
        assert 'id="rec-sentence"' in html and "cannot be reached" in html
        assert "the closest is 10 mg every 24 h" in html
        assert "Chance in the target" in html and "ng/mL" in html
        assert "p in target" not in html and "target reachable" not in html  # no key/value dump
        assert "The level was accepted" in html

    finally:
        c.close()


def test_the_recommendation_reads_as_a_sentence_and_a_table():
    from neurodose.service.pages.levels import recommendation_view

    rec = {
        "dose_mg": 25.0,
        "every_h": 24.0,
        "daily_dose_mg": 25.0,
        "predicted_trough_ng_per_ml": 93.417,
        "p05": 61.2,
        "p95": 140.9,
        "p_in_target": 0.874,
        "metric": "trough",
        "target": [50.0, 150.0],
        "target_reachable": True,
        "target_source": "user",
        "max_daily_mg": 75.0,
        "max_daily_source": "nice_cg96",
        "strengths_mg": [10.0, 25.0],
    }
    sentence, rows = recommendation_view(rec)
    assert sentence == (
        "Give 25 mg every 24 h (25 mg a day): the predicted steady-state trough is 93.4 ng/mL "
        "(90 % interval 61.2 to 141), with a 87 % chance of lying in the target 50-150 ng/mL."
    )
    table = dict(rows)
    assert table["Chance in the target"] == "87 %" and table["Daily dose"] == "25 mg"
    assert table["Maximum daily dose"].startswith("75 mg")
