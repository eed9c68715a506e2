"""The operator's Ed25519 signing key: generated on first use, stored 0600 beside the logs.

The public half is what a platform pins to verify checkpoints; its fingerprint (sha256 of the
raw public key, hex) is printed in the start-up log and in every export.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FILE = "signing.key"
PUBLIC_FILE = "public.key"
# A directory whose logs a key kept elsewhere signs (POLITE_CRAWL_AUDIT_KEY: one key for a
# fleet's workers) names that key's path here, so that seal and export outside the crawl find it.
KEY_PATH_FILE = "signing.key.path"


class SigningKeyError(ValueError):
    pass


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()


def load_or_create(directory: Path, *, create: bool = True) -> Ed25519PrivateKey:
    path = directory / KEY_FILE
    if path.exists():
        return load(path)
    if (directory / KEY_PATH_FILE).exists():
        # The logs here are signed by a shared key kept elsewhere: use it, never a new one.
        return load_shared(directory)
    if (directory / PUBLIC_FILE).exists():
        # A new key would sign nothing the published one verifies: never make one silently.
        raise SigningKeyError(
            f"{path}: no signing key, but {directory / PUBLIC_FILE} names the key this "
            "directory's logs are signed with; restore signing.key from your backup (or start a "
            "new audit directory, with a new key to publish)"
        )
    if not create:
        raise SigningKeyError(
            f"{path}: no signing key (export signs with the crawl's own key; it is never replaced)"
        )
    key = new_key(path)
    (directory / PUBLIC_FILE).write_text(public_line(key.public_key().public_bytes_raw()))
    return key


def new_key(path: Path) -> Ed25519PrivateKey:
    """A new key at path (0600, never over an existing file): `polite-crawl audit keygen`."""
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
    return key


def load(path: Path) -> Ed25519PrivateKey:
    """The key in a PEM file; SigningKeyError naming the file when it cannot be used."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SigningKeyError(f"{path}: no such key file") from None
    except (ValueError, TypeError, OSError) as exc:
        raise SigningKeyError(f"{path}: not a usable Ed25519 signing key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


def public_line(public: bytes) -> str:
    return f"ed25519 {public.hex()}\nfingerprint sha256:{fingerprint(public)}\n"


def load_shared(directory: Path, path: Path | None = None) -> Ed25519PrivateKey:
    """The key kept outside the directory that signs its logs: path (the crawl's
    POLITE_CRAWL_AUDIT_KEY, export's --signing-key), else the one the directory names in
    signing.key.path. Never created: a mistyped path must not become a new identity. The
    directory's public.key is written on first use and must name this key after: a directory
    signed by one key is never continued with another."""
    if path is None:
        try:
            named = (directory / KEY_PATH_FILE).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningKeyError(f"{directory / KEY_PATH_FILE}: cannot read ({exc})") from None
        path = Path(named)
    key = load(path)
    public = key.public_key().public_bytes_raw()
    own = directory / KEY_FILE
    if own.exists():
        raise SigningKeyError(
            f"{path}: {directory} has its own key ({own}); a directory's logs are signed by one "
            "key: give each worker a new audit directory for the shared key"
        )
    listed = directory / PUBLIC_FILE
    if listed.exists():
        if read_public(listed) != public:
            raise SigningKeyError(
                f"{path}: not the key {listed} names (sha256:{fingerprint(read_public(listed))})"
                f"; this directory's logs are signed by that one"
            )
    else:
        listed.write_text(public_line(public))
    (directory / KEY_PATH_FILE).write_text(f"{path.resolve()}\n", encoding="utf-8")
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
