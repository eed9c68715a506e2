"""The after-the-fetch checks without Scrapy: what counts as an image, the order the checks run
in, and that a new check plugs in without touching the others."""

from __future__ import annotations

import pytest

from polite_crawl.core.decision import CheckResult, Outcome, Reason, Verdict
from polite_crawl.core.purposes import Kind, Purpose
from polite_crawl.core.response_checks import Fetched
from polite_crawl.shell.discard import RESPONSE_CHECKS, judge
from polite_crawl.signals.memory import Inherited
from polite_crawl.testing.images import (
    VOCAB,
    base_image,
    training_mining_store,
    with_c2pa,
    with_xmp,
    xmp_packet,
)

AI = frozenset({Purpose.AI_TRAINING})


def fetched(
    body: bytes,
    purposes: frozenset[Purpose] = AI,
    headers: dict[str, list[str]] | None = None,
    inherited: Inherited | None = None,
) -> Fetched:
    return Fetched("http://x.test/a", headers or {}, body, purposes, "examplebot", inherited)


@pytest.mark.parametrize(
    ("body", "content_type", "inherited", "kind"),
    [
        (b"<html>", "text/html", None, Kind.PAGE),
        (b"<html>", "image/svg+xml", None, Kind.IMAGE),
        (base_image("webp"), "application/octet-stream", None, Kind.IMAGE),
        (base_image("jpeg"), "text/html", Inherited(frozenset(), Kind.FILE, "p"), Kind.IMAGE),
        (b"%PDF", "application/pdf", Inherited(frozenset(), Kind.FILE, "p"), Kind.FILE),
        (b"?", "", Inherited(frozenset(), Kind.IMAGE, "p"), Kind.IMAGE),
    ],
)
def test_what_counts_as_an_image(
    body: bytes, content_type: str, inherited: Inherited | None, kind: Kind
) -> None:
    facts = fetched(body, headers={"content-type": [content_type]}, inherited=inherited)

    assert facts.kind is kind


def test_an_image_served_as_octet_stream_still_answers_to_noimageai() -> None:
    facts = fetched(
        base_image("png"),
        headers={"content-type": ["application/octet-stream"], "x-robots-tag": ["noimageai"]},
    )

    decision = judge(facts)

    assert decision is not None
    assert decision.reason is Reason.OPTOUT_NOIMAGEAI


@pytest.mark.parametrize(
    ("body", "inherited", "reason"),
    [
        # linked from a noimageai page, and an image after all: the page's image
        (
            base_image("jpeg"),
            Inherited(frozenset(), Kind.PAGE, "p", frozenset({"noimageai"})),
            Reason.OPTOUT_NOIMAGEAI,
        ),
        # a file_urls entry of a noimageai page that turns out an image
        (
            base_image("png"),
            Inherited(frozenset({"noimageai"}), Kind.FILE, "p"),
            Reason.OPTOUT_NOIMAGEAI,
        ),
        # linked, but a page: judged by its own signals
        (b"<html>", Inherited(frozenset(), Kind.PAGE, "p", frozenset({"noimageai"})), None),
        # embedded as an image: judged before the fetch already
        (base_image("jpeg"), Inherited(frozenset({"noimageai"}), Kind.IMAGE, "p"), None),
        # a page that said nothing of images' AI use
        (
            base_image("jpeg"),
            Inherited(frozenset(), Kind.PAGE, "p", frozenset({"nofollow"})),
            None,
        ),
    ],
)
def test_a_response_that_turns_out_an_image_answers_to_its_page_signals(
    body: bytes, inherited: Inherited, reason: Reason | None
) -> None:
    decision = judge(fetched(body, inherited=inherited))

    assert (decision.reason if decision else None) is reason
    if decision is not None:
        assert decision.evidence["page_signals"]["from"] == "p"


def test_the_first_refusal_wins_and_the_trace_shows_what_ran() -> None:
    image = with_xmp(base_image("jpeg"), xmp_packet(VOCAB + "DMI-PROHIBITED-GENAIMLTRAINING"))
    image = with_c2pa(image, training_mining_store({"cawg.ai_training": "notAllowed"}))

    decision = judge(fetched(image))

    assert decision is not None
    assert decision.verdict is Verdict.DISCARD
    assert decision.reason is Reason.OPTOUT_XMP_DATA_MINING
    assert [(r.check, r.outcome) for r in decision.trace] == [
        ("signals", Outcome.PASS),
        ("page_signals", Outcome.PASS),
        ("tdmrep", Outcome.PASS),
        ("content_usage", Outcome.PASS),
        ("xmp_data_mining", Outcome.DENY),
    ]


def test_a_value_that_forbids_another_purpose_lets_it_through() -> None:
    image = with_xmp(base_image("jpeg"), xmp_packet(VOCAB + "DMI-PROHIBITED-AIMLTRAINING"))

    assert judge(fetched(image, frozenset({Purpose.AI_INPUT}))) is None
    assert judge(fetched(image, frozenset({Purpose.FACIAL_RECOGNITION}))) is not None


def test_archiving_is_forbidden_by_no_embedded_value() -> None:
    image = with_xmp(base_image("png"), xmp_packet("DMI-PROHIBITED"))
    image = with_c2pa(image, training_mining_store({"cawg.data_mining": "notAllowed"}))

    assert judge(fetched(image, frozenset({Purpose.ARCHIVING}))) is None
    assert judge(fetched(image, frozenset({Purpose.SEARCH_INDEXING}))) is not None


def test_a_new_check_plugs_in_after_the_others() -> None:
    def house_rule(facts: Fetched) -> CheckResult:
        refused = facts.header("x-house-optout") == ["1"]
        outcome = Outcome.DENY if refused else Outcome.PASS
        reason = Reason.OPTOUT_NOAI if refused else Reason.ALLOWED
        return CheckResult("house_rule", outcome, reason, {"header": "x-house-optout"})

    facts = fetched(b"<html>", headers={"x-house-optout": ["1"]})

    decision = judge(facts, (*RESPONSE_CHECKS, house_rule))

    assert decision is not None
    assert decision.reason is Reason.OPTOUT_NOAI
    assert decision.evidence == {"house_rule": {"header": "x-house-optout"}}
    assert judge(facts) is None


def test_the_tdm_reservation_header_refuses_mining_only() -> None:
    facts = fetched(b"<html>", headers={"tdm-reservation": ["0", "1"]})

    decision = judge(facts)

    assert decision is not None
    assert decision.reason is Reason.TDMREP_RESERVED
    assert (
        judge(
            fetched(b"<html>", frozenset({Purpose.ARCHIVING}), headers={"tdm-reservation": ["1"]})
        )
        is None
    )
