"""Loaded by every Python child process the tests start (PYTHONPATH): refuses any connection
or name lookup that would leave loopback, so a test cannot pass by reaching the real network."""

from tests_netguard_impl import install

install()
