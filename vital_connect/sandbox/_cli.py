"""``vital-connect sandbox``: run the sandbox in the foreground until Ctrl+C."""

from __future__ import annotations

import sys
import time

from ._server import GRANTS, Sandbox, serve


def describe(sb: Sandbox) -> str:
    """The base URLs and demo credentials, as ``.env`` lines a person can copy.

    Only each provider's default grant is active; the others are commented out, because
    connect() infers the grant from which variables are set.
    """
    lines = [
        f"vital-connect sandbox on {sb.url} (synthetic data, demo accounts only)",
        "",
    ]
    for name, grants in GRANTS.items():
        lines.append(f"# {name}: {sb.base_url(name)}")
        for i, grant in enumerate(grants):
            creds = sb.credentials(name, grant)
            del creds["grant"]
            if i > 0:
                del creds["base_url"]
                lines.append(f"# {grant} grant instead:")
            for key, value in creds.items():
                lines.append(f"{'# ' if i else ''}{name.upper()}_{key.upper()}={value}")
        lines.append("")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def run(port: int = 8765, host: str = "127.0.0.1", token_ttl: int = 3600) -> int:
    """Serve until interrupted; print the three base URLs and the demo credentials first."""
    try:
        sb = serve(port=port, host=host, token_ttl=token_ttl)
    except OSError as exc:
        print(f"vital-connect sandbox: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    try:
        print(describe(sb), flush=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nvital-connect sandbox: stopped.", flush=True)
    finally:
        sb.stop()
    return 0
