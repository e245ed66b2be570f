"""Hardening, round two: each finding of the adversarial review, against a real loopback
server (a scripted provider, and an attacker origin that records whatever reaches it)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
import zlib
from dataclasses import dataclass, field

import pytest
from dotenv import dotenv_values
from leakscan import reachable_texts
from loopback import TOKEN, FakeClock, json_response, serving, stop
from werkzeug.wrappers import Request, Response

import vital_connect as vc
from vital_connect import _auth, _http
from vital_connect.dialects.vitaldb import VitalDB
from vital_connect.dialects.vitalera import Vitalera

PASSWORD = "sbx-hardening-password-77"


@dataclass
class Origin:
    url: str
    hits: list[dict] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@pytest.fixture
def attacker():
    """An origin that is not the provider's: it records everything that reaches it."""
    hits: list[dict] = []

    def handle(request: Request) -> Response:
        hits.append(
            {
                "method": request.method,
                "path": request.full_path,
                "headers": dict(request.headers),
                "body": request.get_data(as_text=True),
            }
        )
        return json_response([{"planted": True}])

    with serving(handle) as url:
        yield Origin(url, hits)


@pytest.fixture
def scripted():
    """A provider whose answers each test scripts: ``routes[path] = handler``."""
    routes: dict[str, object] = {}
    seen: list[Request] = []

    def handle(request: Request) -> Response:
        seen.append(request)
        handler = routes.get(request.path)
        if handler is None:
            return json_response({"error": "not_found"}, 404)
        return handler if isinstance(handler, Response) else handler(request)

    with serving(handle) as url:
        origin = Origin(url)
        origin.routes = routes  # type: ignore[attr-defined]
        origin.seen = seen  # type: ignore[attr-defined]
        yield origin


def provider(url: str, name: str = "scripted", **fields) -> vc.Provider:
    p = vc.Provider(name=name, base_url=url, grants=("password",), token_path="/token", **fields)
    return vc.register_provider(p)


def login(url: str, **fields) -> vc.Session:
    provider(url, **fields)
    return vc.connect("scripted", username="u", password=PASSWORD, cache=False)


def redirect(to: str, status: int = 307) -> Response:
    return Response("", status, headers={"Location": to})


# ---------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_from_the_token_endpoint_is_never_followed(scripted, attacker, status):
    scripted.routes["/token"] = redirect(attacker.url + "/steal", status)
    with pytest.raises(vc.InsecureTransportError, match="redirect"):
        login(scripted.url)
    assert attacker.hits == []  # the password went nowhere else


def test_a_redirect_from_the_refresh_endpoint_is_never_followed(scripted, attacker):
    scripted.routes["/token"] = json_response({**TOKEN, "refresh_token": "r" * 20})
    scripted.routes["/refresh"] = redirect(attacker.url + "/steal", 308)
    provider(scripted.url, refresh_path="/refresh", dialect=Vitalera())
    s = vc.connect("scripted", username="u", password=PASSWORD, cache=False)
    s.refresh()  # the refresh is refused, the grant runs again at the provider's own endpoint
    assert attacker.hits == []
    assert [r.path for r in scripted.seen] == ["/token", "/refresh", "/token"]


def test_a_redirect_from_the_rotation_endpoint_is_never_followed(scripted, attacker):
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/rotate"] = redirect(attacker.url + "/steal", 307)
    provider(scripted.url, rotate_path="/rotate", dialect=Vitalera())
    s = vc.connect("scripted", username="u", password=PASSWORD, cache=False)
    with pytest.raises(vc.InsecureTransportError, match="not followed"):
        s.rotate_credentials("app-1")
    assert attacker.hits == []


def test_a_get_redirect_within_the_origin_is_followed_with_the_token(scripted):
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/old"] = redirect("/new", 301)
    scripted.routes["/new"] = lambda r: json_response([{"auth": r.headers.get("Authorization")}])
    s = login(scripted.url)
    df = s.get("/old")
    assert df.loc[0, "auth"] == f"Bearer {TOKEN['access_token']}"


@pytest.mark.parametrize("target", ["http://example.invalid/x", "https://example.invalid/x"])
def test_a_get_redirect_to_a_foreign_origin_raises_before_connecting(scripted, target):
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/data"] = redirect(target, 302)
    s = login(scripted.url)
    with pytest.raises(vc.InsecureTransportError, match="not one of the provider's origins"):
        s.get("/data")


def _vitaldb_session(scripted) -> vc.Session:
    """A password session on the scripted server, speaking VitalDB's dialect."""
    p = vc.Provider(
        name="scripted",
        base_url=scripted.url,
        grants=("password",),
        token_path="/oauth2/token",
        dialect=VitalDB(),
    )
    return vc.connect(p, username="u", password=PASSWORD, cache=False)


def test_vitaldb_query_token_is_kept_off_a_hop_to_the_dataset(scripted):
    token = "q" * 24
    scripted.routes["/oauth2/token"] = json_response({"access_token": token, "expires_in": 60})
    # the Web API redirects to a dataset path, even echoing the token: the hop gets none
    scripted.routes["/api/filelist"] = lambda r: redirect(f"/cases?access_token={token}", 302)
    scripted.routes["/cases"] = lambda r: Response(
        f"caseid,query\n1,{r.query_string.decode() or '-'}\n",
        headers={"Content-Type": "text/csv", "X-Auth": r.headers.get("Authorization", "-")},
    )
    s = _vitaldb_session(scripted)
    df = s.get("/api/filelist")
    assert df.loc[0, "query"] == "-"
    hop = scripted.seen[-1]
    assert (
        hop.path == "/cases"
        and "access_token" not in hop.args
        and "Authorization" not in hop.headers
    )


# ---------------------------------------------------------------------- URL parsing


def test_a_backslash_authority_in_base_url_is_refused(scripted, attacker):
    tricky = f"http://127.0.0.1:{attacker.port}\\@127.0.0.1:{scripted.port}"
    provider(scripted.url)
    with pytest.raises(vc.ConfigurationError, match="host part contains '@'"):
        vc.connect("scripted", base_url=tricky, username="u", password=PASSWORD, cache=False)
    assert attacker.hits == []  # urllib3 would have connected there, password in clear text


def test_a_backslash_authority_as_absolute_url_or_next_link_is_refused(scripted, attacker):
    tricky = f"http://127.0.0.1:{attacker.port}\\@127.0.0.1:{scripted.port}/x"
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/items"] = json_response({"count": 2, "results": [{"id": 1}], "next": tricky})
    s = login(scripted.url)
    with pytest.raises(vc.InsecureTransportError):
        s.get(tricky)
    with pytest.raises(vc.InsecureTransportError):
        s.get("/items")
    assert attacker.hits == []


def test_user_info_in_a_url_is_refused(scripted):
    provider(scripted.url)
    with pytest.raises(vc.ConfigurationError):
        vc.connect(
            "scripted",
            base_url=f"http://user@{scripted.url[7:]}",
            username="u",
            password=PASSWORD,
            cache=False,
        )


# ---------------------------------------------------------------------- sizes


def _bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join([*(z.compress(chunk) for _ in range(size >> 20)), z.flush()])


def test_a_decompression_bomb_as_content_coding_is_a_clear_error(scripted):
    bomb = _bomb(64 << 20)  # 64 MB of zeros in about 64 kB
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/data"] = Response(
        bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    s = login(scripted.url)
    s.max_bytes = 8 << 20
    with pytest.raises(vc.APIError) as info:
        s.get("/data")
    assert info.value.error_type == "too_large" and "s.max_bytes" in str(info.value)


def test_a_gzip_file_bomb_is_a_clear_error(scripted):
    token = "q" * 24
    scripted.routes["/oauth2/token"] = json_response({"access_token": token})
    scripted.routes["/api/filelist"] = Response(_bomb(64 << 20), content_type="application/x-gzip")
    s = _vitaldb_session(scripted)
    s.max_bytes = 8 << 20
    with pytest.raises(vc.APIError, match=r"json\.gz file is decompressed") as info:
        s.get("/api/filelist")
    assert info.value.error_type == "too_large"


def test_the_limit_is_generous_by_default_and_holds_for_downloads(scripted, tmp_path):
    assert vc.connect("vitaldb", anonymous=True).max_bytes >= 256 << 20  # wave tracks: tens of MB
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/big.bin"] = Response(
        b"x" * (3 << 20), content_type="application/octet-stream"
    )
    s = login(scripted.url)
    s.max_bytes = 1 << 20
    folder = tmp_path / "dl"
    folder.mkdir()
    with pytest.raises(vc.APIError, match="for a download"):
        s.download("/big.bin", to=folder)
    assert list(folder.iterdir()) == []


# ---------------------------------------------------------------------- hostile JSON


DEEP = "[" * 1_000_000 + "]" * 1_000_000


def test_json_nested_a_million_deep_is_a_clear_error(scripted):
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/data"] = Response(DEEP, content_type="application/json")
    scripted.routes["/bad"] = Response(
        '{"detail": ' + DEEP + "}", 400, content_type="application/json"
    )
    s = login(scripted.url)
    with pytest.raises(vc.APIError, match="not valid JSON"):
        s.get("/data")
    with pytest.raises(vc.APIError) as info:
        s.get("/bad")
    assert info.value.status_code == 400


@pytest.mark.parametrize(
    "answer",
    [
        '{"access_token": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"access_token": 12345678901234}',
        '{"access_token": "abcdefghijkl", "refresh_token": {"x": 1}}',
        '{"access_token": "abcdefghijkl", "expires_in": "soon"}',
        '{"access_token": "abcdefghijkl", "token_type": ["Bearer"]}',
        '["access_token"]',
    ],
)
def test_hostile_token_answers_are_clear_errors(scripted, answer):
    scripted.routes["/token"] = Response(answer, content_type="application/json")
    with pytest.raises(vc.APIError) as info:
        login(scripted.url)
    assert info.value.error_type in {"invalid_json", "invalid_token_response", "missing_token"}


def test_an_absurd_expiry_is_clamped(scripted):
    scripted.routes["/token"] = json_response({"access_token": "a" * 20, "expires_in": 1e300})
    s = login(scripted.url)
    years = (s.token.expires_at.timestamp() - time.time()) / (365 * 86400)
    assert 9 < years <= 10
    scripted.routes["/token"] = json_response({"access_token": "a" * 20, "expires_in": "3600.5"})
    assert 3590 < login(scripted.url).token.expires_in() <= 3601


# ---------------------------------------------------------------------- the token cache


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2]",
        '{"access_token": "abcdefgh", "expires_at": Infinity}',
        '{"access_token": "abcdefgh", "refresh_token": 42}',
        '{"access_token": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"access_token": "abcdefgh", "expires_at": 1e400}',
    ],
)
def test_a_cache_file_of_the_wrong_shape_is_ignored_with_a_warning(sb, isolated_user, content):
    creds = sb.credentials("vitalera")
    vc.connect("vitalera", **creds)
    (path,) = (isolated_user.parent / "cache").glob("*.json")
    path.write_text(content)
    with pytest.warns(vc.VitalConnectWarning, match="not a valid token file"):
        s = vc.connect("vitalera", **creds)
    assert s.is_authenticated


def test_an_unusable_cache_folder_is_a_warning_not_a_failed_login(sb, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VITAL_CONNECT_CACHE_DIR", str(blocker / "tokens"))
    with pytest.warns(vc.VitalConnectWarning, match="Not using the token cache"):
        s = vc.connect("vitalera", **sb.credentials("vitalera"))
    assert s.is_authenticated


def test_a_cache_folder_others_can_write_to_is_refused(sb, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    monkeypatch.setenv("VITAL_CONNECT_CACHE_DIR", str(shared))
    with pytest.warns(vc.VitalConnectWarning, match="can be written to by other users"):
        s = vc.connect("vitalera", **sb.credentials("vitalera"))
    assert s.is_authenticated and list(shared.iterdir()) == []


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_a_cache_folder_of_another_user_is_refused(sb, tmp_path, monkeypatch):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 4242, 4242)
    monkeypatch.setenv("VITAL_CONNECT_CACHE_DIR", str(theirs))
    with pytest.warns(vc.VitalConnectWarning, match="belongs to another user"):
        vc.connect("vitalera", **sb.credentials("vitalera"))
    assert list(theirs.iterdir()) == []


def test_the_rotation_fallback_never_goes_to_a_shared_folder(sb, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    monkeypatch.setenv("VITAL_CONNECT_CACHE_DIR", str(shared))
    with pytest.raises(vc.CredentialsNotSavedError, match="could not be saved anywhere") as info:
        s.rotate_credentials(env_file=tmp_path / "missing-folder" / ".env")
    assert info.value.fallback_path is None and list(shared.iterdir()) == []
    assert info.value.credentials["client_secret"].startswith("sbx-vitalera-secret-")


# ---------------------------------------------------------------------- the file lock


HOLD = textwrap.dedent(
    """
    import sys, time
    from filelock import FileLock
    with FileLock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def test_a_lock_held_too_long_by_another_kernel_is_our_error(sb, isolated_user, monkeypatch):
    monkeypatch.setattr(_auth, "LOCK_MARGIN", 0.0)
    s = vc.connect("vitalera", timeout=(0.2, 0.2), **sb.credentials("vitalera"))
    lock = next((isolated_user.parent / "cache").glob("*.json")).with_suffix(".lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(vc.TokenExpiredError, match="Another program sharing the token cache"):
            s.refresh()
    finally:
        stop(holder)
        holder.stdout.close()


def test_a_symlinked_lock_file_is_not_followed(sb, isolated_user, tmp_path):
    s = vc.connect("vitalera", **sb.credentials("vitalera"))
    lock = next((isolated_user.parent / "cache").glob("*.json")).with_suffix(".lock")
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    lock.unlink(missing_ok=True)
    lock.symlink_to(victim)
    with pytest.warns(vc.VitalConnectWarning, match="symbolic link"):
        s.refresh()
    assert victim.read_text() == "keep me" and s.is_authenticated


# ---------------------------------------------------------------------- .env rotation


def test_a_symlinked_env_file_is_written_through(sb, isolated_user, tmp_path):
    creds = sb.credentials("vitalera")
    target = tmp_path / "secrets" / "real.env"
    target.parent.mkdir()
    target.write_text(f"VITALERA_CLIENT_ID={creds['client_id']}  # from the portal\n")
    link = isolated_user / ".env"
    link.symlink_to(target)
    s = vc.connect("vitalera", cache=False, **creds)
    new = s.rotate_credentials(env_file=link)
    assert link.is_symlink()  # still a link, and its target holds the new values
    assert dotenv_values(target)["VITALERA_CLIENT_ID"] == new["client_id"]
    assert "# from the portal" in target.read_text()  # the line's comment kept


def test_rotated_values_with_a_line_break_never_reach_the_env_file(scripted, tmp_path):
    evil = "s3cret\nVITALERA_BASE_URL=https://evil.example"
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/rotate"] = json_response({"client_id": "new-id", "client_secret": evil})
    provider(scripted.url, rotate_path="/rotate", dialect=Vitalera())
    env = tmp_path / ".env"
    env.write_text("SCRIPTED_CLIENT_ID=old-id\n")
    s = vc.connect("scripted", username="u", password=PASSWORD, cache=False)
    with pytest.raises(vc.CredentialsNotSavedError, match="control characters") as info:
        s.rotate_credentials("app-1", env_file=env)
    assert env.read_text() == "SCRIPTED_CLIENT_ID=old-id\n"
    assert info.value.credentials["client_secret"] == evil  # nothing lost
    saved = dotenv_values(info.value.fallback_path)
    assert saved["SCRIPTED_CLIENT_SECRET"] == evil and "VITALERA_BASE_URL" not in saved
    assert stat.S_IMODE(os.stat(info.value.fallback_path).st_mode) == 0o600


# ---------------------------------------------------------------------- low


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "http://127.0.0.1:99999"},
        {"base_url": "http://["},
        {"timeout": 3.7e16},
        {"timeout": (1, float("inf"))},
    ],
)
def test_bad_options_are_configuration_errors(options):
    with pytest.raises(vc.ConfigurationError):
        vc.connect("vidaplus", username="u", password=PASSWORD, cache=False, **options)


def test_a_provider_of_bad_data_is_a_configuration_error():
    with pytest.raises(vc.ConfigurationError):
        vc.Provider(name=1.0, base_url="https://x.test", grants=("password",), token_path="/t")
    with pytest.raises(vc.ConfigurationError):
        vc.Provider(name="x", base_url=None, grants=("password",), token_path="/t")


def test_a_query_mentioning_a_url_is_not_refused(scripted):
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/x"] = lambda r: json_response([{"next": r.args.get("next")}])
    s = login(scripted.url)
    assert s.get("/x?next=http://a/").loc[0, "next"] == "http://a/"


def test_dot_segments_cannot_leave_the_base_path(sb):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    for path in ("../vitalera/api/plans/", "/pacientes/../../vitaldb/cases", "%2e%2e/x"):
        with pytest.raises(vc.InsecureTransportError, match="climbs out"):
            s.get(path)


def test_a_name_ending_in_localhost_is_not_loopback():
    with pytest.raises(vc.InsecureTransportError, match="plain http"):
        vc.connect(
            "vidaplus",
            base_url="http://evil.localhost:8765",
            username="u",
            password=PASSWORD,
            cache=False,
        )


def test_a_trickling_server_cannot_outlast_the_call_budget(scripted):
    def trickle(request):
        def body():
            for _ in range(200):
                time.sleep(0.05)
                yield b" "

        return Response(body(), headers={"Content-Length": "200"}, content_type="application/json")

    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/slow"] = trickle
    s = login(scripted.url)
    s.deadline = 0.5  # the socket timeout (60 s) never fires: a byte arrives every 50 ms
    with pytest.raises(vc.APIError, match="time budget") as info:
        s.get("/slow")
    assert info.value.error_type == "timeout"


def test_retry_after_waits_come_out_of_the_call_budget(scripted, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(_http, "CLOCK", clock)
    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/busy"] = Response("{}", 503, headers={"Retry-After": "3600"})
    s = login(scripted.url)
    s.deadline = 100
    with pytest.raises(vc.APIError) as info:
        s.get("/busy")
    assert clock.slept == [30.0, 30.0, 30.0]  # capped at 30 s, three retries: 90 s < 100 s
    assert info.value.status_code == 503
    clock.slept.clear()
    s.deadline = 45
    with pytest.raises(vc.APIError, match="time budget"):
        s.get("/busy")
    assert clock.slept == [30.0]  # the second wait would overrun the budget: it ends there


def test_an_endless_chain_of_next_links_is_stopped(scripted):
    n = {"page": 0}

    def endless(request):
        n["page"] += 1
        return json_response(
            {"results": [{"page": n["page"]}], "next": f"{scripted.url}/items?page={n['page'] + 1}"}
        )

    scripted.routes["/token"] = json_response(TOKEN)
    scripted.routes["/items"] = endless
    s = login(scripted.url)
    s.max_pages = 25
    with pytest.raises(vc.APIError, match="past 25 pages") as info:
        s.get("/items")
    assert info.value.error_type == "too_many_pages" and n["page"] == 26


def test_a_stray_redirect_does_not_use_up_the_code_flow_state(sb):
    s = vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb", grant="authorization_code"))
    url = s.authorization_url()
    assert not s.auth.flow.matches("http://127.0.0.1:8976/callback?state=bogus&code=x")
    from vital_connect._demo import fill_login_form

    landed = fill_login_form(url, vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD)
    assert s.auth.flow.matches(landed)
    s.complete_login(landed)
    assert s.is_authenticated


def test_oauthlib_insecure_transport_is_never_switched_on(scripted):
    seen = []

    class Watching(Vitalera):
        def fix_token_session(self, oauth, grant):
            def watch(url, headers, kwargs):
                seen.append(os.environ.get("OAUTHLIB_INSECURE_TRANSPORT"))
                return url, headers, kwargs

            oauth.register_compliance_hook("access_token_request", watch)

    scripted.routes["/token"] = json_response(TOKEN)
    provider(scripted.url, dialect=Watching())
    vc.connect("scripted", username="u", password=PASSWORD, cache=False)
    assert seen == [None]  # a plain-http loopback login, without the process-wide switch


# ---------------------------------------------------------------------- chains and locals


def _everything_reachable(exc: BaseException) -> str:
    return "\n".join(reachable_texts(exc, __file__, printed=False))


def test_no_secret_in_exception_chains_or_traceback_locals(sb):
    secrets = set(vc.sandbox.SECRETS)
    failures: list[BaseException] = []

    def fails(fn):
        try:
            fn()
        except vc.VitalConnectError as exc:
            failures.append(exc)
        else:
            pytest.fail(f"{fn} did not raise")

    creds = sb.credentials("vitalera", grant="password")
    s = vc.connect("vitalera", cache=False, **creds)
    secrets |= {s.token.access_token, s.token.refresh_token, s.token.id_token}
    fails(lambda: vc.connect("vitalera", cache=False, **(creds | {"password": "sbx-wrong-1"})))
    secrets.add("sbx-wrong-1")
    sb.fail_next(2, 401, path="/vitalera/api/plans/")
    s.auth.credentials.forget()
    s.auth.set_token(
        vc.Token(access_token=s.token.access_token, refresh_token="x" * 20), save=False
    )
    fails(lambda: s.get("/api/plans/"))
    sb.malformed_next(1, path="/vitalera/api/monitoreds/")
    d = vc.connect("vitalera", cache=False, **creds)
    secrets |= {d.token.access_token, d.token.refresh_token}
    fails(lambda: d.get("/api/monitoreds/"))
    sb.slow_next(4, delay=1.0, path="/vitalera/api/auth/tokens/")
    fails(lambda: vc.connect("vitalera", cache=False, timeout=(2, 0.3), **creds))
    sb.drop_next(4, path="/vitalera/api/plans/")
    fails(lambda: d.get("/api/plans/"))
    haystack = "\n".join(_everything_reachable(e) for e in failures)
    assert len(failures) == 5
    leaked = sorted(x[:12] for x in secrets if x and str(x) in haystack)
    assert leaked == []
    assert "eyJ" not in haystack
