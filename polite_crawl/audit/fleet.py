"""A fleet's record for one platform: every worker directory's export, bound by a signed fleet
head (docs/format.md §14).

    <out>/fleet.json  fleet.sig  FORMAT.md  README.md
          workers/<worker>/...      one export per worker with a log for the platform (§8)

fleet.json names every worker directory the export was made from, with its log's origin and
size (or none), and each worker's latest head: a worker left out is a worker the fleet head does
not name, and each worker's own records name the peers it saw in the fleet (`run.start`'s
`fleet.peers`), so a worker log withheld from the export shows as a peer nobody exported.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

from polite_crawl.audit import bundle, keys
from polite_crawl.audit.heads import HEADS, open_head
from polite_crawl.audit.logfile import CHECKPOINTS, ENTRIES
from polite_crawl.audit.note import commitment, open_text, sign_text
from polite_crawl.audit.record import RecordError, decode
from polite_crawl.audit.verify import Invalid, sha256_file
from polite_crawl.audit.worker import WORKER_NAME, worker_of

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from polite_crawl.audit.verify import LogReport

FLEET = "fleet.json"
FLEET_SIG = "fleet.sig"
FLEET_FORMAT = "polite-crawl-fleet-export/v1"
FLEET_SUFFIX = "/polite-crawl/fleet"
WORKERS = "workers"
TOP = frozenset({FLEET, FLEET_SIG, bundle.SPEC, "README.md", WORKERS})


def is_fleet(path: Path) -> bool:
    return (path / FLEET).is_file()


def _last_head(directory: Path) -> dict[str, Any] | None:
    path = directory / HEADS
    if not path.is_file():
        return None
    lines = path.read_bytes().splitlines()
    if not lines:
        return None
    try:
        head = json.loads(lines[-1])
    except ValueError:
        raise Invalid(str(path), "the last head is not JSON") from None
    if not isinstance(head, dict):
        raise Invalid(str(path), "the last head is not a JSON object")
    return head


def _name(directory: Path) -> str:
    """The worker's name, from its head's origin (a shared key's directories carry one); the
    directory's own name for one that never signed a head (a worker that wrote nothing)."""
    head = _last_head(directory)
    note = head.get("note") if head else None
    if not isinstance(note, str):
        return directory.name
    name = worker_of(note.split("\n", 1)[0])
    if name is None:
        raise Invalid(
            str(directory),
            "its logs carry no worker name: not a fleet worker's directory (the workers of a "
            "fleet sign with one key, POLITE_CRAWL_AUDIT_KEY)",
        )
    return name


def _latest_checkpoints(directory: Path) -> list[str]:
    """The latest signed checkpoint note of each of the directory's logs (what its last head
    commits to), sorted."""
    notes: list[str] = []
    logs = directory / "logs"
    for log in sorted(logs.iterdir()) if logs.is_dir() else ():
        path = log / CHECKPOINTS
        if not path.is_file():
            continue
        lines = path.read_bytes().splitlines()
        if lines:
            try:
                notes.append(str(json.loads(lines[-1])["note"]))
            except (ValueError, KeyError, TypeError, RecursionError):
                raise Invalid(str(path), "the last checkpoint is unreadable") from None
    return sorted(notes)


def export(
    dirs: list[Path],
    platform: str,
    out: Path,
    policy_files: dict[str, Path],
    key_file: Path | None = None,
) -> dict[str, Any]:
    """One export per worker directory holding a log for platform, and the signed fleet head.
    The directories must be sealed already (bundle.seal) and share one key."""
    names = [_name(d) for d in dirs]
    for name, directory in zip(names, dirs, strict=True):
        if not WORKER_NAME.fullmatch(name):
            raise Invalid(str(directory), f"worker name {name!r} cannot name a folder")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise Invalid(
            ", ".join(str(d) for d, n in zip(dirs, names, strict=True) if n in repeated),
            f"two directories are worker {repeated[0]!r}: give each worker its own "
            "POLITE_CRAWL_WORKER_ID",
        )
    public: bytes | None = None
    key: Ed25519PrivateKey | None = None
    workers: list[dict[str, Any]] = []
    out.mkdir(parents=True, exist_ok=True)
    for name, directory in zip(names, dirs, strict=True):
        try:
            own = keys.read_public(directory / keys.PUBLIC_FILE)
        except keys.SigningKeyError as exc:
            raise Invalid(str(directory), str(exc)) from None
        if public is None:
            public = own
            key = bundle.signing_key(directory, key_file)
        elif own != public:
            raise Invalid(
                str(directory / keys.PUBLIC_FILE),
                f"another key (sha256:{keys.fingerprint(own)}) than {dirs[0]}'s "
                f"(sha256:{keys.fingerprint(public)}): a fleet's workers share one key "
                "(POLITE_CRAWL_AUDIT_KEY)",
            )
        entry: dict[str, Any] = {"name": name, "head": _last_head(directory)}
        if (directory / "logs" / platform / ENTRIES).exists():
            target = out / WORKERS / name
            manifest = bundle.export(directory, platform, target, policy_files, key_file)
            entry.update(
                path=f"{WORKERS}/{name}",
                origin=manifest["origin"],
                records=manifest["records"],
                manifest_sha256=sha256_file(target / bundle.MANIFEST),
            )
        else:
            # No log for the platform: the worker's latest checkpoints show what logs it has
            # (their origins name their platforms), and its head commits to exactly those.
            entry.update(
                path=None,
                origin=None,
                records=0,
                manifest_sha256=None,
                checkpoints=_latest_checkpoints(directory),
            )
        workers.append(entry)
    if public is None or key is None:
        raise Invalid(str(out), "no worker directory given")
    shutil.copyfile(bundle.spec_source(), out / bundle.SPEC)
    records = sum(w["records"] for w in workers)
    (out / "README.md").write_text(
        README.format(
            platform=platform,
            workers=len(workers),
            records=records,
            fingerprint=keys.fingerprint(public),
        )
    )
    head = {
        "format": FLEET_FORMAT,
        "platform": platform,
        "public_key": public.hex(),
        "fingerprint": keys.fingerprint(public),
        "records": records,
        "workers": workers,
        "files": {n: sha256_file(out / n) for n in (bundle.SPEC, "README.md")},
    }
    (out / FLEET).write_text(json.dumps(head, indent=2, sort_keys=True) + "\n")
    operator = _operator(workers, public)
    name = operator + FLEET_SUFFIX
    (out / FLEET_SIG).write_text(sign_text(f"{name}\n{sha256_file(out / FLEET)}\n", name, key))
    return head


def _operator(workers: list[dict[str, Any]], public: bytes) -> str:
    """The operator part shared by the workers' origins (`<operator>/<worker>/...`): of their
    heads, else of their logs."""
    for worker in workers:
        head = worker.get("head")
        note = head.get("note") if isinstance(head, dict) else None
        origin = note.split("\n", 1)[0] if isinstance(note, str) else worker.get("origin")
        if isinstance(origin, str):
            return origin.rsplit("/polite-crawl/", 1)[0].split("/", 1)[0]
    return "operator-" + keys.fingerprint(public)[:16]


def pinned_key(path: Path, pinned: Path | None, fingerprint: str | None) -> bytes:
    """The key a fleet export must be signed with: the key file given, else the one fleet.json
    names if its fingerprint is the one given (a fleet export has no public.key of its own)."""
    if pinned is not None:
        return bundle.public_key(path, pinned, fingerprint)
    if fingerprint is None:
        raise Invalid(str(path), "a fleet export is verified against a pinned key")
    where = str(path / FLEET)
    try:
        named = json.loads((path / FLEET).read_text(encoding="utf-8")).get("public_key")
        public = bytes.fromhex(named)
    except (OSError, ValueError, AttributeError, TypeError, RecursionError) as exc:
        raise Invalid(where, f"no readable public_key ({exc})") from None
    if len(public) != 32 or keys.fingerprint(public) != fingerprint.removeprefix("sha256:"):
        raise Invalid(
            where,
            f"the key's fingerprint is sha256:{keys.fingerprint(public)}, not {fingerprint}: "
            "not the operator's key",
        )
    return public


def verify(
    path: Path, public: bytes, check_worker: Callable[[Path], LogReport]
) -> tuple[list[LogReport], dict[str, Any]]:
    """F0-F6 of docs/format.md §14. check_worker(export_dir) verifies one worker's export
    (§8, against the same pinned key) and returns its log's report."""
    where = str(path / FLEET)
    operator = _check_signature(path, public)
    head = _read_fleet_json(path)
    if not isinstance(head, dict) or head.get("format") != FLEET_FORMAT:
        raise Invalid(where, f"not a {FLEET_FORMAT} head")
    platform = head.get("platform")
    if not isinstance(platform, str) or not platform or "/" in platform:
        raise Invalid(where, f"platform {platform!r} is not a platform id")
    if head.get("public_key") != public.hex() or head.get("fingerprint") != keys.fingerprint(
        public
    ):
        raise Invalid(where, "public_key or fingerprint is not the pinned key")
    _check_top(path, head)
    workers = head.get("workers")
    if not isinstance(workers, list) or not workers:
        raise Invalid(where, "no workers")
    reports: list[LogReport] = []
    names: set[str] = set()
    headless: set[str] = set()
    present = {p.name for p in (path / WORKERS).iterdir()} if (path / WORKERS).is_dir() else set()
    listed: set[str] = set()
    peers: set[str] = set()
    total = 0
    for i, worker in enumerate(workers):
        at = f"{where}: workers[{i}]"
        if not isinstance(worker, dict):
            raise Invalid(at, "not an object")
        name = worker.get("name")
        if not isinstance(name, str) or not WORKER_NAME.fullmatch(name) or name in names:
            raise Invalid(at, f"name {name!r} is not a worker name, or repeated")
        names.add(name)
        prefix = f"{operator}/{name}/polite-crawl/"  # every origin of this worker's (F3, F4)
        commitments = _check_head(worker.get("head"), public, prefix, at)
        if commitments is None:
            headless.add(name)
        records = worker.get("records")
        if type(records) is not int or records < 0:
            raise Invalid(at, f"records {records!r} is not a count")
        total += records
        if worker.get("path") is None:
            if records != 0 or worker.get("origin") is not None:
                raise Invalid(at, "a worker without a log has no origin and no records")
            _check_logless(worker.get("checkpoints"), commitments, public, prefix, platform, at)
            continue
        if worker.get("path") != f"{WORKERS}/{name}":
            raise Invalid(at, f"path {worker.get('path')!r} is not {WORKERS}/{name}")
        listed.add(name)
        sub = path / WORKERS / name
        if not sub.is_dir() or sub.is_symlink():
            raise Invalid(str(sub), "listed in the fleet head but missing")
        manifest = sub / bundle.MANIFEST
        if manifest.is_symlink() or not manifest.is_file():
            # Hashed before the worker's export is checked: never open a FIFO or a link.
            raise Invalid(str(manifest), "not a regular file")
        if sha256_file(manifest) != worker.get("manifest_sha256"):
            raise Invalid(str(manifest), "not the manifest the fleet head names")
        report = check_worker(sub)
        if report.platform != platform:
            raise Invalid(str(sub), f"an export of {report.platform!r}, not {platform!r}")
        if report.origin != prefix + platform:
            raise Invalid(at, f"its log's origin {report.origin!r} is not {prefix + platform!r}")
        if report.records != records:
            raise Invalid(at, "records differ from the worker's export")
        if worker.get("origin") != report.origin:
            raise Invalid(at, "origin differs from the worker's export")
        if worker.get("head") != _last_head(sub):
            raise Invalid(at, f"head is not the last of {sub / HEADS}")
        peers |= _peers(sub / ENTRIES)
        reports.append(report)
    if present != listed:
        extra = ", ".join(sorted(present - listed)) or "-"
        raise Invalid(str(path / WORKERS), f"folders the fleet head does not name: {extra}")
    if total != head.get("records"):
        raise Invalid(where, f"records says {head.get('records')!r}, the workers hold {total}")
    withheld = sorted((peers - names) | (peers & headless))
    if withheld:
        raise Invalid(
            where,
            f"worker(s) {', '.join(withheld)} took part in the fleet (named in the workers' "
            "run.start or run.end) but their logs are not in the export: withheld",
        )
    return reports, head


MAX_FLEET_JSON = 64 << 20  # bytes: a fleet of thousands of workers is a few MiB


def _read_fleet_json(path: Path) -> Any:
    where = str(path / FLEET)
    if (path / FLEET).is_symlink() or not (path / FLEET).is_file():
        raise Invalid(where, "not a regular file")
    try:
        if (path / FLEET).stat().st_size > MAX_FLEET_JSON:
            raise Invalid(where, f"larger than {MAX_FLEET_JSON} bytes")
        return json.loads((path / FLEET).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise Invalid(where, f"unreadable ({exc})") from None


def _check_signature(path: Path, public: bytes) -> str:
    """F0: fleet.sig, a signed note by the pinned key, names fleet.json's sha256. The operator
    it names (every worker's origins start with it)."""
    where = str(path / FLEET_SIG)
    name, signed = bundle.open_file_signature(
        path / FLEET_SIG,
        public,
        FLEET_SUFFIX,
        "fleet export",
        "a fleet signature (origin, fleet.json sha256)",
    )
    if (path / FLEET).is_symlink() or not (path / FLEET).is_file():
        raise Invalid(str(path / FLEET), "not a regular file")
    if signed != sha256_file(path / FLEET):
        raise Invalid(where, "signs another fleet.json: it was changed")
    operator = name.removesuffix(FLEET_SUFFIX)
    if not operator or "/" in operator:
        raise Invalid(where, f"{name!r} names no operator")
    return operator


def _check_top(path: Path, head: dict[str, Any]) -> None:
    """F2: nothing at the top but the fleet's own files, each as fleet.json lists it."""
    for entry in path.iterdir():
        if entry.name not in TOP or entry.is_symlink():
            raise Invalid(str(entry), "not part of a fleet export")
    files = head.get("files")
    if not isinstance(files, dict) or set(files) != {bundle.SPEC, "README.md"}:
        raise Invalid(str(path / FLEET), f"files must list {bundle.SPEC} and README.md")
    for name, digest in files.items():
        if not (path / name).is_file() or sha256_file(path / name) != digest:
            raise Invalid(str(path / name), "missing or not the file fleet.json lists")


def _check_head(head: Any, public: bytes, prefix: str, at: str) -> frozenset[str] | None:
    """F3: a worker's latest head, signed by the fleet's key with the worker's own head origin;
    the commitments it holds (None: a worker that never signed one)."""
    if head is None:
        return None
    note = head.get("note") if isinstance(head, dict) else None
    if not isinstance(note, str) or type(head.get("n")) is not int or set(head) != {"n", "note"}:
        raise Invalid(at, "head is not {n, note}")
    try:
        opened = open_head(note, public)
    except ValueError as exc:
        raise Invalid(at, f"head: {exc}") from None
    if opened.origin != prefix + "head":
        raise Invalid(at, f"head origin {opened.origin!r} is not {prefix + 'head'!r}")
    if opened.n != head["n"]:
        raise Invalid(at, "head number differs from its note's")
    return frozenset(opened.commitments)


def _check_logless(
    notes: Any,
    commitments: frozenset[str] | None,
    public: bytes,
    prefix: str,
    platform: str,
    at: str,
) -> None:
    """F4: a worker said to hold no log for the platform shows the latest checkpoint of each log
    it holds; none is the platform's, and they are exactly what its head commits to."""
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise Invalid(at, "checkpoints is not a list of checkpoint notes")
    seen: set[str] = set()
    for note in notes:
        origin = note.split("\n", 1)[0]
        if not origin.startswith(prefix) or "/" in origin.removeprefix(prefix):
            raise Invalid(at, f"a checkpoint of {origin!r}, not one of this worker's logs")
        if origin == prefix + platform:
            raise Invalid(at, f"a checkpoint of its {platform} log, whose log is not exported")
        try:
            body = open_text(note, origin, public)
        except ValueError as exc:
            raise Invalid(at, f"checkpoint of {origin!r}: {exc}") from None
        seen.add(commitment(body))
    if seen != (commitments or frozenset()):
        raise Invalid(at, "its checkpoints are not the logs its head commits to: a log withheld")


def _peers(entries: Path) -> set[str]:
    """F6: the workers a log's run.start and run.end records saw in the fleet (`fleet.peers`).
    Each must name them: a run whose roster was not recorded (Redis failed, or its roster
    could not be read) leaves the export unable to show that no worker log is missing."""
    found: set[str] = set()
    with open(entries, "rb") as fh:
        for number, line in enumerate(fh):
            try:
                record, _ = decode(line.rstrip(b"\n"))
            except RecordError:
                continue  # the worker's own verification has passed: nothing is unreadable
            kind = record.get("type")
            if kind not in ("run.start", "run.end"):
                continue
            fleet = record.get("fleet")
            listed = fleet.get("peers") if isinstance(fleet, dict) else None
            if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
                raise Invalid(
                    f"{entries}: line {number}",
                    f"its {kind} holds no roster of the fleet (fleet.peers): that no worker's "
                    "log is missing from this export cannot be shown",
                )
            found.update(listed)
    return found


README = """# Fleet audit export: {platform}

This folder is the record of what a fleet of {workers} crawler worker(s) did on {platform}:
{records} records in all. Each folder under workers/ is one worker's complete, signed export
(its own README.md says what it holds); fleet.json names every worker the export was made from,
with its log's size and its latest signed head, and fleet.sig signs fleet.json.

All are signed by one key, fingerprint sha256:{fingerprint}. Verify with the key obtained
from the operator, not the one in this folder:

    polite-crawl audit verify . --fingerprint sha256:{fingerprint}

FORMAT.md §14 specifies the fleet export; §8 each worker's export.
"""
