"""The admin page in a real browser (headless Chromium, Selenium): an admin disables and
enables a clinician with the page's buttons; axe-core finds no serious or critical
violation. The screenshot goes where ``test_browser`` puts them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .a11y import axe_violations, describe
from .conftest import PASSWORD, Server, sqlite_url


def test_admin_page_in_chromium(browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("NEURODOSE_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    server = Server(sqlite_url(tmp_path), tmp_path)
    server.add_user("ada", role="admin")
    server.add_user("cleo")
    server.start()
    d = browser
    wait = WebDriverWait(d, 60, ignored_exceptions=(StaleElementReferenceException,))

    def see(text: str) -> None:
        def has(drv: Any) -> bool:
            try:
                return text in drv.find_element(By.TAG_NAME, "body").text
            except WebDriverException:
                return False

        wait.until(has)

    try:
        d.get(server.url + "/login")
        d.find_element(By.ID, "username").send_keys("ada")
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        see("Patients")
        d.find_element(By.LINK_TEXT, "Admin").click()
        see("CDS Hooks feedback")
        wait.until(ec.element_to_be_clickable((By.ID, "disable-cleo"))).click()
        see("Account cleo disabled")
        assert "cleo clinician disabled" in d.find_element(By.ID, "users").text
        h = d.execute_script("return document.body.scrollHeight")
        d.set_window_size(1280, min(max(int(h) + 120, 600), 4000))
        d.save_screenshot(str(shots / "14_admin.png"))
        bad = axe_violations(d)
        assert not bad, describe(bad)
        wait.until(ec.element_to_be_clickable((By.ID, "enable-cleo"))).click()
        see("Account cleo enabled")
        assert "cleo clinician active" in d.find_element(By.ID, "users").text
    finally:
        server.stop()
