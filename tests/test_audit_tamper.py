"""The verifier against a real crawl's audit log: untouched it passes; each kind of tampering is
detected with its own message, naming the file and line."""

from __future__ import annotations

import hashlib
import json
import shutil
from typing import TYPE_CHECKING

import pytest
from tamper_cases import GRANT, REDDIT

from polite_crawl.audit.record import encode
from polite_crawl.testing.chromium import render_in_chromium
from polite_crawl.testing.crawl import run_cli, run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("audited")
    (base / "consents.toml").write_text(GRANT)
    with MockWeb(
        {
            REDDIT + "/robots.txt": Resp(body="User-agent: *\nDisallow: /private\n"),
            REDDIT + "/r/science/": page(
                "/r/science/top",
                "/private/x",
                "/r/science/new",
                "http://blog.test/",
                "https://x.com/someone",
            ),
            REDDIT + "/r/science/top": page(),
            REDDIT + "/r/science/new": page(),
            "http://blog.test/robots.txt": Resp(404),
            "http://blog.test/": page("/secret-page-of-another-site"),
            "http://blog.test/secret-page-of-another-site": page(),
        }
    ) as web:
        result = run_crawl(
            web,
            base / "crawl",
            [REDDIT + "/r/science/?token=s3cret"],
            {
                "POLITE_CRAWL_PURPOSES": ["research"],
                "POLITE_CRAWL_CONSENTS": str(base / "consents.toml"),
            },
        )
    assert result.returncode == 0, result.log
    return base / "crawl" / "audit"


def export(audit_dir: Path, out: Path, platform: str = "reddit") -> None:
    proc = run_cli("audit", "export", "--platform", platform, "-o", str(out), str(audit_dir))
    assert proc.returncode == 0, proc.stderr


def verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("audit", "verify", str(path), *extra)


@pytest.fixture
def copy(audited: Path, tmp_path: Path) -> Path:
    target = tmp_path / "audit"
    shutil.copytree(audited, target)
    return target


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_an_untouched_log_verifies(audited: Path) -> None:
    proc = verify(audited)

    assert proc.returncode == 0, proc.stderr
    assert "ok  reddit:" in proc.stdout
    assert "ok  _sites:" in proc.stdout
    assert "verified 3 log(s)" in proc.stdout  # reddit, _sites, and twitter (refused)


def test_an_untouched_export_verifies_and_holds_only_its_platform(
    audited: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    export(audited, out)

    proc = verify(out, "--key", str(audited / "public.key"))
    unpinned = verify(out)
    fingerprint = (audited / "public.key").read_text().split("fingerprint ")[1].strip()
    by_fingerprint = verify(out, "--fingerprint", fingerprint)

    assert proc.returncode == 0, proc.stderr
    assert by_fingerprint.returncode == 0, by_fingerprint.stderr
    assert unpinned.returncode == 2
    assert "give --key FILE or --fingerprint" in unpinned.stderr
    text = (out / "entries.jsonl").read_text()
    assert "blog.test" not in text
    assert "x.com" not in text
    assert "s3cret" not in text
    assert "token=REDACTED" in text
    assert (out / "README.md").read_text().startswith("# Audit export: reddit")
    manifest = json.loads((out / "manifest.json").read_text())
    assert any(name.startswith("evidence/") for name in manifest["files"])
    assert any(name.startswith("policies/") for name in manifest["files"])


def test_a_flipped_byte(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    data = bytearray(path.read_bytes())
    data[data.index(b"/r/science/top") + 3] ^= 0x01
    path.write_bytes(bytes(data))

    proc = verify(copy)

    assert proc.returncode == 1
    assert "entries.jsonl:" in proc.stderr
    assert "does not match its hash (modified)" in proc.stderr


def _rewrite(
    path: Path,
    index: int,
    change: dict[str, object],
    *,
    chain: bool,
    more: dict[int, dict[str, object]] | None = None,
) -> None:
    """Change record `index` (and those in `more`) and re-hash it (and, with chain, every later
    record): a forger who knows the format but not the signing key."""
    out = lines(path)
    records = [json.loads(line) for line in out]
    changes = {index: change, **(more or {})}
    prev = records[index]["prev"]
    last = max(changes) + 1
    for i in range(index, len(records) if chain else last):
        record = {k: v for k, v in records[i].items() if k != "hash"}
        record.update(changes.get(i, {}))
        record["prev"] = prev
        line, prev = encode(record)
        out[i] = line
    path.write_bytes(b"".join(out))


def _index(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(lines(path)) if needle.encode() in line)


def _allow_instead_of_deny(path: Path) -> None:
    """A refusal turned into an allow, every later record re-hashed and the run's counts made to
    agree: all that the records alone can show is gone; only the signatures are left."""
    index = _index(path, '"decision":"deny"')
    end = _index(path, '"type":"run.end"')
    counts = json.loads(lines(path)[end])["counts"]
    counts["decision/deny"] -= 1
    counts["decision/allow"] = counts.get("decision/allow", 0) + 1
    counts = {k: v for k, v in counts.items() if v}
    _rewrite(
        path,
        index,
        {"decision": "allow", "reason": "robots.allowed"},
        chain=True,
        more={end: {"counts": counts}},
    )


def test_a_changed_decision_even_rehashed(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    index = _index(path, '"decision":"deny"')
    _rewrite(path, index, {"decision": "allow"}, chain=False)

    proc = verify(copy)

    assert proc.returncode == 1
    assert f"entries.jsonl:{index + 2}: does not follow the previous record" in proc.stderr


def test_a_changed_decision_with_the_whole_chain_rehashed(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    _allow_instead_of_deny(path)

    proc = verify(copy)

    assert proc.returncode == 1
    assert "checkpoints.log:1: the records up to" in proc.stderr
    assert "do not hash to the signed root: the log was altered" in proc.stderr


def test_a_deleted_record(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    out = lines(path)
    del out[3]
    path.write_bytes(b"".join(out))

    proc = verify(copy)

    assert proc.returncode == 1
    assert "entries.jsonl:4: sequence 4 where 3 was expected: a record was deleted" in proc.stderr


def test_two_reordered_records(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    out = lines(path)
    out[2], out[3] = out[3], out[2]
    path.write_bytes(b"".join(out))

    proc = verify(copy)

    assert proc.returncode == 1
    assert "entries.jsonl:3: sequence 3 where 2 was expected" in proc.stderr


def test_records_cut_from_the_end(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    out = lines(path)
    path.write_bytes(b"".join(out[:-2]))

    proc = verify(copy)

    assert proc.returncode == 1
    assert (
        f"signs {len(out)} records but the log has {len(out) - 2}: records were removed"
        in proc.stderr
    )


def test_a_torn_tail_is_told_from_tampering(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[:-40])

    proc = verify(copy)

    assert proc.returncode == 1
    assert "torn tail: the last line is incomplete (no newline)" in proc.stderr


def test_two_platforms_logs_swapped(copy: Path) -> None:
    logs = copy / "logs"
    (logs / "reddit").rename(logs / "tmp")
    (logs / "_sites").rename(logs / "reddit")
    (logs / "tmp").rename(logs / "_sites")

    proc = verify(copy)

    assert proc.returncode == 1
    assert "/polite-crawl/reddit', not of platform '_sites': logs were swapped" in proc.stderr


def test_a_replaced_key(copy: Path, audited: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    (copy / "public.key").write_text(f"ed25519 {other.hex()}\n")

    proc = verify(copy)

    assert proc.returncode == 1
    assert "no signature by the expected key" in proc.stderr


def test_a_log_re_signed_with_another_key_fails_against_the_pinned_key(
    copy: Path, audited: Path
) -> None:
    # A forger rewrites the log and re-signs it with a key of their own (with polite_crawl
    # itself: a store opened on the forged directory signs what it finds), and replaces
    # public.key: only a key pinned from elsewhere catches it.
    from polite_crawl.audit.store import AuditStore

    path = copy / "logs" / "reddit" / "entries.jsonl"
    _allow_instead_of_deny(path)
    for name in ("signing.key", "public.key", "heads.log", "logs/reddit/checkpoints.log"):
        (copy / name).unlink()
    for other in ("_sites", "twitter"):  # leave only the forged log
        shutil.rmtree(copy / "logs" / other)
    store = AuditStore(copy, contact=None)
    store.seal("reddit")
    store.release()

    unpinned = verify(copy)
    pinned = verify(copy, "--key", str(audited / "public.key"))

    assert pinned.returncode == 1
    assert "no signature by the expected key" in pinned.stderr
    assert unpinned.returncode == 0  # which is why a platform pins the operator's key


def test_a_tampered_export_file(audited: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(audited, out)
    evidence = next((out / "evidence").iterdir())
    evidence.write_bytes(b"User-agent: *\nAllow: /\n")

    proc = verify(out, "--key", str(audited / "public.key"))

    assert proc.returncode == 1
    assert "does not match the sha256 in the manifest" in proc.stderr
    assert hashlib.sha256(evidence.read_bytes()).hexdigest() != evidence.name


def test_usage_errors(tmp_path: Path) -> None:
    assert verify(tmp_path / "nowhere").returncode == 2
    assert verify(tmp_path).returncode == 2


def test_the_report_reads_right_in_a_browser(audited: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    made = run_cli("audit", "report", "--platform", "reddit", "-o", str(out), str(audited))
    assert made.returncode == 0, made.stderr

    dom = render_in_chromium(out)

    assert "<h1>Crawl report for reddit</h1>" in dom
    assert 'class="ok">verified</span>' in dom
    assert "examplebot/1.0 (+https://example.org/bot)" in dom  # who crawled
    assert '<code>robots.disallowed</code></td><td class="num">1</td>' in dom  # why refused
    assert "https://www.reddit.com/private/x" in dom
    assert "<svg" in dom  # the chart over time
    assert "https://www.reddit.com/robots.txt" in dom  # the robots.txt version that applied
    assert "Consent grants used: reddit-research (granted by Reddit)" in dom
    assert "blog.test" not in dom  # nothing about any other site


def test_the_report_of_a_tampered_log_says_so(copy: Path, tmp_path: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    data = bytearray(path.read_bytes())
    data[data.index(b"/r/science/top") + 3] ^= 0x01
    path.write_bytes(bytes(data))
    out = tmp_path / "report.html"
    made = run_cli("audit", "report", "--platform", "reddit", "-o", str(out), str(copy))

    assert made.returncode == 1
    assert 'class="bad">NOT VERIFIED</span>' in out.read_text()


def test_a_newline_turned_into_a_carriage_return(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    data = path.read_bytes()
    cut = data.index(b"\n", data.index(b'"decision":"allow"'))
    path.write_bytes(data[:cut] + b"\r" + data[cut + 1 :])

    proc = verify(copy)

    assert proc.returncode == 1
    assert "holds a carriage return" in proc.stderr


@pytest.mark.parametrize("remove", ["entries", "both-emptied"])
def test_a_deleted_or_emptied_log(copy: Path, remove: str) -> None:
    log = copy / "logs" / "reddit"
    if remove == "entries":
        (log / "entries.jsonl").unlink()
    else:
        (log / "entries.jsonl").write_bytes(b"")
        (log / "checkpoints.log").unlink()

    proc = verify(copy)

    assert proc.returncode == 1
    assert "reddit/entries.jsonl" in proc.stderr


def _cited(copy: Path, needle: str) -> Path:
    """The evidence file named by the first record holding needle (a digest follows it)."""
    text = (copy / "logs" / "reddit" / "entries.jsonl").read_text()
    at = text.index(needle) + len(needle)
    return copy / "evidence" / text[at : at + 64]


def test_changed_robots_evidence(copy: Path) -> None:
    evidence = _cited(copy, '"sha256":"')
    evidence.write_bytes(b"User-agent: *\nAllow: /\n")

    proc = verify(copy)

    assert proc.returncode == 1
    assert "the evidence bytes do not match their sha256" in proc.stderr


def test_a_changed_policy_file_in_the_evidence(copy: Path) -> None:
    evidence = _cited(copy, '"policy_sha256":"')
    evidence.write_bytes(evidence.read_bytes().replace(b'"consent-required"', b'"allowed"'))

    proc = verify(copy)

    assert proc.returncode == 1
    assert f"evidence/{evidence.name}: the evidence bytes do not match" in proc.stderr


def test_a_bundle_with_an_unlisted_or_escaping_file(audited: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(audited, out)
    (out / "extra.txt").write_text("not in the manifest")
    unlisted = verify(out, "--key", str(audited / "public.key"))
    (out / "extra.txt").unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["../escape"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))
    escaping = verify(out, "--key", str(audited / "public.key"))

    assert unlisted.returncode == 1
    assert "not listed: extra.txt" in unlisted.stderr
    assert escaping.returncode == 1
    assert "missing: ../escape" in escaping.stderr


def test_export_never_creates_a_signing_key(copy: Path, tmp_path: Path) -> None:
    (copy / "signing.key").unlink()
    before = (copy / "public.key").read_text()
    proc = run_cli(
        "audit", "export", "--platform", "reddit", "-o", str(tmp_path / "out"), str(copy)
    )

    assert (copy / "public.key").read_text() == before
    assert not (copy / "signing.key").exists()
    assert proc.returncode == 2
    assert "no signing key" in proc.stderr


def test_a_wrong_field_type_is_reported_not_crashed_on(copy: Path) -> None:
    path = copy / "logs" / "reddit" / "entries.jsonl"
    index = _index(path, '"type":"preflight"')
    record = json.loads(lines(path)[index])
    _rewrite(path, index, {"evidence": {**record["evidence"], "fetched_at": "soon"}}, chain=True)

    proc = verify(copy)

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert (
        f"entries.jsonl:{index + 1}: a robots.txt preflight whose fetched_at is not a number"
        in proc.stderr
    )


def test_redaction_of_fragments_path_parameters_and_signed_urls() -> None:
    from polite_crawl.audit.redact import redact_url

    assert redact_url("https://x.test/a#access_token=abc") == "https://x.test/a"
    assert (
        redact_url("https://x.test/a;jsessionid=XYZ/b") == "https://x.test/a;jsessionid=REDACTED/b"
    )
    assert redact_url("https://s.test/o?X-Amz-Signature=abc&x=1") == (
        "https://s.test/o?X-Amz-Signature=REDACTED&x=1"
    )
    assert redact_url("https://u:p@x.test/?q=1") == "https://x.test/?q=1"
