"""The patient's diary by keyboard alone (headless Chromium): Tab into each 0-10 scale,
Space and the arrow keys to choose, Space for "I missed a dose", type a note, Enter on
Save; the entry is stored as chosen. axe-core finds no serious or critical violation on
the page, and the axe check itself fails on a page built to fail it."""

from __future__ import annotations

import datetime as dt

from .a11y import axe_violations
from .conftest import Server, sqlite_url


def test_patient_diary_by_keyboard_alone(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    server = Server(sqlite_url(tmp_path), tmp_path)
    server.add_user("gp")
    server.start()
    d = browser
    try:
        from neurodose.cli.assess import SAMPLE_PATIENT

        api = server.client(server.token("gp"))
        pid = api.post("/api/v1/patients", json=SAMPLE_PATIENT).json()["id"]
        start = (dt.date.today() - dt.timedelta(days=3)).isoformat()
        api.post(
            f"/api/v1/patients/{pid}/regimen", json={"drug": "amitriptyline", "start_date": start}
        )
        url = api.post(f"/api/v1/patients/{pid}/diary-link").json()["url"]
        d.set_window_size(412, 915)
        d.get(url)
        assert not axe_violations(d)

        def key(*keys: str) -> None:
            d.switch_to.active_element.send_keys(*keys)

        key(Keys.TAB)  # into the pain scale (its first choice)
        assert d.switch_to.active_element.get_attribute("name") == "pain"
        key(Keys.SPACE)
        key(*([Keys.ARROW_RIGHT] * 6))  # pain 6
        key(Keys.TAB)  # the sleep scale
        assert d.switch_to.active_element.get_attribute("name") == "sleep"
        key(Keys.SPACE)
        key(*([Keys.ARROW_RIGHT] * 3))  # sleep 3
        key(Keys.TAB)  # side effects: left empty (optional)
        assert d.switch_to.active_element.get_attribute("name") == "side_effects"
        key(Keys.TAB)  # "I missed a dose"
        assert d.switch_to.active_element.get_attribute("name") == "missed_dose"
        key(Keys.SPACE)
        key(Keys.TAB)
        assert d.switch_to.active_element.get_attribute("id") == "notes"
        key("typed by keyboard")
        for _ in range(5):  # the date (today by default): Tab steps through its parts
            key(Keys.TAB)
            if d.switch_to.active_element.get_attribute("id") == "save":
                break
        assert d.switch_to.active_element.get_attribute("id") == "save"
        key(Keys.ENTER)
        WebDriverWait(d, 60).until(
            lambda drv: "Saved for" in drv.find_element(By.TAG_NAME, "body").text
        )
        e = api.get(f"/api/v1/patients/{pid}/diary").json()[-1]
        assert (e["pain"], e["sleep"], e["side_effects"]) == (6, 3, None)
        assert e["missed_dose"] is True and e["notes"] == "typed by keyboard"
        # the check can fail: an image without a text alternative is a critical violation
        d.get("data:text/html,<html lang=en><title>t</title><img src=x.png></html>")
        assert any(v["id"] == "image-alt" for v in axe_violations(d))
    finally:
        server.stop()
