"""Leak scan: every error path, the DEBUG log of full sessions and every repr, searched for
the seeded secrets and every token the sandbox issued. Expected hits: 0."""

from __future__ import annotations

import logging
import re

import pytest
from leakscan import reachable_texts

import vital_connect as vc
from vital_connect import _http
from vital_connect import sandbox as sbx
from vital_connect._demo import fill_login_form

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _error_texts(exc: BaseException) -> list[str]:
    return reachable_texts(exc, __file__)


def test_nothing_secret_anywhere(sb, monkeypatch, capsys):
    monkeypatch.setattr(_http, "BACKOFF_FACTOR", 0.0)
    handler = Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    texts: list[str] = []
    sessions: list[vc.Session] = []
    issued: set[str] = set()

    def keep(s: vc.Session) -> vc.Session:
        sessions.append(s)
        texts.extend([repr(s), str(s), repr(s.token), repr(s.auth.credentials.resolve())])
        for t in (s.token.access_token, s.token.refresh_token, s.token.id_token) if s.token else ():
            if t:
                issued.add(t)
        return s

    def expect_error(fn) -> None:
        try:
            fn()
        except vc.VitalConnectError as exc:
            texts.extend(_error_texts(exc))
        else:  # pragma: no cover - the scenario must fail
            pytest.fail(f"{fn} did not raise")

    try:
        # every grant, renewal and feature
        a = keep(vc.connect("vitalera", **sb.credentials("vitalera")))
        a.get("/api/plans/")
        a.refresh()
        keep(a)
        rotated = a.rotate_credentials()
        texts.append(repr(rotated))
        issued.add(rotated["client_secret"])
        b = keep(vc.connect("vitalera", **sb.credentials("vitalera", grant="password")))
        b.refresh()
        keep(b)
        b.validate()
        c = keep(vc.connect("vidaplus", **sb.credentials("vidaplus")))
        c.get("/pacientes/")
        d = keep(vc.connect("vitaldb", **sb.credentials("vitaldb")))
        d.userinfo()
        d.get("/oauth2/userinfo")
        code_creds = sb.credentials("vitaldb", grant="authorization_code")
        e = vc.connect("vitaldb", cache=False, **code_creds)
        landed = fill_login_form(e.authorization_url(), sbx.VITALDB_USERNAME, sbx.VITALDB_PASSWORD)
        e.complete_login(landed)
        keep(e)
        issued.add(landed.split("code=")[1].split("&")[0])

        # every error path
        creds = sb.credentials("vitalera", grant="password")
        wrong = creds | {"password": "sbx-wrong-pw-1"}
        expect_error(lambda: vc.connect("vitalera", cache=False, **wrong))
        old = sb.credentials("vitalera") | {
            "client_id": sbx.VITALERA_CLIENT_ID,
            "client_secret": sbx.VITALERA_CLIENT_SECRET,
        }
        expect_error(lambda: vc.connect("vitalera", cache=False, **old))  # rotated away
        wrong = sb.credentials("vidaplus") | {"password": "x" * 9}
        expect_error(lambda: vc.connect("vidaplus", cache=False, **wrong))
        expect_error(lambda: b.get("/api/plans/", params={"page": 1000}))
        sb.fail_next(1, status=500, path="/vitalera/api/plans/")
        expect_error(lambda: b.get("/api/plans/"))
        sb.html_next(4, status=502, path="/vitalera/api/plans/")
        expect_error(lambda: b.get("/api/plans/"))
        sb.malformed_next(1, path="/vitaldb/oauth2/userinfo")
        expect_error(d.userinfo)
        sb.slow_next(3, delay=1.0, path="/vitaldb/oauth2/userinfo")
        d.timeout = (2.0, 0.3)
        expect_error(d.userinfo)
        sb.drop_next(4, path="/vitaldb/oauth2/userinfo")
        expect_error(d.userinfo)
        sb.fail_next(2, status=401, path="/vitaldb/oauth2/userinfo")
        d.auth.credentials.forget()
        expect_error(d.userinfo)
        expect_error(lambda: e.complete_login(landed))
        expect_error(lambda: b.get("https://elsewhere.example/x"))
        expect_error(
            lambda: vc.connect(
                "vitaldb",
                base_url="http://vitaldb.example",
                **{k: v for k, v in sb.credentials("vitaldb").items() if k != "base_url"},
            )
        )
        # a redirect to another origin that would carry the token in its query
        from loopback import json_response, serving

        def provider(request):
            if request.path == "/token":
                return json_response({"access_token": "sbx-redirect-token-9f8e7d6c"})
            target = "http://localhost:1/x?access_token=sbx-redirect-token-9f8e7d6c"
            return json_response(None, 302, Location=target)

        with serving(provider) as home:
            vc.register_provider(
                vc.Provider(
                    name="redirecting", base_url=home, grants=("password",), token_path="/token"
                )
            )
            r = vc.connect("redirecting", username="u", password="sbx-redirect-pw-1", cache=False)
            issued.update({"sbx-redirect-token-9f8e7d6c", "sbx-redirect-pw-1"})
            expect_error(lambda: r.get("/data"))
        for s in sessions:
            texts.append(repr(s))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)

    texts.extend(handler.lines)
    haystack = "\n".join(texts)
    needles = set(sbx.SECRETS) | issued | {"sbx-wrong-pw-1"}
    hits = sorted({n[:12] + "…" for n in needles if n and n in haystack})
    jwts = JWT.findall(haystack)
    with capsys.disabled():
        print(
            f"\nleak scan: {len(needles)} secrets/tokens searched in {len(texts)} texts "
            f"({len(handler.lines)} DEBUG log lines) -> {len(hits) + len(jwts)} hits"
        )
    assert len(handler.lines) > 50  # the DEBUG log was really captured
    assert not hits
    assert not jwts
