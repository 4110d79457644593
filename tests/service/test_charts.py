"""Every chart of the pages, drawn as SVG on the server: axis titles with units on both
axes, a title, escaped text, no script."""

from __future__ import annotations

import datetime as dt
import json
import re

from neurodose.service.pages import charts
from neurodose.service.pages.svgchart import render


def _titles(svg: str) -> list[str]:
    return re.findall(r'class="axis-title"[^>]*>([^<]*)</text>', svg)


def test_every_chart_has_axis_titles_with_units():
    day = dt.date(2026, 3, 1)
    entries = [
        {"date": (day + dt.timedelta(days=i)).isoformat(), "pain": 7, "sleep": 5, "side_effects": 1}
        for i in range(10)
    ]
    curve = {
        "time_d": [0, 1, 2],
        "series": {"amitriptyline": [0, 20, 30]},
        "tdm_range": [80, 200],
        "relief_pct": [0, 5, 10],
        "relief_day": [0, 1, 2],
    }
    tdm = {
        "predicted": {
            "amitriptyline": {
                "time_h": [0, 24],
                "concentration_ng_per_ml": [0, 9],
                "p05": [0, 5],
                "p95": [0, 12],
            }
        },
        "levels": [{"analyte": "amitriptyline", "time_h": 20, "value_ng_per_ml": 8}],
        "recommendation": {"target": [50, 150]},
    }
    trial = {"arms": {"placebo": {"weekly_mean_pain": [6.5, 6.0]}}}
    specs = {
        "diary": charts.diary_scores(entries, start=day, baseline_pain=7),
        "patient": charts.patient_pain(entries),
        "plan": charts.plan_levels(curve),
        "tdm": charts.tdm_fit(tdm),
        "trial": charts.trial_pain(trial),
    }
    for name, spec in specs.items():
        svg = render(json.loads(spec), f"{name} chart", name)
        titles = _titles(svg)
        assert len(titles) >= 2 and all(titles), (name, titles)
        x_title, y_title = titles[-2], titles[-1]
        assert x_title and y_title, (name, titles)
        assert "(" in y_title, (name, y_title)  # a unit or a scale
        assert "<script" not in svg and 'role="img"' in svg
    # the x axis names its unit where it is not a date
    assert _titles(render(json.loads(specs["plan"]), "p", "p"))[-2] == "days since the first dose"


def test_text_in_a_chart_is_escaped():
    spec = charts.trial_pain({"arms": {"<b>x</b>": {"weekly_mean_pain": [1, 2]}}})
    svg = render(json.loads(spec), 'say "hi"', "k")
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "say &quot;hi&quot;" in svg
