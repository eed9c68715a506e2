"""A forward HTTP proxy on 127.0.0.1 that *is* the web for a test.

Scrapy honours `http_proxy`/`https_proxy`: point both at `MockWeb.proxy_url` and every fictional
host (`http://site.test`, `https://pbs.twimg.com`, ...) is answered here, from the table given
to `MockWeb`. Nothing leaves loopback. Every request that reaches the server is recorded in
`hits`, which is the ground truth for "was it fetched?".
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from polite_crawl.testing.tls import server_context

if TYPE_CHECKING:
    import ssl


@dataclass
class Resp:
    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str | list[str]] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0  # seconds before the answer starts
    # reset: TCP reset instead of an answer; hang: never answers; stall: sends the headers and
    # `body`, then nothing more although Content-Length promises more; endless: no
    # Content-Length, `body` repeated until the client goes away.
    action: Literal["respond", "reset", "hang", "stall", "endless"] = "respond"
    trickle: float = 0.0  # seconds between 1 KiB chunks of the body

    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


Handler = Callable[["Hit"], Resp]
STALLED_BYTES = 1 << 20  # what a stalled answer's Content-Length promises beyond its body
SERVER_PATIENCE = 60.0  # seconds a stalled or endless answer waits for the client to leave
TLS_HANDSHAKE = b"\x16"  # the first byte of a TLS ClientHello


@dataclass(frozen=True)
class Hit:
    method: str
    url: str  # scheme://host[:port]/path?query as the client asked for it
    headers: dict[str, str]  # lower-cased names; a repeated header shows its last value
    at: float
    # Every header line as received, in order (name as sent): repeated headers, name case.
    header_lines: tuple[tuple[str, str], ...] = ()

    def all(self, name: str) -> list[str]:
        """Every value of the header name (any case), in the order received."""
        return [v for k, v in self.header_lines if k.lower() == name.lower()]

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def page(*links: str, images: Iterable[str] = (), head: str = "", title: str = "") -> Resp:
    """An HTML page linking to `links` and showing `images`."""
    body = "".join(f'<a href="{u}">{u}</a>\n' for u in links)
    body += "".join(f'<img src="{u}">\n' for u in images)
    return Resp(
        body=f"<html><head><title>{title}</title>{head}</head><body>\n{body}</body></html>"
    )


class MockWeb:
    def __init__(self, sites: dict[str, Resp | Handler] | None = None) -> None:
        # Keys are absolute URLs ("http://site.test/page"); a key without a path is a whole
        # origin's fallback handler. Unknown paths on known hosts are 404, unknown hosts 502.
        self.routes: dict[str, Resp | Handler] = dict(sites or {})
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._tls = server_context()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def env(self) -> dict[str, str]:
        """Environment for a crawler process: every request goes through this proxy."""
        return {
            "http_proxy": self.proxy_url,
            "https_proxy": self.proxy_url,
            "HTTP_PROXY": self.proxy_url,
            "HTTPS_PROXY": self.proxy_url,
            "no_proxy": "",
            "NO_PROXY": "",
        }

    def add(self, url: str, resp: Resp | Handler) -> None:
        self.routes[url] = resp

    def start(self) -> MockWeb:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MockWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the server saw -------------------------------------------------------------
    def fetched(self, url: str) -> bool:
        return any(h.url == url for h in self.hits)

    def urls(self, host: str | None = None) -> list[str]:
        return [h.url for h in self.hits if host is None or h.host == host]

    def hosts(self) -> set[str]:
        return {h.host for h in self.hits}

    # --- serving --------------------------------------------------------------------------
    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def resolve(self, hit: Hit) -> Resp:
        route = self.routes.get(hit.url) or self.routes.get(hit.url.split("?", 1)[0])
        if route is None:
            route = self.routes.get(hit.origin)
            if route is None:
                known = any(k.startswith(hit.origin + "/") for k in self.routes)
                if known:
                    return Resp(404, "not found", content_type="text/plain")
                return Resp(502, f"mockweb: no such host {hit.origin}", content_type="text/plain")
        return route(hit) if callable(route) else route


def _make_handler(web: MockWeb) -> type[BaseHTTPRequestHandler]:
    class ProxyHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        tunnel: str | None = None  # "https://host:port" inside a CONNECT tunnel
        tls: ssl.SSLSocket | None = None

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                if self.tls is not None:
                    self.tls.close()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_CONNECT(self) -> None:
            host, _, port = self.path.partition(":")
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            try:
                first = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                first = b""
            if first and first != TLS_HANDSHAKE:
                # Plain HTTP through the tunnel: what some clients (Playwright's own fetch) do
                # for http:// URLs behind a proxy.
                self.tunnel = f"http://{host}" + ("" if port in ("", "80") else f":{port}")
                self.close_connection = False
                while not self.close_connection:
                    self.handle_one_request()
                return
            try:
                tls = web._tls.wrap_socket(self.connection, server_side=True)
            except (OSError, ValueError):
                self.close_connection = True
                return
            self.connection = self.tls = tls
            self.rfile = tls.makefile("rb")
            self.wfile = tls.makefile("wb")
            self.tunnel = f"https://{host}" + ("" if port in ("", "443") else f":{port}")
            self.close_connection = False
            while not self.close_connection:
                self.handle_one_request()

        def _serve(self) -> None:
            # Inside a CONNECT tunnel the path is origin-form; otherwise it is the absolute-form
            # request line of a forward proxy.
            url = self.tunnel + self.path if self.tunnel is not None else self.path
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            lines = tuple(self.headers.items())
            hit = Hit(self.command, url, {k.lower(): v for k, v in lines}, time.time(), lines)
            web.record(hit)
            resp = web.resolve(hit)
            if resp.delay:
                time.sleep(resp.delay)
            if resp.action == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            if resp.action == "hang":
                time.sleep(max(resp.delay, 30.0))
                self.close_connection = True
                return
            body = resp.data()
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            if resp.action == "endless":
                self.send_header("Connection", "close")  # the body ends when the connection does
            else:
                promised = len(body) + (STALLED_BYTES if resp.action == "stall" else 0)
                self.send_header("Content-Length", str(promised))
            for name, value in resp.headers.items():
                for v in [value] if isinstance(value, str) else value:
                    self.send_header(name, v)
            self.end_headers()
            if self.command == "HEAD":
                return
            if resp.action in ("stall", "endless"):
                self.close_connection = True
                if resp.action == "stall":
                    self.wfile.write(body)
                    self.wfile.flush()
                    self._wait_until_the_client_leaves()
                else:
                    self._write_until_the_client_leaves(body or b"\n")
                return
            if resp.trickle:
                for i in range(0, len(body), 1024):
                    self.wfile.write(body[i : i + 1024])
                    self.wfile.flush()
                    time.sleep(resp.trickle)
            else:
                self.wfile.write(body)

        def _wait_until_the_client_leaves(self) -> None:
            deadline = time.monotonic() + SERVER_PATIENCE
            while time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0.2)
                if readable and not self.connection.recv(1024):
                    return

        def _write_until_the_client_leaves(self, chunk: bytes) -> None:
            chunk = chunk * max(1, 65536 // len(chunk))
            deadline = time.monotonic() + SERVER_PATIENCE
            while time.monotonic() < deadline:  # a BrokenPipeError ends it sooner
                self.wfile.write(chunk)
                self.wfile.flush()

        def handle(self) -> None:
            # A client that goes away mid-answer (a killed crawler) is not the server's error.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _serve

    return ProxyHandler
