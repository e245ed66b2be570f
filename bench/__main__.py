"""``python -m bench``: run the benchmarks (``--help`` for the options)."""

from __future__ import annotations

# Guarded: the sandbox's process is spawned, and spawn imports the main module again.
if __name__ == "__main__":
    from bench.run import main

    raise SystemExit(main())
