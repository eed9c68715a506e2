"""C2PA / CAWG training-and-data-mining assertions embedded in JPEG, PNG and WebP images.

Where the C2PA manifest store (a JUMBF superbox) is:
- JPEG: APP11 segments (`JP` common identifier, box instance En, sequence number Z); a store
  larger than one segment is split across several, each repeating the superbox's LBox/TBox,
  reassembled here by box instance in sequence order (ISO 19566-5 D.2);
- PNG: the `caBX` chunk;
- WebP: the RIFF `C2PA` chunk.

Every `jumb` superbox is walked (depth and box count bounded); its `jumd` description box
carries a label. An assertion labelled `c2pa.training-mining` (C2PA 1.x) or
`cawg.training-mining` (CAWG, after C2PA 2.0 dropped it), optionally with a `__N` instance
suffix, has a `cbor` (or `json`) content box: `{"entries": {"cawg.ai_training": {"use":
"notAllowed"}, ...}}`. Any manifest in the store counts, not only the active one.

`use` of `notAllowed` forbids, and so does `constrained`: the CAWG text is normative that "in the
absence of additional information, constrained shall be treated as equivalent to notAllowed",
and we cannot evaluate `constraint_info`. (datadiligence checks only `c2pa.training-mining`,
treats `constrained` as allowed and allows on any error.)

The manifest's signature is not validated (that needs COSE and X.509 chains). Honouring an
unsigned or forged opt-out can only make the crawler stricter; nothing here ever allows.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass

from polite_crawl.core.purposes import Purpose
from polite_crawl.signals import cbor
from polite_crawl.signals.containers import image_format, jpeg_segments, png_chunks, riff_chunks
from polite_crawl.signals.mapping import TEXT_AND_DATA_MINING

MAX_STORE = 16 * 1024 * 1024  # bytes of one reassembled manifest store
MAX_BOXES = 10_000  # boxes looked at per store
MAX_DEPTH = 16  # superbox nesting (a store is 4 deep: store, manifest, assertions, assertion)
MAX_ASSERTION = 1024 * 1024  # bytes of one assertion's content decoded
MAX_ENTRIES = 256  # entries looked at per assertion
EVIDENCE_CHARS = 200

LABEL = re.compile(r"(?:c2pa|cawg)\.training-mining(?:__\d{1,6})?")

# Entry (without its c2pa./cawg. namespace) -> the declared purposes a `notAllowed` or
# `constrained` use forbids. Facial recognition is AI training and inference on faces.
TRAINING_MINING: dict[str, frozenset[Purpose]] = {
    "ai_generative_training": frozenset({Purpose.AI_TRAINING}),
    "ai_training": frozenset({Purpose.AI_TRAINING, Purpose.FACIAL_RECOGNITION}),
    "ai_inference": frozenset({Purpose.AI_INPUT, Purpose.FACIAL_RECOGNITION}),
    "data_mining": TEXT_AND_DATA_MINING,
}
# Compared case-insensitively: a mis-cased "NotAllowed" is still a refusal.
FORBIDDING_USES = frozenset({"notallowed", "constrained"})
FORBIDDEN_ANYWHERE = frozenset().union(*TRAINING_MINING.values())
_NAMESPACES = ("c2pa.", "cawg.")


@dataclass(frozen=True, slots=True)
class TrainingMiningEntry:
    label: str  # the assertion's label, e.g. "cawg.training-mining"
    entry: str  # e.g. "cawg.ai_training"
    use: str  # "allowed", "notAllowed", "constrained" or what else was written
    where: str  # the container part it came from, e.g. "PNG caBX"

    @property
    def forbids(self) -> frozenset[Purpose]:
        if self.use.lower() not in FORBIDDING_USES:
            return frozenset()
        namespace, _, name = self.entry.lower().partition(".")
        if f"{namespace}." not in _NAMESPACES:
            return frozenset()  # custom entries: their meaning is not known
        return TRAINING_MINING.get(name, frozenset())


def stores(data: bytes) -> list[tuple[str, bytes]]:
    """(where, JUMBF bytes) for each C2PA manifest store embedded in the image."""
    kind = image_format(data)
    if kind == "jpeg":
        return _jpeg_stores(data)
    if kind == "png":
        return [("PNG caBX", p[:MAX_STORE]) for t, p in png_chunks(data) if t == b"caBX"][:4]
    if kind == "webp":
        return [("WebP C2PA chunk", p[:MAX_STORE]) for t, p in riff_chunks(data) if t == b"C2PA"][
            :4
        ]
    return []


def _jpeg_stores(data: bytes) -> list[tuple[str, bytes]]:
    # box instance -> {sequence number -> payload}
    parts: dict[int, dict[int, bytes]] = {}
    for marker, payload in jpeg_segments(data):
        if marker != 0xEB or len(payload) < 16 or payload[:2] != b"JP":
            continue
        instance, sequence = struct.unpack_from(">HI", payload, 2)
        if len(parts) >= 64 and instance not in parts:
            continue
        parts.setdefault(instance, {}).setdefault(sequence, payload[8:])
    out: list[tuple[str, bytes]] = []
    for instance, segments in sorted(parts.items()):
        chunks: list[bytes] = []
        size = 0
        for n, (_sequence, body) in enumerate(sorted(segments.items())):
            if n > 0:  # later segments repeat the superbox header (LBox, TBox[, XLBox])
                (lbox,) = struct.unpack_from(">I", body, 0) if len(body) >= 4 else (0,)
                body = body[16:] if lbox == 1 else body[8:]
            size += len(body)
            if size > MAX_STORE:
                break
            chunks.append(body)
        out.append((f"JPEG APP11 (box instance {instance})", b"".join(chunks)))
    return out


@dataclass(frozen=True, slots=True)
class _Box:
    kind: bytes
    body: bytes


def _boxes(data: bytes, budget: list[int]) -> list[_Box]:
    """The boxes laid end to end in data; stops at the first that does not fit."""
    out: list[_Box] = []
    pos = 0
    while pos + 8 <= len(data) and budget[0] > 0:
        budget[0] -= 1
        length, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if length == 1:
            if pos + 16 > len(data):
                break
            (length,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif length == 0:  # to the end of the enclosing box
            length = len(data) - pos
        if length < header or pos + length > len(data):
            break
        out.append(_Box(kind, data[pos + header : pos + length]))
        pos += length
    return out


def _label(jumd: bytes) -> str | None:
    # jumd: type UUID (16 bytes), toggles (1 byte; 0x02 = a label follows), label \0 ...
    if len(jumd) < 17 or not jumd[16] & 0x02:
        return None
    label, sep, _ = jumd[17 : 17 + 1024].partition(b"\x00")
    return label.decode("utf-8", errors="replace") if sep else None


def _assertions(store: bytes) -> list[tuple[str, _Box]]:
    """(label, content box) of every training-mining assertion in a JUMBF store."""
    budget = [MAX_BOXES]
    found: list[tuple[str, _Box]] = []
    stack: list[tuple[bytes, int]] = [(store, 0)]
    while stack:
        data, depth = stack.pop()
        for box in _boxes(data, budget):
            if box.kind != b"jumb" or depth >= MAX_DEPTH:
                continue
            inner = _boxes(box.body, budget)
            label = _label(inner[0].body) if inner and inner[0].kind == b"jumd" else None
            if label is not None and LABEL.fullmatch(label):
                found += [(label, b) for b in inner[1:2] if b.kind in (b"cbor", b"json")]
            else:
                stack.append((box.body, depth + 1))
    return found


def _content(box: _Box) -> object:
    body = box.body[:MAX_ASSERTION]
    try:
        if box.kind == b"cbor":
            return cbor.loads(body)
        return json.loads(body.decode("utf-8"))
    except (cbor.CBORError, ValueError, RecursionError):
        return None


def entries(store: bytes, where: str = "") -> list[TrainingMiningEntry]:
    """Every training-mining entry of every manifest in one store."""
    out: list[TrainingMiningEntry] = []
    for label, box in _assertions(store):
        content = _content(box)
        listed = content.get("entries") if isinstance(content, dict) else None
        if not isinstance(listed, dict):
            continue
        for name, spec in list(listed.items())[:MAX_ENTRIES]:
            use = spec.get("use") if isinstance(spec, dict) else None
            if isinstance(name, str) and isinstance(use, str):
                out.append(
                    TrainingMiningEntry(
                        label[:EVIDENCE_CHARS], name[:EVIDENCE_CHARS], use[:EVIDENCE_CHARS], where
                    )
                )
    return out


def find(data: bytes) -> list[TrainingMiningEntry]:
    """Every training-mining entry embedded in an image; [] for anything else. Never raises."""
    out: list[TrainingMiningEntry] = []
    for where, store in stores(data):
        out += entries(store, where)
    return out
