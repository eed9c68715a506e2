"""What `polite-crawl check` says about the second line, after the fetch.

`check` fetches nothing but preflights, so an ALLOW is the gate's answer before the fetch; the
response can still be discarded (docs/signals.md). This runs the after-fetch checks on the
response headers given with `--response-header` and on what the page given with `--page-says`
said, and otherwise lists what would discard the response for the declared purposes, so that
an ALLOW is never read as "kept".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from polite_crawl.core.decision import Outcome
from polite_crawl.core.purposes import Kind
from polite_crawl.core.response_checks import Fetched
from polite_crawl.shell.discard import RESPONSE_CHECKS
from polite_crawl.signals import c2pa, xmp
from polite_crawl.signals.content_signal import CATEGORIES
from polite_crawl.signals.mapping import ROBOTS_TAG, TEXT_AND_DATA_MINING, forbidden

if TYPE_CHECKING:
    from collections.abc import Mapping

    from polite_crawl.core.decision import CheckResult
    from polite_crawl.core.purposes import Purpose
    from polite_crawl.signals.memory import Inherited

# File names that say "image": the response is judged as one, as it would be once it shows
# an image's Content-Type.
_IMAGE_SUFFIXES = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".png": "png",
    ".webp": "webp",
    ".gif": "gif",
    ".avif": "avif",
}


@dataclass
class AfterFetch:
    kind: Kind
    discard: CheckResult | None  # the first after-fetch refusal of what was given
    would_discard_if: list[str] = field(default_factory=list)
    judged: list[str] = field(default_factory=list)  # what was given: headers, the page's word

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "discard": None
            if self.discard is None
            else {
                "check": self.discard.check,
                "reason": self.discard.reason.value,
                "evidence": self.discard.evidence,
            },
            "would_discard_if": self.would_discard_if,
            "judged": self.judged,
        }


def judge(
    url: str,
    purposes: frozenset[Purpose],
    token: str,
    inherited: Inherited | None,
    headers: Mapping[str, list[str]],
) -> AfterFetch:
    given = dict(headers)
    suffix = _IMAGE_SUFFIXES.get(_suffix(url))
    if suffix and "content-type" not in given:
        given["content-type"] = [f"image/{suffix}"]  # what an image's response says
    fetched = Fetched(url, given, b"", purposes, token, inherited)
    kind = fetched.kind
    discard = None
    for check in RESPONSE_CHECKS:  # the body's checks pass: no body is given
        result = check(fetched)
        if result.outcome is Outcome.DENY:
            discard = result
            break
    judged = sorted(headers)
    if inherited is not None and inherited.directives:
        judged.append("--page-says")
    return AfterFetch(kind, discard, _watch(purposes, kind, inherited), judged)


def _suffix(url: str) -> str:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else ""


def _watch(purposes: frozenset[Purpose], kind: Kind, inherited: Inherited | None) -> list[str]:
    """What, in a response check does not see here, would discard it for these purposes."""
    out: list[str] = []
    directives = sorted(
        d for d in ROBOTS_TAG if ":" not in d and forbidden(frozenset({d}), purposes, kind)
    )
    if directives:
        out.append(f"its X-Robots-Tag says {' or '.join(directives)}")
        if kind is Kind.IMAGE and inherited is None:
            out.append(f"the page it is an image of says {' or '.join(directives)}")
    mining = sorted(p.value for p in purposes & TEXT_AND_DATA_MINING)
    if mining:
        out.append(f"its tdm-reservation header is 1 (reserves mining: {', '.join(mining)})")
    usage = sorted(
        f"{name}=n" for name, refused in CATEGORIES["content-usage"].items() if refused & purposes
    )
    if usage:
        out.append(f"its Content-Usage header says {' or '.join(usage)}")
    if kind is Kind.IMAGE:
        hit = sorted(p.value for p in purposes & xmp.FORBIDDEN_ANYWHERE)
        if hit:
            out.append(f"its embedded IPTC Data Mining (XMP) forbids {', '.join(hit)}")
        hit = sorted(p.value for p in purposes & c2pa.FORBIDDEN_ANYWHERE)
        if hit:
            out.append(
                f"its embedded C2PA/CAWG training-mining assertion forbids {', '.join(hit)}"
            )
    return out
