"""Loading policy and consent files. Broken input stops start-up with the file, the field and
the reason; a file is never skipped silently."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from polite_crawl.policy.consent import ConsentFile, Grant
from polite_crawl.policy.model import Policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable

_PACKAGE_DIR = Path(__file__).resolve().parent.parent / "_policies"  # inside the wheel
_SOURCE_DIR = Path(__file__).resolve().parent.parent.parent / "policies"  # in a checkout


class PolicyError(ValueError):
    """A policy or consent file cannot be used."""


def bundled_dir() -> Path:
    return _PACKAGE_DIR if _PACKAGE_DIR.is_dir() else _SOURCE_DIR


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    policy: Policy
    path: Path
    sha256: str
    # The bytes the sha256 is of: kept as audit evidence when a crawl starts, so that the file
    # a decision cites is the one that was read, even if it changes on disk afterwards.
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.policy.id


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a few thousand `[` would
        # otherwise escape as an interpreter error instead of naming the file.
        raise PolicyError(f"{path}: not valid TOML (nested too deeply)") from None


def _explain(path: Path, exc: ValidationError) -> PolicyError:
    lines = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "(file)"
        lines.append(f"{path}: field {field}: {err['msg']}")
    return PolicyError("\n".join(lines))


def load_policy(path: Path) -> LoadedPolicy:
    data, raw = _read_toml(path)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, exc) from None
    if path.stem != policy.id:
        raise PolicyError(
            f"{path}: field id: {policy.id!r} must match the file name ({path.stem!r})"
        )
    return LoadedPolicy(policy, path, hashlib.sha256(raw).hexdigest(), raw)


def load_dir(directory: Path) -> list[LoadedPolicy]:
    if not directory.is_dir():
        raise PolicyError(f"{directory}: not a directory")
    return [load_policy(p) for p in sorted(directory.glob("*.toml"))]


def load_all(extra_dirs: Iterable[Path] = ()) -> dict[str, LoadedPolicy]:
    """Bundled policies, then each extra directory in order: a file replaces one by id."""
    policies = {p.id: p for p in load_dir(bundled_dir())}
    for directory in extra_dirs:
        for loaded in load_dir(directory):
            policies[loaded.id] = loaded
    return policies


def load_consents(path: Path) -> tuple[list[Grant], str]:
    """Grants and the sha256 of the file they came from."""
    data, raw = _read_toml(path)
    try:
        grants = ConsentFile.model_validate(data).grant
    except ValidationError as exc:
        raise _explain(path, exc) from None
    return grants, hashlib.sha256(raw).hexdigest()
