"""Tokens, strictly: behaviour of ``vital_connect._token`` that the mutation run found
untested (exact error messages, limits at their edge, defaults, where ``sub`` and the
issue time come from, the repr, and the expiry leeway at its boundaries)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from vital_connect._token import MAX_TOKEN_CHARS, BadToken, Token, jwt_claims

NOW = 1_000_000.0  # 1970-01-12T13:46:40Z: whole seconds, so times round-trip exactly


def _b64(claims: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")


def _jwt(claims: dict[str, Any], signature: str = "sig") -> str:
    return f"hdr.{_b64(claims)}.{signature}"


def _message(data: Any, *, cached: bool = False) -> str:
    with pytest.raises(BadToken) as caught:
        Token.from_dict(data) if cached else Token.from_response(data, now=NOW)
    return str(caught.value)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop the wall clock at NOW, so an expiry check is exact to the second."""
    monkeypatch.setattr(time, "time", lambda: NOW)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# ---------------------------------------------------------------------- jwt_claims


def test_a_payload_needing_one_pad_character_is_read():
    claims = {"sub": "??>"}  # '??>' encodes with a '-', a character only base64url has
    payload = _b64(claims)
    assert len(payload) % 4 == 3, payload  # the decoder needs exactly one '='
    assert "-" in payload
    assert jwt_claims(f"h.{payload}.s") == claims


def test_a_payload_needing_two_pad_characters_is_read():
    claims = {"sub": "??>", "n": 1}
    payload = _b64(claims)
    assert len(payload) % 4 == 2, payload
    assert jwt_claims(f"h.{payload}.s") == claims


def test_a_stray_character_in_the_payload_is_not_a_jwt_wherever_it_falls():
    payload = _b64({"a": 1})  # 10 characters
    for junk in ("!", "!!", "!!!", "!!!!", " "):
        assert jwt_claims(f"h.{payload}{junk}.s") == {}, junk
    assert jwt_claims(f"h.{payload[:5]}!{payload[5:]}.s") == {}


def test_a_jwt_of_exactly_the_longest_token_length_is_read():
    head = _jwt({"sub": "me"}, signature="")
    token = head + "s" * (MAX_TOKEN_CHARS - len(head))
    assert len(token) == MAX_TOKEN_CHARS
    assert jwt_claims(token) == {"sub": "me"}
    assert jwt_claims(token + "s") == {}


# ---------------------------------------------------------------------- from_response


def test_the_error_messages_name_the_field():
    assert _message([1]) == "it is a JSON list, not an object"
    assert _message({}) == "it has no access_token"
    assert _message({"access_token": 5}) == "its access_token is a int, not a string"
    assert (
        _message({"access_token": "abc", "refresh_token": {"x": 1}})
        == "its refresh_token is a dict, not a string"
    )
    assert _message({"access_token": "a" * 70_000}) == "its access_token is 70,000 characters long"
    assert (
        _message({"access_token": "abc", "scope": 5})
        == "its scope is neither a string nor a list of strings"
    )
    assert (
        _message({"access_token": "abc", "sub": ["x"]})
        == "its sub is neither a string nor a number"
    )
    assert _message({"access_token": "abc", "expires_in": "soon"}) == (
        "its expires_in is not a number"
    )


def test_a_token_of_exactly_the_longest_length_is_accepted():
    tok = Token.from_response({"access_token": "a" * MAX_TOKEN_CHARS}, now=NOW)
    assert len(tok.access_token) == MAX_TOKEN_CHARS
    assert _message({"access_token": "a" * (MAX_TOKEN_CHARS + 1)}) == (
        f"its access_token is {MAX_TOKEN_CHARS + 1:,} characters long"
    )


def test_expires_in_of_another_type_is_a_bad_token_not_a_crash():
    for value in ([30], {"s": 30}):
        assert _message({"access_token": "abc", "expires_in": value}) == (
            "its expires_in is not a number"
        )


def test_a_numeric_expires_in_string_is_read_up_to_39_characters():
    tok = Token.from_response({"access_token": "abc", "expires_in": "0" * 38 + "5"}, now=NOW)
    assert tok.expires_at == _at(NOW + 5)
    assert _message({"access_token": "abc", "expires_in": "0" * 39 + "5"}) == (
        "its expires_in is not a number"
    )


def test_an_empty_expires_in_means_no_known_expiry():
    tok = Token.from_response({"access_token": "abc", "expires_in": ""}, now=NOW)
    assert tok.expires_at is None


def test_times_are_aware_utc():
    tok = Token.from_response({"access_token": "abc", "expires_in": 60}, now=NOW)
    assert tok.expires_at is not None and tok.issued_at is not None
    assert tok.expires_at.tzinfo is UTC and tok.issued_at.tzinfo is UTC
    assert tok.expires_at.isoformat() == "1970-01-12T13:47:40+00:00"


def test_token_type_defaults_to_bearer_spelt_so():
    tok = Token.from_response({"access_token": "abc"}, now=NOW)
    assert tok.token_type == "Bearer"


def test_the_id_token_is_kept():
    id_token = _jwt({"aud": "me"})
    tok = Token.from_response({"access_token": "abc", "id_token": id_token}, now=NOW)
    assert tok.id_token == id_token


def test_the_issue_time_is_the_access_tokens_iat_claim():
    access = _jwt({"iat": NOW - 100})
    tok = Token.from_response({"access_token": access}, now=NOW)
    assert tok.issued_at == _at(NOW - 100)
    future = Token.from_response({"access_token": _jwt({"iat": NOW + 100})}, now=NOW)
    assert future.issued_at == _at(NOW)  # never later than now


def test_sub_comes_from_the_body_then_the_access_token_then_the_id_token():
    acc, idt = _jwt({"sub": "acc"}), _jwt({"sub": "idt"})
    both = {"access_token": acc, "id_token": idt}
    assert Token.from_response({**both, "sub": "body"}, now=NOW).sub == "body"
    assert Token.from_response(both, now=NOW).sub == "acc"
    no_sub = _jwt({"aud": "x"})
    assert Token.from_response({"access_token": acc, "id_token": no_sub}, now=NOW).sub == "acc"
    assert Token.from_response({"access_token": acc}, now=NOW).sub == "acc"
    assert Token.from_response({"access_token": "opaque", "id_token": idt}, now=NOW).sub == "idt"
    assert Token.from_response({"access_token": no_sub, "id_token": idt}, now=NOW).sub == "idt"


def test_no_sub_anywhere_is_none_and_a_long_sub_is_cut():
    assert Token.from_response({"access_token": "abc"}, now=NOW).sub is None
    long = Token.from_response({"access_token": "abc", "sub": "s" * 600}, now=NOW)
    assert long.sub == "s" * 512


def test_scope_is_cut_to_4096_characters_and_an_empty_one_is_none():
    assert Token.from_response({"access_token": "abc", "scope": ""}, now=NOW).scope is None
    one = Token.from_response({"access_token": "abc", "scope": "s" * 5000}, now=NOW)
    assert one.scope == "s" * 4096
    listed = Token.from_response({"access_token": "abc", "scope": ["a" * 3000] * 2}, now=NOW)
    assert listed.scope == ("a" * 3000 + " " + "a" * 3000)[:4096]


# ---------------------------------------------------------------------- from_dict


def test_the_cache_form_error_messages():
    assert _message([1], cached=True) == "it holds a JSON list, not an object"
    assert _message({}, cached=True) == "it has no access_token"
    assert _message({"access_token": ""}, cached=True) == "it has no access_token"
    assert (
        _message({"access_token": "abc", "expires_at": "soon"}, cached=True)
        == "its expires_at is not a time"
    )
    assert (
        _message({"access_token": "abc", "issued_at": "soon"}, cached=True)
        == "its issued_at is not a time"
    )


def test_the_cache_form_rejects_epoch_zero_and_reads_epoch_one():
    assert (
        _message({"access_token": "abc", "expires_at": 0}, cached=True)
        == "its expires_at is not a time"
    )
    tok = Token.from_dict({"access_token": "abc", "expires_at": 1, "issued_at": 1})
    assert tok.expires_at == _at(1) and tok.issued_at == _at(1)


def test_the_cache_form_keeps_the_token_type_and_defaults_to_bearer():
    assert Token.from_dict({"access_token": "abc", "token_type": "MAC"}).token_type == "MAC"
    assert Token.from_dict({"access_token": "abc"}).token_type == "Bearer"
    assert Token.from_dict({"access_token": "abc", "token_type": ""}).token_type == "Bearer"


# ---------------------------------------------------------------------- the object


def test_unset_token_strings_stay_none():
    tok = Token(access_token="abc")
    assert tok.refresh_token is None and tok.id_token is None


def test_the_repr_shows_the_expiry_and_whether_a_refresh_token_is_set():
    tok = Token.from_response(
        {"access_token": "abcdefgh", "refresh_token": "r" * 9, "sub": 7, "expires_in": 60},
        now=NOW,
    )
    assert repr(tok) == (
        "Token(type='Bearer', sub='7', expires_at='1970-01-12T13:47:40+00:00', "
        "refresh_token='<set>')"
    )
    assert str(tok) == repr(tok)
    bare = Token.from_response({"access_token": "abcdefgh"}, now=NOW)
    assert repr(bare) == "Token(type='Bearer', sub=None, expires_at=None, refresh_token=None)"


def test_expires_in_counts_from_the_given_now():
    tok = Token.from_response({"access_token": "abc", "expires_in": 60}, now=NOW)
    assert tok.expires_in(now=NOW + 10) == 50.0
    assert tok.expires_in(now=NOW - 40) == 100.0


def test_without_an_issue_time_the_leeway_is_45_seconds():
    tok = Token(access_token="abc", expires_at=_at(time.time() + 30))
    assert tok.is_expired()  # 30 s left, within the default 45 s
    later = Token(access_token="abc", expires_at=_at(time.time() + 3600))
    assert not later.is_expired()


def test_a_leeway_equal_to_the_time_left_counts_as_expired(clock):
    tok = Token(access_token="abc", expires_at=_at(NOW + 45))
    assert tok.is_expired(leeway=45)
    assert not tok.is_expired(leeway=44)
    assert tok.is_expired()  # the default: 45 s, no issue time known


def test_the_leeway_of_a_short_life_is_exactly_a_quarter(clock):
    # issued 31 s ago with 40 s of life: leeway 10 s, 9 s left
    tok = Token(access_token="abc", issued_at=_at(NOW - 31), expires_at=_at(NOW + 9))
    assert tok.is_expired()
    # issued 29 s ago: 11 s left, more than the 10 s leeway
    fresh = Token(access_token="abc", issued_at=_at(NOW - 29), expires_at=_at(NOW + 11))
    assert not fresh.is_expired()


def test_a_zero_life_has_no_leeway(clock):
    # expiry and issue at the same instant, 0.2 s from now: leeway 0, so not yet expired
    at = _at(NOW + 0.2)
    assert not Token(access_token="abc", issued_at=at, expires_at=at).is_expired()
    # an issue time after the expiry is no negative leeway either
    later = _at(NOW + 10)
    assert not Token(access_token="abc", issued_at=later, expires_at=at).is_expired()
