"""bot-auth.key: created private (0600) on first use, the same key on every load, and never
replaced: a file that cannot be used is an error naming it, and the file stays as it was."""

from __future__ import annotations

import os
import stat
import threading
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polite_crawl.audit import keys as audit_keys
from polite_crawl.botauth.errors import KeyFileError
from polite_crawl.botauth.jwk import thumbprint
from polite_crawl.botauth.key import KEY_FILE, key_path, load_or_create

if TYPE_CHECKING:
    from pathlib import Path


def test_the_key_is_created_private_and_reloaded_the_same(tmp_path: Path) -> None:
    path = key_path(tmp_path / "audit")

    first = load_or_create(path)
    second = load_or_create(path, create=False)

    assert path.name == KEY_FILE == "bot-auth.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert second.keyid == first.keyid
    assert second.public_raw == first.public_raw
    assert first.keyid == thumbprint(first.jwk())
    # PEM PKCS#8, as the brief and any other tool expect.
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    # No temporary file is left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == [KEY_FILE]


def test_a_missing_key_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    path = key_path(tmp_path)

    with pytest.raises(KeyFileError, match=r"bot-auth\.key: no Web Bot Auth key"):
        load_or_create(path, create=False)
    assert not path.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
    ids=["empty", "garbage", "bad-pem"],
)
def test_a_corrupt_key_is_an_error_naming_the_file_and_is_never_replaced(
    tmp_path: Path, content: bytes
) -> None:
    path = key_path(tmp_path)
    path.write_bytes(content)
    path.chmod(0o600)

    with pytest.raises(KeyFileError) as info:
        load_or_create(path)  # create=True: still no new key over a bad file

    assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_a_key_of_another_type_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    path = key_path(tmp_path)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)

    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_or_create(path)
    assert path.read_bytes() == pem


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = key_path(tmp_path)
    load_or_create(path)
    path.chmod(0o640)

    with pytest.raises(KeyFileError, match=r"readable by others \(mode 0640\)"):
        load_or_create(path)


def test_the_audit_log_key_is_never_the_bot_auth_key(tmp_path: Path) -> None:
    log_key = audit_keys.load_or_create(tmp_path)  # signing.key, as the crawl makes it

    # By name ...
    with pytest.raises(KeyFileError, match="audit log's signing key"):
        load_or_create(tmp_path / audit_keys.KEY_FILE)
    # ... and by content: a copy of signing.key saved as bot-auth.key.
    path = key_path(tmp_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (tmp_path / audit_keys.KEY_FILE).read_bytes())
    os.close(fd)
    with pytest.raises(KeyFileError, match="same key as"):
        load_or_create(path)
    # A key of its own, beside the log key, is fine.
    path.unlink()
    own = load_or_create(path)
    assert own.public_raw != log_key.public_key().public_bytes_raw()


def test_concurrent_first_uses_agree_on_one_key(tmp_path: Path) -> None:
    path = key_path(tmp_path)
    keyids: list[str] = []
    barrier = threading.Barrier(8)

    def first_use() -> None:
        barrier.wait()
        keyids.append(load_or_create(path).keyid)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(keyids) == 8
    assert set(keyids) == {load_or_create(path, create=False).keyid}
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]


def test_a_key_written_elsewhere_loads_by_path(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    path = tmp_path / "keys" / "crawler-a.pem"
    path.parent.mkdir()
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)

    key = load_or_create(path, create=False)

    assert key.public_raw == private.public_key().public_bytes_raw()
