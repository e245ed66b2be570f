"""The login panel in Jupyter Notebook 7 (the ``notebook`` package, built on JupyterLab's
components): the same proof as test_panel_browser.py gives for JupyterLab.

Notebook 7 in a subprocess, Debian's Chromium through Playwright, the sandbox in this
process. A notebook whose first cell calls ``connect()`` with no credentials is run with
"Run All"; the panel holds the run until the test types the sandbox credentials and presses
Enter in the password field (JupyterLab's test clicks Log in); the next cell's output then
appears. The saved notebook (with widget state saved) holds neither the password nor any
token.
"""

from __future__ import annotations

import importlib.util

import pytest
from jupyter_browser import (
    jupyter_server,
    needs_chromium,
    prove_run_all_waits_for_the_panel,
    run_all,
)

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
    # JupyterLab's test clicks "Log in"; here Enter in the password field logs in.
    prove_run_all_waits_for_the_panel(
        lambda name: open_and_run_all(tab_context, notebook7, name),
        notebook7["root"],
        sandbox,
        submit="enter",
    )
