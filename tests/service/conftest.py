"""Real servers for the clinic tests: ``neurodose serve`` in a subprocess on a free
port, on SQLite and on a PostgreSQL server these fixtures start themselves
(Debian ``postgresql``: initdb/pg_ctl in a temporary folder, as the ``postgres``
user when the tests run as root). Nothing is mocked; a missing PostgreSQL or
browser is a test failure with the package to install, never a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return hits[-1] if hits else None


@dataclass
class Postgres:
    """A PostgreSQL server in a temporary folder (unix socket only)."""

    root: Path
    port: int
    as_user: list[str]
    pg_ctl: str
    n: int = 0

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@/{db}?host={self.root}&port={self.port}"

    def new_database(self) -> str:
        import psycopg

        self.n += 1
        name = f"nd_{os.getpid()}_{self.n}"
        with psycopg.connect(
            host=str(self.root),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.root / "data"), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
            "`postgresql` (`.ci/run` installs it when missing)"
        )
    root = Path(tempfile.mkdtemp(prefix="nd-pg-"))
    os.chmod(root, 0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(root / "data"), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    opts = f"-k {root} -p {port} -c listen_addresses='' -c max_connections=200"
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            str(root / "data"),
            "-o",
            opts,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    pg = Postgres(root, port, as_user, pg_ctl)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Server:
    """``neurodose serve`` in a subprocess."""

    db_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    env_extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            NEURODOSE_DATA_DIR=str(self.data_dir),
            NEURODOSE_SECRET_KEY=SECRET,
            NEURODOSE_SECURE_COOKIES="0",
            NEURODOSE_TRIAL_MAX_PATIENTS="2000",
            # fuzzing and the many test clients share 127.0.0.1: no lockout unless a test
            # asks for one (tests/service/test_login_limits.py)
            NEURODOSE_LOGIN_ADDRESS_FAILURES="100000",
            NEURODOSE_LOGIN_ACCOUNT_FAILURES="1000",
        )
        env.update(self.env_extra)
        return env

    def start(self, timeout: float = 120.0) -> Server:
        log = open(self.data_dir / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "neurodose", "serve", "--port", str(self.port)]
            + (["--database", self.db_url] if self.db_url else []),
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=2) as c:
                if c.get(self.url + "/health").status_code == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log()[-3000:]}")

    def log(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.data_dir.glob("server-*.log"))
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def add_user(self, name: str, clinic: str = "default", role: str = "clinician") -> None:
        from neurodose.service import store
        from neurodose.service.db import Database, migrate

        db = Database(self.db_url)
        migrate(db.engine)
        with db.session() as s:
            store.add_user(s, name, role, PASSWORD, clinic)
        db.dispose()

    def token(self, name: str) -> str:
        with httpx.Client(timeout=30) as c:
            r = c.post(self.url + "/api/v1/token", data={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client (closed after the test that made it)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=120)
        _CLIENTS.append(c)
        return c


_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'clinic.sqlite3'}"


@dataclass
class Clinic:
    """A running server with two clinicians of clinic A and one of clinic B."""

    server: Server
    dialect: str
    tokens: dict[str, str]

    def api(self, who: str = "alice") -> httpx.Client:
        return self.server.client(self.tokens.get(who))


def _clinic(server: Server, dialect: str) -> Clinic:
    for name, clinic in (("alice", "a"), ("carol", "a"), ("bob", "b")):
        server.add_user(name, clinic)
    server.start()
    return Clinic(server, dialect, {n: server.token(n) for n in ("alice", "carol", "bob")})


@pytest.fixture(scope="session")
def sqlite_clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    d = tmp_path_factory.mktemp("clinic-sqlite")
    server = Server(sqlite_url(d), d)
    try:
        yield _clinic(server, "sqlite")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_clinic(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    d = tmp_path_factory.mktemp("clinic-pg")
    server = Server(postgres.new_database(), d)
    try:
        yield _clinic(server, "postgresql")
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def clinic(request: pytest.FixtureRequest) -> Clinic:
    name = "sqlite_clinic" if request.param == "sqlite" else "pg_clinic"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def sample_profile() -> dict[str, Any]:
    from neurodose.cli.assess import SAMPLE_PATIENT

    return dict(SAMPLE_PATIENT)


def entry(date: str, pain: float, **kw: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "date": date, "pain": pain, **kw}


@pytest.fixture
def make_entry() -> Callable[..., dict[str, Any]]:
    return entry


# --- headless Chromium for the browser tests (clinic walk, EHR demo) -----------------

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def browser() -> Iterator[Any]:
    """A real headless Chromium (Debian ``chromium`` + ``chromium-driver``), 1280 x 1000."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [p for p in (CHROMIUM, DRIVER) if not (os.path.exists(p) or shutil.which(p))]
    if missing:
        pytest.fail(
            f"browser test needs {', '.join(missing)}: install the Debian packages `chromium` "
            "and `chromium-driver` (`.ci/run` installs them when missing)"
        )
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    drv = webdriver.Chrome(options=opts, service=Service(DRIVER))
    drv.set_window_size(1280, 1000)
    drv.implicitly_wait(0)
    try:
        yield drv
    finally:
        drv.quit()
