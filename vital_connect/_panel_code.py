"""The login panel's code-flow part (VitalDB): the "Sign in" link, its countdown, the
one-shot listener that catches the redirect on a local kernel, and the paste field that
always works (Binder, JupyterHub: the kernel is elsewhere)."""

from __future__ import annotations

import html
import re
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import ipywidgets as w

from ._errors import VitalConnectError
from ._i18n import clock, duration
from ._listener import Listener, listen_address

# An HTML widget's lines are a control's height apart: text that wraps needs prose spacing.
PROSE = ' style="line-height:1.4;margin:0.3em 0"'

if TYPE_CHECKING:  # pragma: no cover
    from ._panel import LoginPanel


class CodeFlowPart:
    """Everything the panel shows and runs for the authorization-code flow."""

    def __init__(self, panel: LoginPanel, style: dict[str, str], layout: w.Layout) -> None:
        self.panel = panel
        t = panel._t
        self.signin_link = w.HTML()
        self.hint = w.HTML()
        self.countdown = w.Label()
        # Enter in the paste field completes the login, as the form's last field logs in
        # (continuous_update=False + observe: see LoginPanel._on_field for why not on_submit).
        self.paste = w.Text(
            description=t("field_paste"),
            placeholder=t("paste_placeholder"),
            style=style,
            layout=layout,
            continuous_update=False,
        )
        self.paste.observe(self.on_paste, names="value")
        self.complete_button = w.Button(description=t("complete"), button_style="primary")
        self.complete_button.on_click(self.on_complete_click)
        self._submitted = False  # the pasted value just completed: swallow the click behind it
        self.listener: Listener | None = None
        self._stop: threading.Event | None = None
        self._link_made = 0.0
        self._typed: list[str] = []  # client fields typed for this flow, held until it ends

    def widgets(self) -> list[w.Widget]:
        return [self.signin_link, self.hint, self.countdown, self.paste, self.complete_button]

    @property
    def authorization_url(self) -> str | None:
        match = re.search(r'href="([^"]+)"', self.signin_link.value)
        return html.unescape(match.group(1)) if match else None

    # ------------------------------------------------------------------ typed values

    def keep_typed(self, values: dict[str, str]) -> None:
        # complete_login() reads the session's credentials, so values typed for the code
        # flow are held like arguments (memory only) until the login completes, then dropped.
        session = self.panel.session
        assert session is not None and session.auth is not None
        kept = {k: v for k, v in values.items() if v}
        session.auth.credentials.give(kept)
        self._typed += list(kept)

    def drop_typed(self) -> None:
        session = self.panel.session
        if session is not None and session.auth is not None and self._typed:
            session.auth.credentials.forget(*self._typed)
        self._typed = []

    # ------------------------------------------------------------------ the link

    def start(self) -> None:
        """A fresh link (new state), a listener where one can work, and the countdown."""
        self.stop()
        panel = self.panel
        session = panel.session
        assert session is not None and session.auth is not None
        try:
            self.new_link()
        except VitalConnectError as exc:
            panel._mode = "form"
            panel._set_status(panel._explain(exc), error=True)
            panel._render()
            return
        redirect_uri = session.auth.credentials.resolve().get("redirect_uri") or ""
        target = listen_address(redirect_uri)
        hint = panel._t("hint_paste")
        if target is not None:
            host, port, path, proxied = target
            try:
                self.listener = Listener(
                    host,
                    port,
                    path,
                    self.on_redirect,
                    panel._listen_timeout,
                    page_title=panel._t("page_title"),
                )
            except OSError as exc:
                where = f"{host}:{port}"
                reason = exc.strerror or type(exc).__name__
                hint = panel._t("listen_failed", address=where, reason=reason) + " " + hint
            else:
                hint = panel._t("hint_listening")
                if proxied:
                    hint += " " + panel._t("hint_proxy", path=urlsplit(redirect_uri).path)
        self.hint.value = f"<div{PROSE}><small>{html.escape(hint)}</small></div>"
        stop = threading.Event()
        self._stop = stop
        threading.Thread(
            target=self._tick, args=(stop,), name="vital-connect-countdown", daemon=True
        ).start()
        panel._mode = "code"
        panel._set_status(panel._t("status_signin"))
        panel._render()

    def lifetime(self) -> float:
        """How long a code from the link lives (the provider's dialect knows)."""
        session = self.panel.session
        return session.dialect.code_lifetime if session is not None else 600.0

    def new_link(self) -> None:
        panel = self.panel
        assert panel.session is not None
        url = panel.session.authorization_url()
        label = panel._t("signin", provider=panel._provider_label())
        # A link that looks like one (the theme's link colour, underlined, a pointer) and
        # opens in a new tab. Styled inline: JupyterLab shows a bare <a> in a widget as
        # plain text (its colour, no underline; seen in the browser test's Chromium).
        self.signin_link.value = (
            f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener" '
            'class="vc-signin" style="color:var(--jp-content-link-color,#1a73e8);'
            "text-decoration:underline;cursor:pointer;font-weight:bold;font-size:1.1em"
            f'">{html.escape(label)} ↗</a>'
        )
        self._link_made = time.monotonic()
        lifetime = self.lifetime()
        self.countdown.value = panel._t(
            "countdown", lifetime=duration(panel.lang, lifetime), left=clock(lifetime)
        )

    def _tick(self, stop: threading.Event) -> None:
        """Update the countdown each second; at zero, a new link with a fresh state."""
        panel = self.panel
        deadline = time.monotonic() + panel._listen_timeout
        while not stop.wait(1.0):
            with panel._lock:
                if stop.is_set():
                    return
                if time.monotonic() > deadline:  # an abandoned panel: stop ticking
                    self.countdown.value = ""
                    return
                lifetime = self.lifetime()
                left = lifetime - (time.monotonic() - self._link_made)
                if left <= 0:
                    try:
                        self.new_link()
                    except VitalConnectError:
                        return
                    panel._set_status(panel._t("link_renewed"))
                    continue
                self.countdown.value = panel._t(
                    "countdown", lifetime=duration(panel.lang, lifetime), left=clock(left)
                )

    def stop(self) -> None:
        self._submitted = False
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        self.signin_link.value = ""  # the link's state is single use: don't leave it about
        self.countdown.value = ""

    # ------------------------------------------------------------------ coming back

    def on_paste(self, change: dict[str, Any]) -> None:
        """The pasted address arrived (Enter, or the field lost focus): complete with it."""
        panel = self.panel
        with panel._lock:
            if panel._quiet:
                return
            self._submitted = False
            if panel._mode != "code" or not str(change["new"]).strip():
                return
            self.on_complete()
            self._submitted = True

    def on_complete_click(self, _button: Any = None) -> None:
        with self.panel._lock:
            if self._submitted:  # the paste, sent by this click's blur, already completed
                self._submitted = False
                return
            if self.panel._mode == "code":
                self.on_complete()

    def on_complete(self, _button: Any = None) -> None:
        panel = self.panel
        with panel._writing():
            url = self.paste.value.strip()
            self.paste.value = ""  # it carries the code: cleared the instant it is read
        with panel._lock:
            if not url:
                panel._set_status(panel._t("err_paste_empty"), error=True)
                return
            query = parse_qs(urlsplit(url).query) or parse_qs(urlsplit(url).fragment)
            if "code" not in query and "error" not in query:
                # Checked here, before complete_login() would use up the link's state.
                panel._set_status(panel._t("err_no_code"), error=True)
                return
            self.complete(url)

    def on_redirect(self, url: str) -> tuple[bool, str]:
        """Called by the one-shot server with the address the browser was sent to."""
        panel = self.panel
        with panel._lock:
            session = panel.session
            if session is None or session.auth is None or not session.auth.flow.matches(url):
                # Not this login's state (a stray or forged request): the state is not used
                # up, so the person's own sign-in still completes.
                return False, panel._t("page_failed", reason=panel._t("err_state"))
            if self.complete(url):
                return True, panel._t("page_ok", provider=panel._provider_label())
            return False, panel._t("page_failed", reason=panel.status_text)

    def complete(self, url: str) -> bool:
        panel = self.panel
        assert panel.session is not None
        panel._set_status(panel._t("busy", provider=panel._provider_label(), where=panel._where()))
        try:
            panel.session.complete_login(url)
        except Exception as exc:  # shown in words, never as a traceback
            message = panel._explain(exc)
            try:  # the state is used up either way: offer a fresh link
                self.new_link()
            except VitalConnectError:
                pass
            panel._set_status(message, error=True)
            return False
        panel._shown_user = None
        panel._show_logged_in()
        return True
