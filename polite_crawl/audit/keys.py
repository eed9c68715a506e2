"""The operator's Ed25519 signing key: generated on first use, stored 0600 beside the logs.

The public half is what a platform pins to verify checkpoints; its fingerprint (sha256 of the
raw public key, hex) is printed in the start-up log and in every export.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

if TYPE_CHECKING:
    from pathlib import Path

KEY_FILE = "signing.key"
PUBLIC_FILE = "public.key"


class SigningKeyError(ValueError):
    pass


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()


def load_or_create(directory: Path, *, create: bool = True) -> Ed25519PrivateKey:
    path = directory / KEY_FILE
    if not path.exists() and (directory / PUBLIC_FILE).exists():
        # A new key would sign nothing the published one verifies: never make one silently.
        raise SigningKeyError(
            f"{path}: no signing key, but {directory / PUBLIC_FILE} names the key this "
            "directory's logs are signed with; restore signing.key from your backup (or start a "
            "new audit directory, with a new key to publish)"
        )
    if not path.exists() and not create:
        raise SigningKeyError(
            f"{path}: no signing key (export signs with the crawl's own key; it is never replaced)"
        )
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError, OSError) as exc:
            raise SigningKeyError(f"{path}: not a usable Ed25519 signing key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path}: not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    public = key.public_key().public_bytes_raw()
    (directory / PUBLIC_FILE).write_text(
        f"ed25519 {public.hex()}\nfingerprint sha256:{fingerprint(public)}\n"
    )
    return key


def read_public(path: Path) -> bytes:
    """The raw public key from a public.key file (as written above)."""
    try:
        first = path.read_text(encoding="utf-8").split("\n", 1)[0].split()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SigningKeyError(f"{path}: not a polite_crawl public key file (not UTF-8)") from None
    if len(first) != 2 or first[0] != "ed25519" or len(first[1]) != 64:
        raise SigningKeyError(f"{path}: not a polite_crawl public key file")
    try:
        return bytes.fromhex(first[1])
    except ValueError:
        raise SigningKeyError(f"{path}: the key is not hex") from None
