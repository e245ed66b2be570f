"""The URL rules, on their own (no server adds anything here): what is refused, and why."""

from __future__ import annotations

import pytest

import vital_connect as vc
from vital_connect import _transport as t


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "path"),
    [
        ("https://Api.Example.org/x?y=1", "https", "api.example.org", None, "/x"),
        ("http://127.0.0.1:8765/vitalera", "http", "127.0.0.1", 8765, "/vitalera"),
        ("HTTP://[::1]:80/a", "http", "::1", 80, "/a"),
        ("https://host.test", "https", "host.test", None, ""),
    ],
)
def test_parse_reads_urls_as_urllib3_does(url, scheme, host, port, path):
    assert t.parse(url) == t.Parsed(scheme, host, port, path)


@pytest.mark.parametrize(
    "url",
    [
        "http://evil:1\\@127.0.0.1:8765/x",  # urllib3 would connect to "evil"
        "http://user@127.0.0.1/",
        "http://127.0.0.1 :80/",
        "http://127.0.0.1\t/",
        "http://127.0.0.1:99999/",
        "http://[",
        "http:///nohost",
        "127.0.0.1:8765/x",  # not absolute
        "/relative/path",
        42,
    ],
)
def test_parse_refuses_what_cannot_be_read_one_way(url):
    with pytest.raises(vc.ConfigurationError):
        t.parse(url)


def test_the_refusal_names_the_url_and_the_reason():
    with pytest.raises(vc.ConfigurationError, match=r"host part contains '@'") as info:
        t.parse("http://a@b.test/")
    assert "http://a@b.test/" in str(info.value)
    with pytest.raises(vc.ConfigurationError, match="Not an absolute") as info:
        t.parse("b.test")
    long = "https://x.test/" + "a" * 500
    assert len(t._short(long)) == 120 and t._short(long).endswith("...")
    assert t._short("https://x.test/") == "https://x.test/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1/", True),
        ("http://127.8.9.10:1/", True),
        ("http://[::1]:1/", True),
        ("http://localhost:8000/", True),
        ("http://LOCALHOST/", True),
        ("http://evil.localhost/", False),  # resolved by whatever resolver: not trusted
        ("http://localhost.evil.test/", False),
        ("http://128.0.0.1/", False),
        ("http://10.0.0.1/", False),
        ("http://example.org/", False),
        ("not a url", False),
    ],
)
def test_is_loopback(url, expected):
    assert t.is_loopback(url) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.org:443/x", "https://example.org"),
        ("http://example.org:80/x", "http://example.org"),
        ("https://example.org:8443/x", "https://example.org:8443"),
        ("http://example.org:443/", "http://example.org:443"),
        ("http://[::1]:9/", "http://[::1]:9"),
        ("http://127.0.0.1:8765/a/b", "http://127.0.0.1:8765"),
    ],
)
def test_origin(url, expected):
    assert t.origin(url) == expected


def test_check_transport():
    t.check_transport("https://example.org/x")
    t.check_transport("http://127.0.0.1:1/x")
    t.check_transport("http://localhost/x")
    with pytest.raises(vc.InsecureTransportError, match=r"plain http to http://example\.org"):
        t.check_transport("http://example.org/x")
    with pytest.raises(vc.InsecureTransportError, match="only http"):
        t.check_transport("ftp://example.org/x")
    with pytest.raises(vc.InsecureTransportError, match="only http"):
        t.check_transport("file://localhost/etc/passwd")


def test_check_destination():
    origins = frozenset({"https://api.test", "http://127.0.0.1:5"})
    t.check_destination("https://api.test/x", origins, "the token")
    t.check_destination("http://127.0.0.1:5/y", origins, "the token")
    with pytest.raises(vc.InsecureTransportError, match="Refusing to send the token to"):
        t.check_destination("https://other.test/x", origins, "the token")
    with pytest.raises(vc.InsecureTransportError, match="Refusing to send the token:"):
        t.check_destination("https://a@api.test/x", origins, "the token")
    # a declared origin is still held to the transport rule
    with pytest.raises(vc.InsecureTransportError, match="plain http"):
        t.check_destination("http://api.test/x", frozenset({"http://api.test"}), "the token")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, (10.0, 60.0)),
        (5, (5.0, 5.0)),
        (2.5, (2.5, 2.5)),
        ((1, 30), (1.0, 30.0)),
        ([3, 4], (3.0, 4.0)),
        (("1", "2"), (1.0, 2.0)),
        (t.MAX_TIMEOUT, (t.MAX_TIMEOUT, t.MAX_TIMEOUT)),
    ],
)
def test_normalize_timeout(given, expected):
    assert t.normalize_timeout(given) == expected


@pytest.mark.parametrize(
    "given",
    [0, -1, float("nan"), float("inf"), t.MAX_TIMEOUT + 1, 3.7e16, True, "abc", (1,),
     (1, 2, 3), (0, 1), (1, -1), (1, None), object(), "10"],
)  # fmt: skip
def test_normalize_timeout_refuses(given):
    with pytest.raises(vc.ConfigurationError, match="timeout"):
        t.normalize_timeout(given)


def test_is_absolute():
    assert t.is_absolute("https://x.test/") and t.is_absolute("ftp://x")
    assert not t.is_absolute("/x?next=http://a/") and not t.is_absolute("x/y")
    assert not t.is_absolute("://x")
