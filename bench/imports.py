"""Figure 8: the package's own import share, its dependencies already imported."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile

from bench.measure import Report, Row, Sizes, median

DEPS = "import requests, requests_oauthlib, oauthlib, pandas"
MARK = "bench-import-mark"
CASES = {
    "import": "import vital_connect",
    "connect": "import vital_connect as vc; vc.connect",  # loads the session stack
}


def environment(cache: str) -> dict[str, str]:
    """Bytecode cached, as an installed package has it: without it (PYTHONDONTWRITEBYTECODE
    in the environment) every run compiles every module from source, and that is what the
    figure would measure. The cache goes to a folder of the bench's own, not the tree."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def import_times(code: str, env: dict[str, str]) -> tuple[float, float]:
    """In a fresh interpreter with the dependencies imported first: milliseconds of
    vital_connect's own modules (``-X importtime``'s self times) and of every module
    ``code`` imported (theirs, and the standard library's or others' first imported now)."""
    script = f"{DEPS}; import sys; sys.stderr.write('{MARK}\\n'); sys.stderr.flush(); {code}"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = proc.stderr.splitlines()
    after = lines[lines.index(MARK) + 1 :]
    own = every = 0
    for line in after:
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3:
            continue
        self_us = parts[0].removeprefix("import time:").strip()
        if not self_us.isdigit():
            continue  # the header
        every += int(self_us)
        if parts[2].strip().split(".")[0] == "vital_connect":
            own += int(self_us)
    if not own:
        raise RuntimeError("-X importtime listed no module of vital_connect")
    return own / 1000, every / 1000


def imports(sizes: Sizes, report: Report) -> None:
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    names = list(CASES)
    cache = tempfile.mkdtemp(prefix="bench-pycache-")
    try:
        env = environment(cache)
        for code in CASES.values():  # bytecode caches written, files in the page cache
            import_times(code, env)
        for r in range(sizes.import_runs):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                results[name].append(import_times(CASES[name], env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    for name, label in (("import", "`import vital_connect`"),
                        ("connect", "`import vital_connect` + first `vc.connect`")):  # fmt: skip
        own = [x[0] for x in results[name]]
        every = [x[1] for x in results[name]]
        report.rows.append(
            Row(
                f"8. Import share: {label}",
                "≤ 50 ms own",
                f"{median(own):.1f} ms own modules ({min(own):.1f}–{max(own):.1f})",
                f"{median(every):.1f} ms every module it imported",
                "—",
                "—",
                median(own) <= 50,
            )
        )
    probe = (
        "import sys, vital_connect; "
        "print(' '.join(m for m in ('ipywidgets', 'flask', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    report.check(
        "8. import: `import vital_connect` imports neither ipywidgets nor flask"
        + (f" (it did import: {', '.join(out)})" if out else ""),
        "ipywidgets" not in out and "flask" not in out,
    )
    report.notes.append(
        f"8. Import: `python -X importtime -c '{DEPS}; <the import>'` in fresh "
        f"interpreters, {sizes.import_runs} rotated runs of each, medians: the self times "
        f"of vital_connect's own modules (its share), and beside it the self times of every "
        f"module the import brought in (stdlib and third-party modules first imported by "
        f"it included), with bytecode cached as for an installed package (this machine's "
        f"environment sets PYTHONDONTWRITEBYTECODE, which would make every run compile "
        f"every module from source: the bench lifts it and caches bytecode in a temporary "
        f"folder, after one untimed run). `vc.connect` is resolved lazily: the first "
        f"access loads the session stack. `import vital_connect` "
        f"{'imports' if 'pandas' in out else 'does not import'} pandas by itself."
    )
