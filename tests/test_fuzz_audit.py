"""Property tests: an audit log is untrusted input to its verifier. A real log is written with
AuditStore, then damaged at random (byte flips, cuts, insertions, swapped, repeated or dropped
lines) or rewritten by a forger who re-hashes the chain. `audit verify` (the library function
and the command) always answers valid or invalid, naming the file and line; it never crashes,
and a changed log is never passed as intact. Huge lines cost bounded memory."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from polite_crawl.audit.keys import read_public
from polite_crawl.audit.logfile import CHECKPOINTS, ENTRIES
from polite_crawl.audit.parse import Fields, _fields
from polite_crawl.audit.record import RecordError, decode, encode
from polite_crawl.audit.store import AuditStore
from polite_crawl.audit.verify import Invalid, LogReport, check_evidence, verify_log
from polite_crawl.cli.main import main

ROBOTS = b"User-agent: *\nDisallow: /private\n"
SHA = hashlib.sha256(ROBOTS).hexdigest()


def write_log(directory: Path) -> None:
    """A small log as a crawl writes it: run.start, preflights, decisions, fetches, several
    checkpoints, run.end, for a platform and for _sites."""
    store = AuditStore(directory, contact="mailto:ops@example.org", checkpoint_every=4)
    store.run_start = {"user_agent": "examplebot/1.0", "purposes": ["research"]}
    store.keep_evidence(ROBOTS, SHA)
    for platform, site in ((None, "http://blog.test"), ("reddit", "https://www.reddit.com")):
        robots_url = site + "/robots.txt"
        store.append(
            platform,
            {
                "type": "preflight",
                "kind": "robots",
                "url": robots_url,
                "evidence": {
                    "robots_url": robots_url,
                    "sha256": SHA,
                    "status": 200,
                    "fetched_at": time.time(),
                },
            },
        )
        for path, allowed in (("/a", True), ("/private/b", False), ("/c?token=x", True)):
            store.append(
                platform,
                {
                    "type": "decision",
                    "url": site + path,
                    "method": "GET",
                    "platform": platform,
                    "purposes": ["research"],
                    "decision": "allow" if allowed else "deny",
                    "reason": "robots.allowed" if allowed else "robots.disallowed",
                    "enforced": True,
                    "evidence": {"robots": {"robots_url": robots_url, "sha256": SHA}},
                },
            )
            if allowed:
                store.append(
                    platform,
                    {"type": "fetched", "url": site + path, "status": 200, "bytes": 10},
                )
            store.checkpoints_due()
    store.close({"reason": "finished"})


_PRISTINE = Path(tempfile.mkdtemp(prefix="polite-fuzz-audit-")) / "audit"
write_log(_PRISTINE)
PUBLIC = read_public(_PRISTINE / "public.key")
LOG = _PRISTINE / "logs" / "reddit"


def fresh_copy() -> Path:
    target = Path(tempfile.mkdtemp(prefix="polite-fuzz-audit-case-")) / "audit"
    shutil.copytree(_PRISTINE, target)
    return target


def verdict(audit: Path, platform: str = "reddit") -> LogReport | Invalid:
    """The library verifier's answer: a report, or Invalid naming the file (and the line)."""
    log = audit / "logs" / platform
    try:
        report = verify_log(log, platform, PUBLIC)
        check_evidence(audit / "evidence", report.evidence | report.policies, "evidence")
        return report
    except Invalid as exc:
        invalid = exc
    match = re.fullmatch(
        rf"{re.escape(str(log))}/({ENTRIES}|{CHECKPOINTS})(?::(\d+))?", invalid.where
    )
    assert match, invalid.where
    if (log / match.group(1)).stat().st_size:
        assert match.group(2), f"{invalid.where}: no line number"
    return invalid


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "swap", "repeat", "drop", "trunc"]))
        lines = bytes(out).split(b"\n")
        if kind in ("swap", "repeat", "drop") and len(lines) > 2:
            i, j = draw(st.integers(0, len(lines) - 2)), draw(st.integers(0, len(lines) - 2))
            if kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            elif kind == "repeat":
                lines.insert(j, lines[i])
            else:
                del lines[i]
            out = bytearray(b"\n".join(lines))
        elif kind == "trunc":
            del out[draw(st.integers(0, len(out))) :]
        elif out:
            at = draw(st.integers(0, len(out) - 1))
            if kind == "flip":
                out[at] ^= 1 << draw(st.integers(0, 7))
            elif kind == "cut":
                del out[at : at + draw(st.integers(1, 200))]
            else:
                out[at:at] = draw(st.binary(min_size=1, max_size=40) | st.just(b"\n"))
    return bytes(out)


def test_the_pristine_log_verifies() -> None:
    for platform in ("reddit", "_sites"):
        report = verdict(_PRISTINE, platform)
        assert isinstance(report, LogReport), report
        assert report.checkpoints >= 2
        assert report.decisions == {"allow": 2, "deny": 1}


@given(st.data())
def test_a_damaged_entries_file_is_invalid_with_file_and_line(data: st.DataObject) -> None:
    original = (LOG / ENTRIES).read_bytes()
    changed = data.draw(damaged(original))
    audit = fresh_copy()
    (audit / "logs" / "reddit" / ENTRIES).write_bytes(changed)

    answer = verdict(audit)

    assert isinstance(answer, Invalid) or changed == original, "a changed log verified"
    shutil.rmtree(audit.parent)


@given(st.data())
def test_a_damaged_checkpoints_file_never_crashes_the_verifier(data: st.DataObject) -> None:
    audit = fresh_copy()
    path = audit / "logs" / "reddit" / CHECKPOINTS
    path.write_bytes(data.draw(damaged(path.read_bytes())))

    verdict(audit)
    shutil.rmtree(audit.parent)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["type", "url", "decision", "enforced", "evidence", "ts", "seq", "log", "platform"]
)
EVIDENCE_FIELDS = st.sampled_from(["robots_url", "sha256", "fetched_at", "robots", "status"])


@given(st.data())
def test_a_forged_and_rehashed_log_never_crashes_the_verifier(data: st.DataObject) -> None:
    """A forger who knows the format but not the key: fields replaced with any JSON, and every
    later record re-hashed so that the chain holds. Only the checkpoints can catch it."""
    lines = (LOG / ENTRIES).read_bytes().splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    index = data.draw(st.integers(0, len(records) - 1))
    record = {k: v for k, v in records[index].items() if k != "hash"}
    for _ in range(data.draw(st.integers(1, 3))):
        value = data.draw(JSON | st.sampled_from([10**400, -(10**30), "9999-12-31T23:59:59Z"]))
        if data.draw(st.booleans()) and isinstance(record.get("evidence"), dict):
            record["evidence"] = {**record["evidence"], data.draw(EVIDENCE_FIELDS): value}
        else:
            record[data.draw(FIELDS)] = value
    assume(record != {k: v for k, v in records[index].items() if k != "hash"})
    prev = records[index]["prev"]
    for i in range(index, len(records)):
        body = record if i == index else {k: v for k, v in records[i].items() if k != "hash"}
        body["prev"] = prev
        lines[i], prev = encode(body)
    audit = fresh_copy()
    (audit / "logs" / "reddit" / ENTRIES).write_bytes(b"".join(lines))

    assert isinstance(verdict(audit), Invalid)
    shutil.rmtree(audit.parent)


@given(st.sampled_from([ENTRIES, CHECKPOINTS, "public.key"]), st.data())
def test_the_verify_command_answers_0_or_1_and_names_the_file(
    name: str, data: st.DataObject
) -> None:
    audit = fresh_copy()
    path = audit / "public.key" if name == "public.key" else audit / "logs" / "reddit" / name
    original = path.read_bytes()
    changed = data.draw(damaged(original))
    path.write_bytes(changed)
    out, err = io.StringIO(), io.StringIO()

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["audit", "verify", str(audit)])

    assert code in (0, 1)
    if code == 1:
        assert re.match(rf"INVALID {re.escape(str(audit))}/\S+", err.getvalue()), err.getvalue()
    elif name == ENTRIES:
        assert changed == original
    shutil.rmtree(audit.parent)


@given(st.binary(max_size=2048))
@example(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
def test_any_line_decodes_or_is_refused_as_a_record_error(line: bytes) -> None:
    for candidate in (line, _with_own_hash(line)):
        with contextlib.suppress(RecordError):
            decode(candidate)
        fields = Fields._make(_fields(candidate))
        assert (fields.digest is None) == (fields.error is not None)


def _with_own_hash(body: bytes) -> bytes:
    """The line a forger makes of any bytes: with a matching hash, it reaches the JSON parser."""
    body = body.rstrip(b"}") + b"}"
    return body[:-1] + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}'


def test_a_deeply_nested_line_with_a_valid_hash_is_a_record_error() -> None:
    line = _with_own_hash(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")

    with pytest.raises(RecordError, match="nested too deeply"):
        decode(line)


def _peak(work: Any) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


MIB = 1024 * 1024


@pytest.mark.parametrize("hashed", [False, True], ids=["garbage", "garbage-with-its-hash"])
def test_a_5_mib_line_costs_bounded_memory(hashed: bool, tmp_path: Path) -> None:
    garbage = bytes(range(256)).replace(b"\n", b" ").replace(b"\r", b" ") * (5 * MIB // 256)
    line = (
        _with_own_hash(b'{"x":"' + garbage.hex().encode()[: 5 * MIB] + b'"}')
        if hashed
        else (garbage)
    )
    audit = tmp_path / "audit"
    shutil.copytree(_PRISTINE, audit)
    entries = audit / "logs" / "reddit" / ENTRIES
    entries.write_bytes(entries.read_bytes() + line + b"\n")

    peak = _peak(lambda: verdict(audit))

    assert len(line) >= 5 * MIB
    # A few copies of the line at most (read, split, sliced): not one per byte or per field.
    assert peak < 64 * MIB, f"peak {peak / MIB:.0f} MiB"
