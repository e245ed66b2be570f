"""``vital-connect demo``: the sandbox, every provider and grant, a table from each, on the
endpoints the providers document."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests

from ._connect import connect_with
from ._options import Options

if TYPE_CHECKING:  # pragma: no cover
    from ._session import Session


class _Form(HTMLParser):
    """Collects the first form's action and inputs (the sandbox's VitalDB login page)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def fill_login_form(login_url: str, user: str, password: str, timeout: float = 10) -> str:
    """Act as the person on a VitalDB-style login page; return the redirected address."""
    page = requests.get(login_url, timeout=timeout)
    page.raise_for_status()
    form = _Form()
    form.feed(page.text)
    form.fields.update({"id": user, "pw": password})
    target = urljoin(login_url, form.action or "")
    answer = requests.post(target, data=form.fields, allow_redirects=False, timeout=timeout)
    if answer.status_code not in (301, 302, 303, 307):
        raise RuntimeError(f"the login form answered {answer.status_code}, not a redirect")
    return answer.headers["Location"]


def run_demo(rows: int = 3) -> int:
    import pandas as pd

    import vital_connect as vc

    def show(title: str, df: pd.DataFrame) -> None:
        print(f"\n## {title}  ({len(df)} rows x {len(df.columns)} columns)")
        print(df.head(rows).to_string(max_colwidth=28))

    with vc.sandbox.serve(port=0) as sb:
        print(f"vital_connect {vc.__version__} demo against the sandbox at {sb.url}")

        s = _open("vitalera", sb.credentials("vitalera"))
        show("vitalera, client credentials: GET /api/monitoreds/", s.get("/api/monitoreds/"))

        s = _open("vitalera", sb.credentials("vitalera", grant="password"))
        path = "/api/monitoreds/1/observations/"
        show(f"vitalera, password grant: GET {path}", s.get(path))
        s.refresh()
        print(f"refreshed with the refresh token; validate() -> {s.validate()}")

        s = _open("vidaplus", sb.credentials("vidaplus"))
        show("vidaplus, password grant: GET /pacientes/ (every page)", s.get("/pacientes/"))

        s = _open("vitaldb", sb.credentials("vitaldb"))
        show("VitalDB, id/pw grant: GET /api/filelist (the Web API)", s.get("/api/filelist"))

        s = _open("vitaldb", sb.credentials("vitaldb", grant="authorization_code"))
        landed = fill_login_form(
            s.authorization_url(), vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD
        )
        s.complete_login(landed)
        show("VitalDB, authorization code: userinfo()", _one_row(s.userinfo()))

        s = vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"))
        tracks = ["SNUADC/ART", "Solar8000/ART_MBP", "Solar8000/HR"]
        case = s.find_cases(tracks)[0]
        show(
            f"VitalDB open dataset, no login: load_case({case}, {tracks}, interval=1)",
            s.load_case(case, tracks, interval=1),
        )
    print("\nAll three providers answered. Next: see README.md and notebooks/quickstart.ipynb.")
    return 0


def _open(provider: str, creds: dict[str, str]) -> Session:
    """``vc.connect(provider, cache=False, **creds)``, typed: the demo keeps no token."""
    return connect_with(provider, Options.of(cache=False, **creds))


def _one_row(d: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DataFrame([d])
