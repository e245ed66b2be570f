"""connect(): from a provider name to a logged-in Session, wherever the code runs.

Shaped like huggingface_hub's login: credentials given or configured are used; with none,
a notebook shows the login panel, a terminal asks with ``getpass``, anything else raises
MissingCredentialsError naming the variables to set.
"""

from __future__ import annotations

import os
from typing import Any

from . import _credentials
from ._options import Options
from ._providers import Provider
from ._redact import secret
from ._session import Session
from ._waiting import in_notebook


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
    cache: Any = True,
    timeout: float | tuple[float, float] | None = None,
    widget: bool | None = None,
    wait: bool = True,
    anonymous: bool = False,
    lang: str | None = None,
) -> Session:
    """Connect to a provider and log in with whatever credentials are at hand.

    Credentials come from the arguments, then the process environment, then a ``.env``
    file (``VITALERA_CLIENT_ID``…). With none, a notebook shows the login panel, a
    terminal asks with ``getpass``, and anything else raises MissingCredentialsError.
    ``cache`` is True (tokens on disk, 0600, and VitalDB's public dataset files, so a
    cohort is downloaded once), False (nothing on disk) or a token cache object.

    >>> import vital_connect as vc
    >>> with vc.sandbox.serve(port=0) as sb:
    ...     s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    ...     s.userinfo()["sub"] == sb.credentials("vidaplus")["username"]
    True
    """
    # held as Secret strings from here on: this frame's locals show '***' in a traceback
    password, client_secret = secret(password), secret(client_secret)
    # every option as given (their names and types are Options' fields: a test keeps the
    # two equal), the anonymous session's cache too: it says whether dataset files are kept
    given = {name: value for name, value in locals().items() if name != "provider"}
    options = Options(**given)
    return connect_with(provider, options)


def connect_with(provider: str | Provider, options: Options) -> Session:
    """:func:`connect` with its options already made (the CLI and the panel use this)."""
    session = Session.open(provider, options)
    auth = session.auth
    if auth is None:  # anonymous: the open dataset
        return session
    widget = options.widget
    if widget is not True and auth.adopt_cached():
        return session
    chosen = auth.grant
    creds = session._creds
    usable = chosen is not None and creds is not None and creds.has(*_credentials.NEEDS[chosen])
    if chosen == "authorization_code" and usable:
        # The code flow needs a person: the panel shows the link in a notebook; elsewhere
        # the caller opens s.authorization_url() and calls s.complete_login(...).
        if widget or (widget is None and in_notebook()):
            return ask(session, widget=True, wait=options.wait)
        return session
    if usable and not widget:
        session.login(grant=chosen or "")
        return session
    return ask(session, widget=widget, wait=options.wait)


def ask(session: Session, *, widget: bool | None, wait: bool) -> Session:
    """Ask a person: the panel in a notebook, getpass in a terminal, else raise."""
    if widget or (widget is None and in_notebook()):
        from ._panel import attach_panel

        return attach_panel(session, wait=wait)
    from ._interactive import ask_in_terminal, can_ask_in_terminal

    if widget is None and can_ask_in_terminal():
        return ask_in_terminal(session)
    auth = session.auth
    assert auth is not None
    creds = session._creds or auth.credentials.resolve()
    raise _credentials.missing_error(session.provider, creds, auth.grant)
