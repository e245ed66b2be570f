"""Guards that a mutation study found untested: each test here fails if its one guard is
removed or weakened (the mutants named in the docstrings; see docs/mutation-testing.md)."""

from __future__ import annotations

import base64
import os
import stat
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

import vital_connect as vc
from vital_connect import _files, _transport
from vital_connect._redact import redact, register_secret


def test_the_env_rotation_replaces_the_file_in_one_rename(sb, isolated_user, monkeypatch):
    """Mutant: the .env written in place (open + write) instead of temp file + rename."""
    creds = sb.credentials("vitalera")
    env = isolated_user / ".env"
    env.write_text(f"VITALERA_CLIENT_ID={creds['client_id']}\nOTHER=kept\n")
    before = env.stat().st_ino
    s = vc.connect("vitalera", cache=False, **creds)
    s.rotate_credentials(env_file=env)
    assert env.stat().st_ino != before  # a new file renamed over the old one
    # and a write that fails half way leaves the old file whole
    text = env.read_text()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "fsync", broken_fsync)
    with pytest.raises(vc.CredentialsNotSavedError):
        s.rotate_credentials(env_file=env)
    assert env.read_text() == text
    assert not [p for p in isolated_user.iterdir() if p.name.startswith(".env.")]  # no temp


def test_a_group_readable_cache_file_is_ignored(sb, isolated_user):
    """Mutant: the permission mask weakened from 0o077 (group or others) to others only."""
    creds = sb.credentials("vitalera")
    vc.connect("vitalera", **creds)
    (path,) = (isolated_user.parent / "cache").glob("*.json")
    os.chmod(path, 0o640)
    with pytest.warns(vc.VitalConnectWarning, match="other users can read it"):
        vc.connect("vitalera", **creds)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_pages_are_fetched_concurrently_when_latency_dominates(sb):
    """Mutant: the pool of page workers never used (every page one after another)."""
    sb.rows["observations"] = 400
    sb.page_size = 20
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    sb.latency = 0.05
    threads: set[str] = set()
    original = s.request

    def watching(method, path, **kw):
        threads.add(threading.current_thread().name)
        return original(method, path, **kw)

    s.request = watching
    df = s.get("/api/monitoreds/1/observations/")
    assert len(df) == 400 and df["id"].is_unique
    assert df.attrs["workers"] > 1
    assert len([t for t in threads if t.startswith("vital-connect-page")]) > 1
    s.page_workers = 1  # and the setting is honoured
    threads.clear()
    assert s.get("/api/monitoreds/1/observations/").attrs["workers"] == 1
    assert not [t for t in threads if t.startswith("vital-connect-page")]


def test_the_nearest_env_file_is_found_in_a_parent_folder(sb, isolated_user, monkeypatch):
    """Mutant: the .env search reduced to the working directory."""
    creds = sb.credentials("vidaplus")
    (isolated_user / ".env").write_text(
        f"VIDAPLUS_BASE_URL={creds['base_url']}\nVIDAPLUS_USERNAME={creds['username']}\n"
        f"VIDAPLUS_PASSWORD={creds['password']}\n"
    )
    deeper = isolated_user / "analysis" / "2026"
    deeper.mkdir(parents=True)
    monkeypatch.chdir(deeper)
    assert vc.connect("vidaplus", cache=False).is_authenticated


def test_every_call_has_a_timeout_by_default(sb, monkeypatch):
    """Mutant: no default timeout (requests then waits for ever)."""
    monkeypatch.setattr(_transport, "DEFAULT_TIMEOUT", (2.0, 0.3))
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))  # no timeout=
    assert s.timeout == (2.0, 0.3)
    sb.slow_next(4, delay=1.0, path="/vitalera/api/plans/")
    with pytest.raises(vc.APIError) as info:
        s.get_json("/api/plans/")
    assert info.value.error_type == "timeout"


def test_the_code_flow_state_is_256_random_bits(sb):
    """Mutant: the state cut to 192 bits (token_urlsafe(24))."""
    s = vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb", grant="authorization_code"))
    states = set()
    for _ in range(3):
        state = parse_qs(urlsplit(s.authorization_url()).query)["state"][0]
        assert len(base64.urlsafe_b64decode(state + "=")) == 32
        states.add(state)
    assert len(states) == 3


def test_a_registered_secret_is_masked_wherever_it_appears():
    """Mutant: the known-secrets layer of redact() removed (patterns alone remain)."""
    value = "zq8-Unpatterned-Value-77"  # no field name, no JWT or Bearer shape around it
    register_secret(value)
    assert value not in redact(f"the server said: {value}!")


def test_a_secret_looking_value_is_masked_without_being_registered():
    """Mutant: the pattern layer of redact() removed (registered values alone remain)."""
    text = redact("POST body password=hunter2-never-registered&client_secret=s3cr3t-xyz")
    assert "hunter2-never-registered" not in text and "s3cr3t-xyz" not in text
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJlMTIz"
    assert jwt not in redact(f"token {jwt}")
