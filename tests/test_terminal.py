"""No widget frontend but a terminal: connect() asks with getpass (nothing echoed)."""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import termios

from loopback import read_until, stop

import vital_connect as vc

SCRIPT = (
    "import vital_connect as vc, sys\n"
    "s = vc.connect('vidaplus', base_url=sys.argv[1], cache=False)\n"
    "print('HELLO', s.userinfo()['sub'], len(s.get('/leitos/')))\n"
    "print('KEPT', s.auth.credentials.resolve().get('password'))\n"
)


def test_terminal_asks_with_getpass(sb, monkeypatch):
    creds = sb.credentials("vidaplus")
    monkeypatch.setenv("VIDAPLUS_USERNAME", creds["username"])  # only the password is asked
    fd, tty = pty.openpty()
    # a Python program whose controlling terminal is the pty, as in a shell
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, creds["base_url"]],
        stdin=tty,
        stdout=tty,
        stderr=tty,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(tty)
    try:
        prompt = read_until(fd, b"password: ")
        assert b"vidaplus password: " in prompt
        os.write(fd, creds["password"].encode() + b"\n")
        out = read_until(fd, b"KEPT")
        out += read_until(fd, b"\n", limit=5)
    finally:
        try:
            child.wait(timeout=30)
        finally:
            stop(child)
            os.close(fd)
    text = out.decode(errors="replace")
    assert f"HELLO {creds['username']}" in text
    assert "KEPT None" in text  # typed secrets are not kept for renewal
    assert creds["password"] not in text  # getpass did not echo it
    assert child.returncode == 0


def test_no_terminal_and_no_widgets_raises_naming_the_variables(sb):
    # pytest's stdin is not a terminal: nobody can be asked
    try:
        vc.connect("vidaplus", base_url=sb.base_url("vidaplus"), cache=False)
    except vc.MissingCredentialsError as exc:
        assert "VIDAPLUS_USERNAME" in str(exc) and "VIDAPLUS_PASSWORD" in str(exc)
    else:
        raise AssertionError("expected MissingCredentialsError")
