"""Asking a person in a terminal (no widget frontend): getpass for secrets."""

from __future__ import annotations

import getpass
import sys

from . import _credentials
from ._session import Session

LABELS = {
    "client_id": "client id",
    "client_secret": "client secret",
    "username": "username",
    "password": "password",
    "redirect_uri": "redirect URI",
}


def can_ask_in_terminal() -> bool:
    stdin = sys.stdin
    return stdin is not None and stdin.isatty()


def ask_in_terminal(session: Session) -> Session:
    """Prompt for what the grant needs; typed values are used once and not kept."""
    auth = session.auth
    assert auth is not None
    provider = session.provider
    grant = auth.grant or next(g for g in provider.grants if g != "authorization_code")
    creds = auth.credentials.resolve()
    if grant == "authorization_code":
        print(f"Open this address, log in to {provider.name}, then paste where you land:")
        print(session.authorization_url())
        session.complete_login(input("Address after login: "))
        return session
    given: dict[str, str] = {"grant": grant}
    for name in _credentials.NEEDS[grant]:
        if creds.get(name):
            continue
        prompt = f"{provider.name} {LABELS[name]}: "
        given[name] = getpass.getpass(prompt) if name in _credentials.SECRET else input(prompt)
    auth.login(given, remember=False, resolved=creds)
    return session
