"""The login panel in a real browser: JupyterLab in a subprocess, Debian's Chromium through
Playwright, the sandbox in this process.

A notebook whose first cell calls ``connect()`` with no credentials is run with "Run All";
the panel holds the run until the test types the sandbox credentials and clicks Log in;
the next cell's output then appears. The saved notebook (with widget state saved) holds
neither the password nor any token. VitalDB with id and password (offered first), logged in
by pressing Enter; and its code flow: a link that looks like one, the login page in a new
tab, the one-shot server catches the redirect, the panel shows who logged in and where.

With VITAL_CONNECT_SCREENSHOTS=1 the VitalDB tests write the README's screenshots of the
panel to docs/img/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_browser import (
    IMG_DIR,
    SCREENSHOTS,
    TIMEOUT_MS,
    assert_no_secrets,
    free_port,
    jupyter_server,
    needs_chromium,
    prove_run_all_waits_for_the_panel,
    run_all,
    sandbox_at,
    save_and_read,
    token_requests,
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


@pytest.fixture
def shot_context(chromium):
    """A browser context sized for the README's screenshots (sharp at twice the pixels)."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 800}, device_scale_factor=2 if SCREENSHOTS else 1
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def screenshot(page, name: str) -> None:
    """The panel as the person sees it, for the README (only with VITAL_CONNECT_SCREENSHOTS=1:
    normal runs must not rewrite committed files)."""
    if SCREENSHOTS:
        IMG_DIR.mkdir(parents=True, exist_ok=True)
        page.locator(".vc-login-panel").screenshot(path=IMG_DIR / name, animations="disabled")


def rgb(css: str) -> tuple[int, ...]:
    return tuple(int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


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


def test_vitaldb_id_and_password_logs_in_by_enter(lab, shot_context, sandbox):
    sandbox.reset()
    notebook = lab["root"] / "vitaldb_password.ipynb"
    write_notebook(
        notebook,
        "import vital_connect as vc\n"
        f"s = vc.connect('vitaldb', base_url={sandbox.base_url('vitaldb')!r}, cache=False, "
        "lang='en')",
        "print('USER', s.userinfo()['email'])",
    )
    page = open_and_run_all(shot_context, lab, notebook.name)
    page.locator(".vc-login-panel").wait_for()
    # No application configured (no redirect address): id and password come first.
    grant = page.locator(".vc-grant select")
    chosen = "s => [s.options[s.selectedIndex].text, s.options[0].text]"
    shown = [text.replace("\xa0", " ") for text in grant.evaluate(chosen)]  # nbsp as rendered
    assert shown == ["Username and password"] * 2
    title = page.locator(".vc-title")
    assert title.inner_text() == f"Log in to VitalDB ({sandbox_at(sandbox)})"
    page.locator(".vc-username input").fill(vc.sandbox.VITALDB_USERNAME)
    password = page.locator(".vc-password input")
    password.fill(vc.sandbox.VITALDB_PASSWORD)
    screenshot(page, "login-panel.png")  # the password shows as dots only
    password.press("Enter")

    email = vc.sandbox.VITALDB_EMAIL
    where = f"Logged in to VitalDB ({sandbox_at(sandbox)})"
    page.locator(".vc-status").filter(
        has_text=f"{where} as {vc.sandbox.VITALDB_USERNAME}"
    ).wait_for()
    assert title.inner_text() == where
    page.locator(".jp-OutputArea-output").filter(has_text=f"USER {email}").wait_for()
    assert token_requests(sandbox, "vitaldb") == 1
    screenshot(page, "login-panel-logged-in.png")
    saved = save_and_read(page, notebook, f"USER {email}")
    assert_no_secrets(saved, vc.sandbox.VITALDB_PASSWORD)
    page.close()


def test_vitaldb_code_flow_in_the_browser(lab, shot_context, sandbox):
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
    page = open_and_run_all(shot_context, lab, notebook.name)

    link = page.locator(".vc-signin-link a")
    link.wait_for()
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")
    # It looks like a link as JupyterLab renders it: a blue, underlined, not the text's colour.
    look = link.evaluate(
        "a => { const s = getComputedStyle(a), p = getComputedStyle(a.parentElement);"
        " return [s.color, p.color, s.textDecorationLine, s.cursor]; }"
    )
    (r, g, b), text_colour = rgb(look[0]), rgb(look[1])
    assert b > r + 60 and b > g + 30 and rgb(look[0]) != text_colour, look
    assert "underline" in look[2] and look[3] == "pointer", look
    assert "3 minutes" in page.locator(".vc-countdown").inner_text()
    screenshot(page, "login-panel-code-flow.png")
    with shot_context.expect_page() as opened:
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
    where = f"Logged in to VitalDB ({sandbox_at(sandbox)})"
    page.locator(".vc-status").filter(has_text=f"{where} as {email}").wait_for()
    assert page.locator(".vc-title").inner_text() == where
    page.locator(".jp-OutputArea-output").filter(has_text=f"USER {email}").wait_for()

    saved = save_and_read(page, notebook, f"USER {email}")
    assert_no_secrets(saved)
    assert "code=" not in saved
    page.close()


def test_a_progress_bar_in_jupyterlab(lab, shot_context, sandbox):
    """tqdm.auto in a notebook: a widget bar that counts the cohort's cases to the end."""
    sandbox.reset()
    notebook = lab["root"] / "progress.ipynb"
    write_notebook(
        notebook,
        "import vital_connect as vc\n"
        f"s = vc.connect('vitaldb', anonymous=True, base_url={sandbox.base_url('vitaldb')!r}, "
        "cache=False)\n"
        "tracks = ['SNUADC/ART', 'Solar8000/HR']\n"
        "ids = s.find_cases(tracks)[:8]\n"
        "df = s.load_cases(ids, tracks, interval=1)\n"
        "print('ROWS', len(df))",
    )
    page = open_and_run_all(shot_context, lab, notebook.name)
    bar = page.locator(".widget-hprogress")
    bar.wait_for()
    page.locator(".jp-OutputArea-output").filter(has_text="ROWS").wait_for()
    label = page.locator(".jp-OutputArea-output").filter(has_text="cases:")
    assert "8/8" in label.first.inner_text()
    if SCREENSHOTS:
        IMG_DIR.mkdir(parents=True, exist_ok=True)
        page.locator(".jp-OutputArea").first.screenshot(
            path=IMG_DIR / "progress-bar.png", animations="disabled"
        )
    page.close()
