"""The login panel's widgets and how they look: built once, rendered for the panel's
state, with every label in the person's language. What the widgets *do* is
``_panel.LoginPanel``; the code flow's part is ``_panel_code``."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ipywidgets as w

from . import _credentials
from ._errors import VitalConnectError
from ._i18n import text
from ._listener import Listener
from ._panel_code import PROSE, CodeFlowPart
from ._panel_words import FIELD_ORDER, explain
from ._providers import providers
from ._redact import redact
from ._transport import is_loopback

if TYPE_CHECKING:  # pragma: no cover
    from ._options import Options
    from ._session import Session

CODE = "authorization_code"


class PanelView:
    """The widgets of a login panel and their rendering (the base of ``LoginPanel``)."""

    session: Session | None
    lang: str
    outcome: str | None
    code: CodeFlowPart
    _options: Options | None
    _lock: threading.RLock
    _mode: str
    _waiting: bool
    _switching: bool
    _shown_user: str | None
    _quiet: int
    _status_text: str

    def _t(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    def _build(self) -> None:
        t = self._t
        style = {"description_width": "12em"}
        layout = w.Layout(width="36em")
        self.title = w.HTML()
        self.provider_picker = w.Dropdown(
            options=provider_choices(),
            value=None,
            description=t("provider"),
            style=style,
            layout=layout,
        )
        self.grant_picker = w.Dropdown(
            options=[], description=t("grant"), style=style, layout=layout
        )
        self.fields: dict[str, w.Text] = {}
        for name in FIELD_ORDER:
            kind = w.Password if name in _credentials.SECRET else w.Text
            # continuous_update=False: the browser sends a field's value only on Enter or
            # when the field loses focus, never keystroke by keystroke (see _on_field).
            self.fields[name] = kind(
                description=t(f"field_{name}"),
                style=style,
                layout=layout,
                continuous_update=False,
            )
        self.login_button = w.Button(description=t("login"), button_style="primary")
        self.cancel_button = w.Button(description=t("cancel"))
        self.logout_button = w.Button(description=t("logout"))
        self.switch_button = w.Button(description=t("switch"))
        self.code = CodeFlowPart(self, style, layout)  # type: ignore[arg-type]  # a LoginPanel
        self.status = w.HTML()
        self.buttons = w.HBox()
        self.widget = w.VBox(layout=w.Layout(max_width="46em"))  # hints wrap, not sprawl
        # CSS classes, so a browser test (or a stylesheet) can find each part.
        for widget, css in (
            (self.title, "vc-title"),
            (self.provider_picker, "vc-provider"),
            (self.grant_picker, "vc-grant"),
            (self.login_button, "vc-login"),
            (self.cancel_button, "vc-cancel"),
            (self.logout_button, "vc-logout"),
            (self.switch_button, "vc-switch"),
            (self.complete_button, "vc-complete"),
            (self.signin_link, "vc-signin-link"),
            (self.hint, "vc-hint"),
            (self.countdown, "vc-countdown"),
            (self.paste, "vc-paste"),
            (self.status, "vc-status"),
            (self.widget, "vc-login-panel"),
        ):
            widget.add_class(css)
        for name, widget in self.fields.items():
            widget.add_class("vc-" + name.replace("_", "-"))

    @property
    def _listener(self) -> Listener | None:
        return self.code.listener

    def all_widgets(self) -> list[w.Widget]:
        """Every widget of the panel, shown or not (for checks on their state)."""
        return [
            self.widget,
            self.buttons,
            self.title,
            self.provider_picker,
            self.grant_picker,
            *self.fields.values(),
            self.login_button,
            self.cancel_button,
            self.logout_button,
            self.switch_button,
            *self.code.widgets(),
            self.status,
        ]

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            # Saved with the notebook and shown where widgets are not: no state that the
            # login would make stale ("waiting" in a file where the login succeeded).
            name = self.session.provider.name if self.session is not None else "vital_connect"
            bundle["text/plain"] = f"<vital_connect.LoginPanel {name}: open in Jupyter to log in>"
        return bundle

    def __repr__(self) -> str:
        session = self.session
        if session is None:
            return "<vital_connect.LoginPanel: no provider chosen>"
        if self.outcome in ("cancelled", "timed_out"):
            state = self.outcome.replace("_", " ")
        elif session.token is not None:
            state = f"logged in as {self._who(ask=False)!r} until {self._until()}"
        else:
            state = "waiting for a login"
        return redact(
            f"<vital_connect.LoginPanel {session.provider.name} grant={self.grant!r} {state}>"
        )

    @property
    def grant(self) -> str | None:
        """The grant chosen in the panel."""
        return self.grant_picker.value

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        return self._status_text

    @property
    def authorization_url(self) -> str | None:
        """The address behind the "Sign in" link (code flow), or None."""
        return self.code.authorization_url

    def _set_status(self, message: str, *, error: bool = False) -> None:
        message = redact(message)
        self._status_text = message
        body = html.escape(message)
        if error:
            body = f'<span class="vc-error" style="color:#b00020">{body}</span>'
        self.status.value = f"<div{PROSE}>{body}</div>"

    def _render(self) -> None:
        mode = self._mode
        rows: list[w.Widget] = [self.title]
        buttons: list[w.Widget] = []
        if self.session is None:
            heading = self._t("login")
        else:  # where it logs in (the real host or the sandbox); "Logged in" once it has
            key = "title_done" if mode == "done" else "title"
            heading = self._t(key, provider=self._provider_label(), where=self._where())
        self.title.value = f"<b>{html.escape(heading)}</b>"
        asking = mode in ("choose", "form", "code")
        if asking and self._options is not None:
            rows.append(self.provider_picker)
        if mode in ("form", "code") and len(self.grant_picker.options) > 1:
            rows.append(self.grant_picker)
        if mode == "form":
            rows += [self.fields[n] for n in self._field_names()]
            buttons.append(self.login_button)
            self.login_button.description = self._t("continue" if self.grant == CODE else "login")
        elif mode == "code":
            rows += [self.signin_link, self.hint, self.countdown, self.paste]
            buttons.append(self.complete_button)
        elif mode == "done":
            buttons += [self.logout_button, self.switch_button]
        if asking and (self._waiting or self._switching):
            buttons.append(self.cancel_button)
        self.buttons.children = tuple(buttons)
        if buttons:
            rows.append(self.buttons)
        rows.append(self.status)
        self.widget.children = tuple(rows)

    def _provider_label(self) -> str:
        assert self.session is not None
        p = self.session.provider
        return p.title or p.name

    def _where(self) -> str:
        """The host the session logs in to ("vitaldb.net"), or "sandbox at 127.0.0.1:PORT"
        for a loopback address, so nobody mistakes the sandbox for the real service."""
        assert self.session is not None
        url = self.session.base_url
        host = urlsplit(url).netloc.rpartition("@")[2] or url
        return self._t("where_sandbox", host=host) if is_loopback(url) else host

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The panel writes field values itself: the field observers must not take that for
        the person pressing Enter. Under the lock, so a real change from another thread waits
        until the write is over instead of being ignored."""
        with self._lock:
            self._quiet += 1
            try:
                yield
            finally:
                self._quiet -= 1

    def _explain(self, exc: BaseException) -> str:
        session = self.session
        return explain(
            exc,
            lang=self.lang,
            provider=self._provider_label() if session is not None else "",
            url=session.base_url if session is not None else "",
            grant=self.grant,
            env_prefix=session.provider.env_prefix if session is not None else "",
            server_names=session.dialect.field_names if session is not None else None,
        )

    def _creds(self) -> _credentials.Credentials:
        assert self.session is not None and self.session.auth is not None
        return self.session.auth.credentials.resolve()

    def _field_names(self) -> tuple[str, ...]:
        return _credentials.NEEDS.get(self.grant or "", ())

    def _logged_in_text(self) -> str:
        until = self._until()
        key = "logged_in" if until else "logged_in_no_expiry"
        return self._t(
            key, provider=self._provider_label(), where=self._where(), who=self._who(), until=until
        )

    def _who(self, *, ask: bool = True) -> str:
        """Who is logged in: the username typed, else the provider's userinfo (code flow,
        asked once per login), else the token's subject or the configured user."""
        session = self.session
        assert session is not None
        if self._shown_user:
            return self._shown_user
        token = session.token
        if ask and self.grant == CODE and session.provider.userinfo_path:
            try:
                info = session.userinfo()
            except (VitalConnectError, OSError):
                info = {}
            who = info.get("email") or info.get("name") or info.get("sub")
            if who:
                self._shown_user = str(who)  # asked once per login
                return str(who)
        return (token.sub if token else None) or session.user or "?"

    def _until(self) -> str:
        token = self.session.token if self.session else None
        if token is None or token.expires_at is None:
            return ""
        return token.expires_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")

    signin_link = property(lambda self: self.code.signin_link)

    hint = property(lambda self: self.code.hint)

    countdown = property(lambda self: self.code.countdown)

    paste = property(lambda self: self.code.paste)

    complete_button = property(lambda self: self.code.complete_button)


def provider_choices() -> list[tuple[str, str]]:
    """(label, name) per registered provider for the picker: its title, readable, with the
    name as the value; a title two providers share gets the name added to tell them apart."""
    table = providers()
    titles = [str(t or n) for t, n in zip(table["title"], table["name"], strict=True)]
    return [
        (title if titles.count(title) == 1 else f"{title} ({name})", str(name))
        for title, name in zip(titles, table["name"], strict=True)
    ]
