"""The login panel in a real browser: JupyterLab in a subprocess, Debian's Chromium through
Playwright, the sandbox in this process.

A notebook whose first cell calls ``connect()`` with no credentials is run with "Run All";
the panel holds the run until the test types the sandbox credentials and clicks Log in;
the next cell's output then appears. The saved notebook (with widget state saved) holds
neither the password nor any token. VitalDB's code flow too: link, login page in a new tab,
the one-shot server catches the redirect, the panel shows who logged in.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

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

pytestmark = pytest.mark.skipif(
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sandbox):
    """JupyterLab on a free loopback port, token off, a temporary root, and a kernel that
    runs this very Python (so it imports the vital_connect under test)."""
    base = tmp_path_factory.mktemp("lab")
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
        # The code flow's application credentials come from the environment, as they
        # would from a .env file: the notebook (and so the saved file) never holds them.
        VITALDB_CLIENT_ID=vc.sandbox.VITALDB_CLIENT_ID,
        VITALDB_CLIENT_SECRET=vc.sandbox.VITALDB_CLIENT_SECRET,
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (base / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--ServerApp.allow_root=True",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--KernelSpecManager.ensure_native_kernel=False",
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
                pytest.fail("JupyterLab did not start:\n" + (base / "lab.log").read_text()[-3000:])
            time.sleep(0.2)
        yield {"url": url, "root": root, "log": base / "lab.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# Named so as not to shadow pytest-playwright's own fixtures (browser, context, page).
@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab_context(chromium):
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def open_and_run_all(context, lab, name: str):
    page = context.new_page()
    # A fresh workspace per notebook: a restored one could make another notebook current.
    page.goto(f"{lab['url']}/lab/workspaces/{Path(name).stem}/tree/{name}?reset")
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
    return page


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


def test_run_all_waits_for_the_panel_and_the_saved_notebook_holds_no_secret(
    lab, tab_context, sandbox
):
    sandbox.reset()
    notebook = lab["root"] / "vidaplus.ipynb"
    base_url = sandbox.base_url("vidaplus")
    write_notebook(
        notebook,
        "import vital_connect as vc\n"
        f"s = vc.connect('vidaplus', base_url={base_url!r}, cache=False, lang='en')",
        "df = s.get('/records/')\nprint('RECORDS', df.shape)",
    )
    page = open_and_run_all(tab_context, lab, notebook.name)

    panel = page.locator(".vc-login-panel")
    panel.wait_for()
    # The run stops at the panel: a second later, still no output from the next cell.
    page.wait_for_timeout(1000)
    outputs = page.locator(".jp-OutputArea-output")
    assert outputs.filter(has_text="RECORDS").count() == 0
    page.locator(".vc-username input").fill(vc.sandbox.VIDAPLUS_USERNAME)
    page.locator(".vc-password input").fill(vc.sandbox.VIDAPLUS_PASSWORD)
    page.locator("button.vc-login").click()

    status = page.locator(".vc-status")
    status.filter(has_text="Logged in to VidaPlus API as").wait_for()
    assert vc.sandbox.VIDAPLUS_USERNAME in status.inner_text()
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


def test_vitaldb_code_flow_in_the_browser(lab, tab_context, sandbox):
    sandbox.reset()
    notebook = lab["root"] / "vitaldb.ipynb"
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    write_notebook(
        notebook,
        "import vital_connect as vc\n"
        f"s = vc.connect('vitaldb', grant='authorization_code', redirect_uri={redirect!r},\n"
        f"               base_url={sandbox.base_url('vitaldb')!r}, cache=False, lang='en')",
        "print('USER', s.userinfo()['email'])",
    )
    page = open_and_run_all(tab_context, lab, notebook.name)

    link = page.locator(".vc-signin-link a")
    link.wait_for()
    assert link.get_attribute("target") == "_blank"
    assert "3 minutes" in page.locator(".vc-countdown").inner_text()
    with tab_context.expect_page() as opened:
        link.click()
    login = opened.value
    login.wait_for_load_state()
    login.locator("#vitaldb-id").fill(vc.sandbox.VITALDB_USERNAME)
    login.locator("#vitaldb-pw").fill(vc.sandbox.VITALDB_PASSWORD)
    login.locator("#vitaldb-submit").click()
    try:
        login.locator("text=You are logged in to VitalDB").wait_for()
    except Exception:
        status = page.locator(".vc-status").inner_text()
        pytest.fail(f"login tab at {login.url}: {login.inner_text('body')!r}; panel: {status}")
    assert login.url.startswith(redirect)
    login.close()

    email = vc.sandbox.VITALDB_EMAIL
    page.locator(".vc-status").filter(has_text=f"Logged in to VitalDB as {email}").wait_for()
    page.locator(".jp-OutputArea-output").filter(has_text=f"USER {email}").wait_for()

    saved = save_and_read(page, notebook, f"USER {email}")
    assert_no_secrets(saved)
    assert "code=" not in saved
    page.close()
