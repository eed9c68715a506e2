"""Run a crawl with its audit directory on a small tmpfs, inside a private mount namespace
(started by tests/test_audit_disk_faults.py under `unshare --user --map-root-user --mount`),
so that the kernel itself answers ENOSPC or EROFS, as a real full or read-only disk would.

    python mount_and_crawl.py MODE AUDIT_DIR OUT_DIR -- CRAWL_COMMAND...

MODE `full:BYTES`: the tmpfs has BYTES free when the crawl starts. MODE `readonly:LINES`: the
evidence store is its own tmpfs, remounted read-only once the `_sites` log holds LINES lines.
The tmpfs vanishes with the namespace, so the audit directory is copied to OUT_DIR/audit-copy
at the end; OUT_DIR/remount.txt says what the read-only remounts answered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)


def remount_readonly(path: Path) -> str:
    proc = subprocess.run(
        ["mount", "-o", "remount,ro", str(path)], capture_output=True, text=True, check=False
    )
    return f"{path}: exit {proc.returncode} {proc.stderr.strip()}"


def leave_free(path: Path, free: int) -> None:
    stat = os.statvfs(path)
    ballast = stat.f_bavail * stat.f_frsize - free
    with open(path / "ballast", "wb") as fh:
        fh.write(b"\0" * ballast)


def lines_in(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def main(argv: list[str]) -> int:
    mode, audit, out = argv[0], Path(argv[1]), Path(argv[2])
    command = argv[argv.index("--") + 1 :]
    kind, _, value = mode.partition(":")
    mount_tmpfs(audit, "4m")
    notes = []
    if kind == "full":
        leave_free(audit, int(value))
    else:
        mount_tmpfs(audit / "evidence", "1m")
    crawl = subprocess.Popen(command)
    if kind == "readonly":
        entries = audit / "logs" / "_sites" / "entries.jsonl"
        deadline = time.monotonic() + 60
        while lines_in(entries) < int(value) and time.monotonic() < deadline:
            time.sleep(0.02)
        # The log itself is open for writing: the kernel refuses to remount its filesystem
        # read-only (EBUSY). The evidence store holds no open file, so it can turn read-only.
        notes.append(remount_readonly(audit))
        notes.append(remount_readonly(audit / "evidence"))
    code = crawl.wait()
    (out / "remount.txt").write_text("\n".join(notes) + "\n")
    shutil.copytree(audit, out / "audit-copy", ignore=shutil.ignore_patterns("ballast"))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
