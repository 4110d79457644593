"""SMART App Launch in a real browser (headless Debian Chromium): a clinician at the
test EHR (:mod:`tests.service.smart_ehr`) opens a patient's chart, presses "Open in
neurodose" (the EHR launch), authorises at the EHR, gives the clinic account's password
once (which links the EHR user to it), creates the clinic patient from the EHR's FHIR
data, and lands on its page; the next launch from the EHR, without a clinic session,
lands on the same patient's page at once. The clinician then removes the EHR link on
the links page (axe-core checks it), and the next launch asks for the password again.
A standalone launch picks the patient at the EHR. Screenshots go to
``$NEURODOSE_SCREENSHOTS`` (``docs/figures/ui`` for the docs) or a temp folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .a11y import axe_violations, describe
from .conftest import PASSWORD
from .smart_ehr import smart_world


def test_ehr_launch_opens_the_patient_page(browser, tmp_path):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("NEURODOSE_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    world = smart_world(tmp_path)
    clinic, ehr = world.clinic, world.ehr
    d = browser
    wait = WebDriverWait(d, 60)

    def see(text: str) -> None:
        def has(drv: Any) -> bool:
            try:
                return text in drv.find_element(By.TAG_NAME, "body").text
            except WebDriverException:
                return False

        wait.until(has)

    def shot(name: str) -> None:
        d.save_screenshot(str(shots / f"{name}.png"))

    bad: dict[str, list[dict[str, Any]]] = {}

    def axe(name: str) -> None:
        """axe-core over the page shown: no serious or critical violation."""
        found = axe_violations(d)
        if found:
            bad[name] = found

    def launch_from_chart(pid: str, first: bool = False) -> None:
        """At the EHR: the patient's chart, "Open in neurodose", authorise."""
        d.get(f"{ehr.base}/ehr?patient={pid}&app={clinic.url}/smart/launch")
        see("Open in neurodose")
        if first:
            shot("smart_01_ehr_chart")
        d.find_element(By.ID, "launch-neurodose").click()
        see("Test EHR: authorize neurodose")
        assert "Patient in context" in d.find_element(By.TAG_NAME, "body").text
        if first:
            shot("smart_02_authorize")
        d.find_element(By.ID, "approve").click()

    try:
        launch_from_chart("p01", first=True)
        # first launch: the EHR user is not linked yet -> the clinic account's password once
        see("Link your EHR user to the clinic")
        assert d.current_url == f"{clinic.url}/smart/resume"
        assert "Practitioner/dr-ada" in d.find_element(By.ID, "smart-link").text
        d.find_element(By.ID, "username").send_keys("gp")
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        shot("smart_03_link_ehr_user")
        d.find_element(By.ID, "smart-link-submit").click()
        see("No clinic patient for this EHR patient")
        assert "p01" in d.find_element(By.ID, "smart-unlinked").text
        shot("smart_04_no_linked_patient")
        d.find_element(By.ID, "smart-create").click()
        see("Options for this patient, ranked")
        pid = d.current_url.rstrip("/").rsplit("/", 1)[-1]
        assert d.current_url == f"{clinic.url}/patients/{pid}" and pid.startswith("p")
        # the clinic patient holds the EHR's data (age 57, sex, the EHR's medicines)
        api = clinic.client(clinic.token("gp"))
        prof = api.get(f"/api/v1/patients/{pid}").json()["profile"]
        assert prof["age"] == 57 and prof["sex"] in ("male", "female")
        assert prof["medications"], prof
        actions = [e["action"] for e in api.get(f"/api/v1/patients/{pid}/audit").json()]
        assert "smart.create_patient" in actions

        # a later launch with no clinic session: the linked EHR user is signed in and
        # the linked patient opens at once
        d.delete_cookie("nd_session")
        launch_from_chart("p01")
        see("Options for this patient, ranked")
        assert d.current_url == f"{clinic.url}/patients/{pid}"
        assert d.get_cookie("nd_session") is not None
        shot("smart_06_relaunch_lands_on_patient")

        # the clinician's EHR links: listed, removable (a form with the session's CSRF
        # token); after removal the next launch asks for the clinic password again
        d.get(f"{clinic.url}/smart/links")
        see("Your EHR links")
        assert "Practitioner/dr-ada" in d.find_element(By.ID, "smart-links").text
        shot("smart_08_ehr_links")
        axe("smart_08_ehr_links")
        d.find_element(By.CSS_SELECTOR, "#smart-links button").click()
        see("The EHR link was removed.")
        axe("smart_08_ehr_links removed")
        launch_from_chart("p01")
        see("Link your EHR user to the clinic")
        axe("smart_03_link_ehr_user")
        assert not bad, describe([v for vs in bad.values() for v in vs])
        d.find_element(By.ID, "username").send_keys("gp")
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "smart-link-submit").click()  # linked again: the patient
        see("Options for this patient, ranked")
        assert d.current_url == f"{clinic.url}/patients/{pid}"

        # standalone launch: the clinician starts at the clinic, picks the patient at the EHR
        d.get(f"{clinic.url}/smart/launch?iss={ehr.iss}")
        see("Test EHR: authorize neurodose")
        from selenium.webdriver.support.ui import Select

        Select(d.find_element(By.ID, "pick")).select_by_value("p02")
        shot("smart_07_standalone_pick_patient")
        d.find_element(By.ID, "approve").click()
        see("No clinic patient for this EHR patient")
        assert "p02" in d.find_element(By.ID, "smart-unlinked").text
    finally:
        world.stop()
