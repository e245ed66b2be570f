"""The ``vital-connect`` command: providers, get, demo, sandbox."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _providers(args: argparse.Namespace) -> int:
    from ._providers import providers

    df = providers()
    print(df[["name", "grants", "base_url", "token_url"]].to_string(index=False))
    return 0


def _get(args: argparse.Namespace) -> int:
    from ._connect import connect_with
    from ._options import Options

    params = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"--param wants KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        params[key] = value
    options = Options(
        base_url=args.base_url,
        anonymous=args.anonymous,
        widget=False,
        cache=False if args.anonymous else not args.no_cache,
    )
    session = connect_with(args.provider, options)
    df = session.get(args.path, params=params or None)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(df.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        print(df.to_string(max_rows=args.rows, index=False))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(rows=args.rows)


def _sandbox(args: argparse.Namespace) -> int:
    from .sandbox import run

    return run(port=args.port, host=args.host, token_ttl=args.token_ttl)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vital-connect",
        description="Log in to health-data APIs and get tables back.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("providers", help="list the registered providers")
    p.set_defaults(func=_providers)

    p = sub.add_parser(
        "get",
        help="GET a path as a table (credentials from the environment or .env)",
        description="Credentials come from PROVIDER_* environment variables or a .env file, "
        "e.g. VITALERA_CLIENT_ID and VITALERA_CLIENT_SECRET.",
    )
    p.add_argument("provider")
    p.add_argument("path", help="relative to the provider's base URL, e.g. /api/plans/")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="query parameter")
    p.add_argument("--base-url", help="another deployment, e.g. the sandbox")
    p.add_argument("--anonymous", action="store_true", help="no login (public endpoints)")
    p.add_argument("--no-cache", action="store_true", help="do not keep the token on disk")
    p.add_argument("--rows", type=int, default=60, help="rows shown by --format table")
    p.set_defaults(func=_get)

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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ._errors import VitalConnectError

    try:
        return int(args.func(args) or 0)
    except VitalConnectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
