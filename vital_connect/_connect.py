"""connect(): from a provider name to a logged-in Session, wherever the code runs."""

from __future__ import annotations

import locale
import os
import sys

from . import _credentials
from ._cache import FileCache, NoCache, make_cache
from ._errors import ConfigurationError, NotSupportedError
from ._providers import Provider, get_provider
from ._session import Session
from ._transport import Timeout

LANGS = ("en", "nl")


def default_lang() -> str:
    """``nl`` when the locale is Dutch, else ``en``."""
    for value in (os.environ.get("LC_ALL"), os.environ.get("LANG"), locale.getlocale()[0]):
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    return "en"


def check_lang(lang: str | None) -> str:
    if lang is None:
        return default_lang()
    code = str(lang).lower()[:2]
    if code not in LANGS:
        raise ConfigurationError(f"lang must be one of {LANGS}, got {lang!r}")
    return code


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a widget frontend may be attached)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def new_session(
    provider: str | Provider,
    *,
    base_url: str | None = None,
    grant: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    application_id: str | None = None,
    username: str | None = None,
    password: str | None = None,
    redirect_uri: str | None = None,
    env_file: str | os.PathLike[str] | None = None,
    cache: bool | FileCache | NoCache = True,
    timeout: Timeout | None = None,
    anonymous: bool = False,
    lang: str | None = None,
) -> Session:
    """A Session configured from the options, credentials resolved, not logged in yet
    (``connect()`` logs it in; the login panel waits for a person)."""
    p = get_provider(provider)
    explicit = {
        k: str(v)
        for k, v in {
            "base_url": base_url,
            "client_id": client_id,
            "client_secret": client_secret,
            "application_id": application_id,
            "username": username,
            "password": password,
            "redirect_uri": redirect_uri,
        }.items()
        if v not in (None, "")
    }
    creds = _credentials.resolve(p, explicit, env_file)
    lang = check_lang(lang)
    if grant is not None and grant not in p.grants:
        raise NotSupportedError(
            f"{p.name} has no {grant!r} grant; it offers: {', '.join(p.grants)}."
        )
    return Session(
        p,
        credentials=creds,
        grant=grant or _credentials.infer_grant(p, creds),
        explicit=explicit,
        env_file=env_file,
        cache=make_cache(False if anonymous else cache),
        timeout=timeout,
        anonymous=anonymous,
        lang=lang,
    )


def connect(
    provider: str | Provider,
    *,
    base_url: str | None = None,
    grant: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    application_id: str | None = None,
    username: str | None = None,
    password: str | None = None,
    redirect_uri: str | None = None,
    env_file: str | os.PathLike[str] | None = None,
    cache: bool | FileCache | NoCache = True,
    timeout: Timeout | None = None,
    widget: bool | None = None,
    wait: bool = True,
    anonymous: bool = False,
    lang: str | None = None,
) -> Session:
    """Connect to a provider and log in with whatever credentials are at hand.

    Credentials come from the arguments, then the process environment, then a ``.env``
    file (``VITALERA_CLIENT_ID``…). With none, a notebook shows the login panel, a
    terminal asks with ``getpass``, and anything else raises MissingCredentialsError.

    >>> import vital_connect as vc
    >>> with vc.sandbox.serve(port=0) as sb:
    ...     s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    ...     s.userinfo()["email"] == sb.credentials("vidaplus")["username"]
    True
    """
    session = new_session(
        provider,
        base_url=base_url,
        grant=grant,
        client_id=client_id,
        client_secret=client_secret,
        application_id=application_id,
        username=username,
        password=password,
        redirect_uri=redirect_uri,
        env_file=env_file,
        cache=cache,
        timeout=timeout,
        anonymous=anonymous,
        lang=lang,
    )
    if anonymous:
        return session
    if widget is not True and session._adopt_cached():
        return session
    chosen = session.grant
    usable = chosen is not None and session._credentials().has(*_credentials.NEEDS[chosen])
    if chosen == "authorization_code" and usable:
        # The code flow needs a person: the panel shows the link in a notebook; elsewhere
        # the caller opens s.authorization_url() and calls s.complete_login(...).
        if widget or (widget is None and in_notebook()):
            return _ask(session, widget=True, wait=wait)
        return session
    if usable and not widget:
        session._login({"grant": chosen}, remember=True)
        return session
    return _ask(session, widget=widget, wait=wait)


def _ask(session: Session, *, widget: bool | None, wait: bool) -> Session:
    """Ask a person: the panel in a notebook, getpass in a terminal, else raise."""
    if widget or (widget is None and in_notebook()):
        from ._panel import attach_panel

        return attach_panel(session, wait=wait)
    from ._interactive import ask_in_terminal, can_ask_in_terminal

    if widget is None and can_ask_in_terminal():
        return ask_in_terminal(session)
    raise _credentials.missing_error(session.provider, session._credentials(), session.grant)

