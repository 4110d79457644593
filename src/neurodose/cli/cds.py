"""``neurodose cds-check URL --key FILE`` and ``neurodose cds-keygen DIR``: the CDS Hooks harness.

``cds-keygen DIR`` writes a test EHR key (``client-key.json``, private) and the
matching clients file (``cds-clients.json``) to give the server with
``--cds-clients``. ``cds-check URL`` plays an EHR against the CDS Hooks base URL
(the one whose ``/cds-services`` is discovery): signed requests, the sample hooks
with and without prefetch, bad input, replayed tokens, feedback; it prints a report
and exits 1 when a check fails (:mod:`neurodose.service.cds.conformance`).

Examples::

    neurodose cds-keygen ./cds-test --mkdir
    neurodose serve --public-url http://127.0.0.1:8000 --cds-clients ./cds-test/cds-clients.json
    neurodose cds-check http://127.0.0.1:8000 --key ./cds-test/client-key.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neurodose.errors import InputError

__all__ = ["register"]

_SAMPLES = Path(__file__).resolve().parents[3] / "examples" / "cds"


def cds_check(
    url: Annotated[str, typer.Argument(help="CDS Hooks base URL (discovery is URL/cds-services)")],
    key: Annotated[Path, typer.Option("--key", help="client-key.json from cds-keygen")],
    samples: Annotated[
        Path | None, typer.Option("--samples", help="folder of sample patients (examples/cds)")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds per request")] = 60.0,
) -> None:
    """Play an EHR against a CDS Hooks service and report what conforms."""
    from neurodose.service.cds.conformance import ClientKey, run_checks

    if not url.startswith(("http://", "https://")):
        raise InputError("URL", url, "an http(s) URL")
    if not key.is_file():
        raise InputError("key", str(key), "an existing client-key.json (neurodose cds-keygen)")
    folder = samples or _SAMPLES
    if not folder.is_dir() or not any(folder.glob("*.json")):
        raise InputError("samples", str(folder), "a folder of sample patient JSON files")
    report = run_checks(url, ClientKey.load(key), folder, timeout_s=timeout)
    typer.echo(report.text())
    if not report.passed:
        raise typer.Exit(1)


def cds_keygen(
    directory: Annotated[
        Path, typer.Argument(help="folder for client-key.json and cds-clients.json")
    ],
    iss: Annotated[
        str, typer.Option("--iss", help="issuer of the test EHR")
    ] = "https://ehr.test/neurodose-cds-check",
    mkdir: Annotated[
        bool, typer.Option("--mkdir", help="create the folder if it is missing")
    ] = False,
) -> None:
    """Write a test EHR signing key and the clients file the server needs."""
    from neurodose.inputs import output_dir, writing
    from neurodose.service.cds.conformance import make_client_key

    output_dir(directory, "directory", mkdir=mkdir)
    with writing(directory, "directory"):
        key, clients = make_client_key(directory, iss)
    typer.echo(f"private key: {key} (keep it)\nclients file for the server: {clients}")


def register(app: typer.Typer) -> None:
    """Add ``cds-check`` and ``cds-keygen`` to the main app."""
    app.command("cds-check")(cds_check)
    app.command("cds-keygen")(cds_keygen)
