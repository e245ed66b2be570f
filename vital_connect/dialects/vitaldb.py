"""VitalDB: everything it does differently from RFC 6749, in one place.

Sources: seed 003 (the OAuth2 API), ``snuhvitallab/vitaldb-docs`` (``API/Web_API.md``,
``API/Web_API_OpenDataset.md``) and the official client ``vitaldb`` (``api.py``,
``dataset.py``), as summarised with quotes in ``docs/vitaldb-wire-facts.md``.

- Two hosts: ``vitaldb.net`` serves ``/oauth2/*`` and the Web API ``/api/*``;
  ``api.vitaldb.net`` the open dataset (``/cases``, ``/trks``, ``/labs``, ``/{tid}``).
- The token is the ``access_token`` query parameter on every authenticated call (no
  document mentions an Authorization header); the open dataset gets no token at all.
- Token requests carry exactly the documented fields: ``id`` + ``pw``, or ``code`` +
  ``client_id`` + ``client_secret`` (no ``grant_type``). No refresh: the grant again.
- The dataset answers GZip-compressed CSV whatever media type it declares; the Web API's
  ``filelist``/``tracklist`` answer a gzip-compressed JSON file (``json.gz``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._errors import APIError, NotSupportedError
from .._frames import csv_frame
from .._http import GZIP_MAGIC, gunzip, title_of
from .._paging import NoPaging
from .._redact import redact
from .rfc6749 import Dialect, Json, media_type

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import requests
    from requests_oauthlib import OAuth2Session

    from .._credentials import Credentials
    from .._providers import Provider

NA_VALUES = ("-nan(ind)",)  # as the official client passes to read_csv
LOCAL_ZONE = "Asia/Seoul"  # where VitalDB's servers and recorders keep time (see tidy)
JSON_FILES = ("/api/filelist", "/api/tracklist", "/api/receive")
AUTH_PREFIXES = ("/oauth2/", "/api/")


def is_dataset_path(path: str) -> bool:
    return not path.startswith(AUTH_PREFIXES)


class VitalDB(Dialect):
    name = "vitaldb"
    paging = NoPaging()
    has_dataset = True
    code_lifetime = 180.0  # seed 003: "The code will expire in 3 minutes"
    # seed 003's token request fields, as a 422 would name them
    field_names = MappingProxyType({"id": "username", "pw": "password"})

    def auth_host_path(self, provider: Provider, path: str) -> bool:
        return not is_dataset_path(path)

    def placement(self, provider: Provider, path: str) -> str | None:
        if is_dataset_path(path):
            return None  # the open dataset is public: no token goes there
        return "query"  # userinfo?access_token=… (seed 003), and every /api/* call

    def fix_token_session(self, oauth: OAuth2Session, grant: str) -> None:
        def documented_fields(
            url: str, headers: dict[str, str], request_kwargs: dict[str, Any]
        ) -> tuple[str, dict[str, str], dict[str, Any]]:
            data = dict(request_kwargs.get("data") or {})
            if grant == "password":  # seed 003: id and pw, no grant_type
                data = {"id": data.get("username", ""), "pw": data.get("password", "")}
            elif grant == "authorization_code":
                data = {k: data[k] for k in ("code", "client_id", "client_secret") if k in data}
            request_kwargs["data"] = data
            return url, headers, request_kwargs

        oauth.register_compliance_hook("access_token_request", documented_fields)

    def refresh(self, endpoint: Any, stale: Any, creds: Credentials) -> None:
        return None  # no refresh in the OAuth2 API: the grant runs again

    def decode(
        self, response: requests.Response, body: bytes, path: str, limit: int
    ) -> Json | pd.DataFrame:
        if path.startswith(JSON_FILES):
            # Web_API.md: "Content-Type: application/x-gzip", a json.gz attachment
            data = gunzip(body, limit, "json.gz file") if body.startswith(GZIP_MAGIC) else body
            return Json(self.json(response, data))
        if path.startswith("/api/download"):
            raise NotSupportedError(
                "/api/download answers a .vital file, not a table: save it with "
                "s.download('/api/download', params={'filename': ...})."
            )
        if not is_dataset_path(path):
            return super().decode(response, body, path, limit)
        # The open dataset: CSV whatever the media type, gzip as content coding (undone by
        # the HTTP layer) or as the file itself.
        data = gunzip(body, limit, "csv.gz file") if body.startswith(GZIP_MAGIC) else body
        start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if start in (b"{", b"[", b"<") or media_type(response) in ("application/json", "text/html"):
            # every dataset file starts with its header row (caseid,… or Time,…): this is
            # an error page or a proxy's answer, not data
            raise APIError(
                f"{redact(response.url)} answered HTTP {response.status_code} with "
                f"{media_type(response) or 'a body'} that is not the dataset's CSV"
                f"{title_of(data)}. Try again later, or check base_url.",
                status_code=response.status_code,
                error_type="invalid_csv",
                url=redact(response.url),
            )
        return fill_wave_times(csv_frame(data, na_values=NA_VALUES))

    def tidy(self, df: pd.DataFrame, path: str) -> pd.DataFrame:
        # The Web API writes its Datetime fields without an offset ("2024-03-04 08:30:12");
        # the docs name no zone. VitalDB runs in Seoul, its file names are local times and
        # a .vital file's own header gives tzbias -540 (Korea): so these are Korea's time,
        # not UTC, which the frame builder assumes for a time without an offset.
        if not path.startswith(JSON_FILES):
            return df
        import pandas as pd

        for name in df.columns:
            column = df[name]
            if isinstance(column.dtype, pd.DatetimeTZDtype):
                df[name] = (
                    column.dt.tz_localize(None).dt.tz_localize(LOCAL_ZONE).dt.tz_convert("UTC")
                )
        return df


def fill_wave_times(df: pd.DataFrame) -> pd.DataFrame:
    """A track file's ``Time`` column, filled in where a waveform track leaves it empty.

    Numeric tracks give a time on every row. Waveform tracks keep every sample but write
    only start, interval and end in ``Time`` (Web_API_OpenDataset.md); the official
    ``load_trk`` detects them by a NaN time, and so does this.
    """
    if len(df.columns) != 2 or df.columns[0] != "Time" or len(df) < 2:
        return df
    times = df["Time"]
    if not times.isna().any():
        return df
    import numpy as np

    known = np.flatnonzero(times.notna().to_numpy())
    if len(known) < 2:
        return df
    first, last = known[0], known[-1]
    t0, t1 = float(times.iloc[first]), float(times.iloc[last])
    step = (t1 - t0) / (last - first) if last > first else 0.0
    start = t0 - first * step
    df["Time"] = start + np.arange(len(df)) * step
    df.attrs["vitaldb_wave"] = {"start": start, "interval": step}
    return df


VITALDB = VitalDB()
