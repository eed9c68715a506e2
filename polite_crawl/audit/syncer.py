"""fdatasync in a helper process, so that the crawl process has no second thread.

A worker thread that syncs must take the GIL back from the reactor thread every time it wakes
(to take a batch, to report it done); on two cores those hand-offs cost the crawl about as much
CPU as the rest of the audit log (docs/benchmarks.md). The helper is a bare Python process
(os, socket) at the other end of a SOCK_SEQPACKET socket pair:

    crawl -> helper   b"open <key>" with one fd (SCM_RIGHTS): the log's own open file
    crawl -> helper   b"sync <key> <key> ..."    -> helper fdatasyncs those fds
    helper -> crawl   b"ok" | b"err <errno> <message>"

The fd it syncs is the crawl's open file description, not the file opened again: a write-back
error the kernel records on it is reported to this fdatasync (an fd opened later might not see
it). The helper exits when the socket closes, so a crawl killed with -9 leaves no helper behind;
it runs in a session of its own and ignores SIGINT, SIGTERM and SIGHUP, so that a Ctrl-C meant
for the crawl (which then closes cleanly, syncing its last records) does not stop it first.
The Scrapy side (shell/journal.py) reads the answers as reactor I/O: no thread, no GIL hand-off.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
from pathlib import Path

# Run by its path (sync_helper.py says why): a readable process, not `python -c <its source>`.
HELPER = Path(__file__).resolve().with_name("sync_helper.py")
# It needs the standard library only: without the site module (-S: no site-packages, no .pth
# file or sitecustomize to run) and the user's site directory (-s), it starts in about 10 ms of
# CPU instead of 30 (#21: every crawl pays it). Not -I: that ignores PYTHONHOME too, without
# which a relocated interpreter finds no standard library, and the helper would die at start.
HELPER_FLAGS = ("-s", "-S")


class SyncHelperError(OSError):
    """The helper could not be started, or stopped answering."""

    def __str__(self) -> str:
        # Most have no system error number: no "[Errno 0]" before the message.
        return str(self.strerror) if not self.errno else super().__str__()


class SyncHelper:
    """The crawl's end of the socket pair. `request` sends one batch; the answer arrives on
    `fileno()` (readable) and is read with `answer()`. One batch at a time."""

    def __init__(self) -> None:
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except (OSError, AttributeError) as exc:  # a platform without SOCK_SEQPACKET
            raise SyncHelperError(0, f"cannot start the audit sync helper: {exc}") from None
        try:
            self.process = subprocess.Popen(
                [sys.executable, *HELPER_FLAGS, str(HELPER), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,  # not in the terminal's process group: no Ctrl-C
            )
        except OSError as exc:
            ours.close()
            raise SyncHelperError(
                exc.errno, f"cannot start the audit sync helper: {exc}"
            ) from None
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self._registered: set[int] = set()

    def fileno(self) -> int:
        return self.sock.fileno()

    def request(self, fds: list[int]) -> None:
        """Ask for one fdatasync of each fd (each sent to the helper the first time)."""
        try:
            for fd in fds:
                if fd not in self._registered:
                    socket.send_fds(self.sock, [f"open {fd}".encode()], [fd])
                    self._registered.add(fd)
            self.sock.send(("sync " + " ".join(map(str, fds))).encode())
        except OSError as exc:
            raise SyncHelperError(exc.errno, f"the audit sync helper is gone: {exc}") from None

    def answer(self) -> OSError | None:
        """The answer to the batch in flight: None when it is durable, else the error. Raises
        BlockingIOError when none has arrived yet."""
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            raise
        except OSError as exc:
            return SyncHelperError(exc.errno, f"the audit sync helper is gone: {exc}")
        if data == b"ok":
            return None
        if not data:
            return SyncHelperError(errno.EPIPE, "the audit sync helper exited")
        verb, _, rest = data.decode(errors="replace").partition(" ")
        code, _, message = rest.partition(" ")
        if verb != "err" or not code.isdigit():
            return SyncHelperError(0, f"the audit sync helper answered {data[:80]!r}")
        return OSError(int(code), message)

    def close(self) -> None:
        self.sock.close()  # the helper sees end-of-file and exits
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
