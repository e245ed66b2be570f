"""Shared by the real-browser tests: a Jupyter server in a subprocess, a notebook to open in
it, and the checks on the saved file. Not a test module (no test_ prefix)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

import vital_connect as vc

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KERNEL = "vital-connect-test"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+")
TIMEOUT_MS = 30_000
# VITAL_CONNECT_SCREENSHOTS=1 writes the README's screenshots of the panel (docs/img/). Read
# at import: the suite's autouse fixture removes VITAL_CONNECT_* variables from each test.
SCREENSHOTS = os.environ.get("VITAL_CONNECT_SCREENSHOTS") == "1"
IMG_DIR = Path(__file__).resolve().parents[1] / "docs" / "img"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path, *cells: str) -> None:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {
                "name": KERNEL,
                "display_name": "vital_connect test",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{i}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(notebook, indent=1))


@contextmanager
def jupyter_server(
    base: Path, module: str, app_args: Sequence[str], extra_env: dict[str, str] | None = None
) -> Iterator[dict]:
    """``python -m <module>`` (jupyterlab, notebook) on a free loopback port, token off, a
    temporary root, widget state saved into notebooks, and a kernel that runs this very
    Python (so it imports the vital_connect under test)."""
    root = base / "root"
    root.mkdir()
    data = base / "data"
    spec = data / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "vital_connect test",
                "language": "python",
            }
        )
    )
    # Save widget state into the notebook, so the test sees what a saved panel would hold.
    settings = base / "settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VITALERA_", "VIDAPLUS_", "VITALDB_", "VITAL_CONNECT_", "JUPYTER"))
    }
    env.update(
        JUPYTER_PATH=str(data),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "userdata"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
        VITAL_CONNECT_CACHE_DIR=str(base / "cache"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = base / f"{module}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--ServerApp.allow_root=True",
            "--KernelSpecManager.ensure_native_kernel=False",
            *app_args,
        ],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/api/status", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{module} did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.2)
        yield {"url": url, "root": root, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def run_all(page, url: str, name: str) -> None:
    """Open the notebook page at ``url``, wait for its kernel, then "Run All"."""
    page.goto(url)
    page.wait_for_function(
        "(name) => window.jupyterapp?.shell.currentWidget?.context?.path === name"
        " && window.jupyterapp.shell.currentWidget.sessionContext",
        arg=name,
    )
    # Wait until the kernel is up, then "Run All" (the first cell will block in the panel).
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.ready")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status"
        " === 'idle'"
    )
    # Not awaited: the command's promise settles only when every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def save_and_read(page, path: Path, sentinel: str) -> str:
    before = path.read_text()
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = path.read_text()
        if text != before and sentinel in text:
            return text
        time.sleep(0.2)
    pytest.fail(f"the saved notebook never showed {sentinel!r}")


def assert_no_secrets(saved: str, *secrets: str) -> None:
    for secret in (*secrets, *vc.sandbox.SECRETS):
        assert secret not in saved
    assert not JWT.search(saved), JWT.search(saved)


def sandbox_at(sandbox) -> str:
    """How the panel names the sandbox: "sandbox at 127.0.0.1:PORT"."""
    return f"sandbox at {urlsplit(sandbox.base_url('vidaplus')).netloc}"


def token_requests(sandbox, provider: str) -> int:
    return sum(
        1
        for r in sandbox.requests
        if r.provider == provider and r.method == "POST" and "token" in r.path
    )


def prove_run_all_waits_for_the_panel(
    open_and_run_all, root: Path, sandbox, *, submit: str = "click"
) -> None:
    """The panel's promise in one frontend: "Run All" stops at the panel (the next cell
    queued, not skipped), logging in through the page (``submit``: "click" the button, or
    press "enter" in the password field) lets the run go on with one login, the heading then
    names where it logged in, Log out works after the cell ended, and the saved notebook
    holds widget state but no secret.

    ``open_and_run_all(name)`` opens the notebook ``root/name`` in that frontend and runs
    all its cells, returning the page."""
    sandbox.reset()
    notebook = root / "vidaplus.ipynb"
    base_url = sandbox.base_url("vidaplus")
    write_notebook(
        notebook,
        "import vital_connect as vc\n"
        f"s = vc.connect('vidaplus', base_url={base_url!r}, cache=False, lang='en')",
        "df = s.get('/pacientes/')\nprint('RECORDS', df.shape)",
    )
    page = open_and_run_all(notebook.name)
    panel = page.locator(".vc-login-panel")
    try:
        panel.wait_for(timeout=15_000)
    except Exception:
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        pytest.fail(f"no login panel; the outputs: {outputs!r}")
    # The run stops at the panel: a second later, still no output from the next cell...
    page.wait_for_timeout(1000)
    outputs = page.locator(".jp-OutputArea-output")
    assert outputs.filter(has_text="RECORDS").count() == 0
    # ... and it is queued behind the first ("[*]"), not skipped.
    second = page.locator(".jp-Notebook .jp-Cell").nth(1)
    assert "*" in second.locator(".jp-InputPrompt").inner_text()
    title = page.locator(".vc-title")
    assert title.inner_text() == f"Log in to VidaPlus API ({sandbox_at(sandbox)})"
    page.locator(".vc-username input").fill(vc.sandbox.VIDAPLUS_USERNAME)
    password = page.locator(".vc-password input")
    password.fill(vc.sandbox.VIDAPLUS_PASSWORD)
    if submit == "enter":
        password.press("Enter")
    else:
        page.locator("button.vc-login").click()

    status = page.locator(".vc-status")
    where = f"Logged in to VidaPlus API ({sandbox_at(sandbox)})"
    status.filter(has_text=f"{where} as {vc.sandbox.VIDAPLUS_USERNAME} until").wait_for()
    assert title.inner_text() == where  # no longer "Log in to ..."
    # One login: a click blurs the field (its value logs in), the click itself does not.
    assert token_requests(sandbox, "vidaplus") == 1
    outputs.filter(has_text=re.compile(r"RECORDS \(\d+, \d+\)")).wait_for()
    assert page.locator("button.vc-logout").is_visible()
    # The password field was emptied in the browser too.
    assert page.locator(".vc-password input").count() == 0 or (
        page.locator(".vc-password input").input_value() == ""
    )

    # The cell has ended: the panel's buttons are handled by the main shell again.
    page.locator("button.vc-logout").click()
    status.filter(has_text="Logged out of VidaPlus API.").wait_for()

    saved = save_and_read(page, notebook, "RECORDS (")
    assert "application/vnd.jupyter.widget-state+json" in saved  # widget state was saved
    assert "vc-login-panel" in saved
    assert_no_secrets(saved, vc.sandbox.VIDAPLUS_PASSWORD)
    page.close()
