"""Signed checkpoints in the C2SP formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), with
Ed25519 (note signature type 0x01), so that any transparency-log tooling can check them too.

A checkpoint body is three lines: the log's origin, the tree size, the base64 root. The note
is the body, a blank line, and one line per signature: "— <key name> base64(keyid || sig)".
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_ED25519 = b"\x01"
_DASH = "\u2014"


class NoteError(ValueError):
    pass


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


def verifier_key(name: str, public: bytes) -> str:
    """The C2SP verifier-key text: <name>+<hex key id>+base64(0x01 || public key)."""
    encoded = base64.b64encode(_ED25519 + public).decode()
    return f"{name}+{key_id(name, public).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<key id>+<base64 key>")
    name, kid, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        raise NoteError("the verifier key's key is not base64") from None
    if len(raw) != 33 or raw[:1] != _ED25519:
        raise NoteError("only Ed25519 verifier keys are supported")
    if key_id(name, raw[1:]).hex() != kid:
        raise NoteError("the verifier key's id does not match its key")
    return name, raw[1:]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def sign_text(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """A signed note of `text` (which ends with a newline) by `key` under the key name `name`."""
    public = key.public_key().public_bytes_raw()
    sig = key.sign(text.encode())
    line = f"{_DASH} {name} {base64.b64encode(key_id(name, public) + sig).decode()}\n"
    return text + "\n" + line


def sign(checkpoint: Checkpoint, name: str, key: Ed25519PrivateKey) -> str:
    return sign_text(checkpoint.body(), name, key)


def note_text(note: str) -> str:
    """The signed text of a note (up to the blank line), not yet verified."""
    text, sep, _ = note.partition("\n\n")
    if not sep or not text:
        raise NoteError("not a signed note (no blank line before the signatures)")
    return text + "\n"


def open_text(note: str, name: str, public: bytes) -> str:
    """Verify a signed note against one known key; return the text it signs."""
    text = note_text(note)
    sigs = note[len(text) + 1 :]
    verified = False
    kid = key_id(name, public)
    lines = sigs.split("\n")
    if not sigs.endswith("\n") or not sigs.strip():
        raise NoteError("not a signed note (no signature lines, or no final newline)")
    for line in lines[:-1]:
        if not line.startswith(_DASH + " "):
            raise NoteError(f"malformed signature line {line!r}")
        sig_name, _, b64 = line[2:].rpartition(" ")
        try:
            blob = base64.b64decode(b64, validate=True)
        except ValueError:
            raise NoteError("a signature is not base64") from None
        if sig_name != name or blob[:4] != kid:
            continue  # unknown keys are ignored (c2sp.org/signed-note)
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None
        verified = True
    if not verified:
        raise NoteError(f"no signature by the expected key {name}")
    return text


def open_note(note: str, name: str, public: bytes) -> Checkpoint:
    """Verify a signed checkpoint against one known key; return what it commits to."""
    return parse_checkpoint(open_text(note, name, public))


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] or not is_decimal(lines[1]):
        raise NoteError("not a checkpoint (origin, size, root)")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise NoteError("the checkpoint root is not base64") from None
    if len(root) != 32:
        raise NoteError("the checkpoint root is not a SHA-256 hash")
    return Checkpoint(lines[0], int(lines[1]), root)


def is_decimal(text: str) -> bool:
    """ASCII digits with no leading zero (but "0"): one spelling per number, as signed. At most
    19 digits: a log never holds more records, and Python refuses to read 4,300 digits."""
    return (
        0 < len(text) <= 19
        and text.isascii()
        and text.isdigit()
        and (text == "0" or not text.startswith("0"))
    )


def commitment(body: str) -> str:
    """What a head lists for a checkpoint: the sha256 (hex) of its body."""
    return hashlib.sha256(body.encode()).hexdigest()
