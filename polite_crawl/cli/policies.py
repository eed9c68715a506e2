"""`polite-crawl policies list | show ID | validate DIR | diff OLD_DIR NEW_DIR | schema`: the
command line over polite_crawl/policy/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from polite_crawl.core.purposes import Purpose
from polite_crawl.policy.consent import ConsentFile
from polite_crawl.policy.diff import diff
from polite_crawl.policy.loader import PolicyError, load_all, load_dir
from polite_crawl.policy.model import Policy
from polite_crawl.policy.resolver import Resolver
from polite_crawl.policy.tables import overrides_text, stance_text

if TYPE_CHECKING:
    import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policies = sub.add_parser("policies", help="list, show, validate platform policies")
    psub = policies.add_subparsers(dest="policies_command", required=True)
    psub.add_parser("list", help="one line per policy in force")
    show = psub.add_parser("show", help="one policy, whole")
    show.add_argument("id")
    validate = psub.add_parser("validate", help="check a directory of policy files")
    validate.add_argument("directory", type=Path)
    psub.add_parser("schema", help="JSON Schema of policy and consent files")
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
        type=Purpose,
        dest="purposes",
        metavar="PURPOSE",
        help="only this declared purpose (repeatable; default: all)",
    )
    changes.add_argument("--json", action="store_true", help="one JSON object per change")
    for p in (policies, show, validate):
        p.add_argument(
            "--policy-dir",
            action="append",
            default=[],
            type=Path,
            dest="policy_dirs",
            help="extra policy directory (repeatable)",
        )


def run(args: argparse.Namespace, project_dirs: list[Path]) -> int:
    command = args.policies_command
    if command == "schema":
        schema = {
            "policy": Policy.model_json_schema(),
            "consents": ConsentFile.model_json_schema(),
        }
        print(json.dumps(schema, indent=2))
        return 0
    if command == "validate":
        return validate(args.directory)
    if command == "diff":
        return show_diff(args.old, args.new, args.purposes or list(Purpose), as_json=args.json)
    dirs = [*project_dirs, *getattr(args, "policy_dirs", [])]
    try:
        policies = load_all(dirs)
        resolver = Resolver(policies.values())
    except PolicyError as exc:
        print(f"polite-crawl policies: {exc}", file=sys.stderr)
        return 1
    if command == "list":
        for loaded in sorted(policies.values(), key=lambda p: p.id):
            p = loaded.policy
            # The same words as docs/policies.md's generated table: contact requirement, pace
            # and a grade short of verified beside each stance.
            print(
                f"{p.id:<14} {stance_text(p, p.access):<30} reviewed {p.reviewed}  "
                f"{len(p.domains) + len(p.hosts):>2} domains  {overrides_text(p)}"
            )
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


def validate(directory: Path) -> int:
    try:
        loaded = load_dir(directory)
        Resolver(loaded)
        # As a crawl would load it: after the shipped policies, whose claims it may not take.
        Resolver(load_all([directory]).values())
    except PolicyError as exc:
        print(f"polite-crawl policies validate: {exc}", file=sys.stderr)
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
