"""schemathesis over /openapi.json, authenticated, with real ids for the path
parameters: 0 server errors and 0 responses outside the documented schema."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path

ST = Path(sys.executable).with_name("st")


def test_schemathesis_finds_no_server_errors(sqlite_clinic, tmp_path):
    from neurodose.cli.assess import SAMPLE_PATIENT

    api = sqlite_clinic.api("carol")
    pid = api.post("/api/v1/patients", json=SAMPLE_PATIENT).json()["id"]
    start = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    api.post(f"/api/v1/patients/{pid}/regimen", json={"drug": "amitriptyline", "start_date": start})
    token = api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]
    for i in range(1, 8):
        day = (dt.date.today() - dt.timedelta(days=i)).isoformat()
        sqlite_clinic.server.client().post(
            f"/api/v1/diary/{token}/entries",
            json={"id": str(uuid.uuid4()), "date": day, "pain": 6 - i * 0.3},
        )
    design = {
        "name": "t",
        "weeks": 2,
        "condition": "diabetic_neuropathy",
        "n_per_arm": 10,
        "seed": 1,
        "arms": [{"name": "placebo", "drug": "placebo"}],
    }
    job = api.post("/api/v1/trials", json=design).json()["job"]
    cfg = tmp_path / "schemathesis.toml"
    cfg.write_text(
        "[parameters]\n"
        f'"path.pid" = "{pid}"\n'
        f'"path.token" = "{token}"\n'
        f'"path.job" = "{job}"\n'
        '"path.name" = "amitriptyline"\n'
        '"path.key" = "finnerup2015"\n'
    )
    r = subprocess.run(
        [
            str(ST),
            "--config-file",
            str(cfg),
            "--no-color",
            "run",
            sqlite_clinic.server.url + "/openapi.json",
            "-H",
            f"Authorization: Bearer {sqlite_clinic.tokens['carol']}",
            "--max-examples",
            "6",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            "not_a_server_error,status_code_conformance,"
            "content_type_conformance,response_schema_conformance",
            "--seed",
            "20261202",
            "--generation-database",
            "none",
            "--request-timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        check=False,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    import re

    generated = re.search(r"(\d+) generated", out)
    assert generated and int(generated.group(1)) >= 200, out[-3000:]
    assert "Server error" not in out
