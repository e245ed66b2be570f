"""The vital-connect command, in process and as a person or a shell runs it: over a real
pseudo-terminal (the prompts), a real pipe (``| head``), real downloads to a folder."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from loopback import read_until

import vital_connect as vc
from vital_connect._demo import fill_login_form
from vital_connect.cli import EXIT_BROKEN_PIPE, main

CLI = [sys.executable, "-m", "vital_connect.cli"]
EXTRA_HINT = 'pip install "vital-connect[sandbox]"'


def _env(**extra: str) -> dict[str, str]:
    # the test's own environment (isolated cache dir, no provider variables), minus CI, which
    # would hide progress bars from a terminal
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(extra)
    return env


def _default_sigint() -> None:
    # a parent that ignores SIGINT (nohup, a CI runner) must not make the child ignore it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _on_the_terminal() -> None:
    _default_sigint()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty becomes the controlling terminal, as in a shell


@contextmanager
def _terminal(args: list[str], env: dict[str, str], *, stdout: int | None = None) -> Iterator:
    """The CLI with a pty as its controlling terminal: (child, master fd). Killed after."""
    master, tty = pty.openpty()
    # a terminal's size, as a real one has (a fresh pty is 0x0, where tqdm draws nothing)
    fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    child = subprocess.Popen(
        [*CLI, *args],
        stdin=tty,
        stdout=tty if stdout is None else stdout,
        stderr=tty,
        env=env,
        start_new_session=True,
        preexec_fn=_on_the_terminal,
    )
    os.close(tty)
    try:
        yield child, master
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        os.close(master)


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        [*CLI, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or _env(),
        preexec_fn=_default_sigint,
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _set_env(monkeypatch, provider: str, creds: dict[str, str]) -> None:
    for key, value in creds.items():
        monkeypatch.setenv(f"{provider.upper()}_{key.upper()}", value)


# ---------------------------------------------------------------------------- in process


def test_providers(capsys):
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    for name in ("vitalera", "vidaplus", "vitaldb"):
        assert name in out


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"vital-connect {vc.__version__}\n"


def test_get_reads_credentials_from_the_environment(sb, monkeypatch, capsys):
    _set_env(monkeypatch, "vitalera", sb.credentials("vitalera"))
    path = "/api/monitoreds/1/observations/"
    assert main(["get", "vitalera", path, "--format", "json", "--no-cache"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == sb.rows["observations"]
    assert "observation_definition.observation_name" in rows[0]


def test_get_csv_of_the_open_dataset(sb, capsys):
    argv = ["get", "vitaldb", "/cases", "--anonymous", "--format", "csv"]
    assert main([*argv, "--base-url", sb.base_url("vitaldb")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("caseid,")


def test_params_repeat_and_reach_the_server(sb, monkeypatch, capsys):
    _set_env(monkeypatch, "vitaldb", sb.credentials("vitaldb"))
    argv = ["get", "vitaldb", "/api/filelist", "--format", "json", "--no-cache"]
    assert main([*argv, "--param", "bedname=OR1", "--param", "unixtimestamp=1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["filename"].startswith("OR1_") for r in rows)
    assert all(isinstance(r["dtstart"], int | float) for r in rows)  # unix times, as asked
    sent = [r for r in sb.requests if r.path.endswith("/api/filelist")][-1]
    assert sent.query.get("bedname") == "OR1" and sent.query.get("unixtimestamp") == "1"


def test_a_malformed_param_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as done:
        main(["get", "vitaldb", "/cases", "--param", "novalue"])
    assert done.value.code == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_table_shows_rows_rows(sb, capsys):
    argv = ["get", "vitaldb", "/cases", "--anonymous", "--base-url", sb.base_url("vitaldb")]
    assert main([*argv, "--rows", "6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "caseid"
    assert len(lines) == 1 + 6 + 1  # header, 3 + 3 rows around the "..." line
    assert "..." in lines[4]


def test_errors_are_one_clear_line_and_exit_1(capsys):
    # pytest's stdin is not a terminal: nobody to ask, so the variables are named
    assert main(["get", "vitalera", "/api/plans/"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No credentials") and "VITALERA_CLIENT_ID" in err
    assert err.count("\n") == 1


def test_an_api_error_is_one_line(sb, capsys):
    argv = ["get", "vitaldb", "/no-such-track", "--anonymous"]
    assert main([*argv, "--base-url", sb.base_url("vitaldb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "404" in err


def test_the_code_flow_without_a_terminal_says_what_to_do(sb, monkeypatch, capsys):
    creds = sb.credentials("vitaldb", grant="authorization_code")
    _set_env(monkeypatch, "vitaldb", {k: v for k, v in creds.items() if k != "grant"})
    assert main(["get", "vitaldb", "/oauth2/userinfo", "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "terminal" in err and "VITALDB_USERNAME" in err
    assert creds["client_secret"] not in err


def test_progress_is_off_into_a_pipe_and_on_when_asked(sb, monkeypatch, capsys):
    _set_env(monkeypatch, "vidaplus", sb.credentials("vidaplus"))
    argv = ["get", "vidaplus", "/pacientes/", "--format", "csv", "--no-cache"]
    assert main(argv) == 0  # stderr is pytest's capture, not a terminal
    first = capsys.readouterr()
    assert first.err == ""
    assert len(first.out.splitlines()) == sb.rows["pacientes"] + 1
    assert main([*argv, "--progress"]) == 0
    assert "vidaplus pages" in capsys.readouterr().err


def test_sandbox_command_reports_a_busy_port(sb, capsys):
    assert main(["sandbox", "--port", str(sb.port)]) == 1
    assert f"cannot listen on 127.0.0.1:{sb.port}" in capsys.readouterr().err


# ---------------------------------------------------------------------------- download


def test_download_saves_what_the_web_api_serves(sb, monkeypatch, capsys, tmp_path):
    creds = sb.credentials("vitaldb")
    _set_env(monkeypatch, "vitaldb", creds)
    folder = tmp_path / "data"
    folder.mkdir()
    name = vc.connect("vitaldb", cache=False).get("/api/filelist")["filename"].iloc[0]
    argv = ["download", "vitaldb", "/api/download", "--param", f"filename={name}"]
    assert main([*argv, "--to", str(folder), "--no-cache"]) == 0
    saved = Path(capsys.readouterr().out.strip())
    assert saved == folder / name
    # the same file fetched by hand: a token from the id/pw login, then the documented GET
    login = requests.post(
        creds["base_url"] + "/oauth2/token",
        data={"id": creds["username"], "pw": creds["password"]},
        timeout=10,
    )
    token = login.json()["access_token"]
    served = requests.get(
        creds["base_url"] + "/api/download",
        params={"access_token": token, "filename": name},
        timeout=10,
    )
    assert served.status_code == 200 and served.content[:2] == b"\x1f\x8b"  # a .vital: gzip
    assert saved.read_bytes() == served.content
    assert sorted(p.name for p in folder.iterdir()) == [name]


def test_download_a_public_file_anonymously_here(sb, capsys, isolated_user):
    base = sb.base_url("vitaldb")
    argv = ["download", "vitaldb", "/0001.vital", "--anonymous", "--base-url", base]
    assert main(argv) == 0  # no --to: the current folder
    saved = Path(capsys.readouterr().out.strip())
    assert saved.resolve() == isolated_user / "0001.vital"
    assert saved.read_bytes() == requests.get(base + "/0001.vital", timeout=10).content


def test_download_into_a_missing_folder_is_one_line(sb, capsys, tmp_path):
    argv = ["download", "vitaldb", "/0001.vital", "--anonymous"]
    missing = tmp_path / "nope" / "x.vital"
    argv += ["--base-url", sb.base_url("vitaldb"), "--to", str(missing)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Cannot save") and err.count("\n") == 1


@contextmanager
def _raw_server(answer: bytes, *, cut: bool) -> Iterator[str]:
    """A loopback server that answers every request with ``answer`` (head and body) and,
    with ``cut``, closes the connection after half the body: a server dying mid-file."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # accept() wakes up to see ``stop``; closing does not wake it
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            with conn:
                conn.recv(65536)
                head, _, body = answer.partition(b"\r\n\r\n")
                conn.sendall(head + b"\r\n\r\n" + (body[: len(body) // 2] if cut else body))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def _file_answer(body: bytes, disposition: str) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {len(body)}\r\nContent-Disposition: {disposition}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def test_download_is_named_from_content_disposition(capsys, tmp_path):
    body = os.urandom(50_000)
    answer = _file_answer(body, "attachment; filename*=UTF-8''caso%201.vital")
    with _raw_server(answer, cut=False) as url:
        argv = ["download", "vitaldb", "/files/get", "--param", "filename=wrong.bin"]
        assert main([*argv, "--anonymous", "--base-url", url, "--to", str(tmp_path)]) == 0
    saved = Path(capsys.readouterr().out.strip())
    assert saved == tmp_path / "caso 1.vital"  # not the parameter, not the path
    assert saved.read_bytes() == body


def test_a_download_cut_mid_body_leaves_no_file(capsys, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    answer = _file_answer(os.urandom(200_000), "attachment; filename=cut.vital")
    with _raw_server(answer, cut=True) as url:
        argv = ["download", "vitaldb", "/cut", "--anonymous", "--base-url", url]
        assert main([*argv, "--to", str(folder)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert list(folder.iterdir()) == []  # neither cut.vital nor a temporary file


# ---------------------------------------------------------------------------- a terminal


def test_get_asks_on_the_terminal_with_getpass(sb):
    creds = sb.credentials("vidaplus")
    env = _env(VIDAPLUS_BASE_URL=creds["base_url"])  # the username and password are asked
    with _terminal(["get", "vidaplus", "/pacientes/", "--no-cache", "--rows", "4"], env) as (
        child,
        fd,
    ):
        seen = read_until(fd, b"username: ")
        assert b"vidaplus username: " in seen
        os.write(fd, creds["username"].encode() + b"\n")
        seen += read_until(fd, b"password: ")
        assert b"vidaplus password: " in seen
        os.write(fd, creds["password"].encode() + b"\n")
        seen += read_until(fd, b"__never__")  # to the end of its output
        assert child.wait(timeout=60) == 0
    text = seen.decode(errors="replace")
    assert creds["username"] in text  # input() echoes the username
    assert creds["password"] not in text  # getpass did not echo the password
    assert re.search(r"\bid\s+nome\s+email", text)  # the table, on the terminal
    assert "vidaplus pages" in text  # a terminal gets the progress bar by default
    assert "Traceback" not in text


def test_prompts_go_to_the_terminal_not_into_the_output(sb):
    # `vital-connect get ... > rows.csv` typed in a terminal: asked there, data in the file
    creds = sb.credentials("vidaplus")
    env = _env(VIDAPLUS_BASE_URL=creds["base_url"])
    read, write = os.pipe()
    try:
        argv = ["get", "vidaplus", "/leitos/", "--format", "csv", "--no-cache", "--no-progress"]
        with _terminal(argv, env, stdout=write) as (child, fd):
            os.close(write)
            write = -1
            seen = read_until(fd, b"username: ")  # input()'s prompt: on the terminal too
            assert b"vidaplus username: " in seen
            os.write(fd, creds["username"].encode() + b"\n")
            seen += read_until(fd, b"password: ")
            assert b"vidaplus password: " in seen
            os.write(fd, creds["password"].encode() + b"\n")
            with os.fdopen(read, "rb", closefd=False) as pipe:
                out = pipe.read().decode()
            assert child.wait(timeout=60) == 0
            seen += read_until(fd, b"__never__", limit=2)
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)
    assert out.splitlines()[0].startswith("id,")
    assert len(out.splitlines()) == sb.rows["leitos"] + 1
    assert "username" not in out and "password" not in out
    assert creds["password"] not in seen.decode(errors="replace")


def test_ctrl_c_at_the_prompt_exits_130_quietly_with_echo_back_on(sb):
    env = _env(VIDAPLUS_BASE_URL=sb.base_url("vidaplus"), VIDAPLUS_USERNAME="someone")
    with _terminal(["get", "vidaplus", "/leitos/", "--no-cache"], env) as (child, fd):
        seen = read_until(fd, b"password: ")
        assert b"vidaplus password: " in seen
        os.write(fd, b"\x03")  # Ctrl+C: the line discipline sends SIGINT to the foreground
        assert child.wait(timeout=30) == 130
        seen += read_until(fd, b"__never__", limit=2)
        assert termios.tcgetattr(fd)[3] & termios.ECHO  # getpass switched echo back on
    assert b"Traceback" not in seen and b"KeyboardInterrupt" not in seen


def test_the_code_flow_on_a_terminal_prints_the_link_and_reads_the_address(sb):
    creds = sb.credentials("vitaldb", grant="authorization_code")
    env = _env(**{f"VITALDB_{k.upper()}": v for k, v in creds.items() if k != "grant"})
    argv = ["get", "vitaldb", "/oauth2/userinfo", "--no-cache", "--format", "json"]
    with _terminal(argv, env) as (child, fd):
        seen = read_until(fd, b"Address after login: ")
        link = re.search(rb"land:\s+(http://\S+)", seen)
        assert link, seen
        landed = fill_login_form(
            link.group(1).decode(), vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD
        )
        os.write(fd, landed.encode() + b"\n")
        seen += read_until(fd, b"__never__")
        assert child.wait(timeout=60) == 0
    text = seen.decode(errors="replace")
    assert f'"userid":"{vc.sandbox.VITALDB_USERNAME}"' in text
    assert creds["client_secret"] not in text


# ---------------------------------------------------------------------------- a pipe


def test_a_closed_pipe_ends_quietly_with_141(sb):
    # `vital-connect get ... | head -1`: the reader takes one chunk and goes away
    creds = sb.credentials("vidaplus")
    env = _env(**{f"VIDAPLUS_{k.upper()}": v for k, v in creds.items()})
    read, write = os.pipe()
    # a one-page pipe: the CSV (tens of kB) cannot all fit before the reader closes it
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen(
        [*CLI, "get", "vidaplus", "/pacientes/", "--format", "csv", "--no-cache"],
        stdin=subprocess.DEVNULL,
        stdout=write,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_default_sigint,
    )
    os.close(write)
    try:
        first = os.read(read, 100)
        os.close(read)
        read = -1
        _, err = proc.communicate(timeout=60)
    finally:
        if read >= 0:
            os.close(read)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert first.startswith(b"id,nome")
    assert err == b""  # no traceback, no "Exception ignored", no message
    assert proc.returncode == EXIT_BROKEN_PIPE


# ---------------------------------------------------------------------------- processes


def test_demo_shows_every_provider_and_grant():
    # as a user runs it: a separate process, the console script's module
    done = _run(["demo", "--rows", "2"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for title in (
        "vitalera, client credentials",
        "vitalera, password grant",
        "vidaplus, password grant",
        "VitalDB, id/pw grant",
        "VitalDB, authorization code",
        "VitalDB open dataset",
    ):
        assert title in out
    # the documented endpoints: every patient (more than one page), observations, a case
    pacientes = re.search(r"GET /pacientes/ .*?\((\d+) rows", out)
    assert pacientes and int(pacientes.group(1)) > 100
    assert re.search(r"observations/\s+\(\d+ rows", out) and "value_unit" in out
    assert re.search(r"load_case\(\d+, \[.*SNUADC/ART.*\], interval=1\)\s+\(\d+ rows x 3 col", out)
    for secret in vc.sandbox.SECRETS:
        assert secret not in out


# Makes the [sandbox] extra look uninstalled: Flask, Werkzeug and PyJWT cannot be imported.
WITHOUT_EXTRA = """
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("flask", "werkzeug", "jwt"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
"""

FROM_PYTHON = """
import vital_connect as vc
for attempt in (lambda: vc.sandbox.serve(port=0), lambda: __import__("vital_connect.sandbox")):
    try:
        attempt()
    except vc.ConfigurationError as exc:
        assert isinstance(exc, ImportError)  # `except ImportError` around it still works
        print(exc)
    else:
        raise SystemExit("the sandbox imported without its extra")
"""


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_without_the_sandbox_extra_the_cli_names_it(tmp_path, command):
    (tmp_path / "sitecustomize.py").write_text(WITHOUT_EXTRA)
    done = _run([command], env=_env(PYTHONPATH=str(tmp_path)))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert EXTRA_HINT in done.stderr


def test_without_the_sandbox_extra_python_names_it(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(WITHOUT_EXTRA)
    proc = subprocess.Popen(
        [sys.executable, "-c", FROM_PYTHON],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(PYTHONPATH=str(tmp_path)),
        preexec_fn=_default_sigint,
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and all(EXTRA_HINT in line for line in lines)
    assert all("no module named 'flask'" in line for line in lines)
