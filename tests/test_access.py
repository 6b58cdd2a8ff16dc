"""Safe on a network: localhost only by default; when shared, no paths on the server; XSRF on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from ui import access

ROOT = Path(__file__).resolve().parents[1]


def test_loopback_addresses_are_told_from_shared_ones():
    for address in ("localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"):
        assert access.is_loopback(address), address
    for address in ("", "0.0.0.0", "::", "192.168.1.20", "myserver.local"):
        assert not access.is_loopback(address), address


def test_the_config_listens_on_localhost_and_keeps_xsrf_protection():
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert settings["address"] == "localhost"
    assert settings.get("enableXsrfProtection", True) is True and settings.get("enableCORS", True) is True


@pytest.fixture
def shared_server(monkeypatch):
    """As if started with --server.address 0.0.0.0."""
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    monkeypatch.delenv(access.ALLOW_VARIABLE, raising=False)
    yield
    config.set_option("server.address", before)


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_a_shared_app_reads_no_paths_on_the_server(shared_server, colors_folder):
    assert access.shared() and not access.server_paths_allowed()
    at = _app()
    at.query_params["data"] = str(colors_folder)  # an address anyone could send
    at.run()
    assert not at.exception and at.session_state.report is None
    assert any("reachable from other computers" in w.value for w in at.warning)
    at.switch_page("pages/1_data.py").run()
    at.radio(key="data_source").set_value("path").run()
    assert not at.text_input  # no path box at all
    assert any("TRANSFERLAB_ALLOW_SERVER_PATHS=1" in w.value for w in at.warning)
    at.radio(key="data_source").set_value("sample").run()
    at.button(key="load_sample").click().run()  # samples and uploads still work
    assert at.session_state.report is not None


def test_a_shared_app_may_read_paths_when_the_operator_allows_it(shared_server, colors_folder, monkeypatch):
    monkeypatch.setenv(access.ALLOW_VARIABLE, "1")
    at = _app()
    at.query_params["data"] = str(colors_folder)
    at.run()
    assert not at.exception and at.session_state.report.classes == ["blue", "red"]


def test_uploads_stay_readable_when_shared(shared_server, isolated_home):
    from core import data

    stored = data.store_upload("reviews.csv", b"text,label\nhello,a\n")
    assert access.may_read(str(stored)) and access.may_read("sample:mnist")
    assert not access.may_read("/etc/passwd")


def _listening(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (Linux /proc/net/tcp*)."""
    found = []
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # little-endian words
                found.append(socket.inet_ntop(socket.AF_INET if size == 4 else socket.AF_INET6, raw))
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's socket tables")
def test_a_started_server_listens_on_loopback_only(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TRANSFERLAB_HOME": str(tmp_path / "home")}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
                               "true", "--server.port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not _listening(port) and time.time() < deadline and server.poll() is None:
            time.sleep(0.2)
        addresses = _listening(port)
        assert addresses, "the server did not start listening"
        assert all(access.is_loopback(address) for address in addresses), addresses
    finally:
        server.terminate()
        server.wait(20)
