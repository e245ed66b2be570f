"""The demo notebooks and the Binder set-up.

- No committed notebook, and no file under ``notebooks/`` or ``binder/``, holds a secret: the
  sandbox's seeded secrets, anything shaped like one of its secrets or passwords, a JWT, or an
  ``access_token`` value.
- The notebooks are committed executed, with outputs, for the ``python3`` kernel, start with
  the one switch ``USE_SANDBOX = True``, say at the top which variables the real service
  needs (names the package really reads), and mark their figure cells so that nbval ignores
  the image bytes. (nbval itself runs them and compares the outputs: ``pytest --nbval``.)
- The ``[notebooks]`` extra provides every module the notebooks import, and Binder installs
  the repository with that extra.
- Binder: a fresh virtual environment built only from ``binder/`` executes every notebook
  under nbval, as repo2docker would build it. Slow (a pip install), so it runs when ``CI`` is
  set or ``VITAL_CONNECT_BINDER_TEST=1``, and is skipped otherwise; the install runs in the
  background from collection on and the test runs last (``binder_build.py``).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from binder_build import binder_test_enabled, clean_env

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BINDER = ROOT / "binder"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED_NOTEBOOKS = {
    "quickstart.ipynb",
    "vitalera.ipynb",
    "vidaplus.ipynb",
    "vitaldb.ipynb",
    "login-panel.ipynb",
}
# Never committed (see .gitignore), so never scanned.
UNTRACKED_DIRS = {".ipynb_checkpoints", "__pycache__", ".pytest_cache"}

# What a leaked secret looks like. The seeded values themselves are added from the sandbox.
LEAK_PATTERNS = {
    # every sandbox secret and password starts "sbx-<provider>-", rotated ones included
    "sandbox secret or password": re.compile(r"sbx-[A-Za-z0-9_-]*?(?:secret|password)"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"),
    # access_token=<value> in a URL, or "access_token": "<value>" in JSON or a repr; masked
    # values ('***', '<set>', <TOKEN>) and code such as `a.access_token != b.access_token`
    # are not values
    "access_token value": re.compile(
        r"""access_token(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?(?![<*])[A-Za-z0-9._~+/-]{8,}"""
    ),
}


def seeded_secrets() -> tuple[str, ...]:
    from vital_connect.sandbox import SECRETS

    return SECRETS


def find_leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    """What in ``text`` looks like a secret: pattern names and the place, never the value."""
    hits = [f"seeded secret #{i}" for i, secret in enumerate(secrets) if secret in text]
    for name, pattern in LEAK_PATTERNS.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            hits.append(f"{name} at line {line}")
    return hits


def committed_notebooks() -> set[Path]:
    """Every notebook git knows of (tracked, or new and not ignored), anywhere in the repo."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.ipynb"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return set()  # not a git checkout: the notebooks/ scan below still runs
    return {ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()}


def scanned_files() -> list[Path]:
    files = set(committed_notebooks())
    for folder in (NOTEBOOKS, BINDER):
        for path in folder.rglob("*"):
            if path.is_file() and not UNTRACKED_DIRS & set(path.relative_to(folder).parts):
                files.add(path)
    return sorted(files)


# ------------------------------------------------------------------------- secret scan


def test_the_scan_covers_the_notebooks_and_binder():
    names = {p.name for p in scanned_files()}
    assert EXPECTED_NOTEBOOKS <= names
    assert {"sanitize.cfg", "requirements.txt"} <= names


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_secret_in_committed_files(path):
    text = path.read_bytes().decode("utf-8", errors="replace")
    leaks = find_leaks(text, seeded_secrets())
    assert not leaks, f"{path.relative_to(ROOT)} holds what looks like a secret: {leaks}"


def _jwt(claims: dict) -> str:
    import base64

    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# Built at run time, so that this file holds no secret-shaped literal itself.
PLANTED = [
    "seeded",  # replaced by each seeded secret below
    "sbx-vitalera-" + "secret-0123456789abcdef0123",  # a rotated one
    "sbx-vidaplus-" + "password-Nf8s3Kd6",
    _jwt({"sub": "sbx_researcher", "exp": 1}),
    "https://api.vitaldb.net/oauth2/userinfo?access_" + "token=AbCdEf0123456789",
    '{"access_' + 'token": "AbCdEf0123456789", "token_type": "Bearer"}',
    "{'access_" + "token': 'AbCdEf0123456789'}",
]


@pytest.mark.parametrize("planted", PLANTED)
def test_the_scan_finds_planted_secrets(planted):
    for secret in seeded_secrets() if planted == "seeded" else [planted]:
        # JSON-escaped, as it would sit in a notebook's output
        text = json.dumps({"text": [f"before {secret} after\n"]})
        assert find_leaks(text, seeded_secrets()), secret


@pytest.mark.parametrize(
    "harmless",
    [
        "Token(type='Bearer', sub='sbx_researcher', expires_at=None, refresh_token='<set>')",
        "{'client_id': 'sbx-vitalera-client-1fab57f3f6fe', 'client_secret': '***'}",
        'print("a new access token:", after.access_token != before.access_token)',
        "vc.sandbox.VITALDB_PASSWORD, vc.sandbox.VITALERA_CLIENT_SECRET",
        "regex: (access_token|refresh_token|id_token)=[A-Za-z0-9_.~+/-]+",
        "userinfo?access_token=<TOKEN>",
    ],
)
def test_the_scan_leaves_masked_values_alone(harmless):
    assert find_leaks(harmless, seeded_secrets()) == []


# ------------------------------------------------------------------------- notebook shape


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_the_notebooks_are_there():
    assert {p.name for p in NOTEBOOK_FILES} == EXPECTED_NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_is_committed_executed_for_the_python3_kernel(path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    cells = code_cells(nb)
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "execute top to bottom, then commit"
    outputs = [o for c in cells for o in c["outputs"]]
    assert outputs, "committed without outputs: nbval would compare nothing"
    assert not [o for o in outputs if o["output_type"] == "error"]


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_switches_to_the_real_service_with_one_variable(path):
    cells = code_cells(load(path))
    first = source(cells[0]).strip()
    assert re.fullmatch(r"USE_SANDBOX = True(\s*#.*)?", first), first
    text = "\n".join(source(c) for c in cells)
    assert "vc.sandbox.serve(port=0)" in text
    assert '"cache": False' in text  # nothing written to the user's token cache


def known_variables() -> set[str]:
    """Every environment variable the package reads for a registered provider."""
    import vital_connect as vc
    from vital_connect import _credentials, _providers

    names = set()
    for name in vc.providers()["name"]:
        prefix = _providers.get_provider(name).env_prefix
        names |= {prefix + field.upper() for field in _credentials.FIELDS}
    return names


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_says_what_the_real_service_needs(path):
    # The first cell tells a reader what USE_SANDBOX = False needs, in the variables'
    # real names, and that nothing else changes.
    intro = " ".join(source(load(path)["cells"][0]).split())
    assert "USE_SANDBOX = False" in intro
    assert "Nothing else changes" in intro
    prefixes = tuple({n.split("_", 1)[0] + "_" for n in known_variables()})
    named = {
        n.rstrip("_")
        for n in re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", intro)
        if n.startswith(prefixes)
    }
    assert named, "name the variables the real service needs"
    assert named <= known_variables(), f"not read by vital_connect: {named - known_variables()}"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_figure_cells_are_marked_to_ignore_their_output(path):
    for cell in code_cells(load(path)):
        has_figure = any("image/png" in o.get("data", {}) for o in cell["outputs"])
        if has_figure:
            assert source(cell).startswith("# NBVAL_IGNORE_OUTPUT"), source(cell)[:80]


# ------------------------------------------------------------------------- the extra


def notebook_imports() -> set[str]:
    """Top-level modules the notebooks' code cells import."""
    found = set()
    for path in NOTEBOOK_FILES:
        for cell in code_cells(load(path)):
            for node in ast.walk(ast.parse(source(cell))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_closure(extra: str) -> set[str]:
    """The distributions ``vital-connect[extra]`` brings in: this project's extras as
    pyproject.toml declares them, then what the installed distributions require."""
    import tomllib
    from importlib import metadata

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    own = _canonical(project["name"])
    seen: set[str] = set()
    todo = [Requirement(f"{project['name']}[{extra}]")]
    while todo:
        req = todo.pop()
        name = _canonical(req.name)
        if name == own:
            found = list(project["dependencies"])
            for e in req.extras:
                found += project["optional-dependencies"][e]
            todo += [Requirement(r) for r in found]
            continue
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: its own requirements are not known
        for line in requires:
            sub = Requirement(line)
            wanted = req.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(sub)
    return seen


def test_the_notebooks_extra_provides_every_module_the_notebooks_import():
    from importlib import metadata

    closure = extra_closure("notebooks")
    providers = metadata.packages_distributions()
    missing = []
    for module in sorted(notebook_imports() - set(sys.stdlib_module_names) - {"vital_connect"}):
        # a module whose distribution is not installed here is taken to be its namesake
        dists = {_canonical(d) for d in providers.get(module, [module])}
        if not dists & closure:
            missing.append(module)
    assert not missing, f"imported by the notebooks, not in [notebooks]: {missing}"


def test_the_notebooks_extra_runs_notebooks():
    # A kernel and a notebook interface, besides what the cells import.
    closure = extra_closure("notebooks")
    assert {"ipykernel", "jupyterlab", "notebook", "flask", "pyjwt"} <= closure


# ------------------------------------------------------------------------- Binder


def test_binder_python_satisfies_requires_python():
    # repo2docker's default Python is older than the package allows: runtime.txt picks one.
    import tomllib

    from packaging.specifiers import SpecifierSet

    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(runtime.removeprefix("python-") + ".0")


def test_binder_installs_this_repository_not_an_editable_copy():
    lines = [
        line.split("#", 1)[0].strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
    ]
    local = [line for line in lines if line.startswith(".")]
    assert local == [".[notebooks]"], local
    assert not [line for line in lines if line.startswith(("-e", "--editable"))]


@pytest.mark.skipif(
    not binder_test_enabled(),
    reason="slow (builds a fresh venv from binder/ with pip): runs when CI is set or "
    "VITAL_CONNECT_BINDER_TEST=1",
)
def test_binder_environment_runs_every_notebook(binder_build):
    # Built in the background since collection (see binder_build.py); this test runs last.
    build = binder_build.wait()
    assert build.error is None, build.error
    assert (build.repo / "binder" / "requirements.txt").is_file()
    python = str(build.venv / "bin" / "python")
    started = time.monotonic()
    # The nbval options are given here in full; the project's addopts are left out so that
    # nothing but what binder/ installed is needed (its filterwarnings still apply).
    done = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            "notebooks/sanitize.cfg",
            "notebooks/",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-q",
        ],
        cwd=build.repo,
        env=clean_env(build.venv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        timeout=1800,
    )
    log = done.stdout.decode(errors="replace")
    ran = f"(built in {build.seconds:.0f} s, ran in {time.monotonic() - started:.0f} s)"
    assert done.returncode == 0, (
        f"the notebooks failed in the Binder environment {ran}:\n{log[-8000:]}"
    )
    summary = re.findall(r"^=* ?(\d+ passed.*?)=*$", log, flags=re.MULTILINE)
    assert summary and " failed" not in summary[-1], log[-3000:]
    print(f"binder env {ran}: {summary[-1].strip()}")
