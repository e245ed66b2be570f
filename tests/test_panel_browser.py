"""The login panel in a real browser: JupyterLab in a subprocess, Debian's Chromium through
Playwright, the sandbox in this process.

A notebook whose first cell calls ``connect()`` with no credentials is run with "Run All";
the panel holds the run until the test types the sandbox credentials and clicks Log in;
the next cell's output then appears. The saved notebook (with widget state saved) holds
neither the password nor any token. VitalDB's code flow too: link, login page in a new tab,
the one-shot server catches the redirect, the panel shows who logged in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_browser import (
    assert_no_secrets,
    free_port,
    jupyter_server,
    needs_chromium,
    prove_run_all_waits_for_the_panel,
    run_all,
    save_and_read,
    write_notebook,
)

import vital_connect as vc

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sandbox):
    """JupyterLab, with the app exposed as ``window.jupyterapp``."""
    with jupyter_server(
        tmp_path_factory.mktemp("lab"),
        "jupyterlab",
        [
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        # The code flow's application credentials come from the environment, as they
        # would from a .env file: the notebook (and so the saved file) never holds them.
        {
            "VITALDB_CLIENT_ID": vc.sandbox.VITALDB_CLIENT_ID,
            "VITALDB_CLIENT_SECRET": vc.sandbox.VITALDB_CLIENT_SECRET,
        },
    ) as server:
        yield server


def open_and_run_all(context, lab, name: str):
    page = context.new_page()
    # A fresh workspace per notebook: a restored one could make another notebook current.
    run_all(page, f"{lab['url']}/lab/workspaces/{Path(name).stem}/tree/{name}?reset", name)
    return page


def test_run_all_waits_for_the_panel_and_the_saved_notebook_holds_no_secret(
    lab, tab_context, sandbox
):
    prove_run_all_waits_for_the_panel(
        lambda name: open_and_run_all(tab_context, lab, name), lab["root"], sandbox
    )


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
