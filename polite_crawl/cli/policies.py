"""`polite-crawl policies list | show ID | validate DIR | diff OLD_DIR NEW_DIR | schema`: the
command line over polite_crawl/policy/."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polite_crawl.core.purposes import Purpose
from polite_crawl.policy.consent import ConsentFile
from polite_crawl.policy.diff import diff
from polite_crawl.policy.loader import PolicyError, load_all, load_dir, load_policy
from polite_crawl.policy.model import Policy
from polite_crawl.policy.resolver import Resolver
from polite_crawl.policy.tables import overrides_text, stance_text
from polite_crawl.settings import did_you_mean

if TYPE_CHECKING:
    from pydantic import BaseModel

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# One schema per file kind, each with an $id an editor can map files to (taplo, VS Code).
SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "policy": (Policy, "urn:polite-crawl:schema:policy"),
    "consents": (ConsentFile, "urn:polite-crawl:schema:consents"),
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policies = sub.add_parser("policies", help="list, show, validate platform policies")
    psub = policies.add_subparsers(dest="policies_command", required=True)
    listing = psub.add_parser("list", help="one line per policy in force")
    show = psub.add_parser("show", help="one policy, whole")
    show.add_argument("id")
    validate = psub.add_parser(
        "validate", help="check a directory of policy files (every bad file is reported)"
    )
    validate.add_argument("directory", type=Path)
    schema = psub.add_parser(
        "schema", help="the JSON Schema of policy files, or of the consents file (--kind)"
    )
    schema.add_argument(
        "--kind",
        choices=sorted(SCHEMAS),
        default="policy",
        help="which file the schema is of (default: policy)",
    )
    changes = psub.add_parser(
        "diff",
        help="what changes in verdicts, per platform and purpose, between two policy sets "
        "(exit 0: none, 1: changes, 2: a set cannot be read)",
    )
    changes.add_argument("old", type=Path, help="directory of the policy set in force")
    changes.add_argument("new", type=Path, help="directory of the policy set to review")
    changes.add_argument(
        "--purpose",
        action="append",
        default=[],
        type=_purpose,
        dest="purposes",
        metavar="PURPOSE",
        help="only this declared purpose (repeatable; default: all)",
    )
    changes.add_argument("--json", action="store_true", help="one JSON object per change")
    # Before or after the subcommand (`policies --policy-dir X list`, `policies list
    # --policy-dir X`). Two destinations: argparse lets a subcommand's default replace what was
    # given before it, so the subcommand's own list starts absent (SUPPRESS), not empty.
    policies.add_argument(
        "--policy-dir",
        action="append",
        default=[],
        type=Path,
        dest="policy_dirs",
        help="extra policy directory (repeatable)",
    )
    for p in (listing, show):
        p.add_argument(
            "--policy-dir",
            action="append",
            default=argparse.SUPPRESS,
            type=Path,
            dest="policy_dirs_after",
            metavar="DIR",
            help="extra policy directory (repeatable)",
        )


def _purpose(text: str) -> Purpose:
    """argparse's own message names the enum class ("invalid Purpose value"): say it as the
    settings do, with a suggestion."""
    try:
        return Purpose(text)
    except ValueError:
        valid = ", ".join(p.value for p in Purpose)
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid purpose{did_you_mean('purposes', text)}; valid purposes: "
            f"{valid}"
        ) from None


def run(args: argparse.Namespace, project_dirs: list[Path]) -> int:
    command = args.policies_command
    if command == "schema":
        print(json.dumps(json_schema(args.kind), indent=2))
        return 0
    if command == "validate":
        return validate(args.directory)
    if command == "diff":
        return show_diff(args.old, args.new, args.purposes or list(Purpose), as_json=args.json)
    dirs = [
        *project_dirs,
        *getattr(args, "policy_dirs", []),
        *getattr(args, "policy_dirs_after", []),
    ]
    try:
        policies = load_all(dirs)
        resolver = Resolver(policies.values())
    except PolicyError as exc:
        print(f"polite-crawl policies: {exc}", file=sys.stderr)
        return 1
    if command == "list":
        rows = [loaded.policy for loaded in sorted(policies.values(), key=lambda p: p.id)]
        # The same words as docs/policies.md's generated table: contact requirement, pace and a
        # grade short of verified beside each stance. Columns as wide as their longest entry.
        id_w = max((len(p.id) for p in rows), default=2)
        stance_w = max((len(stance_text(p, p.access)) for p in rows), default=6)
        for p in rows:
            claims = len(p.domains) + len(p.hosts)
            line = (
                f"{p.id:<{id_w}}  {stance_text(p, p.access):<{stance_w}}  reviewed {p.reviewed}"
                f"  {claims:>2} {'domain ' if claims == 1 else 'domains'}  {overrides_text(p)}"
            )
            print(line.rstrip())
        return 0
    found = resolver.get(args.id)
    if found is None:
        print(
            f"polite-crawl policies: no policy {args.id!r} (known: "
            f"{', '.join(sorted(resolver.by_id))})",
            file=sys.stderr,
        )
        return 2
    print(f"# {found.path}  sha256 {found.sha256}")
    print(found.path.read_text(encoding="utf-8"), end="")
    return 0


def json_schema(kind: str) -> dict[str, Any]:
    model, schema_id = SCHEMAS[kind]
    # pydantic's dialect is 2020-12; said, so that an editor does not guess.
    return {"$schema": SCHEMA_DIALECT, "$id": schema_id, **model.model_json_schema()}


def validate(directory: Path) -> int:
    """Every bad file is reported, not the first: one run shows all there is to fix."""
    if not directory.is_dir():
        print(f"polite-crawl policies validate: {directory}: not a directory", file=sys.stderr)
        return 1
    files = sorted(directory.glob("*.toml"))
    loaded, problems = [], []
    for path in files:
        try:
            loaded.append(load_policy(path))
        except PolicyError as exc:
            problems.append(str(exc))
    if not problems:
        try:  # claims across files, once each file reads
            Resolver(loaded)
            # As a crawl would load it: after the shipped policies, whose claims it may not take.
            Resolver(load_all([directory]).values())
        except PolicyError as exc:
            problems.append(str(exc))
    for line in "\n".join(problems).splitlines():
        print(f"polite-crawl policies validate: {line}", file=sys.stderr)
    if problems:
        bad = len(files) - len(loaded) or 1
        print(f"{directory}: {bad} of {len(files)} policy files invalid", file=sys.stderr)
        return 1
    print(f"{directory}: {len(loaded)} policy files valid")
    return 0


def show_diff(old: Path, new: Path, purposes: list[Purpose], *, as_json: bool) -> int:
    try:
        before, after = load_dir(old), load_dir(new)
    except PolicyError as exc:
        print(f"polite-crawl policies diff: {exc}", file=sys.stderr)
        return 2
    changes = diff(before, after, purposes)
    for change in changes:
        if as_json:
            print(
                json.dumps(
                    {
                        "platform": change.platform,
                        "what": change.what,
                        "old": change.old,
                        "new": change.new,
                    }
                )
            )
        else:
            print(change.line())
    if not changes and not as_json:
        print(f"no verdict changes between {old} and {new}")
    return 1 if changes else 0
