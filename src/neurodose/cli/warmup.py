"""``neurodose warmup``: compile the PK engine's numba kernels into the on-disk cache.

Populations, trials and MAP estimation run the exact solver compiled by numba. The
first compilation takes tens of seconds; afterwards the kernels load from numba's
cache. ``make venv`` runs this command after installing; run it after an
upgrade so that the first population run does not pay for the compilation. A
single-patient ``neurodose simulate`` does not need it (plain-Python backend).
"""

from __future__ import annotations

import time

import typer

__all__ = ["register"]


def warmup() -> None:
    """Compile the numba kernels of the PK solvers into the on-disk cache."""
    from neurodose.pk import kernels

    start = time.perf_counter()
    kernels.warm_up()
    typer.echo(
        f"numba kernels of the PK solvers compiled or loaded from the cache "
        f"in {time.perf_counter() - start:.1f} s"
    )


def register(app: typer.Typer) -> None:
    """Add ``warmup`` to ``app``."""
    app.command("warmup", help="Compile the PK engine's numba kernels into the on-disk cache.")(
        warmup
    )
