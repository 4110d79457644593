"""``neurodose cds-serve``, ``cds-check URL --key FILE``, ``cds-keygen DIR``: CDS Hooks.

``cds-keygen DIR`` writes a test EHR key (``client-key.json``, private) and the
matching clients file (``cds-clients.json``) to give the server with
``--cds-clients``. ``cds-check URL`` plays an EHR against the CDS Hooks base URL
(the one whose ``/cds-services`` is discovery) and tests every service its discovery
declares: cards, forged and replayed tokens, prefetch and 412, bad input, CORS,
feedback; it writes a report (``--format text|json|junit``, ``--output FILE``) and
exits 1 when a check fails (:mod:`neurodose.testing.cds`).

Examples::

    neurodose cds-keygen ./cds-test --mkdir
    neurodose cds-serve --public-url http://127.0.0.1:8010 --cds-clients ./cds-test/cds-clients.json
    neurodose cds-check http://127.0.0.1:8010 --key ./cds-test/client-key.json

``cds-serve`` runs the CDS Hooks services alone (replay cache and feedback in
``--database``); ``--dev-insecure`` accepts unsigned requests for local demos and
serves the ``/ehr-demo`` page.
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
    fmt: Annotated[
        str, typer.Option("--format", help="report format: text, json or junit (XML)")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", help="write the report to FILE (default: stdout)")
    ] = None,
    expect: Annotated[
        bool,
        typer.Option(
            "--expect",
            help="order-sign services must also give each sample's expected rules "
            "(the neurodose examples)",
        ),
    ] = False,
) -> None:
    """Test a CDS Hooks service as an EHR would: every service its discovery declares."""
    from neurodose.testing.cds import FORMATS, ClientKey, run_checks

    if not url.startswith(("http://", "https://")):
        raise InputError("URL", url, "an http(s) URL")
    if fmt not in FORMATS:
        raise InputError("format", fmt, " | ".join(FORMATS))
    if not key.is_file():
        raise InputError("key", str(key), "an existing client-key.json (neurodose cds-keygen)")
    folder = samples or _SAMPLES
    if not folder.is_dir() or not any(folder.glob("*.json")):
        raise InputError("samples", str(folder), "a folder of sample patient JSON files")
    report = run_checks(url, ClientKey.load(key), folder, timeout_s=timeout, expect=expect)
    text = report.render(fmt)
    if output is None:
        typer.echo(text)
    else:
        from neurodose.inputs import writing

        with writing(output, "output"):
            output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"{'passed' if report.passed else 'FAILED'}: report in {output}")
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
    from neurodose.testing.cds import make_client_key

    output_dir(directory, "directory", mkdir=mkdir)
    with writing(directory, "directory"):
        key, clients = make_client_key(directory, iss)
    typer.echo(f"private key: {key} (keep it)\nclients file for the server: {clients}")


def cds_serve(
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="base URL the EHR calls; JWT aud must be {URL}/cds-services "
            "or {URL}/cds-services/ID "
            "(default: $NEURODOSE_PUBLIC_URL)",
        ),
    ] = None,
    cds_clients: Annotated[
        str | None,
        typer.Option(
            "--cds-clients",
            help='clients file: {"clients": [{"iss", "jwks" | "jwks_url", "origins"}]} '
            "(default: $NEURODOSE_CDS_CLIENTS)",
        ),
    ] = None,
    dev_insecure: Annotated[
        bool,
        typer.Option(
            "--dev-insecure",
            help="accept requests without a verified JWT: demos only (warns on every request)",
        ),
    ] = False,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="SQLAlchemy URL of the replay cache and feedback store "
            "(default: $NEURODOSE_DATABASE_URL, else sqlite:///neurodose-cds.sqlite3)",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8010,
    workers: Annotated[int, typer.Option(help="server processes", min=1, max=64)] = 1,
) -> None:
    """Serve the CDS Hooks services alone (without the clinic)."""
    import os

    import uvicorn

    from neurodose.service.cds.config import CdsConfig

    if public_url is not None:
        os.environ["NEURODOSE_PUBLIC_URL"] = public_url
    if cds_clients is not None:
        os.environ["NEURODOSE_CDS_CLIENTS"] = cds_clients
    if database is not None:
        os.environ["NEURODOSE_DATABASE_URL"] = database
    os.environ["NEURODOSE_CDS_DEV_INSECURE"] = "1" if dev_insecure else "0"
    config = CdsConfig.from_env()
    if not config.clients and not dev_insecure:
        raise InputError(
            "cds-clients", None, "a clients file with at least one client (or --dev-insecure)"
        )
    if dev_insecure:
        typer.echo("WARNING: --dev-insecure: requests are NOT authenticated (demo only)", err=True)
    typer.echo(
        f"neurodose CDS Hooks on http://{host}:{port}/cds-services (aud base {config.public_url}); "
        "decision support, not a substitute for clinical judgement",
        err=True,
    )
    uvicorn.run(
        "neurodose.service.cds.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    """Add ``cds-check``, ``cds-keygen`` and ``cds-serve`` to the main app."""
    app.command("cds-check")(cds_check)
    app.command("cds-keygen")(cds_keygen)
    app.command("cds-serve")(cds_serve)
