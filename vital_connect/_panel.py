"""The notebook login panel: ``vc.login_panel()`` and the panel ``connect()`` waits on.

An ipywidgets panel that asks only for what the chosen provider and grant need, reports
through a status line (an HTML widget, so it works and tests without a browser), and holds
no secret: password and secret fields are emptied the instant they are read, and the code
flow's pasted address too. ``connect()`` in a notebook calls :func:`attach_panel`, which
shows the panel and, with ``wait=True``, keeps the cell running with the panel live until
the person logged in or cancelled, so "Run All" stops at the login (``_waiting``).

The code flow's part (link, countdown, listener, paste) is ``_panel_code``; the messages
for errors are ``_panel_words``.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import ipywidgets as w

from . import _credentials
from ._errors import AuthenticationError, VitalConnectError
from ._i18n import check_lang, duration, text
from ._options import Options
from ._panel_view import PanelView
from ._panel_words import FIELD_ORDER
from ._providers import Provider
from ._redact import register_secret, secret
from ._session import Session
from ._waiting import wait_for

__all__ = ["FIELD_ORDER", "LoginPanel", "attach_panel", "login_panel"]

WAIT_TIMEOUT = 600.0  # seconds connect() waits for a person before raising
CODE = "authorization_code"


class LoginPanel(PanelView):
    """The login panel for one session (or, with a provider picker, the one chosen).

    ``.session`` is the session it logs in; ``.widget`` is the ipywidgets box, shown when
    the panel is the last expression of a cell or passed to ``display()``. Its ``repr``
    says who is logged in, never a secret.
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        options: Options | None = None,
        lang: str | None = None,
        listen_timeout: float | None = None,
    ) -> None:
        if session is None and options is None:
            raise TypeError("LoginPanel needs a session, or options for its provider picker")
        self.session: Session | None = session
        self.lang = session.lang if session is not None else check_lang(lang)
        self._options = options  # set: the panel has a provider picker
        self._lock = threading.RLock()
        self._done = threading.Event()
        self.outcome: str | None = None  # "logged_in", "cancelled" or "timed_out"
        self._mode = "choose"
        self._waiting = False
        self._switching = False
        self._previous: Session | None = None
        self._shown_user: str | None = None
        self._syncing = False
        self._quiet = 0  # > 0 while the panel itself writes field values (not the person)
        self._submitted = False  # a field's value just logged in: swallow the click behind it
        self._listen_timeout = WAIT_TIMEOUT if listen_timeout is None else listen_timeout
        self._status_text = ""
        self._build()
        self._wire()
        if session is not None:
            self._use_session(session)
        else:
            self._set_status(self._t("status_choose"))
        self._render()

    # ------------------------------------------------------------------ construction

    # the code flow's widgets, by the names the panel has always had

    # ------------------------------------------------------------------ display

    def _wire(self) -> None:
        """What each widget does when the person uses it."""
        self.provider_picker.observe(self._on_provider, names="value")
        self.grant_picker.observe(self._on_grant, names="value")
        for name, widget in self.fields.items():
            widget.observe(partial(self._on_field, name), names="value")
        self.login_button.on_click(self._on_login_click)
        self.cancel_button.on_click(self._on_cancel)
        self.logout_button.on_click(self._on_logout)
        self.switch_button.on_click(self._on_switch)

    # ------------------------------------------------------------------ sessions

    def _use_session(self, session: Session) -> None:
        """Show the panel for ``session``: logged in already (cache), or the form."""
        self.session = session
        provider = session.provider
        self._syncing = True
        try:
            names = [value for _, value in self.provider_picker.options]
            if self._options is not None and provider.name in names:
                self.provider_picker.value = provider.name
            grants = offered_grants(session)
            self.grant_picker.options = [(self._t(f"grant_{g}"), g) for g in grants]
            self.grant_picker.value = grants[0]
        finally:
            self._syncing = False
        self._prefill()
        if session.token is not None:
            self._show_logged_in()
        else:
            self._enter_grant()

    def _prefill(self) -> None:
        """Non-secret configured values in their fields; secrets never (a placeholder)."""
        creds = self._creds()
        with self._writing():
            for name, widget in self.fields.items():
                if name in _credentials.SECRET:
                    widget.value = ""
                    widget.placeholder = self._t("configured") if creds.get(name) else ""
                else:
                    widget.value = creds.get(name) or ""

    def _clear_secrets(self) -> None:
        with self._writing():
            for name in _credentials.SECRET:
                self.fields[name].value = ""
            self.paste.value = ""

    def _enter_grant(self) -> None:
        """The form for the chosen grant; the code flow's link at once when it can."""
        self.code.stop()
        self._clear_secrets()  # a hidden field must not keep what was typed for another grant
        if self.grant == CODE and self._creds().has(*_credentials.NEEDS[CODE]):
            self.code.start()
            return
        self._mode = "form"
        self._set_status(self._t("status_fill_code" if self.grant == CODE else "status_fill"))
        self._render()

    def _on_provider(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        with self._lock:
            self._submitted = False
            self.code.stop()
            try:
                session = Session.open(change["new"], self._options or Options())
            except VitalConnectError as exc:
                self._mode = "choose"
                self._set_status(self._explain(exc), error=True)
                self._render()
                return
            if not self._switching and session.auth is not None:
                session.auth.adopt_cached()
            self._use_session(session)

    def _on_grant(self, change: dict[str, Any]) -> None:
        if self._syncing or self.session is None:
            return
        with self._lock:
            self._submitted = False
            self._enter_grant()

    # ------------------------------------------------------------------ logging in

    # Enter submits. ipywidgets 8 deprecates Text.on_submit (a warning, an error in the
    # tests) and the frontend's "submit" message ("deprecated in widgets 7", widget_string.ts)
    # in favour of continuous_update=False plus observe("value"). The browser then sends a
    # field's value on its DOM "change" event: Enter, or the field losing focus, which the
    # kernel cannot tell apart. So a value arriving in the form's *last* field logs in only
    # when every field the grant needs is filled (tabbing away from half a form does
    # nothing), and the click that follows such a login is swallowed: clicking "Log in"
    # blurs the field first, so its value arrives just before the click - one login, not
    # two. Any other change of the form or event in between makes the next click count.

    def _on_field(self, name: str, change: dict[str, Any]) -> None:
        with self._lock:
            if self._quiet:
                return
            self._submitted = False
            names = self._field_names()
            last = names[-1] if names else None
            if self._mode != "form" or name != last or not str(change["new"]).strip():
                return
            if self._missing(self._typed()):
                return
            self._on_login()
            self._submitted = True

    def _on_login_click(self, _button: w.Button | None = None) -> None:
        with self._lock:
            if self._submitted:  # the last field's value, sent by this click's blur, did it
                self._submitted = False
                return
            if self._mode == "form":
                self._on_login()

    def _typed(self) -> dict[str, str]:
        return {n: self.fields[n].value for n in self._field_names()}

    def _missing(self, values: dict[str, str]) -> list[str]:
        """The needed fields neither typed nor configured."""
        creds = self._creds()
        return [n for n, v in values.items() if not v.strip() and not creds.get(n)]

    def _on_login(self) -> None:
        with self._lock:
            session, grant = self.session, self.grant
            if session is None or session.auth is None or grant is None:
                return
            needed = _credentials.NEEDS[grant]
            typed = {n: self.fields[n].value for n in needed}
            self._clear_secrets()  # the instant they are read (hidden ones too)
            register_secret(*(typed[n] for n in needed if n in _credentials.SECRET))
            values = {n: (v if n in _credentials.SECRET else v.strip()) for n, v in typed.items()}
            typed.clear()
            creds = self._creds()
            missing = self._missing(values)
            if missing:
                labels = self._t("and").join(self._t(f"field_{n}") for n in missing)
                self._set_status(self._t("err_missing", fields=labels), error=True)
                return
            if grant == CODE:
                self.code.keep_typed(values)
                self.code.start()
                return
            typed_user = values.get("username") if grant == "password" else None
            self.login_button.disabled = True
            self._set_status(self._t("busy", provider=self._provider_label(), where=self._where()))
            try:
                # Typed values are used once and not kept (the API's renewal rule).
                given = {"grant": grant, **{k: v for k, v in values.items() if v}}
                session.auth.login(given, remember=False, resolved=creds)
            except Exception as exc:  # shown in words, never as a traceback
                self._set_status(self._explain(exc), error=True)
                return
            finally:
                self.login_button.disabled = False
                values.clear()
            self._shown_user = typed_user or None
            self._show_logged_in()

    def _show_logged_in(self) -> None:
        self.code.stop()
        self.code.drop_typed()
        self._switching = False
        self._previous = None
        self._mode = "done"
        with self._writing():
            self.paste.value = ""
        self._set_status(self._logged_in_text())
        self._render()
        self.outcome = "logged_in"
        self._done.set()

    # ------------------------------------------------------------------ other buttons

    def _on_logout(self, _button: w.Button | None = None) -> None:
        with self._lock:
            self._submitted = False
            if self.session is None:
                return
            self.session.logout()
            self._shown_user = None
            self._done.clear()
            self.outcome = None
            self._prefill()
            self._enter_grant()
            self._set_status(self._t("logged_out", provider=self._provider_label()))

    def _on_switch(self, _button: w.Button | None = None) -> None:
        """Ask for another login; the current one holds until the new one succeeds."""
        with self._lock:
            self._submitted = False
            if self.session is None:
                return
            who = self._who()
            self._switching = True
            self._previous = self.session
            self._prefill()
            self._enter_grant()
            self._set_status(self._t("switching", who=who))

    def _on_cancel(self, _button: w.Button | None = None) -> None:
        with self._lock:
            self._submitted = False
            self.code.stop()
            self.code.drop_typed()
            self._clear_secrets()
            if self._switching and self._previous is not None:
                self._switching = False
                self._use_session(self._previous)
                return
            self._stop("cancelled", self._t("cancelled"))

    def _stop(self, outcome: str, message: str) -> None:
        """Nobody will log in through this panel any more (cancelled, timed out)."""
        with self._lock:
            if self.outcome == "logged_in":
                return
            self.code.stop()
            self.code.drop_typed()
            self.outcome = outcome
            self._mode = "stopped"
            self._set_status(message, error=outcome == "timed_out")
            self._render()
            self._done.set()

    def close(self) -> None:
        """Stop any listener and countdown, and close every widget."""
        with self._lock:
            self.code.stop()
            self.code.drop_typed()
        for widget in self.all_widgets():
            widget.close()


# ---------------------------------------------------------------------------- choices


def offered_grants(session: Session) -> list[str]:
    """The provider's grants, the one the panel starts with first: the grant asked for or
    the one the configured credentials allow, else the first that is not the code flow.
    Most VitalDB researchers have an id and password; the code flow needs an application
    (client id, secret and redirect address) configured, so it comes first only then."""
    grants = list(session.provider.grants)
    if session.grant in grants:
        first = session.grant
    else:
        first = next((g for g in grants if g != CODE), grants[0])
    return [first, *(g for g in grants if g != first)]


# ---------------------------------------------------------------------------- public API


def login_panel(provider: str | Provider | None = None, **options: Any) -> LoginPanel:
    """The login panel, to show in a notebook; ``.session`` is the session it logs in.

    With no ``provider`` it starts with a provider picker. The options are those of
    :func:`vital_connect.connect`. A token still in the cache shows as logged in.

        >>> import vital_connect as vc
        >>> panel = vc.login_panel("vidaplus", cache=False, lang="en")
        >>> panel
        <vital_connect.LoginPanel vidaplus grant='password' waiting for a login>
    """
    options = {k: (secret(v) if k in _credentials.SECRET else v) for k, v in options.items()}
    opts = Options.of(**options)
    if provider is None:
        return LoginPanel(options=opts, lang=opts.lang)
    session = Session.open(provider, opts)
    if session.auth is not None:
        session.auth.adopt_cached()
    return LoginPanel(session)


def attach_panel(session: Session, *, wait: bool = True, timeout: float | None = None) -> Session:
    """Show the panel for ``session``; with ``wait``, return only once it is logged in.

    While waiting, the kernel keeps processing widget events (``_waiting``), so the
    panel stays live and the cells after this one wait. Cancel, or nobody logging in within
    ``timeout`` seconds (default :data:`WAIT_TIMEOUT`), raises AuthenticationError.
    """
    limit = WAIT_TIMEOUT if timeout is None else float(timeout)
    panel = LoginPanel(session, listen_timeout=limit)
    panel._waiting = wait
    panel._render()
    _show(panel)
    if not wait:
        return session
    wait_for(panel._done.is_set, limit, panel.all_widgets())
    if panel.outcome == "logged_in":
        return session
    lang = panel.lang
    if panel.outcome is None:
        panel._stop("timed_out", text(lang, "timed_out", duration=duration(lang, limit)))
        if panel.outcome == "logged_in":  # the login won the race with the clock
            return session
    grant = session.grant if session.grant in _credentials.NEEDS else panel.grant
    variables = text(lang, "and").join(
        _credentials.env_name(session.provider, n) for n in _credentials.NEEDS.get(grant or "", ())
    )
    key = "raise_cancelled" if panel.outcome == "cancelled" else "raise_timeout"
    raise AuthenticationError(
        text(
            lang,
            key,
            provider=session.provider.name,
            duration=duration(lang, limit),
            variables=variables or "the credentials",
        )
    )


def _show(panel: LoginPanel) -> None:
    """Display the panel in the notebook (a seam: tests replace it to play the person)."""
    from IPython.display import display

    display(panel)
