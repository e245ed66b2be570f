"""The vital-connect command."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import vital_connect as vc
from vital_connect.cli import main


def test_providers(capsys):
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    for name in ("vitalera", "vidaplus", "vitaldb"):
        assert name in out


def test_get_reads_credentials_from_the_environment(sb, monkeypatch, capsys):
    creds = sb.credentials("vitalera")
    for key, value in creds.items():
        monkeypatch.setenv(f"VITALERA_{key.upper()}", value)
    path = "/api/monitoreds/1/observations/"
    assert main(["get", "vitalera", path, "--format", "json", "--no-cache"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == sb.rows["observations"]
    assert "observation_definition.observation_name" in rows[0]


def test_get_csv_of_the_open_dataset(sb, capsys):
    argv = ["get", "vitaldb", "/cases", "--anonymous", "--format", "csv"]
    assert main([*argv, "--base-url", sb.base_url("vitaldb")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("caseid,")


def test_errors_are_one_clear_line_and_exit_1(capsys):
    assert main(["get", "vitalera", "/api/plans/"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No credentials") and "VITALERA_CLIENT_ID" in err


def test_demo_shows_every_provider_and_grant():
    # as a user runs it: a separate process, the console script's module
    done = subprocess.run(
        [sys.executable, "-m", "vital_connect.cli", "demo", "--rows", "2"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for title in (
        "vitalera, client credentials",
        "vitalera, password grant",
        "vidaplus, password grant",
        "VitalDB, id/pw grant",
        "VitalDB, authorization code",
        "VitalDB open dataset",
    ):
        assert title in out
    # the documented endpoints: every patient (more than one page), observations, a case
    pacientes = re.search(r"GET /pacientes/ .*?\((\d+) rows", out)
    assert pacientes and int(pacientes.group(1)) > 100
    assert re.search(r"observations/\s+\(\d+ rows", out) and "value_unit" in out
    assert re.search(r"load_case\(\d+, \[.*SNUADC/ART.*\], interval=1\)\s+\(\d+ rows x 3 col", out)
    for secret in vc.sandbox.SECRETS:
        assert secret not in out


def test_sandbox_command_prints_urls_serves_and_stops_on_ctrl_c():
    import re
    import signal

    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "vital_connect.cli", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        while not any("Ctrl+C" in line for line in lines):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        text = "".join(lines)
        urls = re.findall(r"# (\w+): (http://127\.0\.0\.1:\d+/\w+)", text)
        assert [name for name, _ in urls] == ["vitalera", "vidaplus", "vitaldb"]
        assert requests.get(urls[2][1] + "/cases", timeout=5).status_code == 200
        assert f"VITALERA_CLIENT_SECRET={vc.sandbox.VITALERA_CLIENT_SECRET}" in text
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)  # also closes the pipes
    assert proc.returncode == 0
    assert "stopped" in out
