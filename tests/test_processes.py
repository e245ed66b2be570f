"""Two kernels sharing one token cache: no corrupt file, one renewal, the second adopts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from loopback import stop

import vital_connect as vc

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    import vital_connect as vc
    creds = json.loads(os.environ["SBX_CREDS"])
    s = vc.connect("vitalera", **creds)          # adopts the cached (expired) token
    start = float(os.environ["SBX_START"])
    time.sleep(max(0.0, start - time.time()))    # both children go at the same moment
    n = s.get_json("/api/plans/")["count"]
    print(json.dumps({"count": n, "renewals": s.renewals,
                      "token": s.token.access_token[-12:]}))
    """
)


def test_two_processes_renew_once_and_share_the_result(sb, isolated_user):
    import time

    creds = sb.credentials("vitalera", grant="password")
    sb.token_ttl = 1
    vc.connect("vitalera", **creds)  # writes the cache; the token is stale at once
    sb.token_ttl = 3600
    sb.latency = 0.3  # the first renewal is slow: the second process must wait on the lock
    sb.clear_requests()
    env = dict(os.environ, SBX_CREDS=json.dumps(creds), SBX_START=str(time.time() + 2.5))
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    try:
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            stop(child)
    refreshes = [r for r in sb.requests if r.path.endswith("/refresh/")]
    grants = [r for r in sb.requests if r.path.endswith("/api/auth/tokens/")]
    print(f"\ntwo processes, one cache: {len(refreshes)} refresh, {len(grants)} logins")
    assert len(refreshes) == 1 and not grants  # no refresh token burnt twice
    assert sorted(r["renewals"] for r in results) == [0, 1]  # the other adopted it
    assert results[0]["token"] == results[1]["token"]
    (path,) = (isolated_user.parent / "cache").glob("*.json")
    json.loads(path.read_text())  # never corrupt
