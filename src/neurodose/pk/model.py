"""PK model structures, apart from any drug's numbers.

A :class:`PKModel` names its compartments, parameters and flows and builds the
(batched) linear system ``dx/dt = A x`` for given parameter values. Amounts are
mg, volumes L, times h; outputs are concentrations in ng/mL (mg/L x 1000).

Structures
----------
``one_compartment``  depot -ka-> central -CL/V->
``two_compartment``  depot -ka-> central <-Q-> peripheral; central -CL/V->
``parent_metabolite`` depot -ka(1-f_pre)-> parent -CL_form/V-> metabolite -CL_m/V_m->;
                      parent -CL_other/V->; depot -ka f_pre-> metabolite (first pass)
``one_compartment_saturable`` depot -ka-> central -(CL + 1000 Vmax/(Km + C))/V->
                      (nonlinear: solved by :mod:`neurodose.pk.saturable`; ``matrices``
                      gives its linear part only)

>>> m = get_structure("one_compartment", analytes=("drug",))
>>> print(m)
PKModel one_compartment [depot, central]
  depot --ka--> central
  central --CL/V--> (eliminated)
  dose: oral -> depot (x F, after tlag); iv -> central
  observe: drug = central / V
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurodose.errors import InputError, UnknownNameError

__all__ = ["STRUCTURES", "PKModel", "get_structure"]

Arr = NDArray[np.float64]

#: parameters each structure needs
STRUCTURES: dict[str, tuple[str, ...]] = {
    "one_compartment": ("F", "ka", "tlag", "CL", "V"),
    "two_compartment": ("F", "ka", "tlag", "CL", "V", "Q", "V2"),
    "parent_metabolite": ("F", "ka", "tlag", "CL_form", "CL_other", "V", "CL_m", "V_m", "f_pre"),
    "one_compartment_saturable": ("F", "ka", "tlag", "CL", "V", "Vmax", "Km"),
}

#: parameters that may be zero (all others must be > 0)
_NONNEGATIVE = ("tlag", "f_pre", "Vmax", "CL_other", "CL_form")  # CL_form 0: no formation (a PM)

_CMTS = {
    "one_compartment": ("depot", "central"),
    "two_compartment": ("depot", "central", "peripheral"),
    "parent_metabolite": ("depot", "parent", "metabolite"),
    "one_compartment_saturable": ("depot", "central"),
}

_FLOWS = {
    "one_compartment": (("depot", "central", "ka"), ("central", None, "CL/V")),
    "two_compartment": (
        ("depot", "central", "ka"),
        ("central", "peripheral", "Q/V"),
        ("peripheral", "central", "Q/V2"),
        ("central", None, "CL/V"),
    ),
    "parent_metabolite": (
        ("depot", "parent", "ka*(1-f_pre)"),
        ("depot", "metabolite", "ka*f_pre  [first-pass formation]"),
        ("parent", "metabolite", "CL_form/V"),
        ("parent", None, "CL_other/V"),
        ("metabolite", None, "CL_m/V_m"),
    ),
    "one_compartment_saturable": (
        ("depot", "central", "ka"),
        ("central", None, "CL/V + Vmax/(Km + C) [saturable, Michaelis-Menten]"),
    ),
}


@dataclass(frozen=True)
class PKModel:
    """A linear compartment structure with named analytes.

    Parameters
    ----------
    structure : str
        One of :data:`STRUCTURES`.
    analytes : tuple of str
        Observed analyte names: the central (or parent) compartment first, the
        metabolite second for ``parent_metabolite``.
    drug : str
        Name of the drug the model is used for (informational).
    """

    structure: str
    analytes: tuple[str, ...]
    drug: str = ""

    def __post_init__(self) -> None:
        if self.structure not in STRUCTURES:
            raise UnknownNameError("model structure", self.structure, STRUCTURES)
        need = 2 if self.structure == "parent_metabolite" else 1
        if len(self.analytes) != need:
            raise InputError(
                "analytes", self.analytes, f"{need} analyte name(s) for {self.structure}"
            )

    @property
    def compartments(self) -> tuple[str, ...]:
        return _CMTS[self.structure]

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return STRUCTURES[self.structure]

    @property
    def saturable(self) -> bool:
        """True for a structure with Michaelis-Menten elimination (not linear)."""
        return self.structure.endswith("_saturable")

    @property
    def n_states(self) -> int:
        return len(self.compartments)

    def __repr__(self) -> str:
        lines = [f"PKModel {self.structure} [{', '.join(self.compartments)}]"]
        for a, b, r in _FLOWS[self.structure]:
            lines.append(f"  {a} --{r}--> {b or '(eliminated)'}")
        central = "parent" if self.structure == "parent_metabolite" else "central"
        lines.append(f"  dose: oral -> depot (x F, after tlag); iv -> {central}")
        if self.structure == "parent_metabolite":
            lines.append(f"  observe: {self.analytes[0]} = parent / V")
            lines.append(f"  observe: {self.analytes[1]} = metabolite / V_m")
        else:
            lines.append(f"  observe: {self.analytes[0]} = central / V")
        return "\n".join(lines)

    __str__ = __repr__

    # ------------------------------------------------------------------
    def check(self, params: Mapping[str, object], n: int | None = None) -> dict[str, Arr]:
        """Broadcast parameters to arrays of length ``n`` and validate them."""
        out: dict[str, Arr] = {}
        missing = [p for p in self.parameter_names if p not in params]
        if missing:
            raise InputError("params", sorted(params), f"values for {', '.join(missing)}")
        arrays = {
            p: np.atleast_1d(np.asarray(params[p], dtype=np.float64)) for p in self.parameter_names
        }
        if n is None:
            n = max(a.shape[0] for a in arrays.values())
        for p, a in arrays.items():
            if a.ndim != 1 or a.shape[0] not in (1, n):
                raise InputError(p, a.shape, f"a scalar or an array of length {n}")
            if not np.all(np.isfinite(a)):
                raise InputError(p, "non-finite value", "finite numbers")
            lo_ok = a >= 0 if p in _NONNEGATIVE else a > 0
            if not np.all(lo_ok):
                bad = float(a[~lo_ok][0])
                allowed = ">= 0" if p in _NONNEGATIVE else "> 0"
                raise InputError(p, bad, f"{p} {allowed}")
            if p in ("f_pre",) and np.any(a >= 1):
                raise InputError(p, float(a.max()), "0 <= f_pre < 1")
            out[p] = np.broadcast_to(a, (n,)).astype(np.float64)
        return out

    def matrices(self, p: Mapping[str, Arr]) -> tuple[Arr, Arr, Arr, Arr]:
        """Batched system for parameter arrays of length n.

        Returns
        -------
        A : (n, k, k)   dx/dt = A x (1/h)
        b_oral : (n, k) where an oral dose goes (F into the depot)
        b_iv : (n, k)   where an IV bolus goes
        H : (n, n_analytes, k)  concentration (ng/mL) per mg in each state
        """
        n = p["ka"].shape[0]
        k = self.n_states
        A = np.zeros((n, k, k))
        b_oral = np.zeros((n, k))
        b_iv = np.zeros((n, k))
        ka = p["ka"]
        A[:, 0, 0] = -ka
        b_oral[:, 0] = p["F"]
        if self.structure in ("one_compartment", "one_compartment_saturable"):
            H = np.zeros((n, 1, k))
            A[:, 1, 0] = ka
            A[:, 1, 1] = -p["CL"] / p["V"]
            b_iv[:, 1] = 1.0
            H[:, 0, 1] = 1000.0 / p["V"]
        elif self.structure == "two_compartment":
            H = np.zeros((n, 1, k))
            A[:, 1, 0] = ka
            A[:, 1, 1] = -(p["CL"] + p["Q"]) / p["V"]
            A[:, 2, 1] = p["Q"] / p["V"]
            A[:, 1, 2] = p["Q"] / p["V2"]
            A[:, 2, 2] = -p["Q"] / p["V2"]
            b_iv[:, 1] = 1.0
            H[:, 0, 1] = 1000.0 / p["V"]
        else:
            H = np.zeros((n, 2, k))
            fpre = p["f_pre"]
            A[:, 1, 0] = ka * (1.0 - fpre)
            A[:, 2, 0] = ka * fpre
            A[:, 1, 1] = -(p["CL_form"] + p["CL_other"]) / p["V"]
            A[:, 2, 1] = p["CL_form"] / p["V"]
            A[:, 2, 2] = -p["CL_m"] / p["V_m"]
            b_iv[:, 1] = 1.0
            H[:, 0, 1] = 1000.0 / p["V"]
            H[:, 1, 2] = 1000.0 / p["V_m"]
        return A, b_oral, b_iv, H


def get_structure(structure: str, analytes: tuple[str, ...] = ("drug",), drug: str = "") -> PKModel:
    """A :class:`PKModel` for a structure name (see :data:`STRUCTURES`)."""
    if structure == "parent_metabolite" and len(analytes) == 1:
        analytes = (analytes[0], f"{analytes[0]}_metabolite")
    return PKModel(structure, tuple(analytes), drug)
