"""``__all__`` and the real public names stay equal (as httpx does)."""

import vital_connect as vc


def test_all_matches_public_names():
    for name in vc.__all__:  # the lazy ones become attributes once asked for
        getattr(vc, name)
    public = {n for n in vars(vc) if not n.startswith("_")}
    public -= {"annotations", "TYPE_CHECKING"}
    # submodules imported as a side effect are not API
    public -= {"cli"}
    assert set(vc.__all__) == public | {"__version__"}


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, vital_connect as vc; "
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'flask', 'vital_connect._session') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr  # each loads when first needed
    assert vc.connect.__module__ == "vital_connect._connect"


def test_dir_shows_the_public_names_only():
    shown = set(dir(vc))
    assert {"login_panel", "sandbox", "connect", "Session"} <= shown
    assert not shown & {"annotations", "TYPE_CHECKING", "cli"}


def test_every_error_derives_from_the_base():
    errors = [getattr(vc, n) for n in vc.__all__ if n.endswith("Error")]
    assert len(errors) >= 10
    for cls in errors:
        assert issubclass(cls, vc.VitalConnectError)
    assert issubclass(vc.UnknownProviderError, ValueError)


def test_every_public_name_has_a_docstring():
    missing = [n for n in vc.__all__ if n != "__version__" and not getattr(vc, n).__doc__]
    assert not missing
