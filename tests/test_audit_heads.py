"""The writer's side of heads (docs/format.md §5): every checkpoint round signs one; a crash
between a checkpoint and its head, or inside a head's write, is mended by the next store; a
directory that lost a log the last head held is never signed over, and a crawl on it refuses to
start before its first request."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest

from polite_crawl.audit.heads import HEADS
from polite_crawl.audit.logfile import AuditError
from polite_crawl.audit.store import AuditStore
from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]


def write(audit: Path, platforms: tuple[str, ...] = ("reddit", "twitter"), n: int = 5) -> None:
    store = AuditStore(audit, contact="mailto:ops@crawler.example", checkpoint_every=2)
    store.run_start = {"purposes": ["research"]}
    for i in range(n):
        for platform in platforms:
            store.append(platform, {"type": "note", "i": i})
        store.checkpoints_due()
    store.close({"reason": "finished"})


def heads(audit: Path) -> list[str]:
    return [json.loads(line)["note"] for line in (audit / HEADS).read_text().splitlines()]


def verify(audit: Path) -> tuple[int, str]:
    proc = run_cli("audit", "verify", str(audit))
    return proc.returncode, proc.stdout + proc.stderr


def test_each_checkpoint_round_signs_one_head_over_every_log(tmp_path: Path) -> None:
    write(tmp_path)

    signed = heads(tmp_path)
    code, text = verify(tmp_path)

    assert code == 0, text
    # run.start + 5 notes + run.end per log: rounds at 2, 4, 6 records and the close's.
    assert len(signed) == 4
    assert [note.split("\n")[1] for note in signed] == ["0", "1", "2", "3"]
    assert all(len(note.split("\n\n")[0].split("\n")[4:]) == 2 for note in signed)


def test_a_later_run_adds_heads_that_keep_the_logs_it_did_not_touch(tmp_path: Path) -> None:
    write(tmp_path)
    write(tmp_path, platforms=("reddit",))

    last = heads(tmp_path)[-1].split("\n\n")[0].split("\n")

    assert verify(tmp_path)[0] == 0
    assert len(last[4:]) == 2  # twitter's latest checkpoint is still in it


def test_a_crash_between_a_checkpoint_and_its_head_is_mended_by_the_next_store(
    tmp_path: Path,
) -> None:
    write(tmp_path)
    path = tmp_path / HEADS
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))
    code, text = verify(tmp_path)
    assert code == 1
    assert "the last head does not hold the last checkpoint" in text

    AuditStore(tmp_path, contact=None).release()  # opened, nothing signed: still behind
    store = AuditStore(tmp_path, contact=None)
    store.seal("reddit")
    store.release()

    assert verify(tmp_path)[0] == 0


def test_a_head_torn_by_a_crash_is_cut_off_by_the_next_store(tmp_path: Path) -> None:
    write(tmp_path)
    path = tmp_path / HEADS
    whole = path.read_bytes()
    path.write_bytes(whole + whole.splitlines(keepends=True)[-1][:-30])
    assert "torn tail" in verify(tmp_path)[1]

    AuditStore(tmp_path, contact=None).release()

    assert path.read_bytes() == whole
    assert verify(tmp_path)[0] == 0


@pytest.mark.parametrize("loss", ["deleted", "cut back"])
def test_a_store_never_signs_over_a_lost_log(tmp_path: Path, loss: str) -> None:
    write(tmp_path)
    twitter = tmp_path / "logs" / "twitter"
    if loss == "deleted":
        shutil.rmtree(twitter)
    else:
        checkpoints = (twitter / "checkpoints.log").read_bytes().splitlines(keepends=True)
        size = json.loads(checkpoints[0])["size"]
        entries = (twitter / "entries.jsonl").read_bytes().splitlines(keepends=True)
        (twitter / "entries.jsonl").write_bytes(b"".join(entries[:size]))
        (twitter / "checkpoints.log").write_bytes(checkpoints[0])
    before = (tmp_path / HEADS).read_bytes()

    with pytest.raises(AuditError, match="that no log here holds: a log was deleted or cut back"):
        AuditStore(tmp_path, contact=None)

    assert (tmp_path / HEADS).read_bytes() == before


def test_a_crawl_on_a_directory_that_lost_a_log_refuses_to_start(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    audit = tmp_path / "audit"
    write(audit)
    shutil.rmtree(audit / "logs" / "twitter")
    mockweb.add("http://site.test/robots.txt", Resp(404))
    mockweb.add("http://site.test/", page())

    result = crawl(["http://site.test/"], {"POLITE_CRAWL_AUDIT_DIR": str(audit)})

    assert result.returncode == 1
    assert "a log was deleted or cut back since; refusing to sign over it" in result.log
    assert mockweb.hits == []


def test_checkpoints_for_one_platform_and_verify_since(tmp_path: Path) -> None:
    write(tmp_path)
    kept = tmp_path.parent / f"{tmp_path.name}-kept.json"

    proc = run_cli("audit", "checkpoints", str(tmp_path), "-o", str(kept), "--platform", "reddit")
    write(tmp_path)
    since = run_cli("audit", "verify", str(tmp_path), "--since", str(kept))

    assert proc.returncode == 0, proc.stderr
    data = json.loads(kept.read_text())
    assert list(data["checkpoints"]) == ["reddit"]
    assert data["format"] == "polite-crawl-checkpoints/v1"
    assert since.returncode == 0, since.stderr


def test_seal_signs_what_a_crash_left_in_logs_no_later_crawl_touches(tmp_path: Path) -> None:
    write(tmp_path)
    twitter = tmp_path / "logs" / "twitter"
    # A crash: records written after the last checkpoint, one of them torn, and no head for them.
    store = AuditStore(tmp_path, contact=None)
    store.append("twitter", {"type": "note", "i": 99})
    store.flush()
    store.abandon()
    with open(twitter / "entries.jsonl", "ab") as fh:
        fh.write(b'{"half a rec')
    assert "not signed" in verify(tmp_path)[1] or "torn tail" in verify(tmp_path)[1]

    proc = run_cli("audit", "seal", str(tmp_path))

    assert proc.returncode == 0, proc.stderr
    assert "twitter:" in proc.stdout
    assert verify(tmp_path)[0] == 0


def test_verify_refuses_a_directory_a_crawl_is_writing(tmp_path: Path) -> None:
    from polite_crawl.audit import dirlock

    write(tmp_path)
    fd = dirlock.lock_directory(tmp_path)
    try:
        code, text = verify(tmp_path)
    finally:
        dirlock.release(fd)

    assert code == 2
    assert "a crawl is writing" in text
    assert verify(tmp_path)[0] == 0


def test_a_torn_checkpoint_line_is_cut_off_when_the_log_opens(tmp_path: Path) -> None:
    write(tmp_path)
    checkpoints = tmp_path / "logs" / "reddit" / "checkpoints.log"
    whole = checkpoints.read_bytes()
    checkpoints.write_bytes(whole + b'{"size": 99, "note": "half')
    assert "torn tail" in verify(tmp_path)[1]

    write(tmp_path)

    assert checkpoints.read_bytes().startswith(whole)
    assert verify(tmp_path)[0] == 0


def test_a_missing_signing_key_is_never_replaced_by_a_new_one(tmp_path: Path) -> None:
    write(tmp_path)
    public = (tmp_path / "public.key").read_bytes()
    (tmp_path / "signing.key").unlink()

    with pytest.raises(ValueError, match=r"no signing key, but .*public.key names the key"):
        AuditStore(tmp_path, contact=None)

    assert (tmp_path / "public.key").read_bytes() == public
    assert not (tmp_path / "signing.key").exists()
