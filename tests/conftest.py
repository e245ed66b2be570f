"""Fixtures shared by the whole suite: one real sandbox server, and an isolated user."""

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
