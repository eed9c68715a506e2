"""The two keys vouch for each other, so that either one identifies the operator's export.

The log key signs the records, and so each `run.start`'s `bot_auth_keyid` and `bot_auth_key`:
the log names the key that signed its requests. The other direction is this module: a signed
note (docs/format.md §4's format) by the bot-auth key, naming the log key's fingerprint, kept in
`run.start` as `bot_auth_binding`:

    polite-crawl/bot-auth
    <bot-auth keyid, the key's RFC 7638 thumbprint>
    sha256:<the log key's fingerprint>

with key name `polite-crawl/bot-auth`. A platform holds the bot-auth key already (the key
directory it fetched from the operator's Signature-Agent to verify requests at its edge): with
this note it can tell the operator's log key from a forger's without asking the operator for a
fingerprint. A forger who makes his own log key cannot make the note name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.audit.note import NoteError, open_text, sign_text
from polite_crawl.botauth.errors import BotAuthError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from polite_crawl.botauth.key import BotAuthKey

BINDING_NAME = "polite-crawl/bot-auth"


def binding_note(key: BotAuthKey, log_fingerprint: str) -> str:
    """The note by `key` naming the log key `log_fingerprint` (hex, with or without sha256:)."""
    fingerprint = log_fingerprint.removeprefix("sha256:")
    text = f"{BINDING_NAME}\n{key.keyid}\nsha256:{fingerprint}\n"
    return sign_text(text, BINDING_NAME, key.private)


def bound_fingerprint(note: str, keyid: str, public: Ed25519PublicKey) -> str:
    """The log key fingerprint (hex) the note by the bot-auth key `keyid` names; BotAuthError
    when the note is not one, or not by that key."""
    try:
        text = open_text(note, BINDING_NAME, public.public_bytes_raw())
    except NoteError as exc:
        raise BotAuthError(f"bot_auth_binding: {exc}") from None
    lines = text.split("\n")
    if len(lines) != 4 or lines[0] != BINDING_NAME or lines[3]:
        raise BotAuthError("bot_auth_binding: not a binding (name, keyid, fingerprint)")
    if lines[1] != keyid:
        raise BotAuthError(f"bot_auth_binding: names key {lines[1]!r}, not {keyid!r}")
    fingerprint = lines[2].removeprefix("sha256:")
    if lines[2] == fingerprint or len(fingerprint) != 64:
        raise BotAuthError("bot_auth_binding: no sha256:<hex> fingerprint")
    return fingerprint


def vouching_key(
    bindings: Iterable[tuple[str, str]],
    keys: Mapping[str, Ed25519PublicKey],
    log_fingerprint: str,
) -> str | None:
    """The keyid of one of `keys` (a key directory's) whose binding note, among `bindings`
    ((keyid, note) pairs from run.start records), names the log key `log_fingerprint`."""
    for keyid, note in bindings:
        if keyid not in keys:
            continue
        try:
            if bound_fingerprint(note, keyid, keys[keyid]) == log_fingerprint:
                return keyid
        except BotAuthError:
            continue  # a note that does not open names nothing; another run's may
    return None
