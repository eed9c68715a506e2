"""`polite-crawl audit match EXPORT ACCESS_LOG [--directory FILE] [--key FILE | --fingerprint
sha256:HEX] [--json]`: a platform joins its access log to an export (botauth/match.py).

The export is verified first, against a log key the platform can trust:
- `--key` / `--fingerprint`: the operator's log key, obtained separately, as `audit verify`;
- else, with `--directory` (the key directory the platform fetched from the operator's
  Signature-Agent): the export's own key, accepted only if a `run.start` holds a binding note by
  one of the directory's keys naming it (botauth/binding.py);
- an audit directory (the operator checking itself) is verified against its own key.

Exit 0 when every signed request matched, 1 when a finding is named (or the export does not
verify), 2 on bad input (a file that cannot be read, a malformed access-log line).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from polite_crawl.audit import bundle, fleet
from polite_crawl.audit import keys as log_keys
from polite_crawl.audit.logfile import ENTRIES
from polite_crawl.audit.record import decode
from polite_crawl.audit.verify import Invalid

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from polite_crawl.botauth.keyset import KeySet
    from polite_crawl.botauth.match import MatchReport

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
NAME = "polite-crawl audit match"


def _fail(message: str, code: int) -> int:
    print(f"{NAME}: {message}", file=sys.stderr)
    return code


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """Every record of the export (of each worker's, in a fleet export), or of the directory."""
    if fleet.is_fleet(path):
        dirs = sorted(p for p in (path / fleet.WORKERS).iterdir() if p.is_dir())
    else:
        dirs = list(bundle.log_dirs(path).values())
    for directory in dirs:
        with open(directory / ENTRIES, "rb") as fh:
            for line in fh:
                record, _ = decode(line.rstrip(b"\n"))  # verified just before: decodes
                yield record


def _own_key(path: Path) -> bytes:
    """The log key an export names for itself (its public.key; a fleet export's fleet.json)."""
    if not fleet.is_fleet(path):
        return log_keys.read_public(path / log_keys.PUBLIC_FILE)
    try:
        named = json.loads((path / fleet.FLEET).read_text(encoding="utf-8"))["public_key"]
        return bytes.fromhex(named)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise log_keys.SigningKeyError(f"no readable public_key ({exc})") from None


def _directory_keys(path: Path) -> KeySet:
    from polite_crawl.botauth.errors import BotAuthError
    from polite_crawl.botauth.keyset import keys_from_directory

    try:
        keys = keys_from_directory(path.read_bytes())
    except OSError as exc:
        raise BotAuthError(f"{path}: {exc.strerror or exc}") from None
    except BotAuthError as exc:
        raise BotAuthError(f"{path}: {exc}") from None
    if not keys:
        raise BotAuthError(f"{path}: the key directory holds no Ed25519 key")
    return keys


def match(
    path: Path,
    access_log: Path,
    directory: Path | None,
    pinned: Path | None,
    fingerprint: str | None,
    as_json: bool,
) -> int:
    from polite_crawl.botauth.accesslog import AccessLogError, read_access_log
    from polite_crawl.botauth.binding import vouching_key
    from polite_crawl.botauth.errors import BotAuthError
    from polite_crawl.botauth.match import match, signed_records

    if not path.exists():
        return _fail(f"{path}: no such file or directory", EXIT_USAGE)
    if not access_log.is_file():
        return _fail(f"{access_log}: no such file", EXIT_USAGE)
    export = bundle.is_bundle(path) or fleet.is_fleet(path)
    unpinned = pinned is None and fingerprint is None
    if export and unpinned and directory is None:
        return _fail(
            "an export is verified against a key you hold: give --directory FILE (the key "
            "directory fetched from the operator's Signature-Agent) or --key FILE / "
            "--fingerprint sha256:HEX (the operator's log key, obtained separately)",
            EXIT_USAGE,
        )
    try:
        keys = _directory_keys(directory) if directory is not None else None
        for _ in read_access_log(access_log):  # bad input is found before anything is judged
            pass
    except BotAuthError as exc:  # AccessLogError included
        return _fail(str(exc), EXIT_USAGE)
    from polite_crawl.audit.whole import verify_any

    try:
        if export and unpinned:  # its own key, which a binding by a directory key must name
            fingerprint = log_keys.fingerprint(_own_key(path))
        _, public = verify_any(path, pinned, fingerprint)
    except log_keys.SigningKeyError as exc:
        where = path / (fleet.FLEET if fleet.is_fleet(path) else log_keys.PUBLIC_FILE)
        return _unverified(f"{where}: {exc}", as_json)
    except Invalid as exc:
        return _unverified(f"{exc.where}: {exc.problem}", as_json)
    found = signed_records(_records(path))
    key_text = f"sha256:{log_keys.fingerprint(public)}"
    if export and unpinned:
        assert keys is not None  # checked above: no pin needs a directory
        voucher = vouching_key(found.bindings, keys, log_keys.fingerprint(public))
        if voucher is None:
            # Records signed by a key nobody vouches for say nothing: no join (format §13).
            return _unverified(
                f"the export's log key {key_text} is not named by a bot_auth_binding of any "
                "key in the directory: it may not be the operator's (give --key or "
                "--fingerprint to pin the log key)",
                as_json,
            )
        key_text += f", vouched for by directory key {voucher}"
    elif not unpinned:
        key_text += ", pinned"
    try:
        report = match(found, read_access_log(access_log), keys)
    except AccessLogError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if as_json:
        print(json.dumps({"export": str(path), "log_key": key_text, **report.as_json()}))
    else:
        _print(report, path, access_log, key_text, directory)
    return EXIT_OK if report.ok else EXIT_INVALID


def _unverified(problem: str, as_json: bool) -> int:
    """Step 1 failed: one finding, `export`, and no join (docs/format.md §13)."""
    if as_json:
        finding = {"kind": "export", "line": None, "message": problem}
        print(json.dumps({"ok": False, "findings": [finding]}))
    print(f"INVALID {problem}", file=sys.stderr)
    return EXIT_INVALID


def _print(
    report: MatchReport, path: Path, access_log: Path, key_text: str, directory: Path | None
) -> None:
    source = f"the key directory {directory}" if directory else "the keys its run.start names"
    print(f"export {path}: verified, log key {key_text}")
    print(f"request signatures checked against {source}")
    print(
        f"access log {access_log}: {report.requests} requests; {report.unsigned} unsigned and "
        f"{report.other_signers} signed with other keys (not this operator's)"
    )
    print(f"matched: {report.matched} signed requests, each with the record of its nonce")
    for f in report.findings:
        where = f"line {f.line}" if f.line is not None else "export"
        print(f"PROBLEM {f.kind} ({where}): {f.message}")
    print(
        f"recorded but never received: {report.not_arrived} of {report.recorded} nonces "
        f"({report.replaced} replaced before sending, so never sent)"
    )
    verdict = "every signed request matched" if report.ok else f"{len(report.findings)} problem(s)"
    print(verdict)
