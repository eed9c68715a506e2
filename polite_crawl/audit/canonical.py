"""Canonical JSON for audit lines: sorted keys, no spaces, ASCII, no NaN.

The two records a crawl writes for every page (`decision` before the fetch, `fetched` after it)
have fixed keys, so their sorted key order is known in advance: they are laid out field by
field, each value encoded by the same C routines the json module uses, about five times faster
than a general sorted encode (docs/benchmarks.md). Any other record, or one whose keys differ,
takes the general encoder. tests/test_audit_canonical.py checks that both give the same bytes.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

# One encoder for every line: json.dumps with options builds a new one per call.
_GENERAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)
_COMMON = frozenset({"ts", "v", "log", "seq", "prev", "type"})  # added by every log
_DECISION = _COMMON | {
    "url",
    "method",
    "platform",
    "purposes",
    "mode",
    "enforced",
    "via",
    "decision",
    "reason",
    "evidence",
    "trace",
}
_FETCHED = _COMMON | {"url", "status", "bytes", "cached"}


def _value(v: Any) -> str:
    """One value exactly as the general encoder writes it."""
    kind = type(v)
    if kind is str:
        return encode_basestring_ascii(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if kind is int:
        return int.__repr__(v)
    return _GENERAL.encode(v)  # lists, nested dicts, floats: the general way


def _decision(r: dict[str, Any]) -> str:
    v = _value
    return (
        f'{{"decision":{v(r["decision"])},"enforced":{v(r["enforced"])},'
        f'"evidence":{v(r["evidence"])},"log":{v(r["log"])},"method":{v(r["method"])},'
        f'"mode":{v(r["mode"])},"platform":{v(r["platform"])},"prev":{v(r["prev"])},'
        f'"purposes":{v(r["purposes"])},"reason":{v(r["reason"])},"seq":{v(r["seq"])},'
        f'"trace":{v(r["trace"])},"ts":{v(r["ts"])},"type":"decision","url":{v(r["url"])},'
        f'"v":{v(r["v"])},"via":{v(r["via"])}}}'
    )


def _fetched(r: dict[str, Any]) -> str:
    v = _value
    return (
        f'{{"bytes":{v(r["bytes"])},"cached":{v(r["cached"])},"log":{v(r["log"])},'
        f'"prev":{v(r["prev"])},"seq":{v(r["seq"])},"status":{v(r["status"])},'
        f'"ts":{v(r["ts"])},"type":"fetched","url":{v(r["url"])},"v":{v(r["v"])}}}'
    )


def dumps(record: dict[str, Any]) -> str:
    kind = record.get("type")
    if kind == "decision" and record.keys() == _DECISION:
        return _decision(record)
    if kind == "fetched" and record.keys() == _FETCHED:
        return _fetched(record)
    return _GENERAL.encode(record)
