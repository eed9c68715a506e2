"""The laid-out encoders of the two per-page records give the bytes of the general canonical
encoder, for any values those records could hold (and other records take the general way)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.audit import canonical

GENERAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _record(kind: str, keys: frozenset[str], data: st.DataObject) -> dict[str, Any]:
    record = {key: data.draw(values, label=key) for key in sorted(keys - {"type"})}
    record["type"] = kind
    return record


@given(st.data())
def test_a_decision_record_is_laid_out_as_the_general_encoder_writes_it(
    data: st.DataObject,
) -> None:
    record = _record("decision", canonical._DECISION, data)
    assert canonical.dumps(record) == GENERAL.encode(record)


@given(st.data())
def test_a_fetched_record_is_laid_out_as_the_general_encoder_writes_it(
    data: st.DataObject,
) -> None:
    record = _record("fetched", canonical._FETCHED, data)
    assert canonical.dumps(record) == GENERAL.encode(record)


@given(st.data())
def test_other_records_take_the_general_way(data: st.DataObject) -> None:
    keys = data.draw(st.frozensets(st.sampled_from(sorted(canonical._DECISION)), min_size=1))
    kind = data.draw(st.sampled_from(["decision", "fetched", "preflight", "run.start"]))
    record = _record(kind, keys | {"type"}, data)
    record[data.draw(st.text(max_size=3))] = data.draw(values)  # often one key more
    assert canonical.dumps(record) == GENERAL.encode(record)


def test_a_crawl_decision_record_is_laid_out() -> None:
    record = {
        "type": "decision",
        "url": "http://site.test/p\u00e9?q=1",
        "method": "GET",
        "platform": None,
        "purposes": ["search-indexing"],
        "mode": "enforce",
        "enforced": True,
        "via": None,
        "decision": "allow",
        "reason": "allowed",
        "evidence": {"robots": {"status": 200, "rule": None, "group": ("*",)}},
        "trace": "scheme:pass robots:pass",
        "ts": "2026-11-26T13:00:00.000000Z",
        "v": 1,
        "log": "example.org/polite-crawl/_sites",
        "seq": 7,
        "prev": "0" * 64,
    }
    assert canonical.dumps(record) == GENERAL.encode(record)
    assert canonical._decision(record) == canonical.dumps(record)  # the laid-out path ran


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_is_refused_on_both_paths(bad: float) -> None:
    record = {"type": "fetched", "url": "u", "status": bad, "bytes": 1, "cached": False}
    record.update(ts="t", v=1, log="l", seq=0, prev="p")
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical.dumps(record)
