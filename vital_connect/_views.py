"""How a session looks in a notebook: provider, user, grant, valid until, base URL."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ._redact import redact

if TYPE_CHECKING:  # pragma: no cover
    from ._session import Session


def session_html(s: Session) -> str:
    """A small table for ``Session._repr_html_``; nothing secret (it is redacted too)."""
    token = s.token
    if s.anonymous:
        state = "anonymous (public data only)"
    elif token is None:
        state = "not logged in"
    elif not s.is_authenticated:
        state = "expired"
    elif token.expires_at is None:
        state = "logged in (no end time given)"
    else:
        state = "logged in until " + token.expires_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")
    where = s.base_url if s.api_url == s.base_url else f"{s.base_url} (data: {s.api_url})"
    rows = [
        ("provider", s.provider.title or s.provider.name),
        ("user", s.user or "—"),
        ("grant", s.grant or "—"),
        ("status", state),
        ("base URL", where),
    ]
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(redact(v))}</td></tr>"
        for k, v in rows
    )
    caption = "<caption style='text-align:left'><b>vital_connect.Session</b></caption>"
    return f"<table class='vc-session'>{caption}{cells}</table>"


def session_text(s: Session) -> str:
    """``repr(session)``: provider, grant, user, state, base URL; nothing secret."""
    if "auth" not in s.__dict__:  # seen half-made (a traceback of a failed __init__)
        return f"<vital_connect.Session {s.provider.name} (not connected)>"
    if s.anonymous:
        return f"<vital_connect.Session {s.provider.name} anonymous base_url={s.base_url!r}>"
    tok = s.token
    state = "logged out"
    if tok is not None:
        expires = tok.expires_at.isoformat(timespec="seconds") if tok.expires_at else "?"
        state = f"{'authenticated' if s.is_authenticated else 'expired'} until {expires}"
    return redact(
        f"<vital_connect.Session {s.provider.name} grant={s.grant!r} "
        f"user={s.user!r} {state} base_url={s.base_url!r}>"
    )
