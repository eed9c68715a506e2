"""The guard that keeps every test on loopback must itself be able to fail."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def test_guard_refuses_a_public_address_in_this_process() -> None:
    with (
        pytest.raises(OSError, match="network guard"),
        socket.create_connection(("192.0.2.1", 80), timeout=1),
    ):
        pass


def test_guard_refuses_name_lookups_in_child_processes() -> None:
    code = "import socket; socket.getaddrinfo('publicsuffix.org', 443)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )

    assert proc.returncode != 0
    assert "network guard" in proc.stderr


def test_guard_refuses_gethostbyname() -> None:
    with pytest.raises(OSError, match="network guard"):
        socket.gethostbyname("publicsuffix.org")


def test_loopback_is_allowed() -> None:
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_test_hosts_answer_loopback_only() -> None:
    code = "import socket; print(socket.gethostbyname('intranet.test'))"
    run = [sys.executable, "-c", code]

    def child(hosts: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "NETGUARD_HOSTS": hosts}
        return subprocess.run(run, capture_output=True, text=True, check=False, env=env)

    assert child("intranet.test=127.0.0.1").stdout.strip() == "127.0.0.1"
    refused = child("intranet.test=192.0.2.1")
    assert refused.returncode != 0
    assert "not loopback" in refused.stderr
