"""Fixtures shared by the whole suite: one real sandbox server, an isolated user, the
browser, and the Binder environment built in the background."""

from __future__ import annotations

import os

import pytest

_PROVIDER_ENV_PREFIXES = ("VITALERA_", "VIDAPLUS_", "VITALDB_", "VITAL_CONNECT_")


@pytest.fixture(scope="session")
def sandbox():
    """The sandbox server, started once for the session (a real HTTP server in a thread)."""
    from vital_connect import sandbox as sandbox_module

    with sandbox_module.serve(port=0) as server:
        yield server


@pytest.fixture(scope="session")
def documented_vitaldb():
    """The documented VitalDB replica (tests/documented_vitaldb.py), one for the session."""
    import documented_vitaldb as dv

    with dv.DocumentedVitalDB() as running:
        yield running


@pytest.fixture
def replica(documented_vitaldb):
    """The replica with an empty request record before and after each test."""
    documented_vitaldb.clear_requests()
    yield documented_vitaldb
    documented_vitaldb.clear_requests()


@pytest.fixture
def sb(sandbox):
    """The shared sandbox, reset to its seeded state before each test."""
    sandbox.reset()
    yield sandbox
    sandbox.reset()


@pytest.fixture(autouse=True)
def provider_registry():
    """Providers a test registers are gone after it."""
    from vital_connect import _providers

    saved = dict(_providers._registry)
    yield
    _providers._registry.clear()
    _providers._registry.update(saved)


@pytest.fixture(autouse=True)
def fresh_transport_verdicts():
    """Each test judges URLs afresh: the verdicts kept per authority are process-wide, and
    a mutation run forks each mutant's tests from a process that judged them already."""
    from vital_connect._transport import clear_verdicts

    clear_verdicts()


@pytest.fixture(autouse=True)
def isolated_user(tmp_path, monkeypatch):
    """Each test runs as a fresh user: empty cache dir, no provider env vars, no stray .env."""
    for name in list(os.environ):
        if name.startswith(_PROVIDER_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("VITAL_CONNECT_CACHE_DIR", str(cache))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# Real-browser fixtures (Debian's Chromium through Playwright). Named so as not to shadow
# pytest-playwright's own (browser, context, page).
@pytest.fixture(scope="module")
def chromium():
    from jupyter_browser import CHROMIUM, LAUNCH_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab_context(chromium):
    from jupyter_browser import TIMEOUT_MS

    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


# The Binder environment: built while the other tests run (see binder_build.py).
_binder_build = None


def pytest_collection_modifyitems(session, config, items):
    from binder_build import BINDER_TEST, BackgroundBuild, binder_test_enabled

    global _binder_build
    binder = [item for item in items if item.nodeid.endswith(BINDER_TEST)]
    if not binder or not binder_test_enabled() or config.option.collectonly:
        return
    items[:] = [item for item in items if item not in binder] + binder  # last: most overlap
    root = config._tmp_path_factory.mktemp("binder", numbered=True)
    _binder_build = BackgroundBuild(root).start()


def pytest_sessionfinish(session, exitstatus):
    if _binder_build is not None:
        _binder_build.stop()  # an install still running when the session ends is killed


@pytest.fixture(scope="session")
def binder_build(tmp_path_factory):
    """The background build started at collection, or one started now (e.g. when the Binder
    test was selected on its own and collection hook saw it deselected later)."""
    from binder_build import BackgroundBuild

    global _binder_build
    if _binder_build is None:
        _binder_build = BackgroundBuild(tmp_path_factory.mktemp("binder")).start()
    return _binder_build
