"""The audit sync helper process (syncer.py): run as a script by its path, not imported, so
that it starts as a bare Python with os, signal and socket, none of polite_crawl or Scrapy.
`ps` shows it as `python -s -S .../polite_crawl/audit/sync_helper.py FD`, and `top`/`pgrep` by
its name, polite-sync (the protocol: syncer.py)."""

from __future__ import annotations

import os
import signal
import socket
import sys

NAME = b"polite-sync"  # at most 15 bytes: the kernel's limit for a process name
PR_SET_NAME = 15


def _name_the_process() -> None:
    # Linux only; elsewhere, or without a C library ctypes can load, the name stays python's.
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_NAME, NAME, 0, 0, 0)
    except (OSError, AttributeError, ImportError):
        pass


def serve(sock: socket.socket) -> None:
    fds: dict[str, int] = {}
    while True:
        try:
            msg, got, flags, _ = socket.recv_fds(sock, 65536, 8)
        except OSError:
            break
        if not msg:
            break
        if flags & socket.MSG_TRUNC:
            sock.send(b"err 0 the request was cut short")
            continue
        verb, _, rest = msg.decode().partition(" ")
        if verb == "open":
            old = fds.pop(rest, None)
            if old is not None:
                os.close(old)
            fds[rest] = got[0]
            continue
        answer = b"ok"
        for key in rest.split():
            try:
                os.fdatasync(fds[key])
            except OSError as exc:
                answer = f"err {exc.errno or 0} {exc.strerror or exc}".encode()
                break
            except KeyError:
                answer = f"err 0 no file registered as {key}".encode()
                break
        try:
            sock.send(answer)
        except OSError:
            break


def main() -> None:
    # Only the end of the socket ends the helper: a Ctrl-C or SIGTERM meant for the crawl must
    # not take the durability of its last records with it (the crawl closes cleanly, then this
    # exits).
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    _name_the_process()
    serve(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
