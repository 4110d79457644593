"""The solvers' two backends (plain Python for one subject, numba for many) give the
same numbers, for the linear exact solver and the saturable one; a single-patient
simulation never imports numba."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodose.case import DoseEvent, Regimen
from neurodose.errors import InputError
from neurodose.pk.exact import choose_backend
from neurodose.pk.model import get_structure
from neurodose.pk.solve import concentrations, predict_at

ONE = get_structure("one_compartment", ("d",))
TWO = get_structure("two_compartment", ("d",))
PM = get_structure("parent_metabolite", ("p", "m"))

rate = st.floats(0.01, 3.0)
vol = st.floats(1.0, 500.0)


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    """A linear model, its parameters, a regimen (oral/iv, SS records, lag) and changes."""
    which = draw(st.sampled_from(["one", "two", "pm"]))
    p: dict[str, float] = {"F": draw(st.floats(0.05, 1.0)), "ka": draw(rate)}
    p["tlag"] = draw(st.sampled_from([0.0, 0.5, 2.0]))
    if which == "one":
        model = ONE
        p |= {"CL": draw(st.floats(0.1, 50.0)), "V": draw(vol)}
    elif which == "two":
        model = TWO
        p |= {"CL": draw(st.floats(0.1, 50.0)), "V": draw(vol)}
        p |= {"Q": draw(st.floats(0.1, 50.0)), "V2": draw(vol)}
    else:
        model = PM
        p |= {"CL_form": draw(st.floats(0.1, 30.0)), "CL_other": draw(st.floats(0.0, 30.0))}
        p |= {"V": draw(vol), "CL_m": draw(st.floats(0.1, 30.0)), "V_m": draw(vol)}
        p["f_pre"] = draw(st.sampled_from([0.0, 0.2]))
    events = []
    t0 = 0.0
    for _ in range(draw(st.integers(1, 3))):
        ii = draw(st.sampled_from([8.0, 12.0, 24.0]))
        events.append(
            DoseEvent(
                amt=draw(st.floats(1.0, 500.0)),
                time=t0,
                ii=ii,
                addl=draw(st.integers(0, 10)),
                ss=draw(st.sampled_from([0, 0, 1, 2])),
                route=draw(st.sampled_from(["oral", "oral", "iv"])),
            )
        )
        t0 += draw(st.sampled_from([0.0, 6.0, 24.0, 100.0]))  # equal times: ties
    changes = []
    if draw(st.booleans()):
        key = "CL" if "CL" in p else "CL_form"
        changes = [(draw(st.sampled_from([24.0, 30.5, 100.0])), {**p, key: p[key] * 0.4})]
    t = np.unique(np.concatenate([np.linspace(0.0, 400.0, 97), [24.0, 30.5, 100.0]]))
    return model, p, Regimen.from_events(events), t, changes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_python_backend_equals_numba(case: tuple) -> None:
    model, p, reg, t, changes = case
    py = concentrations(model, p, reg, t, changes=changes, backend="python")
    nb = concentrations(model, p, reg, t, changes=changes, backend="numba")
    assert py.keys() == nb.keys()
    for a in py:
        assert py[a].shape == nb[a].shape == (1, t.size)
        # the same operations in the same order: equal to rounding (in practice bit for bit)
        np.testing.assert_allclose(py[a], nb[a], rtol=1e-12, atol=1e-12 * nb[a].max())
    pa_py = predict_at(model, p, reg.expand(), t[::5], check=False, backend="python")
    pa_nb = predict_at(model, p, reg.expand(), t[::5], check=False, backend="numba")
    for a in pa_py:
        np.testing.assert_allclose(pa_py[a], pa_nb[a], rtol=1e-12, atol=1e-12 * pa_nb[a].max())


SAT = get_structure("one_compartment_saturable", ("d",))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cl=st.floats(0.5, 30.0),
    v=vol,
    ka=rate,
    vmax=st.floats(0.0, 5.0),
    km=st.floats(1.0, 200.0),
    dose=st.floats(1.0, 100.0),
    every=st.sampled_from([12.0, 24.0]),
    change=st.booleans(),
)
def test_saturable_python_backend_equals_numba(
    cl: float, v: float, ka: float, vmax: float, km: float, dose: float, every: float, change: bool
) -> None:
    p = {"F": 0.8, "ka": ka, "tlag": 0.5, "CL": cl, "V": v, "Vmax": vmax, "Km": km}
    reg = Regimen.oral(f"{dose} mg", every=f"{every} h", days=5)
    t = np.arange(0.0, 150.0, 1.5)
    changes = [(50.0, {**p, "Vmax": vmax * 0.3})] if change else []
    py = concentrations(SAT, p, reg, t, changes=changes, backend="python")["d"]
    nb = concentrations(SAT, p, reg, t, changes=changes, backend="numba")["d"]
    np.testing.assert_allclose(py, nb, rtol=1e-12, atol=1e-12 * nb.max())


def test_python_backend_handles_populations_like_numba() -> None:
    cl = np.array([0.5, 1.0, 4.0])
    p = {"F": 0.7, "ka": 1.2, "tlag": 0.5, "CL_form": cl, "CL_other": 2.0, "V": 300.0}
    p |= {"CL_m": 20.0, "V_m": 900.0, "f_pre": 0.1}
    reg = Regimen.oral("25 mg", days=14)
    t = np.arange(0.0, 400.0, 0.5)
    changes = [(100.0, {**p, "CL_form": cl * 0.3})]
    py = concentrations(PM, p, reg, t, changes=changes, backend="python")
    nb = concentrations(PM, p, reg, t, changes=changes, backend="numba")
    for a in py:
        np.testing.assert_allclose(py[a], nb[a], rtol=1e-12)
        assert np.all(py[a][:, 2:] > 0)  # after the lag (0.5 h)


def test_auto_backend_choice() -> None:
    assert choose_backend(2) == "numba"
    assert choose_backend(1, "python") == "python"
    assert choose_backend(5, "python") == "python"
    with pytest.raises(InputError, match="numbaa"):
        choose_backend(1, "numbaa")
    with pytest.raises(InputError, match="backend"):
        concentrations(
            ONE,
            {"F": 1, "ka": 1, "tlag": 0, "CL": 1, "V": 2},
            Regimen.oral(10),
            [1],
            backend="fast",
        )


def test_single_patient_simulation_does_not_import_numba() -> None:
    code = (
        "import sys\n"
        "from neurodose.case import Regimen\n"
        "from neurodose.simulation import simulate\n"
        "r = simulate('amitriptyline', Regimen.oral('25 mg', days=28))\n"
        "assert r.summary['nortriptyline']['cmax_ng_per_ml'] > 0\n"
        "r = simulate('paroxetine', Regimen.oral('20 mg', days=7))\n"
        "assert r.summary['paroxetine']['cmax_ng_per_ml'] > 0\n"
        "print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))\n"
        "from neurodose.pk import population\n"
        "population.simulate_population(population.sample('amitriptyline', 3, 1), "
        "Regimen.oral('25 mg', days=2), [1.0, 2.0])\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["[]", "True"]


def test_kernel_cache_is_keyed_on_the_inlined_sources(tmp_path):
    """numba stamps a cached kernel with its own file only; the kernels inline exact.py
    and saturable.py, so their cache folder must change when those sources change."""
    import os
    import shutil
    from pathlib import Path

    import numba

    from neurodose.pk import kernels

    key = kernels.source_key()
    if not os.environ.get("NUMBA_CACHE_DIR"):
        for dispatcher in (kernels.concentrations, kernels.saturable_concentrations):
            assert f"numba-{key}" in dispatcher._cache._cache_path
    # the user's NUMBA_CACHE_DIR setting is restored once the kernels exist
    assert (os.environ.get("NUMBA_CACHE_DIR") or "") == numba.config.CACHE_DIR
    pk_dir = Path(kernels.__file__).parent
    copies = []
    for name in ("kernels.py", "exact.py", "saturable.py"):
        shutil.copy(pk_dir / name, tmp_path / name)
        copies.append(tmp_path / name)
    assert kernels.source_key(tuple(copies)) == key
    for edited in copies[1:]:  # an edit to an inlined module gives another cache folder
        original = edited.read_text()
        edited.write_text(original + "\n# edited\n")
        assert kernels.source_key(tuple(copies)) != key
        edited.write_text(original)
