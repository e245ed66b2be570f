"""Build the Binder environment (a fresh venv from ``binder/`` only, as repo2docker would)
in the background while the rest of the suite runs.

The build is a pip install of JupyterLab, Notebook 7, Dask and the rest: minutes of mostly
download and unpacking. ``conftest.py`` starts it as soon as collection shows the Binder
test will run, and moves that test to the end of the session, so the install overlaps the
other tests instead of adding to them; the test then waits for the build and runs every
notebook in it. Nothing is left running: :meth:`BackgroundBuild.stop` (at session end)
kills an unfinished install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BINDER_TEST = "test_notebooks.py::test_binder_environment_runs_every_notebook"
# Directories a checkout may hold that are not the repository (when git is not there).
SKIP_DIRS = (".git", ".venv", "build", "*.egg-info", ".ruff_cache", ".mypy_cache",
             ".pytest_cache", ".ipynb_checkpoints", "__pycache__", "mutants")  # fmt: skip


def binder_test_enabled() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("VITAL_CONNECT_BINDER_TEST") == "1"


def repository_files() -> list[str]:
    """The files a clone would have, plus new ones not yet committed (not the ignored)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def copy_repository(target: Path) -> None:
    # repo2docker copies the repository into the image before a local reference ("." in
    # binder/requirements.txt) is installed; pip then builds in that copy, which writes
    # build/ and *.egg-info there. A copy keeps this checkout untouched.
    try:
        names = repository_files()
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*SKIP_DIRS))
        return
    for name in names:
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest)


def clean_env(venv: Path) -> dict[str, str]:
    """This process's environment, pointed at ``venv`` and away from this one."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PYTHONNOUSERSITE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


@dataclass
class BackgroundBuild:
    """``repo`` (a copy of this checkout) and ``venv`` built in a thread; ``wait()`` joins."""

    root: Path
    repo: Path = field(init=False)
    venv: Path = field(init=False)
    error: str | None = None  # what failed, with the log's tail
    seconds: float = 0.0
    _proc: subprocess.Popen[bytes] | None = None
    _stopped: bool = False
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.repo, self.venv = self.root / "repo", self.root / "venv"

    def start(self) -> BackgroundBuild:
        self._thread = threading.Thread(target=self._build, name="binder-build", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float = 1800) -> BackgroundBuild:
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.stop()
            self.error = f"the Binder build did not finish in {timeout:.0f} s"
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if self._thread is not None:
            self._thread.join(60)

    def _build(self) -> None:
        started = time.monotonic()
        try:
            copy_repository(self.repo)
            env = clean_env(self.venv)
            steps = [
                ([sys.executable, "-m", "venv", str(self.venv)], "venv"),
                # As repo2docker does: from the repository root, so "." is the repository.
                ([str(self.venv / "bin" / "python"), "-m", "pip", "install", "-r",
                  "binder/requirements.txt"], "pip install -r binder/requirements.txt"),
            ]  # fmt: skip
            if (self.repo / "binder" / "postBuild").exists():
                steps.append((["bash", "binder/postBuild"], "binder/postBuild"))
            for number, (cmd, what) in enumerate(steps):
                log = self.root / f"build-{number}.log"
                if not self._run(cmd, env, log):
                    tail = log.read_text(errors="replace")[-6000:]
                    self.error = f"{what} failed:\n{tail}"
                    return
        except Exception as exc:  # reported by the test that waits, not lost in a thread
            self.error = f"the Binder build raised {exc!r}"
        finally:
            self.seconds = time.monotonic() - started

    def _run(self, cmd: list[str], env: dict[str, str], log: Path) -> bool:
        with log.open("w") as out:
            with self._lock:
                if self._stopped:
                    return False
                self._proc = subprocess.Popen(
                    cmd,
                    cwd=self.repo,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            try:
                return self._proc.wait(timeout=1800) == 0
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=30)
                return False
