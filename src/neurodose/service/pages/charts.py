"""Every chart of the pages: Plotly figure specs as JSON for ``Plotly.newPlot``
(``templates/_plot.html`` draws them with the vendored ``plotly.min.js``).

Each function takes what a store call returned and gives the figure as text that is
safe inside a ``<script>`` element; the numbers are the store's, unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["diary_scores", "fig", "patient_pain", "plan_levels", "tdm_fit", "trial_pain"]

#: the clinic's colours (NHS palette)
_GREEN, _BLUE, _PURPLE, _GREY = "#007f3b", "#005eb8", "#330072", "#425563"


def fig(traces: list[dict[str, Any]], **layout: Any) -> str:
    """A Plotly figure as JSON for ``Plotly.newPlot``.

    >>> fig([], height=200)[:40]
    '{"data": [], "layout": {"margin": {"l": '
    >>> "<" in fig([{"name": "</script>"}])
    False
    """
    layout = {k: _titled(v) if k.startswith(("xaxis", "yaxis")) else v for k, v in layout.items()}
    base = {
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "height": 360,
        "legend": {"orientation": "h", "y": -0.25},
        "font": {"size": 13},
    }
    text = json.dumps({"data": traces, "layout": {**base, **layout}}, allow_nan=False)
    # it is placed inside a <script> element: no "</script>" or "<!--" can end it early
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _titled(axis: Any) -> Any:
    """An axis with its title as ``{"text": ...}``: plotly.js 3 and later ignore a title
    given as a bare string, which left every chart without axis titles.

    >>> _titled({"title": "date"})
    {'title': {'text': 'date'}}
    """
    if isinstance(axis, dict) and isinstance(axis.get("title"), str):
        return {**axis, "title": {"text": axis["title"]}}
    return axis


def _band(lo: float, hi: float) -> dict[str, Any]:
    """A green band across the plot from ``lo`` to ``hi`` (a target range)."""
    return {
        "type": "rect",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": lo,
        "y1": hi,
        "fillcolor": _GREEN,
        "opacity": 0.12,
        "line": {"width": 0},
    }


def plan_levels(curve: Mapping[str, Any]) -> str:
    """The plan page: expected levels over the course (``library.plan_levels``), the
    level range when there is one, and the expected relief on a second axis."""
    traces: list[dict[str, Any]] = [
        {
            "x": curve["time_d"],
            "y": ys,
            "name": f"{name} (expected, ng/mL)",
            "type": "scatter",
            "mode": "lines",
        }
        for name, ys in curve["series"].items()
    ]
    shapes = []
    if curve["tdm_range"]:
        lo, hi = curve["tdm_range"]
        shapes.append(_band(lo, hi))
    if curve["relief_pct"]:
        traces.append(
            {
                "x": curve["relief_day"],
                "y": curve["relief_pct"],
                "name": "expected relief from the drug (%)",
                "type": "scatter",
                "mode": "lines",
                "yaxis": "y2",
                "line": {"dash": "dash", "color": _PURPLE},
            }
        )
    return fig(
        traces,
        shapes=shapes,
        xaxis={"title": "days since the first dose"},
        yaxis={"title": "concentration (ng/mL)"},
        yaxis2={
            "title": "relief (%)",
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
        },
        title={"text": "Expected level and relief over 12 weeks (typical for this patient)"},
    )


def tdm_fit(report: Mapping[str, Any]) -> str:
    """The levels page: the individual fit and forecast (``store.tdm``) with its interval,
    the measured levels, and the target band of the recommendation when it has one."""
    traces: list[dict[str, Any]] = []
    for name, ser in report["predicted"].items():
        t = [x / 24 for x in ser["time_h"]]
        bands = [k for k in ser if k.startswith("p") and k[1:].isdigit()]
        if len(bands) == 2:
            lo, hi = sorted(bands)
            traces.append(
                {
                    "x": t + t[::-1],
                    "y": ser[hi] + ser[lo][::-1],
                    "fill": "toself",
                    "name": f"{name} interval",
                    "line": {"width": 0},
                    "opacity": 0.25,
                    "type": "scatter",
                }
            )
        traces.append(
            {
                "x": t,
                "y": ser["concentration_ng_per_ml"],
                "type": "scatter",
                "mode": "lines",
                "name": f"{name} (fitted)",
            }
        )
    for name in dict.fromkeys(lv["analyte"] for lv in report["levels"]):
        pts = [lv for lv in report["levels"] if lv["analyte"] == name]
        traces.append(
            {
                "x": [lv["time_h"] / 24 for lv in pts],
                "y": [lv["value_ng_per_ml"] for lv in pts],
                "mode": "markers",
                "type": "scatter",
                "name": f"{name} measured",
                "marker": {"size": 10},
            }
        )
    shapes = []
    rec = report.get("recommendation") or {}
    band = rec.get("target") or rec.get("target_ng_per_ml")
    if isinstance(band, list) and len(band) == 2:
        shapes.append(_band(band[0], band[1]))
    return fig(
        traces,
        shapes=shapes,
        xaxis={"title": "days since the first dose"},
        yaxis={"title": "concentration (ng/mL)"},
        title={"text": "Individual fit and forecast"},
    )


def diary_scores(
    entries: Sequence[Mapping[str, Any]],
    start: dt.date | None = None,
    baseline_pain: float | None = None,
) -> str:
    """The clinician's diary page: pain, sleep interference and side effects by date;
    shaded the week 4-8 review window after ``start`` (the regimen's first day), dotted
    30 % relief from ``baseline_pain`` (``store.response``)."""
    dates = [str(e["date"]) for e in entries]
    traces = [
        {
            "x": dates,
            "y": [e[k] for e in entries],
            "name": label,
            "type": "scatter",
            "mode": "lines+markers",
        }
        for k, label in (
            ("pain", "pain (0-10)"),
            ("sleep", "sleep interference (0-10)"),
            ("side_effects", "side effects (0-10)"),
        )
    ]
    shapes: list[dict[str, Any]] = []
    if start is not None:
        w4, w8 = (
            (start + dt.timedelta(days=28)).isoformat(),
            (start + dt.timedelta(days=56)).isoformat(),
        )
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": w4,
                "x1": w8,
                "y0": 0,
                "y1": 1,
                "fillcolor": _BLUE,
                "opacity": 0.08,
                "line": {"width": 0},
            }
        )
    if baseline_pain is not None:
        b = baseline_pain
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": b * 0.7,
                "y1": b * 0.7,
                "line": {"dash": "dot", "color": _GREY},
            }
        )
    return fig(
        traces,
        shapes=shapes,
        yaxis={"title": "score (0-10)", "range": [0, 10]},
        xaxis={"title": "date"},
        title={"text": "Diary (shaded: week 4-8 review; dotted: 30 % relief)"},
    )


def patient_pain(entries: Sequence[Mapping[str, Any]]) -> str:
    """The patient's own diary page: their pain by date, small and without a legend."""
    return fig(
        [
            {
                "x": [str(e["date"]) for e in entries],
                "y": [e["pain"] for e in entries],
                "name": "your pain",
                "type": "scatter",
                "mode": "lines+markers",
            }
        ],
        height=260,
        xaxis={"title": "date"},
        yaxis={"title": "pain (0-10)", "range": [0, 10]},
        title={"text": "Your pain"},
        showlegend=False,
    )


def trial_pain(result: Mapping[str, Any]) -> str:
    """The trial page: weekly mean pain per arm (``neurodose trial --json``'s arms)."""
    traces = [
        {
            "x": list(range(len(arm.get("weekly_mean_pain") or []))),
            "y": arm.get("weekly_mean_pain") or [],
            "name": name,
            "type": "scatter",
            "mode": "lines+markers",
        }
        for name, arm in (result.get("arms") or {}).items()
    ]
    return fig(
        traces,
        xaxis={"title": "week of the trial (0 = baseline)"},
        yaxis={"title": "mean pain (0-10 numeric rating scale)", "range": [0, 10]},
        title={"text": "Weekly mean pain by arm"},
    )
