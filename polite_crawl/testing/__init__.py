"""A loopback mock web for tests and the demo: a forward proxy that serves fictional hosts and
records every request it receives. `pytest` users get it as the `mockweb` fixture
(polite_crawl.testing.fixtures)."""

from polite_crawl.testing.mockweb import Hit, MockWeb, Resp

__all__ = ["Hit", "MockWeb", "Resp"]
