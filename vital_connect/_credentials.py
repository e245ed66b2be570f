"""Where credentials come from: explicit arguments > process environment > a .env file.

Shaped like earthaccess's login strategies: each source is tried in turn, and one that is
not there is skipped. Nothing here is ever written to disk. A session's
:class:`CredentialStore` reads the environment and the ``.env`` once per login (and once
per renewal that runs the grant again), never on every request.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import MissingCredentialsError
from ._providers import Provider
from ._redact import Secret

FIELDS = (
    "client_id",
    "client_secret",
    "application_id",
    "username",
    "password",
    "redirect_uri",
    "base_url",
)
LOGIN_FIELDS = frozenset(FIELDS) - {"base_url"}
SECRET = frozenset({"client_secret", "password"})

# What each grant needs, in the order a person is asked for it.
NEEDS: dict[str, tuple[str, ...]] = {
    "client_credentials": ("client_id", "client_secret"),
    "password": ("username", "password"),
    "authorization_code": ("client_id", "client_secret", "redirect_uri"),
}


@dataclass
class Credentials:
    """Resolved values and where each came from (``argument``, ``environment``, ``.env``)."""

    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    env_file: Path | None = None

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def has(self, *names: str) -> bool:
        return all(self.values.get(n) for n in names)

    def user(self) -> str | None:
        """Who these credentials log in as: the username, else the client id."""
        return self.values.get("username") or self.values.get("client_id")

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRET else v) for k, v in self.values.items()}
        return f"Credentials({shown!r})"


def find_env_file(env_file: str | os.PathLike[str] | None) -> Path | None:
    """The ``.env`` to read: the one named, else the nearest from the working directory up."""
    if env_file is not None:
        path = Path(env_file).expanduser()
        if not path.is_file():
            raise MissingCredentialsError(
                f"env_file {str(path)!r} does not exist. Create it (KEY=value lines) or leave "
                "env_file out to use the nearest .env."
            )
        return path
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


def env_name(provider: Provider, name: str) -> str:
    return provider.env_prefix + name.upper()


def read_dotenv(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v}


def resolve(
    provider: Provider,
    explicit: dict[str, str],
    env_file: str | os.PathLike[str] | None = None,
) -> Credentials:
    """Merge the three sources, explicit arguments first."""
    path = find_env_file(env_file)
    dotenv = read_dotenv(path)
    creds = Credentials(env_file=path)
    for name in FIELDS:
        var = env_name(provider, name)
        if explicit.get(name):
            creds.values[name], creds.sources[name] = str(explicit[name]), "argument"
        elif os.environ.get(var):
            creds.values[name], creds.sources[name] = os.environ[var], "environment"
        elif dotenv.get(var):
            creds.values[name], creds.sources[name] = str(dotenv[var]), ".env"
        if name in SECRET and name in creds.values:
            creds.values[name] = Secret(creds.values[name])  # masked in any repr or traceback
    del dotenv
    return creds


class CredentialStore:
    """A session's credentials: rotated > given (arguments, memory only) > environment >
    ``.env``. ``resolve()`` reads the last two now; values typed into the panel are never
    stored here (they are used once)."""

    def __init__(
        self,
        provider: Provider,
        given: dict[str, str],
        env_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.provider = provider
        self.env_file = env_file
        self._given = {k: v for k, v in given.items() if v}
        self._rotated: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self) -> Credentials:
        """The current credentials, the environment and the ``.env`` read now (so a person
        who fixed their ``.env`` need not restart the kernel)."""
        with self._lock:
            given = {**self._given, **self._rotated}
        return resolve(self.provider, given, self.env_file)

    def give(self, values: dict[str, str]) -> None:
        """Keep ``values`` in memory, as arguments are kept (never on disk)."""
        with self._lock:
            self._given.update({k: v for k, v in values.items() if v})

    def forget(self, *names: str) -> None:
        """Drop given values (all of them without names)."""
        with self._lock:
            for name in names or list(self._given):
                self._given.pop(name, None)

    def rotate(self, new: dict[str, str]) -> None:
        """The provider issued new values (vitalera's rotation): they win over every source."""
        with self._lock:
            self._rotated.update(new)
            for name in new:
                self._given.pop(name, None)

    def __repr__(self) -> str:
        return f"<CredentialStore {self.provider.name} given={sorted(self._given)}>"


def infer_grant(provider: Provider, creds: Credentials) -> str | None:
    """The grant the credentials allow, per the public contract; None when nothing fits."""
    if "password" in provider.grants and creds.has("username", "password"):
        return "password"
    if "client_credentials" in provider.grants and creds.has("client_id", "client_secret"):
        return "client_credentials"
    if "authorization_code" in provider.grants and creds.has(*NEEDS["authorization_code"]):
        return "authorization_code"
    return None


def missing_error(
    provider: Provider, creds: Credentials, grant: str | None
) -> MissingCredentialsError:
    """A MissingCredentialsError that names the exact variables to set."""
    grants = [grant] if grant else list(provider.grants)
    options = []
    variables: list[str] = []
    for g in grants:
        missing = [env_name(provider, n) for n in NEEDS[g] if not creds.get(n)]
        variables.extend(v for v in missing if v not in variables)
        options.append(f"{' and '.join(missing) or 'nothing more'} (for the {g} grant)")
    where = f" (read {creds.env_file})" if creds.env_file else ""
    return MissingCredentialsError(
        f"No credentials to log in to {provider.name}. Set "
        + " or ".join(options)
        + f" in the environment or a .env file{where}, pass them to vc.connect("
        f"{provider.name!r}, ...), or run in a notebook to get the login panel.",
        variables=variables,
    )


def login_hint(provider: Provider, grant: str | None) -> str:
    """What to check when the provider refuses a login with ``grant``."""
    if grant == "authorization_code":
        env = " and ".join(env_name(provider, n) for n in ("client_id", "client_secret"))
        return (
            "A code lives a few minutes and works once: start again with "
            f"s.authorization_url(). If it keeps failing, check {env}."
        )
    names = NEEDS.get(grant or "", ())
    if not names:
        return "Check the credentials."
    env = " and ".join(env_name(provider, n) for n in names)
    return f"Check {env} (or the values passed to connect() / typed in the panel)."


def how_to_login_again(provider: Provider, grant: str | None) -> str:
    if grant == "authorization_code":
        return "Log in again: open s.authorization_url() and call s.complete_login(...)."
    names = NEEDS.get(grant or "password", ())
    env = " and ".join(env_name(provider, n) for n in names)
    return f"Log in again with s.login(...), or set {env} and run again."


class LazyCredentials(Credentials):
    """Credentials read from the store only if something asks for one (a renewal by
    refresh token needs none, so it reads no ``.env``)."""

    def __init__(self, store: CredentialStore) -> None:
        super().__init__()
        self._store = store
        self._loaded = False

    def _load(self) -> None:
        if not self._loaded:
            fresh = self._store.resolve()
            self.values, self.sources, self.env_file = fresh.values, fresh.sources, fresh.env_file
            self._loaded = True

    def get(self, name: str) -> str | None:
        self._load()
        return super().get(name)

    def has(self, *names: str) -> bool:
        self._load()
        return super().has(*names)
