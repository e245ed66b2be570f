"""Where credentials come from: explicit arguments > process environment > a .env file.

Shaped like earthaccess's login strategies: each source is tried in turn, and one that is
not there is skipped. Nothing here is ever written to disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import MissingCredentialsError
from ._providers import Provider

FIELDS = (
    "client_id",
    "client_secret",
    "application_id",
    "username",
    "password",
    "redirect_uri",
    "base_url",
)
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


def resolve(
    provider: Provider,
    explicit: dict[str, str | None],
    env_file: str | os.PathLike[str] | None = None,
) -> Credentials:
    """Merge the three sources, explicit arguments first."""
    from dotenv import dotenv_values

    path = find_env_file(env_file)
    dotenv = {k: v for k, v in (dotenv_values(path) if path else {}).items() if v}
    creds = Credentials(env_file=path)
    for name in FIELDS:
        var = env_name(provider, name)
        if explicit.get(name):
            creds.values[name], creds.sources[name] = str(explicit[name]), "argument"
        elif os.environ.get(var):
            creds.values[name], creds.sources[name] = os.environ[var], "environment"
        elif dotenv.get(var):
            creds.values[name], creds.sources[name] = str(dotenv[var]), ".env"
    return creds


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
