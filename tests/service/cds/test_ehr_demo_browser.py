"""``/ehr-demo`` in a real browser: headless Debian Chromium (Selenium) plays the mock EHR.

Sign an order for the MAOI-washout patient (a critical card; override it with a
reason), then for the CYP2D6 poor metabolizer on a depression-band amitriptyline dose
(accept the CPIC dose suggestion: the draft dose changes and the order is re-signed).
Feedback from both ends up in the database. Screenshots go to ``$NEURODOSE_SCREENSHOTS``
(docs/figures/cds for docs/cds_hooks.md) or a temp folder. A missing browser or driver
fails the test (never skips).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(tmp_path: Path, *, dev_insecure: bool) -> Iterator[tuple[str, Path]]:
    import uvicorn

    from neurodose.service.cds.app import create_cds_app
    from neurodose.service.cds.config import CdsConfig

    port = _port()
    base = f"http://127.0.0.1:{port}"
    db = tmp_path / "demo.sqlite3"
    app = create_cds_app(CdsConfig(public_url=base, dev_insecure=dev_insecure), f"sqlite:///{db}")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield base, db
    finally:
        server.should_exit = True
        t.join(30)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with _serve(tmp_path, dev_insecure=True) as s:
        yield s


def test_ehr_demo_walk(demo_server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, db = demo_server
    shots = Path(os.environ.get("NEURODOSE_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, 90)
    browser.get(base + "/ehr-demo")
    wait.until(lambda d: len(Select(d.find_element(By.ID, "sample")).options) >= 12)
    sel = Select(browser.find_element(By.ID, "sample"))

    # MAOI stopped 7 days ago + duloxetine: a critical card with override reasons
    sel.select_by_visible_text("11_maoi_within_14_days_duloxetine")
    browser.find_element(By.ID, "sign").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card.critical"))
    crit = browser.find_element(By.CSS_SELECTOR, ".card.critical")
    assert "MAOI" in crit.find_element(By.CLASS_NAME, "summary").text
    browser.save_screenshot(str(shots / "ehr_demo_maoi_critical.png"))
    crit.find_element(By.CSS_SELECTOR, "button.override").click()
    wait.until(lambda d: "Override recorded" in d.find_element(By.ID, "status").text)

    # CYP2D6 PM, amitriptyline 75 mg twice daily: accept the CPIC dose suggestion
    sel.select_by_visible_text("03_cyp2d6_pm_amitriptyline_high_dose")
    assert browser.find_element(By.ID, "dose").get_attribute("value") == "75"
    browser.find_element(By.ID, "sign").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button.suggest"))
    browser.save_screenshot(str(shots / "ehr_demo_cpic_suggestion.png"))
    button = next(
        b for b in browser.find_elements(By.CSS_SELECTOR, "button.suggest") if "Reduce" in b.text
    )
    button.click()
    # the page applies the suggestion, then signs again: wait for the new dose and new cards
    wait.until(lambda d: d.find_element(By.ID, "dose").get_attribute("value") == "37.5")
    wait.until(lambda d: d.find_element(By.ID, "status").text.endswith("card(s) for amitriptyline"))
    browser.save_screenshot(str(shots / "ehr_demo_after_suggestion.png"))

    from sqlalchemy import create_engine

    from neurodose.service.cds.store import CdsStore

    counts = {c["rule"]: c for c in CdsStore(create_engine(f"sqlite:///{db}")).feedback_counts()}
    assert counts["maoi_irreversible_gap"]["overridden"] == 1
    assert counts["cpic_tca_genotype"]["accepted"] == 1


def test_ehr_demo_absent_without_dev_insecure(tmp_path: Path) -> None:
    with _serve(tmp_path, dev_insecure=False) as (base, _db):
        assert httpx.get(base + "/ehr-demo", timeout=30).status_code == 404
        assert httpx.get(base + "/ehr-demo/samples", timeout=30).status_code == 404
        assert httpx.get(base + "/cds-services", timeout=30).status_code == 401
