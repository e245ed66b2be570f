"""Routing, transport rules and redaction: behaviour the mutation run found untested.

Each test pins an outcome a surviving mutant of ``_routing``, ``_transport`` or ``_redact``
changed (a trailing slash, which host a path goes to, the path of a URL, a redirect's next
hop, an error's wording, which logger carries the redacting filter). Real loopback servers
only; nothing is mocked.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import pytest
import requests
from loopback import TOKEN, json_response, provider_at, serving
from werkzeug.wrappers import Request, Response

import vital_connect as vc
from vital_connect import _redact
from vital_connect import _transport as t
from vital_connect._redact import MASK, redact, register_secret
from vital_connect._routing import MAX_REDIRECTS, Router
from vital_connect.dialects import Dialect


def _provider(name: str, base_url: str, **more: object) -> vc.Provider:
    return vc.Provider(
        name=name, base_url=base_url, grants=("password",), token_path="/token", **more
    )


# ---------------------------------------------------------------------- Router: hosts


def test_trailing_slashes_go_from_the_base_and_api_urls_and_declared_origins_stay():
    p = _provider(
        "routed",
        "https://login.test/authX/",
        api_url="https://data.test/dataX/",
        origins=("https://files.test",),
    )
    r = Router(p)
    assert r.base_url == "https://login.test/authX"
    assert r.api_url == "https://data.test/dataX"  # the provider's own: not a custom base
    assert r.origins == frozenset({"https://login.test", "https://data.test", "https://files.test"})
    # the provider's base_url given again (without its slash) is not another deployment
    assert Router(p, "https://login.test/authX").api_url == "https://data.test/dataX"


def test_another_deployment_serves_everything_from_its_one_base_url():
    p = _provider(
        "staged",
        "https://login.test",
        api_url="https://data.test",
        origins=("https://files.test",),
    )
    r = Router(p, "http://127.0.0.1:9/stageX/")
    assert r.base_url == r.api_url == "http://127.0.0.1:9/stageX"
    assert r.origins == frozenset({"http://127.0.0.1:9"})  # no declared origin of production
    s = vc.connect("vitaldb", anonymous=True, cache=False, base_url="http://127.0.0.1:9/")
    assert s.url_for("/cases") == "http://127.0.0.1:9/cases"


# ---------------------------------------------------------------------- Router.url


def test_the_host_of_a_path_is_chosen_from_the_path_without_query_or_fragment():
    r = Router(_provider("split", "https://login.test", api_url="https://data.test"))
    assert r.url("/token?a=1?b=2") == "https://login.test/token?a=1?b=2"
    assert r.url("/token#f#g") == "https://login.test/token#f#g"
    assert r.url("/data?a=1") == "https://data.test/data?a=1"


def test_a_foreign_absolute_url_names_the_providers_token():
    r = Router(_provider("split", "https://login.test", api_url="https://data.test"))
    with pytest.raises(vc.InsecureTransportError, match=r"^Refusing to send the split token to"):
        r.url("https://evil.test/x")


# ---------------------------------------------------------------------- Router.path_of


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://h.test/data/x?y=1", "/x"),  # the longer base wins
        ("https://h.test/data", "/"),
        ("https://h.test/data/x#a#b", "/x"),
        ("https://h.test/data/x?a?b", "/x"),
        ("https://h.test/other/y", "/other/y"),  # on base_url, not on api_url
        ("https://h.test/datafile", "/datafile"),
        ("https://files.test/a/b?x=1", "/a/b"),  # on neither: the URL's own path
        ("https://files.test", "/"),
    ],
)
def test_path_of(url, path):
    r = Router(_provider("nested", "https://h.test", api_url="https://h.test/data"))
    assert r.path_of(url) == path


def test_placement_asks_the_dialect_about_this_provider():
    class ByName(Dialect):
        name = "byname"

        def placement(self, provider, path):
            return "query" if provider.name == "bynamelab" and path == "/x" else "header"

    r = Router(_provider("bynamelab", "https://lab.test", dialect=ByName()))
    assert r.placement("https://lab.test/x?y=1") == "query"


# ---------------------------------------------------------------------- redirects


@pytest.fixture
def redirecting() -> Iterator[tuple[vc.Session, list[Request]]]:
    """A provider whose /r* paths redirect as their query says; every request recorded."""
    seen: list[Request] = []

    def handle(request: Request) -> Response:
        seen.append(request)
        if request.path == "/token":
            return json_response(TOKEN)
        if request.path == "/loop":
            return json_response(None, 302, Location="/loop")
        if request.path == "/echo":
            return json_response(None, 302, Location="/next?page=2&flag=&access_token=echoed")
        if request.path == "/away":
            return json_response(None, 302, Location="https://elsewhere.test/x")
        return json_response({"ok": request.path})

    with serving(handle) as home:
        s = provider_at("hops", home)
        seen.clear()
        yield s, seen


def test_a_head_is_redirected_like_a_get(redirecting):
    s, seen = redirecting
    for method in ("HEAD", "head"):
        seen.clear()
        response = s.request(method, "/echo")
        assert response.status_code == 200
        assert [r.path for r in seen] == ["/echo", "/next"]


def test_an_echoed_token_is_dropped_and_the_other_parameters_kept(redirecting):
    s, seen = redirecting
    assert s.get_json("/echo") == {"ok": "/next"}
    assert seen[-1].path == "/next"
    assert seen[-1].query_string == b"page=2&flag="


def test_at_most_five_redirects_are_followed(redirecting):
    s, seen = redirecting
    with pytest.raises(vc.InsecureTransportError, match=f"more than {MAX_REDIRECTS} times"):
        s.get_json("/loop")
    assert len(seen) == 1 + MAX_REDIRECTS


def test_a_redirect_off_the_origin_names_the_redirect(redirecting):
    s, seen = redirecting
    with pytest.raises(
        vc.InsecureTransportError,
        match=r"^Refusing to send the request \(a redirect\) to https://elsewhere\.test:",
    ):
        s.get_json("/away")
    assert [r.path for r in seen] == ["/away"]


def test_a_response_without_location_points_back_at_itself():
    def handle(request: Request) -> Response:
        return json_response({"ok": True})

    with serving(handle) as home:
        r = Router(_provider("noloc", home))
        with requests.Session() as http:
            http.trust_env = False  # loopback: no proxy from the environment
            with http.get(home + "/here/page?x=1", timeout=5) as response:
                assert r.redirect_target(response, "GET", 0) == home + "/here/page?x=1"


# ---------------------------------------------------------------------- transport


def test_an_unreadable_or_refused_timeout_names_what_was_given():
    with pytest.raises(vc.ConfigurationError, match=r"got -1$"):
        t.normalize_timeout(-1)
    with pytest.raises(vc.ConfigurationError, match=r"got \(-1, 5\)$"):
        t.normalize_timeout((-1, 5))
    with pytest.raises(vc.ConfigurationError, match=r"got \(5, -1\)$"):
        t.normalize_timeout((5, -1))
    with pytest.raises(vc.ConfigurationError, match=r"^timeout must be positive seconds, got"):
        t.normalize_timeout(("abc", 5))


def test_a_refused_url_is_quoted_whole_up_to_120_characters():
    at_limit = "https://a@b.test/" + "x" * (120 - 17)
    assert len(at_limit) == 120
    with pytest.raises(vc.ConfigurationError) as info:
        t.parse(at_limit)
    assert repr(at_limit) in str(info.value)
    longer = at_limit + "y"
    with pytest.raises(vc.ConfigurationError) as info:
        t.parse(longer)
    assert repr(longer[:117] + "...") in str(info.value)


def test_user_info_is_refused_even_when_a_url_follows_in_the_query():
    with pytest.raises(vc.ConfigurationError, match="host part contains '@'"):
        t.parse("https://user@host.test/?next=http://b.test/")


def test_port_zero_is_refused():
    with pytest.raises(vc.ConfigurationError, match="port outside 1-65535"):
        t.parse("http://127.0.0.1:0/")


# ---------------------------------------------------------------------- redaction


def test_a_secret_inside_a_longer_one_does_not_unmask_the_rest():
    register_secret("mx4-inner-secret", "A9-outer-mx4-inner-secret")
    assert redact("see A9-outer-mx4-inner-secret.") == f"see {MASK}."


def test_six_characters_are_enough_to_register_a_secret():
    # fresh values: the registry is process-wide, and a forked test run inherits it
    six, five = secrets.token_hex(3), secrets.token_hex(3)[:5]
    register_secret(six, five)
    assert redact(f"a {six} b") == f"a {MASK} b"
    assert redact(f"a {five} b") == f"a {five} b"


def test_json_keeps_the_field_name_and_its_quotes():
    assert redact('{"password": "hunter2", "n": 1}') == '{"password": "***", "n": 1}'


def test_the_filtered_record_carries_no_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "pw=%s", ("s3cret",), None)
    assert _redact.RedactingFilter().filter(record) is True
    assert record.msg == f"pw={MASK}" and record.args is None


def test_install_log_filter_puts_the_filter_on_each_leaky_logger_once():
    loggers = [logging.getLogger(name) for name in _redact.LEAKY_LOGGERS]
    for logger in loggers:  # as before the package's import installed it
        logger.removeFilter(_redact._FILTER)
    _redact.install_log_filter()
    _redact.install_log_filter()
    assert [lg.filters.count(_redact._FILTER) for lg in loggers] == [1] * len(loggers)
    assert _redact._FILTER not in logging.getLogger().filters

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("urllib3.connectionpool")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("GET /u?access_token=%s", "leaked-value")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [r.getMessage() for r in records] == [f"GET /u?access_token={MASK}"]


# --------------------------------------------------- origins judged from the authority only


def test_an_origin_is_read_from_the_authority_not_from_what_follows():
    # a second "://" in the query, an "@" in the path: neither is the authority
    assert t.origin("https://h.example/x?next=http://evil.example/") == "https://h.example"
    assert t.origin("https://h.example/users/a@b.org") == "https://h.example"
    assert t.origin("HTTP://127.0.0.1:80/p#f") == "http://127.0.0.1"
    t.check_transport("https://h.example/users/a@b.org?q=http://x")  # no error


def test_a_full_url_with_an_at_sign_in_its_path_is_not_ambiguous():
    assert t.parse("https://h.example/users/a@b.org").host == "h.example"


def test_what_is_not_an_absolute_url_is_a_configuration_error():
    for bad in (None, 123, b"https://h.example/", "/relative/path"):
        with pytest.raises(vc.ConfigurationError, match="Not an absolute http"):
            t.origin(bad)  # type: ignore[arg-type]


def test_kept_verdicts_are_keyed_by_authority_never_by_a_whole_url():
    t.clear_verdicts()
    # a query holding a token, and a second "://" (a return address) after it
    url = "https://h.example/api/filelist?access_token=SECRET-IN-QUERY&back=https://h.example/"
    t.origin(url)
    t.check_transport(url)
    assert t._cached_origin.cache_info().currsize == 1
    assert t._cached_check_transport.cache_info().currsize == 1
    t.origin("https://h.example")  # the same authority: the verdict kept for the URL above
    t.check_transport("https://h.example")
    assert t._cached_origin.cache_info().hits == 1
    assert t._cached_check_transport.cache_info().hits == 1
