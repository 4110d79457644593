"""Virtual-trial designs: parse and validate a TOML design.

A design names the trial, its length, condition, arms (drug or ``"placebo"``
with a stepwise regimen), population overrides, dropout handling and an
optional stop with or without a taper. Bad input raises
:class:`~neurodose.errors.DesignError` naming the field, the value and what is
allowed (close matches for misspelt names).

Example design (``examples/trials/demo.toml``)::

    name = "demo"
    weeks = 12
    condition = "diabetic_neuropathy"
    n_per_arm = 2000
    seed = 20261122

    [[arms]]
    name = "placebo"
    drug = "placebo"

    [[arms]]
    name = "duloxetine_60"
    drug = "duloxetine"
    regimen = [{start_day = 1, dose_mg = 60, every_h = 24}]

Regimen steps hold from ``start_day`` (1-based) until the next step starts or
the drug stops. ``[stop] day = D`` (or top-level ``stop_day = D``) stops every
active arm on day ``D`` (first day without drug); ``taper_steps = k`` precedes
it by ``k`` proportional 50 % reductions of ``taper_step_days`` days each
(NICE NG222 1.4.13-1.4.19).

>>> d = parse_design({"name": "t", "weeks": 4, "condition": "diabetic_neuropathy",
...     "n_per_arm": 10, "seed": 1, "arms": [{"name": "placebo", "drug": "placebo"}]})
>>> d.days
28
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from neurodose.case.regimen import DoseEvent, Regimen
from neurodose.errors import DesignError, InputError, UnknownDrugError, close_matches
from neurodose.inputs import read_text
from neurodose.knowledge.registry import resolve_name
from neurodose.limits import MAX_TRIAL_PATIENTS, MAX_TRIAL_WEEKS, trial_allowed
from neurodose.pd.condition_efficacy import trial_unavailable
from neurodose.pd.params import load_pd_parameters
from neurodose.pk.parameters import pkmodel_names
from neurodose.plausibility import dose_warnings

__all__ = [
    "Arm",
    "Design",
    "DoseStep",
    "Stop",
    "arm_table",
    "load_design",
    "parse_design",
]

_TOP = {
    "name",
    "weeks",
    "condition",
    "n_per_arm",
    "seed",
    "arms",
    "population",
    "dropout",
    "stop",
    "analysis",
    "description",
    "stop_day",
    "taper_steps",
    "taper_step_days",
    "allow_above_max",
}
_POP_PD = {
    "baseline_pain_mean",
    "baseline_pain_sd",
    "baseline_pain_min",
    "placebo_mean",
    "placebo_sd",
    "sensitivity_omega",
}
_POP_PK = {"age_mean", "age_sd", "age_min", "age_max", "female_fraction"}
_IMPUTATION = ("BOCF", "LOCF")


@dataclass(frozen=True)
class DoseStep:
    """One regimen step: ``dose_mg`` every ``every_h`` hours from ``start_day``."""

    start_day: int
    dose_mg: float
    every_h: float


@dataclass(frozen=True)
class Arm:
    name: str
    drug: str  # canonical KB name, or "placebo"
    regimen: tuple[DoseStep, ...]

    @property
    def is_placebo(self) -> bool:
        return self.drug == "placebo"


@dataclass(frozen=True)
class Stop:
    """Stop every active arm on ``day`` (first drug-free day), optionally after a taper."""

    day: int
    taper_steps: int = 0
    taper_step_days: int = 7


@dataclass(frozen=True)
class Design:
    name: str
    weeks: int
    condition: str
    n_per_arm: int
    seed: int
    arms: tuple[Arm, ...]
    population: Mapping[str, float] = field(default_factory=dict)
    imputation: str = "BOCF"
    dropout_other_weekly: float = 0.0
    stop: Stop | None = None
    nnt: bool = True
    description: str = ""
    #: targets whose occupancy is set to zero (mechanism dissection; not read from TOML)
    knockout: tuple[str, ...] = ()
    #: dose warnings (``ABOVE MAXIMUM`` with ``allow_above_max = true``, ``BELOW CITED DOSES``)
    warnings: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return self.weeks * 7

    @property
    def placebo(self) -> Arm | None:
        return next((a for a in self.arms if a.is_placebo), None)

    def regimen(self, arm: Arm) -> Regimen | None:
        """Every dose of ``arm`` during the trial as a :class:`~neurodose.case.Regimen`
        (day 1 starts at 0 h); None for placebo.

        Each regimen step holds until the next starts or the drug stops; a taper halves
        the dose every ``taper_step_days`` before the stop. One ``DoseEvent`` (with
        ``addl``) per run of equal doses.

        >>> d = parse_design({"name": "t", "weeks": 2, "condition": "diabetic_neuropathy",
        ...     "n_per_arm": 10, "seed": 1, "arms": [{"name": "a", "drug": "duloxetine",
        ...     "regimen": [{"start_day": 1, "dose_mg": 30, "every_h": 24},
        ...                 {"start_day": 8, "dose_mg": 60, "every_h": 24}]}],
        ...     "analysis": {"nnt": False}})
        >>> [(e.amt, e.time, e.addl) for e in d.regimen(d.arms[0]).events]
        [(30.0, 0.0, 6), (60.0, 168.0, 6)]
        """
        if arm.is_placebo:
            return None
        stop_h = ((self.stop.day if self.stop else self.days + 1) - 1) * 24.0
        cuts = self._taper_cuts_h()
        steps = list(arm.regimen)
        events: list[DoseEvent] = []
        for i, st in enumerate(steps):
            t0 = (st.start_day - 1) * 24.0
            t_end = (steps[i + 1].start_day - 1) * 24.0 if i + 1 < len(steps) else stop_h
            events += _step_events(st, t0, min(t_end, stop_h), cuts)
        return Regimen.from_events(events, f"trial arm {arm.name}")

    def _taper_cuts_h(self) -> list[float]:
        """Hours at which the taper halves the dose again (a dose's level is set by its day)."""
        if self.stop is None or not self.stop.taper_steps:
            return []
        taper_from = self.stop.day - self.stop.taper_steps * self.stop.taper_step_days
        return [
            (taper_from - 1 + j * self.stop.taper_step_days) * 24.0
            for j in range(self.stop.taper_steps)
        ]


def _step_events(st: DoseStep, t0: float, t_end: float, cuts: list[float]) -> list[DoseEvent]:
    """The doses of one step from ``t0`` until ``t_end`` (h): one event per taper level."""
    n = max(0, math.ceil((t_end - 1e-9 - t0) / st.every_h))
    bounds = [0, *(max(0, math.ceil((c - t0) / st.every_h)) for c in cuts), n]
    out = []
    for level, (a, b) in enumerate(itertools.pairwise(bounds)):
        a, b = min(a, n), min(b, n)
        if b > a:
            out.append(
                DoseEvent(
                    amt=st.dose_mg * 0.5**level,
                    time=t0 + a * st.every_h,
                    ii=st.every_h if b - a > 1 else 0.0,
                    addl=b - a - 1,
                )
            )
    return out


def _err(field: str, value: object, allowed: str) -> DesignError:
    return DesignError(field, value, allowed)


def _int(data: Mapping[str, Any], key: str, lo: int, hi: int, where: str = "") -> int:
    if key not in data:
        raise _err(where + key, None, f"an integer {lo}..{hi} (required)")
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _err(where + key, v, f"an integer {lo}..{hi}")
    return v


def _num(data: Mapping[str, Any], key: str, lo: float, hi: float, where: str) -> float:
    if key not in data:
        raise _err(where + key, None, f"a number {lo}..{hi} (required)")
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        raise _err(where + key, v, f"a number {lo}..{hi}")
    return float(v)


def _unknown_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for k in data:
        if k not in allowed:
            hint = close_matches(k, allowed)
            msg = f"one of {sorted(allowed)}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            raise _err(f"{where}{k}", data[k], msg)


def _parse_regimen(raw: Any, where: str, days: int) -> tuple[DoseStep, ...]:
    if not isinstance(raw, list) or not raw:
        raise _err(where, raw, "a non-empty list of {start_day, dose_mg, every_h} steps")
    steps = []
    for i, s in enumerate(raw):
        w = f"{where}[{i}]."
        if not isinstance(s, dict):
            raise _err(f"{where}[{i}]", s, "a table {start_day, dose_mg, every_h}")
        _unknown_keys(s, {"start_day", "dose_mg", "every_h"}, w)
        steps.append(
            DoseStep(
                start_day=_int(s, "start_day", 1, days, w),
                dose_mg=_num(s, "dose_mg", 1e-6, 1e5, w),
                every_h=_num(s, "every_h", 1e-3, 24.0 * 28, w),
            )
        )
    for a, b in itertools.pairwise(steps):
        if b.start_day <= a.start_day:
            raise _err(
                f"{where}.start_day",
                b.start_day,
                f"steps in increasing start_day order without overlap (step starting day "
                f"{b.start_day} overlaps the step starting day {a.start_day})",
            )
    return tuple(steps)


def _condition(data: Mapping[str, Any]) -> str:
    """The trial's condition: one with a placebo response (``pdmodels/conditions.toml``); an
    aetiology listed as unavailable (no cited placebo response) is refused with its reason."""
    params = load_pd_parameters()
    cond = data.get("condition")
    if cond in params.conditions:
        return str(cond)
    allowed = "one of " + ", ".join(sorted(params.conditions))
    why = trial_unavailable(str(cond))
    if why is not None:
        name = why.condition if cond == why.condition else f"{cond} ({why.condition})"
        raise _err("condition", cond, f"{allowed} ({name} cannot be simulated: {why.reason})")
    hint = close_matches(str(cond), params.conditions)
    raise _err("condition", cond, allowed + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def _n_per_arm(data: Mapping[str, Any]) -> int:
    """Patients per arm (its cap over all arms is checked once the arms are known)."""
    if "n_per_arm" not in data:
        return _int(data, "n_per_arm", 1, MAX_TRIAL_PATIENTS)
    n = data["n_per_arm"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise _err("n_per_arm", n, "an integer >= 1")
    return n


def _arm_drug(drug: Any, where: str) -> str:
    """The canonical name of an arm's drug, which must have a PK model."""
    with_pk = pkmodel_names()
    expected = "'placebo' or a drug with a PK model (" + ", ".join(with_pk)
    try:
        canon = resolve_name(str(drug))
    except UnknownDrugError as exc:
        hint = close_matches(str(drug), with_pk) or exc.suggestions
        raise _err(
            where, drug, expected + ")" + (f"; did you mean {hint[0]!r}?" if hint else "")
        ) from None
    if canon not in with_pk:
        raise _err(
            where,
            drug,
            expected + f"); {canon!r} is in the knowledge base but has no PK model, so an "
            "arm cannot be simulated",
        )
    return canon


def _arm(i: int, a: Any, arms: Sequence[Arm], days: int) -> Arm:
    w = f"arms[{i}]."
    if not isinstance(a, dict):
        raise _err(f"arms[{i}]", a, "a table with name, drug, regimen")
    _unknown_keys(a, {"name", "drug", "regimen"}, w)
    an = a.get("name")
    if not isinstance(an, str) or not an.strip():
        raise _err(w + "name", an, "a non-empty string")
    if any(x.name == an for x in arms):
        raise _err(w + "name", an, "a name not used by another arm")
    if a.get("drug") == "placebo":
        if "regimen" in a:
            raise _err(w + "regimen", a["regimen"], "no regimen for a placebo arm")
        return Arm(an, "placebo", ())
    canon = _arm_drug(a.get("drug"), w + "drug")
    return Arm(an, canon, _parse_regimen(a.get("regimen"), w + "regimen", days))


def _arms(data: Mapping[str, Any], days: int) -> list[Arm]:
    raw_arms = data.get("arms")
    if not isinstance(raw_arms, list) or not raw_arms:
        raise _err("arms", raw_arms, "a non-empty list of [[arms]] tables")
    arms: list[Arm] = []
    for i, a in enumerate(raw_arms):
        arms.append(_arm(i, a, arms, days))
    return arms


def _population(data: Mapping[str, Any]) -> dict[str, float]:
    pop_raw = data.get("population", {}) or {}
    if not isinstance(pop_raw, dict):
        raise _err("population", pop_raw, "a table of overrides")
    _unknown_keys(pop_raw, _POP_PD | _POP_PK, "population.")
    population: dict[str, float] = {}
    for k, v in pop_raw.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _err(f"population.{k}", v, "a number")
        population[k] = float(v)
    return population


def _dropout(data: Mapping[str, Any]) -> tuple[str, float]:
    """(imputation, other weekly dropout) from ``[dropout]``."""
    drop = data.get("dropout", {}) or {}
    if not isinstance(drop, dict):
        raise _err("dropout", drop, "a table")
    _unknown_keys(drop, {"imputation", "other_weekly"}, "dropout.")
    imputation = drop.get("imputation", "BOCF")
    if imputation not in _IMPUTATION:
        raise _err("dropout.imputation", imputation, f"one of {list(_IMPUTATION)}")
    other = _num(drop, "other_weekly", 0.0, 1.0, "dropout.") if "other_weekly" in drop else 0.0
    return imputation, other


_NO_STOP = object()


def _stop_table(data: Mapping[str, Any]) -> Any:
    """The ``[stop]`` table, or one made of top-level stop_day/taper_steps/taper_step_days
    (``_NO_STOP`` where there is neither)."""
    flat = ("stop_day", "taper_steps", "taper_step_days")
    if not any(k in data for k in flat):
        return data.get("stop", _NO_STOP)
    if "stop" in data:
        raise _err("stop_day", data.get("stop_day"), "either top-level stop_day or [stop]")
    return {k.replace("stop_day", "day"): data[k] for k in flat if k in data}


def _stop(s: Any, days: int, arms: Sequence[Arm]) -> Stop | None:
    if s is _NO_STOP:
        return None
    if not isinstance(s, dict):
        raise _err("stop", s, "a table {day, taper_steps, taper_step_days}")
    _unknown_keys(s, {"day", "taper_steps", "taper_step_days"}, "stop.")
    stop = Stop(
        day=_int(s, "day", 2, days, "stop."),
        taper_steps=_int(s, "taper_steps", 0, 10, "stop.") if "taper_steps" in s else 0,
        taper_step_days=(
            _int(s, "taper_step_days", 1, 56, "stop.") if "taper_step_days" in s else 7
        ),
    )
    first = min((st.start_day for a in arms for st in a.regimen), default=1)
    if stop.day - stop.taper_steps * stop.taper_step_days <= first:
        raise _err("stop", s, "a taper that starts after the first dose")
    return stop


def _nnt(data: Mapping[str, Any], arms: Sequence[Arm]) -> bool:
    analysis = data.get("analysis", {}) or {}
    _unknown_keys(analysis, {"nnt"}, "analysis.")
    nnt = bool(analysis.get("nnt", True))
    if nnt and not any(a.is_placebo for a in arms):
        raise _err(
            "arms",
            [a.name for a in arms],
            'a placebo arm (drug = "placebo") when NNT/NNH are requested '
            "(set [analysis] nnt = false to run without one)",
        )
    return nnt


def parse_design(data: Mapping[str, Any], *, source: str = "design") -> Design:
    """Validate a design mapping (as read from TOML) into a :class:`Design`.

    Raises
    ------
    DesignError
        Unknown condition or drug, overlapping regimen steps, ``n_per_arm < 1``,
        a missing placebo arm while NNT is requested, and any malformed field.
    """
    if not isinstance(data, Mapping):
        raise _err(source, data, "a TOML table")
    _unknown_keys(data, _TOP, "")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _err("name", name, "a non-empty string")
    weeks = _int(data, "weeks", 1, MAX_TRIAL_WEEKS)
    days = weeks * 7
    cond = _condition(data)
    n = _n_per_arm(data)
    seed = _int(data, "seed", 0, 2**63 - 1)
    arms = _arms(data, days)
    population = _population(data)
    imputation, other = _dropout(data)
    stop = _stop(_stop_table(data), days, arms)
    try:
        trial_allowed(n, len(arms))
    except InputError as exc:
        raise _err("n_per_arm", n, exc.allowed) from None
    design = Design(
        name=name,
        weeks=weeks,
        condition=str(cond),
        n_per_arm=n,
        seed=seed,
        arms=tuple(arms),
        population=population,
        imputation=imputation,
        dropout_other_weekly=other,
        stop=stop,
        nnt=_nnt(data, arms),
        description=str(data.get("description", "")),
    )
    return replace(design, warnings=_dose_warnings(design, data))


def _dose_warnings(design: Design, data: Mapping[str, Any]) -> tuple[str, ...]:
    """Each active arm's highest 24 h dose against the knowledge base's bounds, as in
    ``simulate`` (:func:`neurodose.plausibility.dose_warnings`): above the maximum only
    with ``allow_above_max = true`` (then a loud warning)."""
    allow = data.get("allow_above_max", False)
    if not isinstance(allow, bool):
        raise _err("allow_above_max", allow, "true or false")
    out: list[str] = []
    for i, arm in enumerate(design.arms):
        reg = design.regimen(arm)
        if reg is None:
            continue
        field = f"arms[{i}].regimen.dose_mg"
        try:
            found = dose_warnings(
                arm.drug, reg.max_daily_dose(), field=field, allow_above_max=allow
            )
        except InputError as exc:
            allowed = exc.allowed.replace("--allow-above-max", "allow_above_max = true")
            raise _err(field, exc.value, allowed) from None
        out += [f"arm {arm.name!r}: {w}" for w in found]
    return tuple(out)


def load_design(path: str | Path) -> Design:
    """Read and validate a TOML design file."""
    p = Path(path)
    try:
        text = read_text(p, "design")
    except InputError as exc:
        raise DesignError("design", str(p), exc.allowed) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DesignError("design", str(p), f"valid TOML ({exc})") from None
    return parse_design(data, source=str(p))


def arm_table(
    name: str, drug: str, steps: Sequence[tuple[int, float, float]] = ()
) -> dict[str, Any]:
    """One ``[[arms]]`` table of a design, as :func:`parse_design` reads it.

    Parameters
    ----------
    name, drug : str
        The arm's name and drug (``"placebo"``: no regimen).
    steps : sequence of (start_day, dose_mg, every_h)
        Regimen steps: from day ``start_day`` (1-based), ``dose_mg`` mg every ``every_h`` h.

    Examples
    --------
    >>> arm_table("ami", "amitriptyline", [(1, 10, 24), (8, 25, 24)])["regimen"][1]
    {'start_day': 8, 'dose_mg': 25, 'every_h': 24}
    >>> arm_table("pl", "placebo")
    {'name': 'pl', 'drug': 'placebo'}
    """
    if drug == "placebo":
        return {"name": name, "drug": "placebo"}
    return {
        "name": name,
        "drug": drug,
        "regimen": [{"start_day": d, "dose_mg": m, "every_h": h} for d, m, h in steps],
    }
