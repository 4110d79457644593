"""Options shared by several commands: regimen, patient, genotypes, co-medications.

One declaration per option (``Annotated`` aliases, so every command shows the same
flag, default and help) and one implementation of what the options mean:
:func:`regimen_from_options`, :func:`patient_from_options` and
:func:`comedications_from_options`. Bad input raises the ``neurodose.errors``
exception naming the field, the value and what is allowed.

Examples
--------
>>> regimen_from_options("25 mg", "24 h", days=2)
Regimen(25 mg every 24 h x 2)
>>> patient_from_options(age=70, cyp2d6="*4/*4").phenotype("CYP2D6")
'PM'
>>> [c.drug for c in comedications_from_options(["paroxetine:20 mg"])]
['paroxetine']
"""

from __future__ import annotations

import functools
import inspect
import json
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from neurodose.errors import InputError, RegimenError
from neurodose.inputs import count, finite_number, read_text
from neurodose.limits import MAX_DAYS, MAX_DOSES, regimen_allowed

if TYPE_CHECKING:
    from neurodose.case import Comedication, Patient, Regimen

__all__ = [
    "Age",
    "AllowAboveMax",
    "AsJson",
    "Crcl",
    "Cyp2c19",
    "Cyp2d6",
    "DaysSoFar",
    "Dose",
    "DosesGiven",
    "Drug",
    "Every",
    "Hours",
    "Mkdir",
    "NDoses",
    "PatientArgs",
    "PatientFile",
    "PngFigure",
    "PngPlot",
    "Population",
    "RegimenArgs",
    "RegimenAsSimulate",
    "RegimenFile",
    "Scr",
    "Seed",
    "Sex",
    "Smoker",
    "Weight",
    "With",
    "applied_defaults",
    "as_flags",
    "comedication_notes",
    "comedication_warnings",
    "comedications_from_options",
    "dose_warnings",
    "option_group",
    "out_path",
    "patient_from_options",
    "patient_options",
    "regimen_from_options",
    "regimen_options",
]

# --- drug and regimen -------------------------------------------------------------
Drug = Annotated[str, typer.Option("--drug", help="drug with a PK model")]
Dose = Annotated[str | None, typer.Option(help="each dose, e.g. '25 mg'")]
Every = Annotated[str, typer.Option(help="interval, e.g. '24 h'")]
#: ``simulate``'s wording (also used by ``explain``)
NDoses = Annotated[int | None, typer.Option("--doses", help="number of doses")]
RegimenFile = Annotated[
    Path | None, typer.Option("--regimen", help="TOML/JSON regimen (titration steps)")
]
Hours = Annotated[
    float | None, typer.Option(help="simulate to H hours (default last dose + 5 t1/2)")
]
Population = Annotated[int | None, typer.Option(help="virtual subjects for bands")]
Seed = Annotated[int | None, typer.Option(help="random seed")]
Formulation = Annotated[
    str | None,
    typer.Option(
        help="a formulation of the drug's PK model, e.g. venlafaxine extended_release "
        "(default: the model's own absorption)"
    ),
]
#: ``--doses``, ``--days`` and ``--regimen`` as ``tdm`` and ``response`` word them
DosesGiven = Annotated[int | None, typer.Option(help="number of doses given")]
DaysSoFar = Annotated[float | None, typer.Option(help="days of dosing so far")]
RegimenAsSimulate = Annotated[
    Path | None, typer.Option("--regimen", help="TOML/JSON regimen (as for simulate)")
]

AllowAboveMax = Annotated[
    bool,
    typer.Option(
        "--allow-above-max",
        help="accept a dose above the knowledge base's labelled maximum (loud warning)",
    ),
]

# --- patient: covariates, genotypes, co-medications ---------------------------------
Age = Annotated[float | None, typer.Option(help="years")]
Sex = Annotated[str | None, typer.Option(help="male or female")]
Weight = Annotated[float | None, typer.Option(help="kg")]
Smoker = Annotated[bool, typer.Option("--smoker/--non-smoker")]
Crcl = Annotated[float | None, typer.Option(help="creatinine clearance, mL/min")]
Scr = Annotated[
    float | None,
    typer.Option("--scr", help="serum creatinine, mg/dL (gabapentin's clearance model)"),
]
Cyp2d6 = Annotated[str | None, typer.Option(help="diplotype, activity score or phenotype")]
Cyp2c19 = Annotated[str | None, typer.Option(help="diplotype or phenotype")]
PatientFile = Annotated[
    Path | None,
    typer.Option(
        "--patient",
        help="patient JSON (as for assess): covariates, labs, genotypes and current "
        "medications; instead of the covariate and genotype options",
    ),
]
With = Annotated[
    list[str] | None,
    typer.Option("--with", help="co-medication DRUG:DOSE[:EVERY] (repeatable)"),
]

# --- output ---------------------------------------------------------------------------
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]
PngPlot = Annotated[Path | None, typer.Option(help="write a .png plot")]
PngFigure = Annotated[Path | None, typer.Option(help="write a .png figure")]
Mkdir = Annotated[
    bool,
    typer.Option("--mkdir", help="create the folder of an output file if it is missing"),
]


#: the flag of each request field of :mod:`neurodose.workflows` the commands fill
WORKFLOW_FLAGS = {
    "regimen.dose": "--dose",
    "comedications": "--with",
    "current_daily_mg": "--current-dose",
    "max_daily_mg": "--max-daily",
}


@contextmanager
def as_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Name command-line flags in the library's input errors.

    The library names its fields (``target``, ``max_daily_mg``); inside this context an
    :class:`~neurodose.errors.InputError` for a field in ``flags`` is raised again, the
    same type and message, naming the flag instead.

    >>> from neurodose.errors import InputError
    >>> try:
    ...     with as_flags({"target": "--target"}):
    ...         raise InputError("target", "x", "a range")
    ... except InputError as exc:
    ...     str(exc)
    "--target: 'x' is not allowed; expected a range"
    """
    try:
        yield
    except InputError as exc:
        flag = flags.get(exc.field)
        if flag is None:
            raise
        raise type(exc)(flag, exc.value, exc.allowed) from exc


def out_path(
    path: Path | None, flag: str, suffixes: tuple[str, ...] = (), mkdir: bool = False
) -> Path | None:
    """Check an output option (``--plot``, ``--ics``, ``--csv``) before any work is done.

    ``None`` (option not given) stays ``None``; otherwise see
    :func:`neurodose.inputs.output_path` (the folder must exist unless ``--mkdir``).

    >>> out_path(None, "--plot") is None
    True
    """
    from neurodose.inputs import output_path

    return None if path is None else output_path(path, flag, suffixes=suffixes, mkdir=mkdir)


def regimen_from_options(
    dose: str | None,
    every: str = "24 h",
    doses: int | None = None,
    days: float | None = None,
    regimen_file: Path | None = None,
    *,
    file_option: bool = True,
) -> Regimen:
    """The regimen given by ``--dose/--every/--doses/--days`` or by ``--regimen FILE``.

    Parameters
    ----------
    dose : str or None
        Each dose with its unit, e.g. ``"25 mg"``; required unless ``regimen_file``.
    every : str
        Dosing interval with its unit, e.g. ``"24 h"``.
    doses : int, optional
        Number of doses (see :meth:`neurodose.case.Regimen.oral`).
    days : float, optional
        Days of dosing, d.
    regimen_file : pathlib.Path, optional
        A TOML or JSON regimen (``.json`` is read as JSON, anything else as TOML),
        as :meth:`neurodose.case.Regimen.from_mapping` takes it; excludes ``dose``.
    file_option : bool
        Whether the command offers ``--regimen`` (only changes the hint when
        ``--dose`` is missing).

    Raises
    ------
    RegimenError
        No ``--dose`` (and no file), or both ``--dose`` and ``--regimen``.
    InputError
        ``--regimen`` names a missing or unreadable file.

    Examples
    --------
    >>> regimen_from_options("10 mg", "12 h", doses=3)
    Regimen(10 mg every 12 h x 3)
    >>> regimen_from_options(None)
    Traceback (most recent call last):
    ...
    neurodose.errors.RegimenError: --dose: no value given; ...
    """
    from neurodose.case import Regimen

    if regimen_file is not None:
        if dose is not None:
            raise RegimenError("--regimen", str(regimen_file), "either --regimen or --dose")
        text = read_text(regimen_file, "--regimen")
        try:
            data = (
                json.loads(text) if regimen_file.suffix.lower() == ".json" else tomllib.loads(text)
            )
        except (json.JSONDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
            raise InputError("--regimen", str(regimen_file), f"valid TOML/JSON ({exc})") from None
        return Regimen.from_mapping(data)
    if dose is None:
        hint = " (or --regimen FILE)" if file_option else ""
        raise RegimenError("--dose", None, f"a dose such as '25 mg'{hint}")
    _require_unit(dose, "--dose", "a dose with its unit, e.g. '25 mg'")
    _require_unit(every, "--every", "an interval with its unit, e.g. '24 h'")
    if doses is not None:
        count(doses, "--doses", low=1, high=MAX_DOSES)
    if days is not None:
        finite_number(days, "--days", low=0, low_inclusive=False, high=MAX_DAYS, unit="d")
    reg = Regimen.oral(dose, every=every, doses=doses, days=days)
    ex = reg.expand()
    last_h = float(ex.times[-1]) if len(ex) else 0.0
    flag = "--days" if days is not None else "--doses"
    regimen_allowed(len(ex), last_h, flag, days if days is not None else doses)
    return reg


# the caps of a regimen (doses, days): neurodose.limits (the same at every door)


def _require_unit(text: str, flag: str, allowed: str) -> None:
    """A bare number (``"25"``) is ambiguous: the unit must be given."""
    try:
        float(str(text).strip())
    except ValueError:
        return
    raise RegimenError(flag, text, f"{allowed} (a bare number is ambiguous)")


def dose_warnings(
    drug: str, regimen: Regimen, allow_above_max: bool = False, flag: str = "--dose"
) -> list[str]:
    """Check the regimen's largest 24 h dose against the KB maximum for ``drug``.

    Raises :class:`~neurodose.errors.InputError` above the maximum unless
    ``allow_above_max``; then returns the loud ``ABOVE MAXIMUM`` warning for the output.

    >>> dose_warnings("duloxetine", regimen_from_options("60 mg", "24 h", days=2))
    []
    """
    from neurodose.knowledge.limits import check_daily_dose

    return check_daily_dose(
        drug, regimen.max_daily_dose(), field=flag, allow_above_max=allow_above_max
    )


def applied_defaults(**computed: str) -> list[str]:
    """The defaults the running command applied, as ``'--every 24 h (default)'`` lines.

    Reads click's record of which options were left at their default (only those
    with a value, and never output or flag options), then adds ``computed`` entries
    (``name=text``) for defaults the command derived itself.
    """
    out: list[str] = []
    ctx = _current_context()
    if ctx is not None:
        for p in ctx.command.params:
            name = p.name or ""
            if name in _NOT_DEFAULTS or getattr(p, "is_flag", False):
                continue
            source = ctx.get_parameter_source(name)
            if getattr(source, "name", None) != "DEFAULT":
                continue
            value = ctx.params.get(name)
            if value is None and name == "start_date":
                import datetime as dt

                out.append(f"--start-date {dt.date.today().isoformat()} (default: today)")
                continue
            if value is None or value == [] or value == ():
                continue
            flag = p.opts[0] if p.opts else name
            out.append(f"{flag} {value} (default)")
    out.extend(f"{k.replace('_', ' ')}: {v}" for k, v in computed.items())
    return out


def _current_context() -> Any:
    """The running command's click context (typer >= 0.20 vendors click as typer._click)."""
    import importlib

    for mod in ("typer._click.globals", "click.globals"):
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        ctx = m.get_current_context(silent=True)
        if ctx is not None:
            return ctx
    return None


_NOT_DEFAULTS = {"plot", "ics", "csv", "as_json", "json_out", "mkdir", "seed", "patient_text"}


@dataclass(frozen=True)
class PatientArgs:
    """A command's patient options as given (:func:`patient_options` declares them):
    the covariate and genotype options (``covariates``, by parameter name of
    :func:`patient_from_options`), ``--patient FILE`` and the ``--with`` co-medications."""

    covariates: Mapping[str, Any] = field(default_factory=dict)
    patient_file: Path | None = None
    with_: list[str] | None = None

    def patient(self) -> Patient:
        """The patient (:func:`patient_from_options`)."""
        return patient_from_options(**self.covariates, patient_file=self.patient_file)

    def comedications(self, patient: Patient, drug: str) -> list[Comedication]:
        """The ``--with`` co-medications and the patient's current medicines but ``drug``
        (:func:`comedications_from_options`)."""
        return comedications_from_options(self.with_, patient, drug)

    def covariates_given(self) -> bool:
        """Whether a patient file or a covariate (age, sex, weight, CrCl) was given."""
        c = self.covariates
        return self.patient_file is not None or any(
            c.get(k) is not None for k in ("age", "sex", "weight", "crcl")
        )


def _patient_args(
    patient_file: Path | None = None, with_: list[str] | None = None, **covariates: Any
) -> PatientArgs:
    return PatientArgs(covariates, patient_file, with_)


#: the default of a command's ``pt`` parameter (replaced by :func:`patient_options`)
NO_PATIENT_OPTIONS = PatientArgs()

#: the patient options, in the order every command shows them (default None, but
#: ``--smoker/--non-smoker``: False)
_PATIENT_NAMES = (
    *("age", "sex", "weight", "smoker", "crcl", "scr"),
    *("cyp2d6", "cyp2c19", "patient_file", "with_"),
)
_PATIENT_ALIASES = (Age, Sex, Weight, Smoker, Crcl, Scr, Cyp2d6, Cyp2c19, PatientFile, With)


def option_group(
    name: str,
    options: Iterable[tuple[str, Any]],
    build: Callable[..., Any],
    defaults: Mapping[str, Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator that puts ``options`` (name, ``Annotated`` option; default from
    ``defaults``, else None) in a command's signature where its parameter ``name``
    stands, and calls the command with ``name=build(**those options)``: one declaration
    of a group of options that several commands take (typer reads the signature)."""
    opts = tuple(options)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func, eval_str=True)
        params: list[inspect.Parameter] = []
        for p in sig.parameters.values():
            if p.name != name:
                params.append(p)
                continue
            params += [
                inspect.Parameter(n, p.kind, default=defaults.get(n), annotation=a) for n, a in opts
            ]

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            group = build(**{n: kwargs.pop(n) for n, _ in opts})
            return func(**kwargs, **{name: group})

        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__  # inspect and typer read the new signature
        return command

    return decorate


def patient_options(
    *, scr: bool = True, cyp2d6: Any = Cyp2d6
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the patient options (``--age`` ... ``--patient``, ``--with``) in place of
    a command's parameter ``pt: PatientArgs`` (``scr``: with ``--scr``; ``cyp2d6``: the
    command's wording of ``--cyp2d6``).

    >>> @patient_options(scr=False)
    ... def cmd(drug: str, pt: PatientArgs = NO_PATIENT_OPTIONS) -> PatientArgs:
    ...     return pt
    >>> list(inspect.signature(cmd).parameters)[:3]
    ['drug', 'age', 'sex']
    >>> given = dict.fromkeys(inspect.signature(cmd).parameters) | {"drug": "x", "age": 70}
    >>> pt = cmd(**given)
    >>> pt.covariates["age"], sorted(pt.covariates)[:3], pt.covariates_given()
    (70, ['age', 'crcl', 'cyp2c19'], True)
    """
    options = [
        (n, cyp2d6 if n == "cyp2d6" else a)
        for n, a in zip(_PATIENT_NAMES, _PATIENT_ALIASES, strict=True)
        if scr or n != "scr"
    ]
    return option_group("pt", options, _patient_args, {"smoker": False})


class RegimenArgs(NamedTuple):
    """A command's regimen options as given (:func:`regimen_options` declares them), in
    the order :func:`regimen_from_options` takes them."""

    dose: str | None
    every: str
    doses: int | None
    days: float | None
    regimen: Path | None

    def parse(self) -> Regimen:
        """The regimen (:func:`regimen_from_options`)."""
        return regimen_from_options(*self)


#: the default of a command's ``rg`` parameter (replaced by :func:`regimen_options`)
NO_REGIMEN_OPTIONS = RegimenArgs(None, "24 h", None, None, None)


def regimen_options(
    doses: Any = DosesGiven, days: Any = DaysSoFar, regimen: Any = RegimenAsSimulate
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare ``--dose``, ``--every``, ``--doses``, ``--days`` and ``--regimen`` (the
    last three in the command's wording) in place of a command's parameter
    ``rg: RegimenArgs``."""
    options = zip(RegimenArgs._fields, (Dose, Every, doses, days, regimen), strict=True)
    return option_group("rg", options, RegimenArgs, NO_REGIMEN_OPTIONS._asdict())


def patient_from_options(
    age: float | None = None,
    sex: str | None = None,
    weight: float | None = None,
    smoker: bool = False,
    crcl: float | None = None,
    cyp2d6: str | None = None,
    cyp2c19: str | None = None,
    patient_file: Path | None = None,
    scr: float | None = None,
) -> Patient:
    """A :class:`neurodose.case.Patient` from the covariate and genotype options, or
    from ``--patient FILE`` (the patient JSON of ``assess``).

    Parameters
    ----------
    age : float, optional
        Years.
    sex : str, optional
        ``"male"`` or ``"female"``.
    weight : float, optional
        Body weight, kg.
    smoker : bool
        Current smoker.
    crcl : float, optional
        Creatinine clearance, mL/min.
    scr : float, optional
        Serum creatinine, mg/dL.
    cyp2d6, cyp2c19 : str, optional
        Diplotype (``"*1/*4"``), activity score or phenotype; omitted genes stay unknown.
    patient_file : pathlib.Path, optional
        A patient JSON file (:func:`neurodose.case.load_patient_file`); excludes the
        covariate and genotype options.

    Raises
    ------
    PatientError, GenotypeError, UnknownNameError
        A covariate out of range or an unknown allele/phenotype (the message names it).
    InputError
        ``--patient`` together with covariate or genotype options.

    Examples
    --------
    >>> p = patient_from_options(weight=60, cyp2c19="poor")
    >>> p.weight, [(g.gene, g.phenotype) for g in p.genotypes.values()]
    (60.0, [('CYP2C19', 'PM')])
    """
    from neurodose.case import load_patient_file

    if patient_file is not None:
        given = [
            f"--{n}"
            for n, v in (
                ("age", age),
                ("sex", sex),
                ("weight", weight),
                ("crcl", crcl),
                ("scr", scr),
                ("cyp2d6", cyp2d6),
                ("cyp2c19", cyp2c19),
            )
            if v is not None
        ] + (["--smoker"] if smoker else [])
        if given:
            raise InputError(
                "--patient",
                str(patient_file),
                f"either --patient FILE or the options {', '.join(given)}, not both",
            )
        return load_patient_file(patient_file)
    from neurodose.workflows import PatientOptions, PatientRequest, build_patient

    opts = PatientOptions(age, sex, weight, smoker, crcl, scr, cyp2d6, cyp2c19)
    return build_patient(PatientRequest(opts)).patient


def comedications_from_options(
    values: Iterable[str] | None,
    patient: Patient | None = None,
    drug: str | None = None,
) -> list[Comedication]:
    """Parse repeated ``DRUG:DOSE[:EVERY]`` options (``--with``, ``--what-if-add``).

    Parameters
    ----------
    values : iterable of str, or None
        Each ``"DRUG:DOSE[:EVERY]"``, e.g. ``"paroxetine:20 mg:24 h"`` (dose in mass
        units, interval in time units); ``None`` (option not given) is no co-medication.
    patient : Patient, optional
        Its current medications (from ``--patient FILE``) come first, except ``drug``.
    drug : str, optional
        The drug being dosed (never its own co-medication).

    Examples
    --------
    >>> comedications_from_options(None)
    []
    >>> comedications_from_options(["paroxetine:20 mg:12 h"])[0].dose_mg
    20.0
    """
    from neurodose.case import parse_comedication

    out = []
    for w in values or []:
        parts = str(w).split(":")
        if len(parts) > 1:
            _require_unit(
                parts[1].strip(),
                "--with",
                f"DRUG:DOSE[:EVERY] with a unit, e.g. '{parts[0].strip()}:20 mg'",
            )
        if len(parts) > 2:
            _require_unit(
                parts[2].strip(),
                "--with",
                f"DRUG:DOSE:EVERY with a unit, e.g. '{parts[0].strip()}:20 mg:24 h'",
            )
        out.append(parse_comedication(w))
    if patient is not None and patient.medications:
        from neurodose.knowledge import resolve_name

        dosed = resolve_name(drug) if drug is not None else None
        return [*patient.comedications(exclude=dosed), *out]
    return out


def comedication_warnings(
    comeds: Iterable[Comedication], allow_above_max: bool = False
) -> list[str]:
    """Check each co-medication's daily dose against its KB maximum (where the KB has one).

    >>> comedication_warnings(comedications_from_options(["duloxetine:60 mg"]))
    []
    """
    from neurodose.knowledge.limits import check_daily_dose

    out: list[str] = []
    for c in comeds:
        if c.dose_mg is None:
            continue
        daily = c.dose_mg * 24.0 / (c.every_h or 24.0)
        out += check_daily_dose(c.drug, daily, field="--with", allow_above_max=allow_above_max)
    return out


def comedication_notes(comeds: Iterable[Comedication]) -> list[str]:
    """What a co-medication without a dose means, for the output and the JSON.

    The modelled interactions are class-based (an inhibitor or inducer of a pathway);
    they do not scale with the co-medication's dose, so a missing dose changes nothing,
    but the output says so instead of leaving the reader to guess.

    >>> comedication_notes(comedications_from_options(["fluoxetine"]))[0][:40]
    'fluoxetine: no dose given; the modelled '
    """
    notes = []
    for c in comeds:
        if c.dose_mg is None:
            notes.append(
                f"{c.drug}: no dose given; the modelled interaction is class-based "
                "(inhibitor/inducer strength from the knowledge base) and does not depend "
                "on the dose"
            )
    return notes
