"""The sandbox as a whole: addresses, credentials, faults, the record, reset, lifecycle, CLI."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from loopback import default_sigint, stop

from vital_connect import sandbox

T = 5
ROOT = Path(__file__).resolve().parents[1]


def vitalera_token(sb) -> str:
    creds = sb.credentials("vitalera")
    body = {
        "grant_type": "client_credentials",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    r = requests.post(creds["base_url"] + "/api/auth/tokens/", json=body, timeout=T)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


# addresses and credentials


def test_urls(sb):
    assert sb.url == f"http://127.0.0.1:{sb.port}"
    assert sb.base_url("vitalera") == f"{sb.url}/vitalera"
    assert sb.base_url("VidaPlus") == f"{sb.url}/vidaplus"
    with pytest.raises(ValueError, match="vitalera, vidaplus, vitaldb"):
        sb.base_url("fitbit")
    index = requests.get(sb.url + "/", timeout=T).json()
    assert index["providers"] == {p: sb.base_url(p) for p in ("vitalera", "vidaplus", "vitaldb")}


def test_credentials_for_every_grant(sb):
    assert sb.credentials("vitalera") == {
        "base_url": sb.base_url("vitalera"),
        "client_id": sandbox.VITALERA_CLIENT_ID,
        "client_secret": sandbox.VITALERA_CLIENT_SECRET,
        "application_id": sandbox.VITALERA_APPLICATION_ID,
    }
    assert sb.credentials("vitalera", "client_credentials")["grant"] == "client_credentials"
    assert sb.credentials("vitalera", grant="password") == {
        "base_url": sb.base_url("vitalera"),
        "username": sandbox.VITALERA_USERNAME,
        "password": sandbox.VITALERA_PASSWORD,
        "grant": "password",
    }
    vidaplus = sb.credentials("vidaplus")
    assert vidaplus["username"] == sandbox.VIDAPLUS_USERNAME and "@" in vidaplus["username"]
    assert set(sb.credentials("vidaplus", "password")) == {
        "base_url", "username", "password", "grant",
    }  # fmt: skip
    assert sb.credentials("vitaldb")["username"] == sandbox.VITALDB_USERNAME
    code_flow = sb.credentials("VITALDB", "authorization_code")
    assert code_flow == {
        "base_url": sb.base_url("vitaldb"),
        "client_id": sandbox.VITALDB_CLIENT_ID,
        "client_secret": sandbox.VITALDB_CLIENT_SECRET,
        "redirect_uri": sandbox.VITALDB_REDIRECT_URI,
        "grant": "authorization_code",
    }
    assert code_flow["redirect_uri"].startswith("http://127.0.0.1:")
    for provider, grant in [("vidaplus", "client_credentials"), ("vitalera", "implicit")]:
        with pytest.raises(ValueError, match=grant):
            sb.credentials(provider, grant)


def test_public_names_and_distinctive_secrets():
    for name in sandbox.__all__:
        assert hasattr(sandbox, name), name
    public = {n for n in vars(sandbox) if n.isupper() or n in ("Sandbox", "serve", "run")}
    assert public - {"RecordedRequest"} <= set(sandbox.__all__)
    assert len(set(sandbox.SECRETS)) == len(sandbox.SECRETS) >= 5
    for secret in sandbox.SECRETS:
        assert secret.startswith("sbx-") and len(secret) >= 20
    assert sandbox.VITALERA_CLIENT_SECRET in sandbox.SECRETS
    assert sandbox.VITALDB_PASSWORD in sandbox.SECRETS


# fault knobs


@pytest.mark.parametrize(
    ("provider", "path", "expected"),
    [
        ("vitalera", "/api/plans/", lambda b: b["errors"][0]["errorType"] == "service_unavailable"),
        ("vidaplus", "/pacientes/", lambda b: b == {"detail": "Service Unavailable"}),
        ("vitaldb", "/cases", lambda b: b["error"] == "temporarily_unavailable"),
    ],
)
def test_fail_next_answers_in_the_provider_shape_with_retry_after(sb, provider, path, expected):
    sb.fail_next(2, 503)
    for _ in range(2):
        r = requests.get(sb.base_url(provider) + path, timeout=T)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.headers["Content-Type"] == "application/json"
        assert expected(r.json())
    assert requests.get(sb.url + "/", timeout=T).status_code == 200  # expired after two


def test_fail_next_retry_after_and_path_filter(sb):
    sb.fail_next(status=429, path="/vitalera/api/auth/")
    token_url = sb.base_url("vitalera") + "/api/auth/tokens/"
    assert requests.get(sb.base_url("vitaldb") + "/cases", timeout=T).status_code == 200
    r = requests.post(token_url, json={}, timeout=T)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert r.json()["errors"][0]["errorType"] == "throttled"

    sb.fail_next(status=500, retry_after=7)
    r = requests.get(sb.url + "/", timeout=T)
    assert (r.status_code, r.headers["Retry-After"]) == (500, "7")
    sb.fail_next(status=500)
    r = requests.get(sb.url + "/", timeout=T)
    assert r.status_code == 500 and "Retry-After" not in r.headers


def test_drop_next_is_a_connection_error(sb):
    sb.drop_next(path="/vitaldb/cases")
    with pytest.raises(requests.ConnectionError):
        requests.get(sb.base_url("vitaldb") + "/cases", timeout=T)
    assert requests.get(sb.base_url("vitaldb") + "/cases", timeout=T).status_code == 200
    dropped, answered = sb.requests
    assert (dropped.path, dropped.status, answered.status) == ("/vitaldb/cases", 0, 200)


def test_slow_next_makes_a_short_timeout_fire(sb):
    sb.slow_next(delay=1.0, path="/vitaldb/trks")
    with pytest.raises(requests.ReadTimeout):
        requests.get(sb.base_url("vitaldb") + "/trks", timeout=(T, 0.25))
    # the fault was one request's: the next answers well inside the same short timeout
    assert requests.get(sb.base_url("vitaldb") + "/trks", timeout=(T, 0.8)).status_code == 200


def test_malformed_next_is_invalid_json_with_a_json_content_type(sb):
    sb.malformed_next()
    r = requests.get(sb.base_url("vidaplus") + "/pacientes/", timeout=T)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(r.text)
    with pytest.raises(requests.JSONDecodeError):
        r.json()


def test_html_next_is_an_nginx_error_page(sb):
    sb.html_next()
    r = requests.get(sb.base_url("vitalera") + "/api/plans/", timeout=T)
    assert r.status_code == 502
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in r.text and "nginx" in r.text
    sb.html_next(status=504)
    r = requests.get(sb.url + "/", timeout=T)
    assert r.status_code == 504 and "504 Gateway Time-out" in r.text


def test_clear_faults_and_bad_arguments(sb):
    sb.fail_next(5)
    sb.drop_next(5)
    sb.clear_faults()
    assert requests.get(sb.url + "/", timeout=T).status_code == 200
    with pytest.raises(ValueError):
        sb.fail_next(status=200)
    with pytest.raises(ValueError):
        sb.fail_next(0)


def test_latency_delays_every_answer(sb):
    # told through a client read timeout shorter than the latency, not a stopwatch
    sb.latency = 0.6
    for _ in range(2):
        with pytest.raises(requests.ReadTimeout):
            requests.get(sb.url + "/", timeout=(T, 0.2))
    sb.latency = 0.0
    assert requests.get(sb.url + "/", timeout=(T, 0.2)).status_code == 200


# the record


def test_record_keeps_the_wire_format_and_masks_every_secret(sb):
    issued = []
    va = sb.base_url("vitalera")
    r = requests.post(
        va + "/api/auth/tokens/",
        json={
            "grant_type": "password",
            "username": sandbox.VITALERA_USERNAME,
            "password": sandbox.VITALERA_PASSWORD,
        },
        timeout=T,
    )
    tokens = r.json()
    issued += [tokens["access_token"], tokens["id_token"], tokens["refresh_token"]]
    r = requests.post(
        va + "/api/auth/tokens/refresh/",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Cookie": "sid=s3cr3t"},
        timeout=T,
    )
    issued += [r.json()["access_token"], r.json()["refresh_token"]]
    issued.append(vitalera_token(sb))
    vp = sb.base_url("vidaplus")
    form = {"username": sandbox.VIDAPLUS_USERNAME, "password": sandbox.VIDAPLUS_PASSWORD}
    issued.append(requests.post(vp + "/auth/token/", data=form, timeout=T).json()["access_token"])
    vd = sb.base_url("vitaldb")
    login = {
        "id": sandbox.VITALDB_USERNAME,
        "pw": sandbox.VITALDB_PASSWORD,
        "client_id": sandbox.VITALDB_CLIENT_ID,
        "redirect_uri": sandbox.VITALDB_REDIRECT_URI,
    }
    location = requests.post(vd + "/oauth2/login", data=login, allow_redirects=False, timeout=T)
    code = re.search(r"code=([^&]+)", location.headers["Location"]).group(1)
    issued.append(code)
    exchange = {
        "code": code,
        "client_id": sandbox.VITALDB_CLIENT_ID,
        "client_secret": sandbox.VITALDB_CLIENT_SECRET,
    }
    token = requests.post(vd + "/oauth2/token", data=exchange, timeout=T).json()["access_token"]
    issued.append(token)
    requests.get(vd + "/oauth2/userinfo", params={"access_token": token}, timeout=T)
    # A broken JSON body still has its secret masked.
    requests.post(
        va + "/api/auth/tokens/",
        data=f'{{"password": "{sandbox.VITALERA_PASSWORD}", ',
        headers={"Content-Type": "application/json"},
        timeout=T,
    )

    record = sb.requests
    dump = repr(record)
    for secret in (*sandbox.SECRETS, *issued, "s3cr3t"):
        assert secret not in dump
    assert [q.provider for q in record] == ["vitalera"] * 3 + ["vidaplus"] + ["vitaldb"] * 3 + [
        "vitalera"
    ]
    first = record[0]
    assert isinstance(first, sandbox.RecordedRequest)
    assert (first.method, first.path, first.status) == ("POST", "/vitalera/api/auth/tokens/", 200)
    assert json.loads(first.body)["password"] == "***"
    refresh = record[1]
    assert refresh.headers["Authorization"] == "Bearer ***"
    assert refresh.headers["Cookie"] == "sid=***"
    assert record[3].content_type == "application/x-www-form-urlencoded"
    assert "password=***" in record[3].body and "username=" in record[3].body
    assert "pw=***" in record[4].body
    assert "code=***" in record[5].body and "client_secret=***" in record[5].body
    assert record[6].query == {"access_token": "***"}
    assert record[7].status == 400
    with pytest.raises(AttributeError):
        first.status = 500  # frozen


def test_record_masks_multipart_and_unparsed_bodies(sb):
    parts = {
        "username": (None, sandbox.VIDAPLUS_USERNAME),
        "password": (None, sandbox.VIDAPLUS_PASSWORD),
    }
    r = requests.post(sb.base_url("vidaplus") + "/auth/token/", files=parts, timeout=T)
    assert r.status_code == 200  # FastAPI's Form fields accept multipart too
    requests.post(
        sb.base_url("vitaldb") + "/oauth2/token",
        data=f"id=x&pw={sandbox.VITALDB_PASSWORD}",
        headers={"Content-Type": "text/plain"},
        timeout=T,
    )
    multipart, text = sb.requests
    assert multipart.content_type.startswith("multipart/form-data")
    assert 'name="password"' in multipart.body and sandbox.VIDAPLUS_USERNAME in multipart.body
    assert text.body == "id=x&pw=***"
    assert not any(secret in repr(sb.requests) for secret in sandbox.SECRETS)


def test_requests_is_a_copy_and_clear_requests_empties_it(sb):
    requests.get(sb.url + "/", timeout=T)
    snapshot = sb.requests
    snapshot.clear()
    assert len(sb.requests) == 1
    sb.clear_requests()
    assert sb.requests == []


# reset, concurrency, lifecycle


def test_reset_restores_the_seeded_state(sb):
    token = vitalera_token(sb)
    requests.post(
        sb.base_url("vitalera") + "/api/applications/rotate_credentials/",
        json={"application_id": sandbox.VITALERA_APPLICATION_ID},
        headers={"Authorization": f"Bearer {token}"},
        timeout=T,
    )
    assert sb.credentials("vitalera")["client_id"] != sandbox.VITALERA_CLIENT_ID
    sb.token_ttl, sb.code_ttl, sb.page_size, sb.latency = 5, 5, 5, 0.01
    sb.rows["plans"] = 1
    cases = requests.get(sb.base_url("vitaldb") + "/cases", timeout=T)
    sb.bump_dataset("/vitaldb/cases")
    sb.fail_next(3)

    sb.reset()
    assert (sb.token_ttl, sb.code_ttl, sb.page_size, sb.latency) == (3600, 180, 50, 0.0)
    assert sb.rows == sandbox.DEFAULT_ROWS
    assert sb.requests == []
    assert sb.credentials("vitalera")["client_id"] == sandbox.VITALERA_CLIENT_ID
    assert vitalera_token(sb)  # seeded credentials work again, and no fault is left
    again = requests.get(sb.base_url("vitaldb") + "/cases", timeout=T)
    assert again.headers["ETag"] == cases.headers["ETag"]  # the first dataset version


def test_bump_dataset_takes_a_dataset_path_in_either_form(sb):
    vd = sb.base_url("vitaldb")
    first = {p: requests.get(vd + p, timeout=T).headers["ETag"] for p in ("/cases", "/trks")}
    sb.bump_dataset("/vitaldb/trks")
    assert requests.get(vd + "/trks", timeout=T).headers["ETag"] != first["/trks"]
    assert requests.get(vd + "/cases", timeout=T).headers["ETag"] == first["/cases"]
    sb.bump_dataset("cases")
    assert requests.get(vd + "/cases", timeout=T).headers["ETag"] != first["/cases"]


def test_default_rows_name_the_new_datasets():
    assert set(sandbox.DEFAULT_ROWS) == {
        "plans", "monitoreds", "observations",
        "pacientes", "profissionais", "consultas", "prescricoes", "exames", "prontuarios",
        "leitos", "estoques",
        "cases", "labs", "track_seconds", "wave_seconds",
        "files",
    }  # fmt: skip
    assert sandbox.DEFAULT_ROWS["pacientes"] > 100  # more than vidaplus' default limit
    for key in sandbox.DEFAULT_ROWS:
        assert f"``{key}``" in sandbox.Sandbox.__doc__, key  # each one documented


def test_settings_are_validated(sb):
    with pytest.raises(ValueError):
        sb.token_ttl = -1
    with pytest.raises(ValueError):
        sb.page_size = 0
    with pytest.raises(ValueError, match="unknown dataset"):
        sb.rows = {"nonsense": 1}
    sb.rows = {"cases": 2}
    assert sb.rows["cases"] == 2 and sb.rows["plans"] == sandbox.DEFAULT_ROWS["plans"]


def test_concurrent_clients_and_a_refresh_token_used_only_once(sb):
    va = sb.base_url("vitalera")
    with ThreadPoolExecutor(max_workers=12) as pool:
        tokens = list(pool.map(lambda _: vitalera_token(sb), range(24)))
    assert len(set(tokens)) == 24

    password = sb.credentials("vitalera", "password")
    body = {"grant_type": "password", "username": password["username"]}
    first = requests.post(
        va + "/api/auth/tokens/", json={**body, "password": password["password"]}, timeout=T
    ).json()

    def refresh(_):
        return requests.post(
            va + "/api/auth/tokens/refresh/",
            json={"refresh_token": first["refresh_token"]},
            headers={"Authorization": f"Bearer {first['access_token']}"},
            timeout=T,
        ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(refresh, range(10)))
    assert statuses == [200] + [401] * 9


def test_serve_is_a_context_manager_that_stops_the_server():
    with sandbox.serve(port=0, token_ttl=60, rows={"cases": 2}) as server:
        assert isinstance(server, sandbox.Sandbox)
        assert server.token_ttl == 60
        assert requests.get(server.url + "/", timeout=T).status_code == 200
        address = server.url
    assert "stopped" in repr(server)
    with pytest.raises(requests.ConnectionError):
        requests.get(address + "/", timeout=T)
    server.stop()  # idempotent


def test_run_prints_the_urls_and_credentials_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    code = "from vital_connect.sandbox import run; raise SystemExit(run(port=0))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,  # so the SIGINT below reaches it even from a CI job
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    output = ""
    try:
        deadline = time.monotonic() + 20
        while "Ctrl+C" not in output and time.monotonic() < deadline:
            try:
                output += lines.get(timeout=0.5)
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read()
        urls = re.findall(r"^# (\w+): (http://127\.0\.0\.1:\d+/\w+)$", output, re.MULTILINE)
        assert [name for name, _ in urls] == ["vitalera", "vidaplus", "vitaldb"]
        for name, base in urls:
            assert base.endswith("/" + name)
        assert f"VITALERA_CLIENT_ID={sandbox.VITALERA_CLIENT_ID}" in output
        assert f"VIDAPLUS_USERNAME={sandbox.VIDAPLUS_USERNAME}" in output
        assert f"VITALDB_PASSWORD={sandbox.VITALDB_PASSWORD}" in output
        cases = requests.get(urls[2][1] + "/cases", timeout=T)
        assert cases.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        stop(proc)
        reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()


def test_run_reports_a_busy_port_and_returns_1(sb, capsys):
    assert sandbox.run(port=sb.port) == 1
    assert f"cannot listen on 127.0.0.1:{sb.port}" in capsys.readouterr().err
