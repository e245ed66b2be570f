"""Redaction, tokens, the token cache, atomic files and the .env rewrite, on their own:
the pieces that keep secrets where they belong (no server adds anything here)."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
import warnings
from pathlib import Path

import pytest

import vital_connect as vc
from vital_connect import _cache, _envfile, _files, _redact
from vital_connect._redact import MASK, Secret, redact, register_secret
from vital_connect._token import LEEWAY_SECONDS, MAX_LIFETIME, BadToken, Token, jwt_claims

# ---------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /u?access_token=abc123&x=1", "abc123"),
        ("refresh_token=r3fresh;", "r3fresh"),
        ('{"password": "hunter2", "ok": 1}', "hunter2"),
        ("{'client_secret': 's3cr3t'}", "s3cr3t"),
        ("Authorization: Bearer eyJraWQ.x-y", "eyJraWQ.x-y"),
        ("Authorization: basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("id=me pw=letmein", "letmein"),
        ("code=one-time-code&state=s", "one-time-code"),
        ("token: 'tok-value'", "tok-value"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here", "eyJhbGciOiJIUzI1NiJ9"),
    ],
)
def test_redact_masks_secret_shaped_values(text, secret):
    out = redact(text)
    assert secret not in out and MASK in out


def test_redact_keeps_what_is_not_secret():
    text = "GET /api/plans/?page=2&page_size=50 HTTP/1.1 200 codes=3"
    assert redact(text) == text
    assert redact("x=1&access_token=abc&y=2") == "x=1&access_token=***&y=2"


def test_registered_secrets_are_masked_and_short_ones_left_alone():
    register_secret("Zq-Registered-Secret-1", None, "", "tiny")
    assert redact("said Zq-Registered-Secret-1.") == f"said {MASK}."
    assert redact("a tiny word") == "a tiny word"  # under 6 characters: would mask words
    register_secret("abc", "abcdef-longer")
    assert redact("abcdef-longer and abc") == f"{MASK} and abc"


def test_secret_strings_hide_in_reprs_but_not_in_use():
    s = Secret("pa55word")
    assert repr(s) == repr(MASK) and repr({"p": s}) == "{'p': '***'}"
    assert s == "pa55word" and str(s) == "pa55word" and f"{s}" == "pa55word"
    assert _redact.secret(None) is None and isinstance(_redact.secret("x"), Secret)


def test_the_log_filter_masks_the_formatted_message():
    logger = logging.getLogger("vital_connect.test-filter")
    logger.addFilter(_redact.RedactingFilter())
    records = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.debug("body was %s", "password=hunter2&x=1")
    assert records[0].getMessage() == "body was password=***&x=1"
    logger.debug("broken %s %s", "one")  # a bad format string is no crash
    assert "broken" in records[1].getMessage()
    _redact.install_log_filter()
    _redact.install_log_filter()  # idempotent
    assert logging.getLogger("urllib3").filters.count(_redact._FILTER) == 1


# ---------------------------------------------------------------------- tokens


def test_expiry_is_the_earliest_known():
    now = 1_000_000.0
    tok = Token.from_response({"access_token": "a" * 10, "expires_in": 100}, now=now)
    assert tok.expires_at.timestamp() == now + 100
    tok = Token.from_response(
        {"access_token": "a" * 10, "expires_in": 100, "expires_at": now + 50}, now=now
    )
    assert tok.expires_at.timestamp() == now + 50
    assert Token.from_response({"access_token": "a" * 10}, now=now).expires_at is None


def test_expiry_is_clamped_and_negative_lifetimes_are_zero():
    now = 1_000_000.0
    tok = Token.from_response({"access_token": "x" * 8, "expires_in": 1e300}, now=now)
    assert tok.expires_at.timestamp() == now + MAX_LIFETIME
    tok = Token.from_response({"access_token": "x" * 8, "expires_in": -5}, now=now)
    assert tok.expires_at.timestamp() == now


@pytest.mark.parametrize(
    "data",
    [
        [],
        {},
        {"access_token": ""},
        {"access_token": 5},
        {"access_token": "a" * 70_000},
        {"access_token": "abc", "refresh_token": {"x": 1}},
        {"access_token": "abc", "expires_in": "soon"},
        {"access_token": "abc", "expires_in": True},
        {"access_token": "abc", "scope": 5},
        {"access_token": "abc", "scope": ["ok", 3]},
        {"access_token": "abc", "sub": ["x"]},
        {"access_token": "abc", "token_type": ["Bearer"]},
    ],
)
def test_token_answers_of_the_wrong_shape(data):
    with pytest.raises(BadToken):
        Token.from_response(data)


def test_token_fields_and_the_authorization_header():
    tok = Token.from_response(
        {"access_token": "abcdefgh", "token_type": "bearer", "scope": ["a", "b"], "sub": 7}
    )
    assert tok.authorization() == "Bearer abcdefgh" and tok.scope == "a b" and tok.sub == "7"
    mac = Token.from_response({"access_token": "abcdefgh", "token_type": "MAC"})
    assert mac.authorization() == "MAC abcdefgh"
    assert isinstance(tok.access_token, Secret) and "abcdefgh" not in repr(tok)


def test_leeway_is_a_quarter_of_a_short_life():
    now = time.time()
    short = Token.from_response({"access_token": "a" * 10, "expires_in": 8}, now=now)
    assert not short.is_expired()  # 8 s left, leeway 2 s
    assert short.is_expired(leeway=9)
    long = Token.from_response({"access_token": "a" * 10, "expires_in": 44}, now=now)
    assert long.is_expired() is False  # leeway 11 s: a quarter of 44
    due = Token.from_response(
        {"access_token": "a" * 10, "expires_in": LEEWAY_SECONDS - 1}, now=now - 3600
    )
    assert due.is_expired()  # issued an hour ago: long past its expiry
    assert Token(access_token="abc").is_expired() is False  # no expiry known


def test_jwt_claims_are_read_without_a_key():
    import base64

    body = base64.urlsafe_b64encode(json.dumps({"sub": "me", "exp": 5}).encode()).rstrip(b"=")
    assert jwt_claims(f"h.{body.decode()}.s") == {"sub": "me", "exp": 5}
    assert jwt_claims("not-a-jwt") == {} and jwt_claims(None) == {}
    assert jwt_claims("a.!!!.c") == {}
    listed = base64.urlsafe_b64encode(b"[1]").decode()
    assert jwt_claims(f"h.{listed}.s") == {}


def test_the_cache_form_round_trips():
    tok = Token.from_response({"access_token": "abcdefgh", "refresh_token": "r" * 9,
                               "expires_in": 60})  # fmt: skip
    again = Token.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again == tok and type(again.to_dict()["access_token"]) is str


# ---------------------------------------------------------------------- files and folders


def test_private_dir(tmp_path):
    mine = _files.private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700
    os.chmod(mine, 0o755)  # ours and not writable by others: only tightened
    _files.private_dir(mine)
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700
    os.chmod(mine, 0o770)
    with pytest.raises(_files.UnsafeDirectory, match="other users"):
        _files.private_dir(mine)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "a")
    with pytest.raises(_files.UnsafeDirectory, match="not a plain directory"):
        _files.private_dir(link)


def test_write_atomically_keeps_the_mode_and_leaves_no_temp(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    path = folder / "f.txt"
    _files.write_atomically(path, "one")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a new file: private
    os.chmod(path, 0o640)
    _files.write_atomically(path, "two")
    assert path.read_text() == "two" and stat.S_IMODE(path.stat().st_mode) == 0o640
    _files.write_atomically(path, "three", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["f.txt"]


def test_atomic_output_appears_only_when_complete(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    path = folder / "data.bin"
    with pytest.raises(RuntimeError), _files.atomic_output(path) as out:
        out.write(b"half")
        raise RuntimeError("cut")
    assert list(folder.iterdir()) == []
    with _files.atomic_output(path) as out:
        out.write(b"whole")
    assert path.read_bytes() == b"whole"


# ---------------------------------------------------------------------- the token cache


def test_file_cache_round_trip_and_key(tmp_path):
    cache = _cache.FileCache(tmp_path / "tokens")
    tok = Token.from_response({"access_token": "abcdefgh", "expires_in": 60})
    key = _cache.cache_key("vitalera", "https://x.test", "me")
    assert key.startswith("vitalera-") and key != _cache.cache_key(
        "vitalera", "https://x.test", "you"
    )
    assert cache.load(key) is None
    cache.save(key, tok)
    assert stat.S_IMODE(cache.path(key).stat().st_mode) == 0o600
    assert cache.load(key) == tok
    cache.delete(key)
    cache.delete(key)  # nothing there: no error
    assert cache.load(key) is None
    with cache.locked(key, 1.0):
        pass
    assert repr(cache).startswith("FileCache(")


def test_file_cache_refuses_a_link_a_folder_or_a_big_file(tmp_path):
    cache = _cache.FileCache(tmp_path / "tokens")
    cache.save("k", Token(access_token="abcdefgh"))
    target = tmp_path / "elsewhere.json"
    target.write_text(cache.path("k").read_text())
    os.chmod(target, 0o600)
    cache.path("k").unlink()
    cache.path("k").symlink_to(target)
    with pytest.warns(vc.VitalConnectWarning, match="not a regular file"):
        assert cache.load("k") is None
    cache.path("k").unlink()
    cache.path("k").write_text("x" * (_cache.MAX_FILE_BYTES + 1))
    os.chmod(cache.path("k"), 0o600)
    with pytest.warns(vc.VitalConnectWarning, match="not a valid token file"):
        assert cache.load("k") is None


def test_make_cache():
    assert isinstance(_cache.make_cache(True), _cache.FileCache)
    assert isinstance(_cache.make_cache(False), _cache.NoCache)
    assert isinstance(_cache.make_cache(None), _cache.NoCache)
    mine = _cache.NoCache()
    assert _cache.make_cache(mine) is mine
    with pytest.raises(vc.ConfigurationError):
        _cache.make_cache("yes")
    none = _cache.NoCache()
    none.save("k", Token(access_token="abcdef"))
    assert none.load("k") is None and repr(none) == "NoCache()"


def test_cache_folders_follow_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path / "mine"))
    assert _cache.default_cache_dir() == tmp_path / "mine"
    assert _cache.cache_root() == tmp_path / "mine"
    monkeypatch.delenv(_cache.CACHE_ENV)
    assert _cache.default_cache_dir().name == "tokens"
    assert _cache.default_cache_dir().parent == _cache.cache_root()


# ---------------------------------------------------------------------- the .env rewrite


def test_updated_lines_replaces_keeps_and_appends():
    text = (
        "# settings\nA=1  # the portal's\nexport B='x y'\nC=3\nAB=keep\nD=\"q\"  # quoted\nE=last"
    )
    out = _envfile.updated_lines(text, {"A": "new", "B": "two words", "D": "d2", "F": "added"})
    assert out == (
        "# settings\n"
        "A=new  # the portal's\n"
        "export B='two words'\n"
        "C=3\n"
        "AB=keep\n"
        "D=d2  # quoted\n"
        "E=last\n"
        "F=added\n"
    )
    assert _envfile.updated_lines("", {"K": "v"}) == "K=v\n"


def test_quoting_survives_dotenv():
    from dotenv import dotenv_values

    values = {"K1": "plain-1.2:3/4+5=6@7", "K2": "it's \\ odd", "K3": "a b#c"}
    text = "".join(f"{k}={_envfile._quote(v)}\n" for k, v in values.items())
    path = Path.cwd() / "q.env"
    path.write_text(text)
    assert dotenv_values(path) == values
    assert _envfile._quote("simple") == "simple"
    escaped = _envfile._escaped('a\nb"c\\d\te\x01')
    path.write_text(f"K={escaped}\n")
    assert dotenv_values(path)["K"].startswith('a\nb"c\\d\te')


def test_save_rotated_writes_or_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path / "cache"))
    env = tmp_path / ".env"
    env.write_text("X_CLIENT_ID=old\n")
    _envfile.save_rotated("X_", env, {"client_id": "new", "client_secret": "s"}, {})
    assert env.read_text() == "X_CLIENT_ID=new\nX_CLIENT_SECRET=s\n"
    with pytest.raises(vc.CredentialsNotSavedError) as info:
        _envfile.save_rotated("X_", tmp_path / "no" / ".env", {"client_secret": "s2"}, {"a": 1})
    fallback = info.value.fallback_path
    assert fallback and stat.S_IMODE(os.stat(fallback).st_mode) == 0o600
    assert 'X_CLIENT_SECRET="s2"' in Path(fallback).read_text()
    assert info.value.credentials == {"a": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(vc.CredentialsNotSavedError, match="control characters"):
            _envfile.save_rotated("X_", env, {"client_secret": "a\rb"}, {})
    assert "a\rb" not in env.read_text()
