"""The token cache, the private folders and the .env rewrite, pinned where the mutation run
found them untested (docs/mutation-testing.md): exact warning and error texts, where files
go and how they are named, modes, encodings and quoting.

Everything goes through real files in ``tmp_path`` and real environment variables; the
autouse ``isolated_user`` fixture points ``VITAL_CONNECT_CACHE_DIR`` at ``tmp_path/cache``.
"""

from __future__ import annotations

import hashlib
import json
import linecache
import locale
import os
import re
import stat
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import vital_connect as vc
from vital_connect import _cache, _envfile, _files
from vital_connect._token import Token


def _messages(caught: pytest.WarningsRecorder) -> list[str]:
    return [str(w.message) for w in caught]


def _skipped(path: Path, why: str) -> str:
    return (
        f"Ignoring the cached token {str(path)!r}: {why}. You will be asked to log in; "
        "delete the file to stop this warning."
    )


def _token_file(cache: _cache.FileCache, key: str, data: dict[str, object]) -> Path:
    cache.save(key, Token(access_token="placeholder"))  # the folder, made private
    path = cache.path(key)
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)
    return path


def _assert_names_the_callers_line(caught: pytest.WarningsRecorder) -> None:
    """The warning names the line outside the package that called it (here: this test's),
    so a notebook user sees their own cell, not a line of vital_connect."""
    (warning,) = caught
    line = linecache.getline(warning.filename, warning.lineno)
    package = Path(vc.__file__).resolve().parent
    assert package not in Path(warning.filename).resolve().parents, (warning.filename, line)
    if "mutmut" not in warning.filename:  # under mutmut, its trampoline calls the package
        assert warning.filename == __file__, (warning.filename, warning.lineno, line)
        assert "vc.connect(" in line or "FileCache(" in line, line


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """A process whose locale says ASCII (LANG=C without Python's coercion, as in some
    containers and cron jobs): text read without an explicit encoding would fail."""
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, "C")
        if locale.getpreferredencoding(False).lower().replace("-", "") == "utf8":
            pytest.skip("the C locale is UTF-8 here")
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


# ---------------------------------------------------------------------- where the cache is


def test_the_platform_cache_folder_is_vital_connect_under_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv(_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.cache_root() == tmp_path / "xdg" / "vital-connect"
    assert _cache.default_cache_dir() == tmp_path / "xdg" / "vital-connect" / "tokens"
    assert _cache.FileCache().directory == tmp_path / "xdg" / "vital-connect" / "tokens"


def test_a_file_cache_uses_the_folder_it_is_given(tmp_path):
    mine = tmp_path / "mine"
    cache = _cache.FileCache(mine)
    assert cache.directory == mine  # not the VITAL_CONNECT_CACHE_DIR the fixture set
    assert repr(cache) == f"FileCache({str(mine)!r})"
    cache.save("k", Token(access_token="abcdefgh"))
    assert [p.name for p in mine.iterdir()] == ["k.json"]
    assert _cache.FileCache().directory == tmp_path / "cache"


def test_cache_keys_are_stable_across_versions():
    # a changed key orphans every cached login: users would all be asked to log in again
    digest = hashlib.sha256(b"vitalera\nhttps://x.test\nme").hexdigest()
    assert _cache.cache_key("vitalera", "https://x.test", "me") == f"vitalera-{digest[:24]}"
    assert _cache.cache_key("vitalera", "https://x.test", "me") == (
        "vitalera-adc32264b35775c474d2dd58"
    )


# ---------------------------------------------------------------------- what load skips


def test_each_skipped_token_file_is_named_with_its_reason(tmp_path):
    cache = _cache.FileCache(tmp_path / "tokens")
    path = _token_file(cache, "k", {"access_token": "abcdefgh"})

    path.unlink()
    path.mkdir()
    with pytest.warns(vc.VitalConnectWarning) as caught:
        assert cache.load("k") is None
    assert _messages(caught) == [_skipped(path, "it is not a regular file")]
    path.rmdir()

    _token_file(cache, "k", {"access_token": "abcdefgh"})
    os.chmod(path, 0o604)
    with pytest.warns(vc.VitalConnectWarning) as caught:
        assert cache.load("k") is None
    assert _messages(caught) == [_skipped(path, "other users can read it (expected mode 0600)")]

    path.write_text("{not json")
    os.chmod(path, 0o600)
    with pytest.warns(vc.VitalConnectWarning) as caught:
        assert cache.load("k") is None
    assert _messages(caught) == [_skipped(path, "it is not a valid token file")]

    path.write_text("x" * (_cache.MAX_FILE_BYTES + 1))
    with pytest.warns(vc.VitalConnectWarning) as caught:
        assert cache.load("k") is None
    assert _messages(caught) == [_skipped(path, "it is not a valid token file")]


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file to another user")
def test_a_token_file_of_another_user_is_named_with_its_reason(tmp_path):
    cache = _cache.FileCache(tmp_path / "tokens")
    path = _token_file(cache, "k", {"access_token": "abcdefgh"})
    os.chown(path, 4242, -1)
    with pytest.warns(vc.VitalConnectWarning) as caught:
        assert cache.load("k") is None
    assert _messages(caught) == [_skipped(path, "it belongs to another user")]


def test_a_token_file_that_cannot_be_looked_at_is_skipped_with_the_system_reason(tmp_path):
    cache = _cache.FileCache(tmp_path / "tokens")
    cache.save("other", Token(access_token="abcdefgh"))  # the folder is there
    key = "k" * 300  # longer than any file name may be
    with pytest.warns(vc.VitalConnectWarning) as caught:
        assert cache.load(key) is None
    reason = os.strerror(36)  # ENAMETOOLONG
    assert _messages(caught) == [_skipped(cache.path(key), f"it cannot be read ({reason})")]


def test_a_token_file_of_exactly_the_size_limit_is_still_read(tmp_path):
    cache = _cache.FileCache(tmp_path / "tokens")
    path = _token_file(cache, "k", {})
    text = json.dumps({"access_token": "abcdefgh"})
    path.write_text(text + " " * (_cache.MAX_FILE_BYTES - len(text)))
    assert path.stat().st_size == _cache.MAX_FILE_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load("k") == Token(access_token="abcdefgh")


def test_a_token_file_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    cache = _cache.FileCache(tmp_path / "tokens")
    path = _token_file(cache, "k", {})
    path.write_bytes('{"access_token": "abcdefgh", "scope": "lectura café"}'.encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = cache.load("k")
    assert token is not None and token.access_token == "abcdefgh"


def test_cache_warnings_point_at_the_users_call(sb, tmp_path):
    """A warning attributed to a line inside the package tells the user nothing: it names
    their own call, however deep in the package the file was skipped."""
    creds = sb.credentials("vitalera")
    vc.connect("vitalera", **creds)
    (path,) = (tmp_path / "cache").glob("*.json")
    os.chmod(path, 0o644)
    with pytest.warns(vc.VitalConnectWarning, match="other users can read it") as caught:
        vc.connect("vitalera", **creds)
    _assert_names_the_callers_line(caught)


# ---------------------------------------------------------------------- unusable folders


def _not_used(path: Path, why: str) -> str:
    return (
        f"Not using the token cache in {str(path)!r}: {why}. Tokens are kept in memory only; "
        f"set {_cache.CACHE_ENV} to a folder of your own to cache them."
    )


def test_an_unusable_cache_folder_is_named_with_its_reason(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.warns(vc.VitalConnectWarning) as caught:
        _cache.FileCache(shared).save("k", Token(access_token="abcdefgh"))
    why = f"{str(shared)!r} can be written to by other users"
    assert _messages(caught) == [_not_used(shared, why)]
    _assert_names_the_callers_line(caught)
    assert list(shared.iterdir()) == []

    a_file = tmp_path / "a-file"
    a_file.write_text("")
    with pytest.warns(vc.VitalConnectWarning) as caught:
        _cache.FileCache(a_file / "tokens").save("k", Token(access_token="abcdefgh"))
    assert _messages(caught) == [_not_used(a_file / "tokens", os.strerror(20))]  # ENOTDIR


# ---------------------------------------------------------------------- the .env rewrite


def test_rotated_values_with_backslashes_read_back_exactly(tmp_path):
    from dotenv import dotenv_values

    env = tmp_path / ".env"
    new = {"client_id": "a\\\\b", "client_secret": "ends with \\"}
    _envfile.save_rotated("X_", env, new, {})
    assert dotenv_values(env) == {"X_CLIENT_ID": "a\\\\b", "X_CLIENT_SECRET": "ends with \\"}


def test_a_missing_env_file_is_created_with_only_the_new_values(tmp_path):
    env = tmp_path / ".env"
    _envfile.save_rotated("X_", env, {"client_id": "new"}, {})
    assert env.read_text() == "X_CLIENT_ID=new\n"


def test_an_env_file_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    env = tmp_path / ".env"
    env.write_bytes("# contraseña del portal\nX_CLIENT_ID=old\n".encode())
    _envfile.save_rotated("X_", env, {"client_id": "new"}, {})
    assert env.read_bytes() == "# contraseña del portal\nX_CLIENT_ID=new\n".encode()


def _refused(env: Path, secret: str, problem: str) -> None:
    """Rotating ``secret`` into ``env`` fails for ``problem``: the error says so, and names
    the fallback file the credentials went to instead."""
    with pytest.raises(vc.CredentialsNotSavedError) as info:
        _envfile.save_rotated("X_", env, {"client_secret": secret}, {})
    fallback = info.value.fallback_path
    assert fallback
    assert str(info.value) == (
        f"The credentials were rotated (the old ones no longer work) but could not be "
        f"written to {str(env)!r}: {problem}. They were saved to {fallback!r} (mode 0600) "
        "instead; they are also in this error's .credentials. Copy them into your .env now."
    )


def test_the_error_says_why_the_env_file_could_not_be_written(tmp_path):
    _refused(tmp_path / "no" / ".env", "s2", os.strerror(2))  # ENOENT

    env = tmp_path / "latin1.env"
    env.write_bytes(b"X_NOTE=caf\xe9\n")
    problem = "'utf-8' codec can't decode byte 0xe9 in position 10: invalid continuation byte"
    _refused(env, "s2", problem)
    assert env.read_bytes() == b"X_NOTE=caf\xe9\n"

    env = tmp_path / ".env"
    problem = "the new values contain control characters (a line break, say)"
    _refused(env, "a\nX_BASE_URL=evil", problem)
    assert not env.exists()


def test_control_characters_are_escaped_in_the_fallback_file(tmp_path):
    from dotenv import dotenv_values

    value = 'a\rb\nc\td"e\\nf\x01g'
    with pytest.raises(vc.CredentialsNotSavedError) as info:
        _envfile.save_rotated("X_", tmp_path / ".env", {"client_secret": value}, {})
    fallback = Path(str(info.value.fallback_path))
    assert fallback.read_text() == 'X_CLIENT_SECRET="a\\rb\\nc\\td\\"e\\\\nf\\x01g"\n'
    # dotenv decodes all but \x01 back (the exact value is in the error's .credentials)
    assert dotenv_values(fallback) == {"X_CLIENT_SECRET": 'a\rb\nc\td"e\\nf\\x01g'}


def test_the_fallback_file_is_named_after_the_provider_the_time_and_the_process(tmp_path):
    before = time.time()
    with pytest.raises(vc.CredentialsNotSavedError) as info:
        _envfile.save_rotated("VITALERA_", tmp_path / "no" / ".env", {"client_id": "n"}, {})
    after = time.time()
    path = Path(str(info.value.fallback_path))
    assert path.parent == tmp_path / "cache" / "rotated"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    m = re.fullmatch(rf"vitalera-(\d{{8}}-\d{{6}})-{os.getpid()}\.env", path.name)
    assert m, path.name
    stamp = time.mktime(time.strptime(m[1], "%Y%m%d-%H%M%S"))
    assert int(before) - 1 <= stamp <= after


def test_a_fallback_file_written_twice_in_one_second_is_private_again(tmp_path):
    """The second rotation of the same second replaces the first file: still mode 0600,
    even if the first one was opened up meanwhile."""
    folder = _files.private_dir(_files.private_dir(tmp_path / "cache") / "rotated")
    for _ in range(5):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        taken = folder / f"x-{stamp}-{os.getpid()}.env"
        taken.write_text("X_CLIENT_SECRET=older\n")
        os.chmod(taken, 0o644)
        with pytest.raises(vc.CredentialsNotSavedError) as info:
            _envfile.save_rotated("X_", tmp_path / "no" / ".env", {"client_secret": "s"}, {})
        if info.value.fallback_path == str(taken):
            break
        taken.unlink()  # the clock moved on to the next second: try again
    else:
        pytest.fail("never hit the same second in five tries")
    assert taken.read_text() == 'X_CLIENT_SECRET="s"\n'
    assert stat.S_IMODE(taken.stat().st_mode) == 0o600


def test_on_windows_the_cache_is_under_local_appdata_without_an_author_folder(monkeypatch):
    import platformdirs
    from platformdirs.windows import Windows

    local = r"C:\Users\me\AppData\Local"
    monkeypatch.delenv(_cache.CACHE_ENV)
    monkeypatch.setenv("WIN_PD_OVERRIDE_LOCAL_APPDATA", local)  # platformdirs' own override
    monkeypatch.setattr(platformdirs, "PlatformDirs", Windows)
    assert _cache.cache_root() == Path(local) / "vital-connect" / "Cache"


# ---------------------------------------------------------------------- private folders


@pytest.fixture
def group_umask() -> Iterator[None]:
    """A umask of 002, as on systems with a private group per user."""
    saved = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(saved)


def test_a_new_private_folder_is_made_0700_whatever_the_umask(tmp_path, group_umask):
    made = _files.private_dir(tmp_path / "new")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_a_new_private_folder_is_born_0700_not_tightened_afterwards(tmp_path, monkeypatch):
    """Created 0700 at once: there is no moment in which others may enter it."""
    tightened: list[tuple[str, int]] = []
    real_chmod = os.chmod

    def spy(path: str | os.PathLike[str], mode: int) -> None:
        tightened.append((os.fspath(path), stat.S_IMODE(os.stat(path).st_mode)))
        real_chmod(path, mode)

    monkeypatch.setattr(_files.os, "chmod", spy)
    made = _files.private_dir(tmp_path / "new")
    assert tightened == []
    assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_any_reading_or_entering_by_others_is_taken_away(tmp_path):
    for loose in (0o701, 0o705, 0o750, 0o710):
        folder = tmp_path / f"mode-{loose:o}"
        folder.mkdir()
        os.chmod(folder, loose)
        _files.private_dir(folder)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, oct(loose)


def test_unsafe_folders_are_named_in_the_error(tmp_path):
    real = _files.private_dir(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(_files.UnsafeDirectory) as info:
        _files.private_dir(link)
    assert str(info.value) == f"{str(link)!r} is not a plain directory"
    os.chmod(real, 0o720)
    with pytest.raises(_files.UnsafeDirectory) as info:
        _files.private_dir(real)
    assert str(info.value) == f"{str(real)!r} can be written to by other users"
    if os.getuid() == 0:  # only root can give a folder away
        os.chmod(real, 0o700)
        os.chown(real, 4242, -1)
        with pytest.raises(_files.UnsafeDirectory) as info:
            _files.private_dir(real)
        assert str(info.value) == f"{str(real)!r} belongs to another user"


def test_the_file_being_written_is_a_hidden_temp_beside_the_target(tmp_path, monkeypatch):
    """What a crash in the middle leaves behind: ``.name.<random>.tmp`` (``.part`` for a
    download), never a file that could pass for the target."""
    folder = tmp_path / "files"
    folder.mkdir()
    seen: list[str] = []
    real_fsync = os.fsync

    def look_then_fsync(fd: int) -> None:
        seen.extend(p.name for p in folder.iterdir())
        real_fsync(fd)

    monkeypatch.setattr(_files.os, "fsync", look_then_fsync)
    _files.write_atomically(folder / "f.txt", "one")
    (temp,) = seen
    assert re.fullmatch(r"\.f\.txt\.[^.]+\.tmp", temp), temp
    seen.clear()
    with _files.atomic_output(folder / "data.bin") as out:
        out.write(b"whole")
    (temp,) = (name for name in seen if name != "f.txt")
    assert re.fullmatch(r"\.data\.bin\.[^.]+\.part", temp), temp
    assert sorted(p.name for p in folder.iterdir()) == ["data.bin", "f.txt"]
