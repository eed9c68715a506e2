"""What can go wrong with Web Bot Auth, as ValueErrors a command line can print as they are."""

from __future__ import annotations


class BotAuthError(ValueError):
    """A Web Bot Auth input or configuration that cannot be used: the message says which."""


class KeyFileError(BotAuthError):
    """`bot-auth.key` is missing, unreadable, not an Ed25519 key or not private enough."""


class SignatureInvalid(BotAuthError):
    """A received signature does not verify, or does not follow the protocol draft."""
