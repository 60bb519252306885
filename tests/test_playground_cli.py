"""``neuronlab playground`` as a person starts it: the URL on 127.0.0.1, the page behind it,
Ctrl-C, a busy --port, and the one line that names the install command when the extra is
missing.  The server's imports stay off ``import neuronlab``'s path."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from cli_helpers import readline_within, run_cli

pytest.importorskip("uvicorn")


def start(*args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "neuronlab", "playground", "--no-browser", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def non_loopback_address():
    """This machine's address on its default route, or None when it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_command_serves_the_page_on_loopback_and_stops_on_ctrl_c():
    child = start()
    try:
        line = readline_within(child.stdout, 60)
        assert line.startswith("neuronlab playground: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        readline_within(child.stdout, 10)  # "(this computer only; Ctrl-C stops it)"
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and b"neuronlab playground" in page.read()
        with pytest.raises(urllib.error.HTTPError) as refused:  # the URL without its token
            urllib.request.urlopen(url.split("?")[0], timeout=30)
        assert refused.value.code == 403
        address = non_loopback_address()
        if address is not None:  # nothing listens on the machine's other addresses
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=5).close()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert "neuronlab playground: stopped" in out
    assert "Traceback" not in err


def test_a_busy_port_is_one_line_and_exit_2(capsys):
    # objects other tests left for the collector (a test client's event loop) may warn when
    # collected: collected here, not inside the command, whose own warnings run_cli counts
    gc.collect()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        if port < 1024:
            pytest.skip("the system gave a privileged port")
        status, out, err = run_cli(capsys, "playground", "--no-browser", "--port", port)
    assert status == 2 and out == ""
    assert err.strip() == f"neuronlab: error: --port {port}: already in use; choose another or leave --port out for a free one"


@pytest.mark.parametrize("port", ["80", "http", "70000"])
def test_a_bad_port_is_a_usage_error(capsys, port):
    status, out, err = run_cli(capsys, "playground", "--port", port)
    assert status == 2 and "--port: must be a port number from 1024 to 65535" in err and len(err.splitlines()) == 1


def test_without_the_extra_one_line_names_the_install_command():
    code = ("import sys; sys.modules['starlette'] = None\n"
            "from neuronlab.apps.cli import main\n"
            "sys.exit(main(['playground', '--no-browser']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == ("neuronlab: error: the playground needs starlette, which is not installed; install it "
                          "with: pip install 'neuronlab[playground]'\n")


def test_the_web_server_stays_off_the_import_path():
    code = ("import sys, neuronlab; from neuronlab.apps.cli import build_parser; build_parser(); "
            "print(','.join(m for m in ('starlette', 'uvicorn', 'websockets', 'neuronlab.apps.playground') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""
