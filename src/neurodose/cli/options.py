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

import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from neurodose.errors import InputError, RegimenError
from neurodose.inputs import read_text

if TYPE_CHECKING:
    from neurodose.case import Comedication, Patient, Regimen

__all__ = [
    "Age",
    "AsJson",
    "Crcl",
    "Cyp2c19",
    "Cyp2d6",
    "DaysSoFar",
    "Dose",
    "DosesGiven",
    "Drug",
    "Every",
    "Mkdir",
    "PngFigure",
    "PngPlot",
    "RegimenAsSimulate",
    "Sex",
    "Smoker",
    "Weight",
    "With",
    "comedications_from_options",
    "out_path",
    "patient_from_options",
    "regimen_from_options",
]

# --- drug and regimen -------------------------------------------------------------
Drug = Annotated[str, typer.Option("--drug", help="drug with a PK model")]
Dose = Annotated[str | None, typer.Option(help="each dose, e.g. '25 mg'")]
Every = Annotated[str, typer.Option(help="interval, e.g. '24 h'")]
#: ``--doses``, ``--days`` and ``--regimen`` as ``tdm`` and ``response`` word them
DosesGiven = Annotated[int | None, typer.Option(help="number of doses given")]
DaysSoFar = Annotated[float | None, typer.Option(help="days of dosing so far")]
RegimenAsSimulate = Annotated[
    Path | None, typer.Option("--regimen", help="TOML/JSON regimen (as for simulate)")
]

# --- patient: covariates, genotypes, co-medications ---------------------------------
Age = Annotated[float | None, typer.Option(help="years")]
Sex = Annotated[str | None, typer.Option(help="male or female")]
Weight = Annotated[float | None, typer.Option(help="kg")]
Smoker = Annotated[bool, typer.Option("--smoker/--non-smoker")]
Crcl = Annotated[float | None, typer.Option(help="creatinine clearance, mL/min")]
Cyp2d6 = Annotated[str | None, typer.Option(help="diplotype, activity score or phenotype")]
Cyp2c19 = Annotated[str | None, typer.Option(help="diplotype or phenotype")]
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
    neurodose.errors.RegimenError: --dose: None is not allowed; ...
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
    return Regimen.oral(dose, every=every, doses=doses, days=days)


def patient_from_options(
    age: float | None = None,
    sex: str | None = None,
    weight: float | None = None,
    smoker: bool = False,
    crcl: float | None = None,
    cyp2d6: str | None = None,
    cyp2c19: str | None = None,
) -> Patient:
    """A :class:`neurodose.case.Patient` from the covariate and genotype options.

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
    cyp2d6, cyp2c19 : str, optional
        Diplotype (``"*1/*4"``), activity score or phenotype; omitted genes stay unknown.

    Raises
    ------
    PatientError, GenotypeError, UnknownNameError
        A covariate out of range or an unknown allele/phenotype (the message names it).

    Examples
    --------
    >>> p = patient_from_options(weight=60, cyp2c19="poor")
    >>> p.weight, [(g.gene, g.phenotype) for g in p.genotypes.values()]
    (60.0, [('CYP2C19', 'PM')])
    """
    from neurodose.case import Patient

    patient = Patient(age=age, sex=sex, weight=weight, smoker=smoker, crcl=crcl)
    genes = {k: v for k, v in (("CYP2D6", cyp2d6), ("CYP2C19", cyp2c19)) if v is not None}
    return patient.with_genotype(**genes) if genes else patient


def comedications_from_options(values: Iterable[str] | None) -> list[Comedication]:
    """Parse repeated ``DRUG:DOSE[:EVERY]`` options (``--with``, ``--what-if-add``).

    Parameters
    ----------
    values : iterable of str, or None
        Each ``"DRUG:DOSE[:EVERY]"``, e.g. ``"paroxetine:20 mg:24 h"`` (dose in mass
        units, interval in time units); ``None`` (option not given) is no co-medication.

    Examples
    --------
    >>> comedications_from_options(None)
    []
    >>> comedications_from_options(["paroxetine:20 mg:12 h"])[0].dose_mg
    20.0
    """
    from neurodose.case import parse_comedication

    return [parse_comedication(w) for w in (values or [])]
