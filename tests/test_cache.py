"""The token cache: reuse after a restart, permissions, corruption, logout."""

from __future__ import annotations

import json
import os
import stat

import pytest

import vital_connect as vc


def _token_calls(sb):
    return [r for r in sb.requests if r.path.endswith("/api/auth/tokens/")]


def _cache_files(isolated_user):
    folder = isolated_user.parent / "cache"
    return sorted(folder.glob("*.json"))


def test_a_valid_cached_token_is_reused_by_a_new_kernel(sb, isolated_user):
    creds = sb.credentials("vitalera", grant="password")
    first = vc.connect("vitalera", **creds)
    second = vc.connect("vitalera", **creds)  # a new session, as after a kernel restart
    assert len(_token_calls(sb)) == 1
    assert second.token.access_token == first.token.access_token
    assert second.token.expires_at == first.token.expires_at
    assert second.get_json("/api/plans/")["count"] > 0


def test_cache_file_and_folder_permissions_and_no_password(sb, isolated_user):
    creds = sb.credentials("vitalera", grant="password")
    vc.connect("vitalera", **creds)
    (path,) = _cache_files(isolated_user)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert creds["password"] not in text
    data = json.loads(text)
    assert data["expires_at"] and data["refresh_token"]
    assert "password" not in data and "client_secret" not in data


def test_client_secret_never_cached(sb, isolated_user):
    creds = sb.credentials("vitalera")
    vc.connect("vitalera", **creds)
    (path,) = _cache_files(isolated_user)
    assert creds["client_secret"] not in path.read_text()


def test_different_users_get_different_files(sb, isolated_user):
    vc.connect("vitalera", **sb.credentials("vitalera"))
    vc.connect("vitalera", **sb.credentials("vitalera", grant="password"))
    assert len(_cache_files(isolated_user)) == 2


def test_corrupt_cache_is_ignored_with_a_warning(sb, isolated_user):
    creds = sb.credentials("vitalera")
    vc.connect("vitalera", **creds)
    (path,) = _cache_files(isolated_user)
    path.write_text("{not json")
    with pytest.warns(vc.VitalConnectWarning, match="not a valid token file"):
        s = vc.connect("vitalera", **creds)
    assert s.is_authenticated
    assert len(_token_calls(sb)) == 2


def test_world_readable_cache_is_ignored_with_a_warning(sb, isolated_user):
    creds = sb.credentials("vitalera")
    vc.connect("vitalera", **creds)
    (path,) = _cache_files(isolated_user)
    os.chmod(path, 0o644)
    with pytest.warns(vc.VitalConnectWarning, match="other users can read it"):
        vc.connect("vitalera", **creds)
    assert len(_token_calls(sb)) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # rewritten safely


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file to another user")
def test_foreign_owned_cache_is_ignored_with_a_warning(sb, isolated_user):
    creds = sb.credentials("vitalera")
    vc.connect("vitalera", **creds)
    (path,) = _cache_files(isolated_user)
    os.chown(path, 4242, -1)
    with pytest.warns(vc.VitalConnectWarning, match="another user"):
        vc.connect("vitalera", **creds)
    assert len(_token_calls(sb)) == 2


def test_logout_forgets_the_token_in_memory_and_on_disk(sb, isolated_user):
    creds = sb.credentials("vitalera")
    s = vc.connect("vitalera", **creds)
    assert _cache_files(isolated_user)
    s.logout()
    assert s.token is None and not s.is_authenticated
    assert not _cache_files(isolated_user)
    vc.connect("vitalera", **creds)
    assert len(_token_calls(sb)) == 2


def test_cache_false_writes_nothing(sb, isolated_user):
    vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    assert not _cache_files(isolated_user)


def test_expired_cached_token_with_refresh_token_is_refreshed_not_relogged(sb, isolated_user):
    import time

    sb.token_ttl = 1
    creds = sb.credentials("vitalera", grant="password")
    vc.connect("vitalera", **creds)
    sb.token_ttl = 3600
    time.sleep(1.1)
    s = vc.connect("vitalera", **creds)
    s.get_json("/api/plans/")
    paths = [r.path.rsplit("/vitalera", 1)[-1] for r in sb.requests]
    assert paths == ["/api/auth/tokens/", "/api/auth/tokens/refresh/", "/api/plans/"]
