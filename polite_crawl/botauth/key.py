"""The crawler's Web Bot Auth key: `bot-auth.key` in the audit directory (or a file named by path).

An Ed25519 private key, PEM PKCS#8, mode 0600, created on first use and never replaced: its
public half is what platforms learn from the key directory and remember the crawler by, so a
file that cannot be used is an error naming it, never a reason to make a new key.

It is a different key from the audit log's `signing.key` (polite_crawl/audit/keys.py): the draft
says a key should not serve two purposes (Section 6.5), and the two are published and rotated
for different readers (a platform pins the log key; any origin can fetch this one). A file that
holds the same key as the `signing.key` beside it is refused.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polite_crawl.audit.logfile import fsync_dir
from polite_crawl.botauth.errors import KeyFileError
from polite_crawl.botauth.jwk import public_jwk, thumbprint

KEY_FILE = "bot-auth.key"
LOG_KEY_FILE = "signing.key"  # polite_crawl.audit.keys.KEY_FILE, the key this one must not be


@dataclass(frozen=True)
class BotAuthKey:
    """A loaded key with what signing needs every time computed once: the keyid and the JWK.

    The cryptography key object signs from any thread (it holds no per-call state)."""

    private: Ed25519PrivateKey = field(repr=False)
    public_raw: bytes
    keyid: str

    @classmethod
    def of(cls, private: Ed25519PrivateKey) -> BotAuthKey:
        raw = private.public_key().public_bytes_raw()
        return cls(private, raw, thumbprint(public_jwk(raw)))

    def jwk(self) -> dict[str, str]:
        """The public JWK (`kty`, `crv`, `x`)."""
        return public_jwk(self.public_raw)


def key_path(audit_dir: Path) -> Path:
    return audit_dir / KEY_FILE


def load_or_create(path: Path, *, create: bool = True) -> BotAuthKey:
    """The key in `path`; when there is none and `create`, a new one written there first.

    Raises KeyFileError naming the file when it is absent (and not `create`), unreadable, not
    an Ed25519 private key, readable by group or others, or the audit log's key."""
    if path.name == LOG_KEY_FILE:
        raise KeyFileError(
            f"{path}: that is the audit log's signing key; Web Bot Auth uses its own ({KEY_FILE})"
        )
    if not path.exists():
        if not create:
            raise KeyFileError(
                f"{path}: no Web Bot Auth key (it is created on first use; nothing replaces a "
                "missing one silently)"
            )
        _create(path)
    key = _load(path)
    _refuse_the_log_key(path, key)
    return key


def _load(path: Path) -> BotAuthKey:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Like ssh with an unprotected identity file: whoever can read it can sign as the
        # crawler, so a key others can read is refused rather than used.
        raise KeyFileError(
            f"{path}: readable by others (mode {stat.S_IMODE(mode):04o}); "
            f"`chmod 600 {path}` if it was never exposed, else make a new key"
        )
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a usable PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return BotAuthKey.of(private)


def _create(path: Path) -> None:
    """Write a new key so that `path` never holds a partial one: the PEM goes to a private
    temporary file (O_EXCL, 0600, fsync) that is then hard-linked to `path`. link() fails if
    `path` appeared meanwhile (another process won the race): then its key is the one used."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create ({exc.strerror or exc})") from None
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp: Path | None = None
    try:
        # mkstemp: O_CREAT | O_EXCL, mode 0600, a fresh name in the same directory.
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
        fsync_dir(path.parent)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _refuse_the_log_key(path: Path, key: BotAuthKey) -> None:
    log_key = path.with_name(LOG_KEY_FILE)
    try:
        other = serialization.load_pem_private_key(log_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return  # no readable log key beside it: nothing to compare
    if (
        isinstance(other, Ed25519PrivateKey)
        and other.public_key().public_bytes_raw() == key.public_raw
    ):
        raise KeyFileError(
            f"{path}: holds the same key as {log_key}; Web Bot Auth needs a key of its own"
        )
