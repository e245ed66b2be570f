"""The ``vital-connect`` command: providers, get, download, demo, sandbox.

Data goes to stdout, everything said to a person (prompts, the code-flow link, progress bars,
errors) to stderr, so ``vital-connect get … > rows.csv`` or ``| head`` carry only the data.
An error is one line (``error: …``, exit 1); Ctrl+C exits 130 and a closed pipe 141, both
without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:  # pragma: no cover
    from ._session import Session

# What a shell reports for a program killed by SIGPIPE (128 + 13), as for `yes | head -1`:
# scripts with `set -o pipefail` or ${PIPESTATUS[@]} then treat us like cat or grep.
EXIT_BROKEN_PIPE = 141
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl+C


def _param(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"wants KEY=VALUE, got {item!r}")
    return key, value


def _providers(args: argparse.Namespace) -> int:
    from ._providers import providers

    df = providers()
    print(df[["name", "grants", "base_url", "token_url"]].to_string(index=False))
    return 0


def _session(args: argparse.Namespace) -> Session:
    """Log in as connect() does: configured credentials, else ask on a terminal, else raise."""
    from ._connect import connect_with
    from ._interactive import ask_in_terminal, can_ask_in_terminal
    from ._options import Options

    options = Options(
        base_url=args.base_url,
        anonymous=args.anonymous,
        widget=None,  # connect()'s rule: getpass when stdin is a terminal, else raise
        cache=False if args.anonymous else not args.no_cache,
    )
    # Prompts and the code-flow link go to stderr: stdout is the data, maybe a pipe or file.
    with contextlib.redirect_stdout(sys.stderr):
        session = connect_with(args.provider, options)
        auth = session.auth
        if auth is not None and session.token is None and auth.grant == "authorization_code":
            # connect() leaves the code flow to its caller; here the caller is a person
            if not can_ask_in_terminal():
                raise _code_flow_needs_a_person(session)
            ask_in_terminal(session)
    return session


def _code_flow_needs_a_person(session: Session) -> Exception:
    from ._credentials import env_name
    from ._errors import MissingCredentialsError

    provider = session.provider
    names = [env_name(provider, n) for n in ("username", "password")]
    other = (
        f", or set {' and '.join(names)} for the password grant"
        if "password" in provider.grants
        else ""
    )
    return MissingCredentialsError(
        f"{provider.name}'s authorization code flow needs a person to open a link: run "
        f"vital-connect with a terminal on stdin{other}.",
        variables=names if other else [],
    )


def _get(args: argparse.Namespace) -> int:
    session = _session(args)
    df = session.get(args.path, params=dict(args.param) or None, progress=args.progress)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(df.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        print(df.to_string(max_rows=args.rows, index=False))
    return 0


def _download(args: argparse.Namespace) -> int:
    session = _session(args)
    saved = session.download(
        args.path, params=dict(args.param) or None, to=args.to, progress=args.progress
    )
    print(saved)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(rows=args.rows)


def _sandbox(args: argparse.Namespace) -> int:
    from .sandbox import run

    return run(port=args.port, host=args.host, token_ttl=args.token_ttl)


def _connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("provider", help="vitalera, vidaplus, vitaldb, or one registered")
    p.add_argument("path", help="relative to the provider's base URL, e.g. /api/plans/")
    p.add_argument(
        "--param",
        action="append",
        type=_param,
        default=[],
        metavar="KEY=VALUE",
        help="query parameter (repeatable)",
    )
    p.add_argument("--base-url", help="another deployment, e.g. the sandbox's")
    p.add_argument("--anonymous", action="store_true", help="no login (public endpoints)")
    p.add_argument("--no-cache", action="store_true", help="do not keep the token on disk")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: only when stderr is a terminal)",
    )


_CREDENTIALS_HELP = (
    "Credentials come from PROVIDER_* environment variables or a .env file, e.g. "
    "VITALERA_CLIENT_ID and VITALERA_CLIENT_SECRET; with none and a terminal, they are asked "
    "for (secrets without echo, not kept)."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vital-connect",
        description="Log in to health-data APIs and get tables back.",
    )
    parser.add_argument("--version", action="version", version=f"vital-connect {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("providers", help="list the registered providers")
    p.set_defaults(func=_providers)

    p = sub.add_parser(
        "get", help="GET a path as a table, every page of it", description=_CREDENTIALS_HELP
    )
    _connection_options(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--rows", type=int, default=60, help="rows shown by --format table")
    p.set_defaults(func=_get)

    p = sub.add_parser(
        "download",
        help="save a file (streamed; named as the server names it; nothing partial left)",
        description=_CREDENTIALS_HELP + " Prints the path saved to.",
    )
    _connection_options(p)
    p.add_argument("--to", default=".", metavar="DIR", help="a folder (default: here) or a file")
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "demo", help="start the sandbox and show a table from every provider and grant"
    )
    p.add_argument("--rows", type=int, default=3, help="rows shown per table")
    p.set_defaults(func=_demo)

    p = sub.add_parser("sandbox", help="run the local emulator of the three providers")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime, s")
    p.set_defaults(func=_sandbox)
    return parser


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _stdout_gone() -> int:
    # Python's own advice (the signal module's note on SIGPIPE): point stdout at devnull, so
    # that the flush at exit does not raise a second BrokenPipeError ("Exception ignored").
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    from ._errors import VitalConnectError

    try:
        args = build_parser().parse_args(argv)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe shows up here for short outputs
        return code
    except BrokenPipeError:
        return _stdout_gone()
    except KeyboardInterrupt:
        if sys.stderr is not None and sys.stderr.isatty():
            print(file=sys.stderr)  # the shell prompt then starts on a line of its own
        return EXIT_INTERRUPTED
    except VitalConnectError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # a folder not writable, a disk full: the system's words suffice
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
