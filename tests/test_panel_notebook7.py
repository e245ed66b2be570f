"""The login panel in Jupyter Notebook 7 (the ``notebook`` package, built on JupyterLab's
components): the same proof as test_panel_browser.py gives for JupyterLab.

Notebook 7 in a subprocess, Debian's Chromium through Playwright, the sandbox in this
process. A notebook whose first cell calls ``connect()`` with no credentials is run with
"Run All"; the panel holds the run until the test types the sandbox credentials and clicks
Log in; the next cell's output then appears. The saved notebook (with widget state saved)
holds neither the password nor any token.
"""

from __future__ import annotations

import importlib.util
import re

import pytest
from jupyter_browser import (
    assert_no_secrets,
    jupyter_server,
    needs_chromium,
    run_all,
    save_and_read,
    write_notebook,
)

import vital_connect as vc

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(
        importlib.util.find_spec("notebook") is None,
        reason="Jupyter Notebook 7 is not installed (pip install 'notebook>=7')",
    ),
]


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory, sandbox):
    """Jupyter Notebook 7, with the app exposed as ``window.jupyterapp``."""
    with jupyter_server(
        tmp_path_factory.mktemp("notebook7"),
        "notebook",
        ["--JupyterNotebookApp.expose_app_in_browser=True"],
    ) as server:
        yield server


def open_and_run_all(context, server, name: str):
    """Open ``name`` in Notebook 7's own notebook page, wait for its kernel, "Run All"."""
    page = context.new_page()
    run_all(page, f"{server['url']}/notebooks/{name}", name)
    # The page is Notebook 7's own, not JupyterLab's.
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    return page


def test_notebook7_run_all_waits_for_the_panel_and_the_saved_notebook_holds_no_secret(
    notebook7, tab_context, sandbox
):
    sandbox.reset()
    notebook = notebook7["root"] / "notebook7.ipynb"
    base_url = sandbox.base_url("vidaplus")
    write_notebook(
        notebook,
        "import vital_connect as vc\n"
        f"s = vc.connect('vidaplus', base_url={base_url!r}, cache=False, lang='en')",
        "df = s.get('/records/')\nprint('RECORDS', df.shape)",
    )
    page = open_and_run_all(tab_context, notebook7, notebook.name)

    panel = page.locator(".vc-login-panel")
    try:
        panel.wait_for(timeout=15_000)
    except Exception:
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        pytest.fail(f"no login panel in Notebook 7; the outputs: {outputs!r}")
    # The run stops at the panel: a second later, still no output from the next cell.
    page.wait_for_timeout(1000)
    outputs = page.locator(".jp-OutputArea-output")
    assert outputs.filter(has_text="RECORDS").count() == 0
    # ... and it is queued behind the first ("[*]"), not skipped.
    second = page.locator(".jp-Notebook .jp-Cell").nth(1)
    assert "*" in second.locator(".jp-InputPrompt").inner_text()
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
