"""Origin files' content codings undone within the parse limit (origin/inflate.py): inflated
bytes are what the limit counts, and whatever cannot be read as whole lines within it fails
closed (issue #13, item 6)."""

from __future__ import annotations

import gzip
import random
import tracemalloc
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.origin.inflate import UnreadableBody, codings, inflate
from polite_crawl.robots.parser import parse

LIMIT = 1000
TEXT = b"User-agent: *\nDisallow: /private\n"
NOISE = random.Random(0).randbytes(3 * LIMIT)  # incompressible: gzip makes it longer


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("header", "encode"),
    [
        ([b"gzip"], gzip.compress),
        ([b"x-gzip"], gzip.compress),
        ([b"GZIP "], gzip.compress),
        ([b"deflate"], zlib.compress),
        ([b"deflate"], raw_deflate),  # what some servers send as deflate
        ([b"identity, gzip"], gzip.compress),
        ([b"deflate, gzip"], lambda b: gzip.compress(mtime=0, data=zlib.compress(b))),
        (
            [b"deflate", b"gzip"],
            lambda b: gzip.compress(mtime=0, data=zlib.compress(b)),
        ),  # two headers
        (
            [b"gzip"],
            lambda b: gzip.compress(mtime=0, data=b[:10]) + gzip.compress(mtime=0, data=b[10:]),
        ),  # two members
        ([b"gzip"], lambda b: gzip.compress(mtime=0, data=b) + b"\0\0trailing junk"),
    ],
)
def test_a_file_within_the_limit_is_read_whole(header: list[bytes], encode: object) -> None:
    assert callable(encode)
    assert inflate(encode(TEXT), codings(header), LIMIT) == TEXT


def test_a_file_past_the_limit_comes_out_one_byte_past_it() -> None:
    body = TEXT + b"# filler\n" * 10_000 + b"Disallow: /late\n"

    out = inflate(gzip.compress(mtime=0, data=body), ["gzip"], LIMIT)

    assert out == body[: LIMIT + 1]
    robots = parse(out, LIMIT)  # read as a plain file that long: whole lines up to the limit
    assert robots.truncated
    assert [r.pattern for g in robots.groups for r in g.rules] == ["/private"]


def test_a_download_stopped_at_the_limit_is_a_prefix() -> None:
    body = TEXT + b"# filler\n" * 10_000
    wire = gzip.compress(mtime=0, data=body)[:300]  # stopped: wire bytes past a (small) wire limit

    assert len(inflate(wire, ["gzip"], LIMIT, cut=True)) == LIMIT + 1


@pytest.mark.parametrize(
    ("body", "cut"),
    [
        (gzip.compress(mtime=0, data=NOISE)[: LIMIT + 10], True),  # stopped, inflates to less
        (
            gzip.compress(mtime=0, data=TEXT * 5)[:-12],
            False,
        ),  # the server sent a stream without its end
        (zlib.compress(TEXT * 5)[:-9], False),
    ],
)
def test_a_prefix_within_the_limit_fails_closed(body: bytes, cut: bool) -> None:
    # Its last line may be cut in the middle ("Allow: /public" as "Allow: /"): unreadable.
    applied = ["deflate"] if body.startswith(b"x") else ["gzip"]
    with pytest.raises(UnreadableBody, match="cut short"):
        inflate(body, applied, LIMIT, cut=cut)


@pytest.mark.parametrize(
    ("applied", "body", "message"),
    [
        (["br"], b"\x0b\x02\x80hello\x03", "not one that was asked for"),
        (["zstd"], b"(\xb5/\xfd", "not one that was asked for"),
        (["compress"], b"", "not one that was asked for"),
        (["gzip"], b"\x1f\x8b\x08\x00garbage-garbage-garbage", "broken gzip"),
        (
            ["gzip"],
            gzip.compress(mtime=0, data=TEXT)[:-8] + b"\0\0\0\0\0\0\0\0",
            "broken gzip",
        ),  # CRC
        (["deflate"], b"neither zlib nor deflate \xff\xff", "broken deflate"),
        (["gzip"] * 5, b"", "content codings"),
    ],
)
def test_what_cannot_be_read_fails_closed(applied: list[str], body: bytes, message: str) -> None:
    with pytest.raises(UnreadableBody, match=message):
        inflate(body, applied, LIMIT)


def test_a_bomb_costs_about_the_limit() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    wire = b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()  # 256 MiB
    limit = 512 * 1024

    tracemalloc.start()
    try:
        out = inflate(wire, ["gzip"], limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert len(wire) < 300_000
    assert len(out) == limit + 1
    assert peak < 4 * limit


@given(
    st.binary(max_size=2000),
    st.lists(st.sampled_from(["gzip", "x-gzip", "deflate", "br", "identity"]), max_size=5),
    st.booleans(),
)
def test_any_body_inflates_within_the_limit_or_fails_closed(
    body: bytes, applied: list[str], cut: bool
) -> None:
    try:
        out = inflate(body, codings(a.encode() for a in applied), 64, cut=cut)
    except UnreadableBody:
        return
    assert len(out) <= 64 + 1
    assert not cut or len(out) > 64  # a prefix is only ever read past the limit


@given(st.binary(max_size=3000), st.integers(0, 3000))
def test_any_gzip_prefix_inflates_to_a_prefix(text: bytes, keep: int) -> None:
    wire = gzip.compress(mtime=0, data=text)
    cut = keep < len(wire)
    try:
        out = inflate(wire[:keep], ["gzip"], 100, cut=cut)
    except UnreadableBody:
        return
    assert text.startswith(out)
    assert out == text[:101] if cut or len(text) > 100 else out == text
