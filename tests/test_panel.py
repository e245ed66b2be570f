"""The login panel, driven without a browser: set widget values, click buttons, read the
status line, against the real sandbox."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import types
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import vital_connect as vc
from vital_connect import _i18n, _listener, _panel, _waiting
from vital_connect._demo import fill_login_form
from vital_connect._panel import LoginPanel, attach_panel, login_panel

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def widget_state(panel: LoginPanel) -> str:
    return json.dumps([w.get_state() for w in panel.all_widgets()], default=str)


def assert_nothing_secret(panel: LoginPanel, *secrets: str) -> None:
    """No secret in any widget's state nor the panel's repr; no token either."""
    blob = widget_state(panel) + repr(panel) + str(panel._repr_mimebundle_()["text/plain"])
    for secret in (*secrets, *vc.sandbox.SECRETS):
        assert secret not in blob
    assert not JWT.search(blob)
    token = panel.session.token if panel.session else None
    if token is not None:
        assert token.access_token not in blob
    for name in ("password", "client_secret"):
        assert panel.fields[name].value == ""
    assert panel.paste.value == ""


def shown(panel: LoginPanel) -> list:
    """The widgets the panel shows now (buttons flattened)."""
    out = []
    for child in panel.widget.children:
        out += list(child.children) if child is panel.buttons else [child]
    return out


def log_in(panel: LoginPanel, **values: str) -> None:
    for name, value in values.items():
        panel.fields[name].value = value
    panel.login_button.click()


def user_fields(creds: dict) -> dict:
    return {k: v for k, v in creds.items() if k in _panel.FIELD_ORDER}


def sandbox_at(sb) -> str:
    """How the panel names the sandbox: "sandbox at 127.0.0.1:PORT"."""
    return f"sandbox at {urlsplit(sb.base_url('vidaplus')).netloc}"


def token_requests(sb) -> list:
    return [r for r in sb.requests if r.method == "POST" and "token" in r.path]


def browser_sends(widget, value: str) -> None:
    """What the frontend does when the person presses Enter in a field (or leaves it):
    with ``continuous_update=False`` it sends the field's value in an update message."""
    widget._handle_msg(
        {"content": {"data": {"method": "update", "state": {"value": value}}}, "buffers": []}
    )


# ---------------------------------------------------------------------- every grant


GRANTS = [
    ("vitalera", "client_credentials"),
    ("vitalera", "password"),
    ("vidaplus", "password"),
    ("vitaldb", "password"),
]


@pytest.mark.parametrize(("provider", "grant"), GRANTS)
def test_log_in_with_every_grant(sb, provider, grant):
    creds = sb.credentials(provider, grant=grant)
    panel = login_panel(provider, base_url=creds["base_url"], cache=False, lang="en")
    panel.grant_picker.value = grant
    assert [w for w in shown(panel) if w in panel.fields.values()] == [
        panel.fields[n] for n in vc._credentials.NEEDS[grant]
    ]
    assert panel.status_text == "Fill in the fields, then press Enter or click “Log in”."
    assert (
        panel.title.value == f"<b>Log in to {panel.session.provider.title} ({sandbox_at(sb)})</b>"
    )

    log_in(panel, **user_fields(creds))

    s = panel.session
    assert s.is_authenticated and s.grant == grant
    assert panel.outcome == "logged_in"
    who = creds.get("username") or creds["client_id"]
    assert panel.status_text.startswith(
        f"Logged in to {s.provider.title} ({sandbox_at(sb)}) as {who} until "
    )
    # The heading no longer asks to log in: it says where the session is logged in.
    assert panel.title.value == f"<b>Logged in to {s.provider.title} ({sandbox_at(sb)})</b>"
    assert panel.logout_button in shown(panel) and panel.switch_button in shown(panel)
    assert panel.login_button not in shown(panel)
    assert f"logged in as {who!r}" in repr(panel)
    assert_nothing_secret(panel)
    # Typed into the panel: used once, not kept (renewal asks again).
    assert s.auth.credentials.resolve().get("password") is None
    assert s.auth.credentials.resolve().get("client_secret") is None


def test_logged_in_session_gets_data(sb):
    creds = sb.credentials("vidaplus")
    panel = login_panel("vidaplus", base_url=creds["base_url"], cache=False)
    log_in(panel, username=creds["username"], password=creds["password"])
    df = panel.session.get("/pacientes/")
    assert len(df) > 0 and "id" in df.columns


@pytest.mark.parametrize(
    ("provider", "grant", "field", "expected"),
    [
        ("vitalera", "client_credentials", "client_secret", "the client ID or client secret"),
        ("vitalera", "password", "password", "the username or password is wrong"),
        ("vidaplus", "password", "password", "the username or password is wrong"),
        ("vitaldb", "password", "password", "the username or password is wrong"),
    ],
)
def test_wrong_credentials_are_said_in_words(sb, provider, grant, field, expected):
    creds = sb.credentials(provider, grant=grant)
    panel = login_panel(provider, base_url=creds["base_url"], cache=False, lang="en")
    panel.grant_picker.value = grant
    wrong = {**user_fields(creds), field: "sbx-wrong-Zq81"}

    log_in(panel, **wrong)

    assert expected in panel.status_text
    assert "Traceback" not in panel.status_text and "vc-error" in panel.status.value
    assert panel.session.token is None and panel.outcome is None
    assert panel.login_button in shown(panel) and not panel.login_button.disabled
    assert_nothing_secret(panel, "sbx-wrong-Zq81")
    # The form still works: the right secret now logs in.
    log_in(panel, **{field: creds[field]})
    assert panel.session.is_authenticated


def test_a_secret_typed_for_another_grant_is_cleared(sb):
    panel = login_panel("vitalera", base_url=sb.base_url("vitalera"), cache=False)
    panel.grant_picker.value = "client_credentials"
    panel.fields["client_secret"].value = "sbx-half-typed-secret"
    panel.grant_picker.value = "password"  # the client secret field is hidden now
    assert panel.fields["client_secret"].value == ""
    assert_nothing_secret(panel, "sbx-half-typed-secret")


def test_missing_field_is_named_before_anything_is_sent(sb):
    panel = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False)
    sb.clear_requests()
    log_in(panel, username="someone@example.org")
    assert panel.status_text == "Fill in: Password."
    assert sb.requests == []


def test_a_422_names_the_fields_the_server_rejected(sb):
    # A provider whose token request has the wrong shape for the server: vidaplus's real
    # endpoint (FastAPI) gets a JSON body, sees no form fields and answers 422 with its list.
    from vital_connect._providers import VIDAPLUS
    from vital_connect.dialects import vidaplus, vitalera

    class JsonVidaplus(vidaplus.Vidaplus):  # vidaplus' errors, vitalera's JSON token body
        fix_token_session = vitalera.Vitalera.fix_token_session

    odd = vc.Provider(
        name="vidaplus-json",
        title="VidaPlus JSON",
        base_url=sb.base_url("vidaplus"),
        grants=("password",),
        token_path=VIDAPLUS.token_path,
        dialect=JsonVidaplus(),
    )
    panel = login_panel(odd, cache=False, lang="en")
    creds = sb.credentials("vidaplus")
    log_in(panel, username=creds["username"], password=creds["password"])
    assert panel.status_text == (
        "VidaPlus JSON did not accept these fields: Username (Field required); "
        "Password (Field required). Correct them and try again."
    )
    assert_nothing_secret(panel)

    nl = login_panel(odd, cache=False, lang="nl")
    log_in(nl, username=creds["username"], password=creds["password"])
    assert nl.status_text.startswith("VidaPlus JSON accepteerde deze velden niet: Gebruikersnaam")


def test_a_422_without_field_details(sb):
    panel = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False, lang="en")
    sb.fail_next(1, 422, path="/vidaplus/auth/token/")
    creds = sb.credentials("vidaplus")
    log_in(panel, username=creds["username"], password=creds["password"])
    assert panel.status_text == (
        "VidaPlus API did not accept the request (HTTP 422). Check the fields and try again."
    )


def test_server_down(sb):
    url = f"http://127.0.0.1:{free_port()}/vidaplus"
    panel = login_panel("vidaplus", base_url=url, cache=False, lang="en", timeout=2)
    log_in(panel, username="a@b.test", password="sbx-down-password")
    assert panel.status_text == (
        f"Cannot reach VidaPlus API at {url}: the server may be down, or the address is "
        "wrong. Try again later."
    )
    assert_nothing_secret(panel, "sbx-down-password")


def test_server_error(sb):
    panel = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False, lang="en")
    sb.fail_next(1, 500, path="/vidaplus/auth/token/")
    log_in(panel, **user_fields(sb.credentials("vidaplus")))
    assert panel.status_text == "VidaPlus API answered with an error (HTTP 500). Try again later."


# ---------------------------------------------------------------------- connect() waits


def play(monkeypatch, act):
    """Replace the display seam: ``act(panel)`` plays the person in another thread."""
    panels: list[LoginPanel] = []

    def show(panel):
        panels.append(panel)
        threading.Timer(0.1, act, args=(panel,)).start()

    monkeypatch.setattr(_panel, "_show", show)
    return panels


def test_connect_waits_for_the_panel_then_returns_logged_in(sb, monkeypatch):
    creds = sb.credentials("vidaplus")
    panels = play(monkeypatch, lambda p: log_in(p, **user_fields(creds)))
    s = vc.connect("vidaplus", base_url=creds["base_url"], cache=False, widget=True)
    assert s.is_authenticated and panels[0].session is s
    assert s.get("/pacientes/").shape[0] > 0


def test_cancel_raises_a_clear_error(sb, monkeypatch):
    panels = play(monkeypatch, lambda p: p.cancel_button.click())
    with pytest.raises(vc.AuthenticationError) as info:
        vc.connect(
            "vidaplus", base_url=sb.base_url("vidaplus"), cache=False, lang="en", widget=True
        )
    msg = str(info.value)
    assert "cancelled" in msg and "Run the cell again" in msg
    assert "VIDAPLUS_USERNAME and VIDAPLUS_PASSWORD" in msg
    assert panels[-1].outcome == "cancelled" and panels[-1].status_text == "Login cancelled."


def test_cancel_button_only_while_someone_waits(sb):
    panel = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False)
    assert panel.cancel_button not in shown(panel)


def test_timeout_raises_and_stops_the_panel(sb, monkeypatch):
    panels = play(monkeypatch, lambda p: None)  # nobody comes
    s = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False, lang="nl").session
    with pytest.raises(vc.AuthenticationError, match=r"Niemand heeft binnen 0\.3 seconden"):
        attach_panel(s, wait=True, timeout=0.3)
    panel = panels[0]
    assert panel.outcome == "timed_out"
    assert (
        panel.status_text
        == "Niemand heeft binnen 0.3 seconden ingelogd: dit paneel wacht niet meer."
    )
    assert panel.login_button not in shown(panel)


def test_wait_false_returns_at_once_and_logs_in_later(sb, monkeypatch):
    panels: list[LoginPanel] = []
    monkeypatch.setattr(_panel, "_show", panels.append)
    creds = sb.credentials("vidaplus")
    s = vc.connect("vidaplus", base_url=creds["base_url"], cache=False, widget=True, wait=False)
    assert s.token is None
    log_in(panels[0], **user_fields(creds))
    assert s.is_authenticated


def test_waiting_outside_a_kernel_uses_a_plain_sleep():
    assert _waiting.current_kernel() is None
    flag = threading.Event()
    threading.Timer(0.1, flag.set).start()
    assert _waiting.wait_for(flag.is_set, 5)
    assert not _waiting.wait_for(lambda: False, 0.1)


class FakeSubshells:
    """ipykernel 7's subshell manager, as far as the panel uses it."""

    def __init__(self):
        self.created, self.deleted = [], []
        self._shell_channel_io_loop = self  # add_callback runs at once

    def add_callback(self, fn, *args):
        fn(*args)

    def _create_subshell(self):
        self.created.append("sub-1")
        return "sub-1"

    def _delete_subshell(self, subshell_id):
        self.deleted.append(subshell_id)


def test_waiting_in_an_ipykernel_7_kernel_routes_the_panel_to_a_subshell(sb, monkeypatch):
    # ipykernel 7.4 has no do_one_iteration (jupyter-ui-poll 1.1.0 then does nothing): the
    # panel's comm messages go to a subshell while the cell waits, and come back after.
    manager = FakeSubshells()
    kernel = types.SimpleNamespace(shell_channel_thread=types.SimpleNamespace(manager=manager))
    monkeypatch.setattr(_waiting, "current_kernel", lambda: kernel)
    creds = sb.credentials("vidaplus")
    seen = {}

    def act(panel):
        comm = panel.login_button.comm
        seen["route"] = comm._reply_subshell_for({}, None)
        log_in(panel, **user_fields(creds))

    panels = play(monkeypatch, act)
    s = vc.connect("vidaplus", base_url=creds["base_url"], cache=False, widget=True)
    assert s.is_authenticated and seen["route"] == "sub-1"
    assert manager.created == manager.deleted == ["sub-1"]
    assert "_reply_subshell_for" not in vars(panels[0].login_button.comm)


def test_a_kernel_that_cannot_wait_says_so(monkeypatch):
    monkeypatch.setattr(_waiting, "current_kernel", lambda: object())
    with pytest.raises(vc.NotSupportedError, match="wait=False"):
        _waiting.wait_for(lambda: False, 1)


# ---------------------------------------------------------------------- after the login


def test_log_out(sb):
    creds = sb.credentials("vitalera", grant="password")
    panel = login_panel("vitalera", base_url=creds["base_url"], grant="password", cache=False)
    log_in(panel, **user_fields(creds))
    panel.logout_button.click()
    assert panel.session.token is None
    assert panel.status_text == "Logged out of vitalera platform API."
    assert panel.login_button in shown(panel) and panel.logout_button not in shown(panel)
    assert panel.fields["username"].value == ""  # typed, so not kept
    assert "waiting for a login" in repr(panel)


def test_switch_to_another_grant_and_user(sb):
    cc = sb.credentials("vitalera")
    pw = sb.credentials("vitalera", grant="password")
    panel = login_panel("vitalera", base_url=cc["base_url"], cache=False, lang="en")
    log_in(panel, **user_fields(cc))
    first = panel.session.token

    panel.switch_button.click()
    assert panel.status_text == (
        f"Still logged in as {cc['client_id']}. Log in as someone else, or click “Cancel”."
    )
    assert panel.session.token is first and panel.cancel_button in shown(panel)
    panel.cancel_button.click()  # changed my mind: the first login stays
    assert panel.session.token is first and panel.status_text.startswith("Logged in")

    panel.switch_button.click()
    panel.grant_picker.value = "password"
    log_in(panel, **user_fields(pw))
    assert panel.session.grant == "password"
    assert panel.session.token is not first
    assert panel.status_text.startswith(
        f"Logged in to vitalera platform API ({sandbox_at(sb)}) as {pw['username']}"
    )
    assert_nothing_secret(panel)


def test_provider_picker_and_switching_provider(sb, monkeypatch):
    # One base_url per provider: the sandbox serves each under its own path.
    monkeypatch.setenv("VIDAPLUS_BASE_URL", sb.base_url("vidaplus"))
    monkeypatch.setenv("VITALDB_BASE_URL", sb.base_url("vitaldb"))
    panel = login_panel(cache=False, lang="en")
    assert panel.session is None and panel.status_text == "Choose a provider to log in to."
    assert panel.provider_picker in shown(panel) and panel.login_button not in shown(panel)
    # Readable names, the provider's name as the value.
    table = vc.providers()
    assert set(panel.provider_picker.options) == set(zip(table["title"], table["name"]))
    assert ("VitalDB", "vitaldb") in panel.provider_picker.options
    assert "no provider chosen" in repr(panel)

    panel.provider_picker.value = "vidaplus"
    assert panel.grant_picker not in shown(panel)  # vidaplus has a single grant
    log_in(panel, **user_fields(sb.credentials("vidaplus")))
    vidaplus = panel.session
    assert vidaplus.provider.name == "vidaplus" and vidaplus.is_authenticated

    panel.switch_button.click()
    panel.provider_picker.value = "vitaldb"
    assert panel.grant_picker in shown(panel)
    panel.grant_picker.value = "password"
    log_in(panel, **user_fields(sb.credentials("vitaldb", grant="password")))
    assert panel.session.provider.name == "vitaldb" and panel.session.is_authenticated
    assert panel.status_text.startswith(
        f"Logged in to VitalDB ({sandbox_at(sb)}) as sbx_researcher until "
    )


# ---------------------------------------------------------------------- languages


def test_every_message_exists_in_both_languages_and_differs():
    assert _i18n.EN.keys() == _i18n.NL.keys()
    same = [k for k in _i18n.EN if _i18n.EN[k] == _i18n.NL[k]]
    assert same == []


def labels(panel: LoginPanel) -> list[str]:
    out = []
    for w in panel.all_widgets():
        for trait in ("description", "placeholder"):
            value = getattr(w, trait, "")
            if value and value != "\u200b":  # ipywidgets' empty placeholder
                out.append(value)
    out += [label for label, _ in panel.grant_picker.options]
    out.append(panel.status_text)
    return out


@pytest.mark.parametrize("provider", ["vitalera", "vitaldb"])
def test_every_label_differs_between_english_and_dutch(sb, monkeypatch, provider):
    monkeypatch.setenv(f"{provider.upper()}_CLIENT_SECRET", "sbx-configured-secret")
    en = login_panel(provider, base_url=sb.base_url(provider), cache=False, lang="en")
    nl = login_panel(provider, base_url=sb.base_url(provider), cache=False, lang="nl")
    pairs = list(zip(labels(en), labels(nl), strict=True))
    assert pairs and all(a != b for a, b in pairs), pairs
    assert en.title.value != nl.title.value


def test_language_follows_the_locale(sb, monkeypatch):
    monkeypatch.setenv("LC_ALL", "nl_NL.UTF-8")
    panel = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False)
    assert panel.lang == "nl" and panel.login_button.description == "Inloggen"


def test_dutch_logged_in_and_errors(sb):
    creds = sb.credentials("vidaplus")
    panel = login_panel("vidaplus", base_url=creds["base_url"], cache=False, lang="nl")
    log_in(panel, username=creds["username"], password="sbx-wrong-pw")
    assert panel.status_text.startswith("VidaPlus API weigerde het inloggen")
    log_in(panel, password=creds["password"])
    assert panel.status_text.startswith(
        f"Ingelogd bij VidaPlus API (sandbox op {urlsplit(creds['base_url']).netloc}) als "
        f"{creds['username']} tot "
    )
    assert panel.logout_button.description == "Uitloggen"


# ---------------------------------------------------------------------- VitalDB code flow


def code_flow_panel(sb, monkeypatch=None, *, port: int | None = None, **options) -> LoginPanel:
    creds = sb.credentials("vitaldb", grant="authorization_code")
    creds["redirect_uri"] = f"http://127.0.0.1:{port or free_port()}/callback"
    creds.update(options)
    return login_panel("vitaldb", cache=False, lang="en", **creds)


def sign_in(panel: LoginPanel) -> str:
    """Play the person on the sandbox's login page; the address the browser is sent to."""
    return fill_login_form(
        panel.authorization_url, vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD
    )


def test_code_flow_completes_through_the_one_shot_server(sb):
    panel = code_flow_panel(sb)
    assert panel.grant == "authorization_code"
    assert panel.status_text == "Click the link to sign in."
    assert 'target="_blank"' in panel.signin_link.value
    assert "completes the login by itself" in panel.hint.value
    assert panel.countdown.value == "A code from this link lasts 3 minutes: 3:00 left."
    url = panel.authorization_url
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert len(state) >= 32
    listener = panel._listener
    host, port = listener.address

    # Anything but the callback path is not the redirect, and leaves it listening.
    assert requests.get(f"http://{host}:{port}/favicon.ico", timeout=5).status_code == 404

    landed = sign_in(panel)
    assert urlsplit(landed).port == port
    page = requests.get(landed, timeout=10)

    assert page.status_code == 200 and "You are logged in to VitalDB" in page.text
    assert panel.session.is_authenticated and panel.outcome == "logged_in"
    assert panel.status_text.startswith(
        f"Logged in to VitalDB ({sandbox_at(sb)}) as {vc.sandbox.VITALDB_EMAIL} until "
    )
    listener.thread.join(timeout=5)
    assert not listener.thread.is_alive()
    with pytest.raises(requests.ConnectionError):  # one shot: the port is closed again
        requests.get(landed, timeout=2)
    assert panel.signin_link.value == "" and panel.countdown.value == ""
    assert_nothing_secret(panel, parse_qs(urlsplit(landed).query)["code"][0])


def test_code_flow_by_pasting_on_a_remote_kernel(sb, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/someone/")
    panel = code_flow_panel(sb)
    assert panel._listener is None
    assert "paste it below" in panel.hint.value
    first = panel.authorization_url

    panel.complete_button.click()
    assert panel.status_text == "Paste the address first."
    panel.paste.value = "http://127.0.0.1:1/callback?state=abc"
    panel.complete_button.click()
    assert panel.status_text == "That address has no login code in it. Paste the whole address."
    assert panel.authorization_url == first  # the state was not used up by a bad paste
    assert panel.paste.value == ""

    # An address from an older link: refused, and a fresh link is offered.
    stale = sign_in(panel).replace("state=", "state=x")
    panel.paste.value = stale
    panel.complete_button.click()
    assert panel.status_text.startswith("That address belongs to an older sign-in")
    assert panel.authorization_url != first

    landed = sign_in(panel)
    panel.paste.value = landed
    panel.complete_button.click()
    assert panel.session.is_authenticated
    assert panel.status_text.startswith(f"Logged in to VitalDB ({sandbox_at(sb)}) as ")
    assert_nothing_secret(panel, parse_qs(urlsplit(landed).query)["code"][0])


def test_code_flow_when_the_port_is_taken(sb):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        panel = code_flow_panel(sb, port=busy.getsockname()[1])
        assert panel._listener is None
        assert "Could not wait for the sign-in at 127.0.0.1:" in panel.hint.value
        panel.paste.value = sign_in(panel)
        panel.complete_button.click()
    assert panel.session.is_authenticated


def test_code_flow_with_client_fields_typed_in_the_panel(sb):
    creds = sb.credentials("vitaldb", grant="authorization_code")
    panel = login_panel("vitaldb", base_url=creds["base_url"], cache=False, lang="en")
    assert panel.grant == "password"  # no application configured: id/password first
    panel.grant_picker.value = "authorization_code"
    assert panel.login_button.description == "Continue"
    assert [w for w in shown(panel) if w in panel.fields.values()] == [
        panel.fields[n] for n in ("client_id", "client_secret", "redirect_uri")
    ]
    redirect = f"http://127.0.0.1:{free_port()}/cb"
    log_in(
        panel,
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        redirect_uri=redirect,
    )
    assert panel.fields["client_secret"].value == ""
    assert panel.status_text == "Click the link to sign in."
    assert_nothing_secret(panel)

    requests.get(sign_in(panel), timeout=10)
    assert panel.session.is_authenticated
    # The typed secret was held in memory for the exchange only.
    assert panel.session.auth.credentials.resolve().get("client_secret") is None


def test_code_flow_wrong_password_on_the_login_page_never_reaches_the_panel(sb):
    panel = code_flow_panel(sb)
    with pytest.raises(RuntimeError, match="not a redirect"):
        fill_login_form(panel.authorization_url, vc.sandbox.VITALDB_USERNAME, "wrong")
    assert panel.status_text == "Click the link to sign in."


def test_code_flow_error_redirect_is_said_in_words(sb):
    panel = code_flow_panel(sb)
    host, port = panel._listener.address
    state = parse_qs(urlsplit(panel.authorization_url).query)["state"][0]
    page = requests.get(
        f"http://{host}:{port}/callback?error=access_denied&state={state}", timeout=5
    )
    assert page.status_code == 400 and "did not work" in page.text
    assert panel.status_text == "VitalDB refused the login. Sign in again."
    # Still listening, with a fresh link: the next sign-in completes.
    requests.get(sign_in(panel), timeout=10)
    assert panel.session.is_authenticated


def test_countdown_renews_the_link_when_time_is_up(sb, monkeypatch):
    from vital_connect.dialects.vitaldb import VITALDB

    monkeypatch.setattr(VITALDB, "code_lifetime", 1.5)
    panel = code_flow_panel(sb)
    first = panel.authorization_url
    deadline = time.monotonic() + 5
    while panel.authorization_url == first and time.monotonic() < deadline:
        time.sleep(0.1)
    assert panel.authorization_url not in (first, None)
    assert panel.status_text.startswith("The time is up, so the link was renewed")
    panel.close()


def test_proxied_callback_address(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "jupyter_server_proxy" else real(name, *a),
    )
    hub = "https://hub.example.org/user/me/proxy/8976/callback"
    assert _listener.listen_address(hub) == ("127.0.0.1", 8976, "/callback", True)
    absolute = "https://hub.example.org/user/me/proxy/absolute/8976/user/me/cb"
    assert _listener.listen_address(absolute) == (
        "127.0.0.1",
        8976,
        "/user/me/proxy/absolute/8976/user/me/cb",
        True,
    )
    assert _listener.listen_address("https://example.org/callback") is None
    assert _listener.listen_address("http://localhost:9000/x") == ("localhost", 9000, "/x", False)


# ---------------------------------------------------------------------- secrets and repr


def test_configured_secrets_never_reach_a_widget(sb, monkeypatch):
    creds = sb.credentials("vitalera")
    monkeypatch.setenv("VITALERA_CLIENT_ID", creds["client_id"])
    monkeypatch.setenv("VITALERA_CLIENT_SECRET", creds["client_secret"])
    panel = login_panel("vitalera", base_url=creds["base_url"], cache=False, lang="en")
    assert panel.fields["client_id"].value == creds["client_id"]
    assert panel.fields["client_secret"].placeholder == "(configured: leave empty to use it)"
    assert_nothing_secret(panel)
    panel.login_button.click()  # the configured secret is used
    assert panel.session.is_authenticated
    assert_nothing_secret(panel)


def test_a_cached_token_shows_as_logged_in(sb):
    creds = sb.credentials("vidaplus")
    first = login_panel("vidaplus", base_url=creds["base_url"])  # cache on: a tmp dir
    log_in(first, **user_fields(creds))
    again = login_panel("vidaplus", base_url=creds["base_url"], lang="en")
    assert again.session.is_authenticated and again.outcome == "logged_in"
    assert again.status_text.startswith(f"Logged in to VidaPlus API ({sandbox_at(sb)}) as ")
    assert_nothing_secret(again)


def test_repr_and_mimebundle(sb):
    panel = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False)
    bundle = panel._repr_mimebundle_()
    # the saved fallback text says nothing the login would make stale
    assert bundle["text/plain"] == "<vital_connect.LoginPanel vidaplus: open in Jupyter to log in>"
    assert "waiting" in repr(panel)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    panel.fields["password"].value = "sbx-typed-not-yet-sent"
    assert "sbx-typed-not-yet-sent" not in repr(panel)


def test_panel_needs_a_session_or_a_picker():
    with pytest.raises(TypeError):
        LoginPanel()
    with pytest.raises(vc.NotSupportedError):
        login_panel("vidaplus", grant="client_credentials", cache=False)


def test_close_stops_the_listener(sb):
    panel = code_flow_panel(sb)
    listener = panel._listener
    panel.close()
    listener.thread.join(timeout=5)
    assert not listener.thread.is_alive()


# ---------------------------------------------------------------------- Enter, where, who


ENTER_GRANTS = [
    ("vidaplus", "password"),
    ("vitalera", "client_credentials"),
    ("vitaldb", "password"),
]


@pytest.mark.parametrize(("provider", "grant"), ENTER_GRANTS)
def test_enter_in_the_last_field_logs_in_once(sb, provider, grant):
    creds = sb.credentials(provider, grant=grant)
    panel = login_panel(provider, base_url=creds["base_url"], grant=grant, cache=False, lang="en")
    # Nothing goes to the kernel keystroke by keystroke: only on Enter or leaving the field.
    assert all(not f.continuous_update for f in panel.fields.values())
    first, last = vc._credentials.NEEDS[grant]
    sb.clear_requests()

    browser_sends(panel.fields[first], creds[first])  # Enter (or Tab) in the first field
    assert token_requests(sb) == [] and panel.session.token is None

    browser_sends(panel.fields[last], creds[last])  # Enter in the last one: logs in
    assert panel.session.is_authenticated and panel.outcome == "logged_in"
    assert panel.status_text.startswith(f"Logged in to {panel.session.provider.title} (")
    assert_nothing_secret(panel)
    assert panel.session.auth.credentials.resolve().get(last) is None  # used once, not kept

    # Clicking "Log in" sends the field's value (its blur) just before the click: the
    # click behind a login that value started is not a second login.
    panel.login_button.click()
    assert len(token_requests(sb)) == 1
    assert panel.status_text.startswith("Logged in to ")


def test_leaving_half_a_form_does_not_log_in(sb):
    creds = sb.credentials("vidaplus")
    panel = login_panel("vidaplus", base_url=creds["base_url"], cache=False, lang="en")
    sb.clear_requests()
    # The password typed first, then Tab back to the empty username: nothing is sent.
    browser_sends(panel.fields["password"], creds["password"])
    assert sb.requests == [] and panel.session.token is None
    assert panel.status_text == "Fill in the fields, then press Enter or click “Log in”."
    browser_sends(panel.fields["username"], creds["username"])  # not the last field
    assert sb.requests == []
    panel.login_button.click()  # the button logs in, once
    assert panel.session.is_authenticated and len(token_requests(sb)) == 1
    assert_nothing_secret(panel)


def test_a_click_behind_a_failed_enter_keeps_the_error(sb):
    creds = sb.credentials("vidaplus")
    panel = login_panel("vidaplus", base_url=creds["base_url"], cache=False, lang="en")
    sb.clear_requests()
    browser_sends(panel.fields["username"], creds["username"])
    browser_sends(panel.fields["password"], "sbx-wrong-Enter-1")
    wrong = panel.status_text
    assert "the username or password is wrong" in wrong
    panel.login_button.click()  # the same gesture's click: not "Fill in: Password"
    assert panel.status_text == wrong and len(token_requests(sb)) == 1
    # A new password, then the button: its blur sends the value, which logs in; once.
    browser_sends(panel.fields["password"], creds["password"])
    panel.login_button.click()
    assert panel.session.is_authenticated and len(token_requests(sb)) == 2
    assert_nothing_secret(panel, "sbx-wrong-Enter-1")


def test_after_logout_the_button_counts_again(sb, monkeypatch):
    creds = sb.credentials("vidaplus")
    monkeypatch.setenv("VIDAPLUS_USERNAME", creds["username"])
    monkeypatch.setenv("VIDAPLUS_PASSWORD", creds["password"])
    sb.clear_requests()
    panel = login_panel("vidaplus", base_url=creds["base_url"], cache=False, lang="en")
    # The configured username is written into its field by the panel: not an Enter.
    assert panel.fields["username"].value == creds["username"] and token_requests(sb) == []
    browser_sends(panel.fields["password"], creds["password"])
    assert panel.session.is_authenticated
    panel.logout_button.click()
    panel.login_button.click()  # the configured password, by the button alone
    assert panel.session.is_authenticated and len(token_requests(sb)) == 2


def test_enter_in_the_paste_field_completes_the_code_flow(sb, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/someone/")
    panel = code_flow_panel(sb)
    assert not panel.paste.continuous_update
    browser_sends(panel.paste, "http://127.0.0.1:1/callback?state=abc")
    assert panel.status_text == "That address has no login code in it. Paste the whole address."
    panel.complete_button.click()  # the click behind it: the message stays
    assert panel.status_text.startswith("That address has no login code")

    landed = sign_in(panel)
    browser_sends(panel.paste, landed)
    assert panel.session.is_authenticated
    assert panel.status_text.startswith(f"Logged in to VitalDB ({sandbox_at(sb)}) as ")
    panel.complete_button.click()
    assert panel.status_text.startswith("Logged in to VitalDB")
    assert_nothing_secret(panel, parse_qs(urlsplit(landed).query)["code"][0])


def test_a_drive_by_callback_does_not_spoil_the_login(sb):
    panel = code_flow_panel(sb)
    link = panel.authorization_url
    host, port = panel._listener.address
    for query in ("state=bogus&code=forged", "code=forged", "error=access_denied&state=x"):
        page = requests.get(f"http://{host}:{port}/callback?{query}", timeout=5)
        assert page.status_code == 400 and "older sign-in" in page.text
    # Nothing changed for the person: same link (its state not used up), same status.
    assert panel.authorization_url == link
    assert panel.status_text == "Click the link to sign in." and panel.session.token is None
    page = requests.get(sign_in(panel), timeout=10)  # their genuine redirect
    assert page.status_code == 200 and panel.session.is_authenticated


def test_vitaldb_offers_id_and_password_first(sb, monkeypatch):
    url = sb.base_url("vitaldb")
    panel = login_panel("vitaldb", base_url=url, cache=False, lang="en")
    assert [v for _, v in panel.grant_picker.options] == ["password", "authorization_code"]
    assert panel.grant == "password" and panel.signin_link.value == ""
    assert [w for w in shown(panel) if w in panel.fields.values()] == [
        panel.fields["username"],
        panel.fields["password"],
    ]
    # An application without a redirect address is not enough for the code flow.
    code = sb.credentials("vitaldb", grant="authorization_code")
    monkeypatch.setenv("VITALDB_CLIENT_ID", code["client_id"])
    monkeypatch.setenv("VITALDB_CLIENT_SECRET", code["client_secret"])
    assert login_panel("vitaldb", base_url=url, cache=False).grant == "password"
    # The whole application configured: the code flow first, its link at once.
    monkeypatch.setenv("VITALDB_REDIRECT_URI", f"http://127.0.0.1:{free_port()}/cb")
    panel = login_panel("vitaldb", base_url=url, cache=False, lang="en")
    assert [v for _, v in panel.grant_picker.options] == ["authorization_code", "password"]
    assert panel.authorization_url is not None
    panel.close()


def test_the_heading_names_the_real_host_or_the_sandbox(sb):
    real = login_panel("vitaldb", cache=False, lang="en")  # nothing is sent before a login
    assert real.title.value == "<b>Log in to VitalDB (vitaldb.net)</b>"
    nl = login_panel("vidaplus", cache=False, lang="nl")
    assert nl.title.value == "<b>Inloggen bij VidaPlus API (api.vidaplus.com)</b>"
    local = login_panel("vidaplus", base_url=sb.base_url("vidaplus"), cache=False, lang="nl")
    assert local.title.value == (
        f"<b>Inloggen bij VidaPlus API (sandbox op {urlsplit(sb.base_url('vidaplus')).netloc})</b>"
    )


def test_provider_picker_labels_two_providers_of_one_title_apart():
    for name in ("acme-eu", "acme-us"):
        vc.register_provider(
            vc.Provider(name=name, title="Acme", base_url="https://acme.test", grants=("password",),
                        token_path="/token")
        )  # fmt: skip
    options = login_panel(cache=False).provider_picker.options
    assert ("Acme (acme-eu)", "acme-eu") in options and ("Acme (acme-us)", "acme-us") in options
