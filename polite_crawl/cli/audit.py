"""`polite-crawl audit verify PATH [--since FILE] | export --platform ID -o OUT PATH |
checkpoints PATH -o FILE | stats PATH | report --platform ID -o OUT PATH | match EXPORT
ACCESS_LOG` (cli/match.py): the command line over polite_crawl/audit/.

verify exits 0 when everything checks out, 1 on the first invalid file and line, 2 on a usage
error (a path that is not an audit directory or export bundle).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from polite_crawl.audit import bundle, fleet
from polite_crawl.audit.logfile import ENTRIES
from polite_crawl.audit.record import RecordError, decode
from polite_crawl.audit.verify import Invalid
from polite_crawl.audit.whole import verify_any, verify_path

if TYPE_CHECKING:
    import argparse


EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="verify, export and summarise audit logs")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser(
        "verify",
        help="check an audit directory or an export (several: a fleet's worker directories)",
    )
    verify.add_argument("path", type=Path, nargs="+", metavar="PATH")
    _pin_options(verify)
    verify.add_argument(
        "--since",
        type=Path,
        metavar="FILE",
        help="checkpoints kept earlier (audit checkpoints -o FILE): the logs must extend them",
    )
    seal = asub.add_parser(
        "seal",
        help="after a crash: mend torn tails and sign every log's unsigned records and a head",
    )
    seal.add_argument("path", type=Path)
    kept = asub.add_parser(
        "checkpoints", help="write the latest signed checkpoints and head, for a platform to keep"
    )
    kept.add_argument("path", type=Path)
    kept.add_argument("-o", "--output", type=Path, required=True)
    kept.add_argument("--platform", help="only this platform's checkpoint (and the head)")
    _pin_options(kept)
    export = asub.add_parser(
        "export",
        help="write one platform's verifiable bundle (of several directories: a fleet export)",
    )
    export.add_argument("path", type=Path, nargs="+", metavar="DIR")
    export.add_argument("--platform", required=True)
    export.add_argument("-o", "--output", type=Path, required=True)
    export.add_argument(
        "--signing-key",
        type=Path,
        metavar="FILE",
        help="the shared key (POLITE_CRAWL_AUDIT_KEY) where the directories' signing.key.path "
        "does not find it, e.g. directories collected from other machines",
    )
    keygen = asub.add_parser(
        "keygen", help="make a log-signing key for a fleet to share (POLITE_CRAWL_AUDIT_KEY)"
    )
    keygen.add_argument("path", type=Path, metavar="FILE")
    joined = asub.add_parser(
        "match",
        help="join a platform's access log of signed requests to an export (Web Bot Auth)",
    )
    joined.add_argument("path", type=Path, metavar="EXPORT")
    joined.add_argument("access_log", type=Path, metavar="ACCESS_LOG")
    joined.add_argument(
        "--directory",
        type=Path,
        metavar="FILE",
        help="the key directory fetched from the operator's Signature-Agent (JSON)",
    )
    _pin_options(joined)
    joined.add_argument("--json", action="store_true", help="print the findings as JSON")
    stats = asub.add_parser("stats", help="decisions by platform and reason")
    stats.add_argument("path", type=Path)
    stats.add_argument(
        "--json",
        action="store_true",
        help='print {platform: {"DECISION REASON" or record type: count}} as JSON',
    )
    report = asub.add_parser("report", help="one self-contained HTML page for a platform")
    report.add_argument("path", type=Path)
    report.add_argument("--platform", required=True)
    report.add_argument("-o", "--output", type=Path, required=True)
    _pin_options(report)


def _pin_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", type=Path, help="the operator's public.key, obtained separately")
    parser.add_argument("--fingerprint", help="the operator's key fingerprint, sha256:HEX")


def run(args: argparse.Namespace, policy_dirs: list[Path]) -> int:
    if args.audit_command == "verify":
        if len(args.path) > 1:
            return verify_many(args.path, args.key, args.fingerprint, args.since)
        return verify(args.path[0], args.key, args.fingerprint, args.since)
    if args.audit_command == "keygen":
        return keygen(args.path)
    if args.audit_command == "seal":
        return seal(args.path)
    if args.audit_command == "checkpoints":
        return checkpoints(args.path, args.output, args.platform, args.key, args.fingerprint)
    if args.audit_command == "export":
        return export(args.path, args.platform, args.output, policy_dirs, args.signing_key)
    if args.audit_command == "match":
        from polite_crawl.cli.match import match

        return match(
            args.path, args.access_log, args.directory, args.key, args.fingerprint, args.json
        )
    if args.audit_command == "report":
        return report(args.path, args.platform, args.output, args.key, args.fingerprint)
    return stats(args.path, as_json=args.json)


def report(
    path: Path, platform: str, out: Path, pinned: Path | None, fingerprint: str | None
) -> int:
    from polite_crawl.audit.report import write_report

    try:
        dirs = bundle.log_dirs(path)
    except Invalid as exc:
        print(f"polite-crawl audit report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    name = _policy_id(platform)
    if name not in dirs:
        print(
            f"polite-crawl audit report: no log for {name!r} (logs: "
            f"{', '.join(sorted(dirs)) or 'none'})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        reports, _ = verify_path(
            path, pinned, fingerprint, only=name, progress=sys.stderr.isatty()
        )
        verification = (True, reports[0].summary())
    except Invalid as exc:
        verification = (False, str(exc))
    summary = write_report(dirs[name], name, out, verification)
    print(
        f"wrote {out}: {sum(summary.decisions.values())} decisions, "
        f"{'verified' if verification[0] else 'NOT VERIFIED'}"
    )
    return EXIT_OK if verification[0] else EXIT_INVALID


def _policy_id(platform: str) -> str:
    from polite_crawl.policy.loader import PolicyError, load_all
    from polite_crawl.policy.resolver import Resolver

    try:
        found = Resolver(load_all().values()).get(platform)
    except PolicyError:
        return platform
    return found.id if found else platform


def verify(
    path: Path, pinned: Path | None, fingerprint: str | None = None, since: Path | None = None
) -> int:
    problem = _unverifiable(path, pinned, fingerprint)
    if problem is not None:
        print(f"polite-crawl audit verify: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if since is not None and not since.is_file():
        print(f"polite-crawl audit verify: {since}: no such file", file=sys.stderr)
        return EXIT_USAGE
    if since is not None and fleet.is_fleet(path):
        print(
            "polite-crawl audit verify: --since checks one log against its kept checkpoint: "
            "give it one worker's export (workers/NAME)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        reports, public = verify_any(
            path, pinned, fingerprint, since, progress=sys.stderr.isatty()
        )
    except Invalid as exc:
        print(f"INVALID {exc.where}: {exc.problem}", file=sys.stderr)
        return EXIT_INVALID if dirs_exist(path) else EXIT_USAGE
    for report in reports:
        print(f"ok  {report.summary()}")
    extends = f", extending the checkpoints kept in {since}" if since is not None else ""
    print(f"verified {len(reports)} log(s) with key sha256:{_fingerprint(public)}{extends}")
    return EXIT_OK


def verify_many(
    paths: list[Path], pinned: Path | None, fingerprint: str | None, since: Path | None
) -> int:
    """A fleet's worker directories (or exports): each verifies alone, all with one key, and no
    two logs share an origin (one log name, two logs: neither proves anything)."""
    if since is not None:
        print(
            "polite-crawl audit verify: --since checks one directory against what was kept "
            "from it: give one PATH",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for path in paths:
        problem = _unverifiable(path, pinned, fingerprint)
        if problem is not None:
            print(f"polite-crawl audit verify: {problem}", file=sys.stderr)
            return EXIT_USAGE
    origins: dict[str, Path] = {}
    total = 0
    first: bytes | None = None
    for path in paths:
        try:
            # Without a pin, the first directory's key pins the others: a fleet has one key.
            pin = fingerprint if first is None else _fingerprint(first)
            reports, public = verify_any(path, pinned, pin, progress=sys.stderr.isatty())
        except Invalid as exc:
            print(f"INVALID {exc.where}: {exc.problem}", file=sys.stderr)
            return EXIT_INVALID if dirs_exist(path) else EXIT_USAGE
        first = first or public
        for report in reports:
            if report.origin in origins:
                print(
                    f"INVALID {path}: log {report.origin!r} is also in {origins[report.origin]}: "
                    "two logs under one name (give each worker its own POLITE_CRAWL_WORKER_ID)",
                    file=sys.stderr,
                )
                return EXIT_INVALID
            origins[report.origin] = path
            print(f"ok  {path}: {report.summary()}")
        total += len(reports)
    assert first is not None  # argparse's nargs="+" gives at least one path
    print(
        f"verified {total} log(s) in {len(paths)} directories with key "
        f"sha256:{_fingerprint(first)}"
    )
    return EXIT_OK


def _unverifiable(path: Path, pinned: Path | None, fingerprint: str | None) -> str | None:
    """Why path cannot be verified at all (a usage error), or None."""
    if not path.exists():
        return f"{path}: no such file or directory"
    if (bundle.is_bundle(path) or fleet.is_fleet(path)) and pinned is None and fingerprint is None:
        return (
            "an export is verified against the operator's key obtained separately: give --key "
            "FILE or --fingerprint sha256:HEX (the bundle's own public.key could have been "
            "replaced)"
        )
    from polite_crawl.audit.dirlock import busy

    holder = busy(path)
    if holder is not None:
        return (
            f"a crawl is writing {path} ({holder}); its last records are not signed yet: "
            "verify it once the crawl has ended"
        )
    return None


def seal(path: Path) -> int:
    """What the next crawl would do to each log on opening it, for all of them now: a crash
    leaves logs that later crawls may never touch unsigned (and the directory unverifiable)."""
    if not (path / "logs").is_dir():
        print(f"polite-crawl audit seal: {path}: not an audit directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        sealed = bundle.seal(path, *sorted(bundle.log_dirs(path)))
    except Invalid as exc:
        print(f"polite-crawl audit seal: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for name, records in sealed.items():
        print(f"{name}: {records} records, signed")
    return EXIT_OK


def checkpoints(
    path: Path, out: Path, platform: str | None, pinned: Path | None, fingerprint: str | None
) -> int:
    """What a platform keeps. Written only from a directory or an export that verifies (an
    export against the operator's key obtained separately), so that what is kept is worth
    keeping."""
    from polite_crawl.audit.since import kept_file

    try:
        reports, public = verify_path(path, pinned, fingerprint, progress=sys.stderr.isatty())
        dirs = bundle.log_dirs(path)
        if platform is not None:
            name = _policy_id(platform)
            if name not in dirs:
                known = ", ".join(dirs) or "none"
                raise Invalid(str(path), f"no log for {name!r} (logs: {known})")
            dirs = {name: dirs[name]}
        kept = kept_file(path, dirs, public)
    except Invalid as exc:
        print(f"polite-crawl audit checkpoints: INVALID {exc}", file=sys.stderr)
        return EXIT_INVALID if dirs_exist(path) else EXIT_USAGE
    out.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")
    print(
        f"wrote {out}: the latest checkpoints of {len(kept['checkpoints'])} of {len(reports)} "
        f"log(s) and head {kept['head']['n']}; verify later exports with --since {out}"
    )
    return EXIT_OK


def dirs_exist(path: Path) -> bool:
    return (path / "logs").is_dir() or bundle.is_bundle(path) or fleet.is_fleet(path)


def _fingerprint(public: bytes) -> str:
    from polite_crawl.audit.keys import fingerprint

    return fingerprint(public)


def export(
    paths: list[Path],
    platform: str,
    out: Path,
    policy_dirs: list[Path],
    signing_key: Path | None = None,
) -> int:
    from polite_crawl.policy.loader import PolicyError, load_all
    from polite_crawl.policy.resolver import Resolver

    try:
        policies = load_all(policy_dirs)
        found = Resolver(policies.values()).get(platform)
    except PolicyError as exc:
        print(f"polite-crawl audit export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    name = found.id if found else platform
    files = {p.sha256: p.path for p in policies.values()}
    try:
        for path in paths:
            bundle.seal(path, name, key_file=signing_key)
        if len(paths) > 1:
            head = fleet.export(paths, name, out, files, signing_key)
            print(
                f"exported {head['records']} records of {name} from {len(paths)} workers to "
                f"{out} (key sha256:{head['fingerprint']})"
            )
            return EXIT_OK
        manifest = bundle.export(
            paths[0], name, out, files, signing_key, progress=sys.stderr.isatty()
        )
    except Invalid as exc:
        print(f"polite-crawl audit export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"exported {manifest['records']} records of {name} to {out} "
        f"(key sha256:{manifest['fingerprint']})"
    )
    return EXIT_OK


def keygen(path: Path) -> int:
    from polite_crawl.audit import keys

    try:
        key = keys.new_key(path)
    except FileExistsError:
        print(f"polite-crawl audit keygen: {path}: exists (never replaced)", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"polite-crawl audit keygen: {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    public = key.public_key().public_bytes_raw()
    print(
        f"wrote {path} (0600): key sha256:{keys.fingerprint(public)}. Give it to every worker "
        "as POLITE_CRAWL_AUDIT_KEY, publish the fingerprint, back the file up and keep it out "
        "of version control"
    )
    return EXIT_OK


def stats(path: Path, *, as_json: bool = False) -> int:
    try:
        dirs = bundle.log_dirs(path)
    except Invalid as exc:
        print(f"polite-crawl audit stats: {exc}", file=sys.stderr)
        return EXIT_USAGE
    summary: dict[str, dict[str, int]] = {}
    for name, directory in dirs.items():
        counts: Counter[str] = Counter()
        with open(directory / ENTRIES, "rb") as fh:
            for line in fh:
                try:
                    record, _ = decode(line.rstrip(b"\n"))
                except RecordError:
                    counts["(unreadable line)"] += 1
                    continue
                if record.get("type") == "decision":
                    counts[f"{record.get('decision')} {record.get('reason')}"] += 1
                else:
                    counts[str(record.get("type"))] += 1
        summary[name] = dict(sorted(counts.items()))
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print(stats_table(summary))
    return EXIT_OK


def stats_table(summary: dict[str, dict[str, int]]) -> str:
    """One row per platform, record kind and reason, counts aligned right; decisions first."""
    rows = [("PLATFORM", "RECORD", "REASON", "COUNT")]
    for name, counts in sorted(summary.items()):
        # "allow allowed", "deny robots.disallowed"; other keys are record types.
        decision = {k: n for k, n in counts.items() if " " in k and not k.startswith("(")}
        decisions = [(k.split(" ", 1), n) for k, n in decision.items()]
        others = [((k, ""), n) for k, n in counts.items() if k not in decision]
        for (kind, reason), n in [*decisions, *others]:
            rows.append((name, kind, reason, str(n)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d:>{widths[3]}}".rstrip()
        for a, b, c, d in rows
    ]
    total = sum(sum(c.values()) for c in summary.values())
    lines.append(f"{total} records in {len(summary)} log(s); --json for the machine form")
    return "\n".join(lines)
