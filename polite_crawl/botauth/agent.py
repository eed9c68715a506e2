"""The `Signature-Agent` value: the https origin whose well-known URL serves the key directory.

draft-ietf-webbotauth-httpsig-protocol (Section 5.2.1, 5.5): `Signature-Agent` is a Structured
Field dictionary keyed by signature label, each member an https URI with an optional `type`
parameter; with no `type` the member is of type `directory`, whose value MUST be the ASCII
serialization of an origin (RFC 6454; an empty path `/` MAY be accepted), and a verifier
ignores a `directory` member carrying anything else. The verifier then fetches
`/.well-known/http-message-signatures-directory` at that origin, with no redirects.

So `POLITE_CRAWL_SIGNATURE_AGENT` names the origin (`https://crawler.example.org`), not the
directory's full URL. A full well-known URL is refused with that explanation rather than
quietly cut down: it is a sign the operator means something else by the setting.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from polite_crawl.botauth.errors import BotAuthError

WELL_KNOWN_PATH = "/.well-known/http-message-signatures-directory"
MEDIA_TYPE = "application/http-message-signatures-directory+json"


def signature_agent_origin(url: str) -> str:
    """The ASCII serialization of the https origin `url` names (lower-case host, no default
    port, no trailing slash). `url` is the origin or the key directory's own URL (the origin
    and /.well-known/http-message-signatures-directory): the header carries the origin, as the
    draft's default member type, `directory`, asks, and the verifier adds the path itself.
    Raises BotAuthError saying what is wrong otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BotAuthError(f"Signature-Agent {url!r}: not a URL ({exc})") from None
    if parts.scheme.lower() != "https":
        raise BotAuthError(f"Signature-Agent {url!r}: must be an https URL (draft Section 5.2.1)")
    host = parts.hostname
    if not host or not url.isascii():
        raise BotAuthError(
            f"Signature-Agent {url!r}: needs an ASCII host name (IDNA-encode it: xn--...)"
        )
    if parts.username is not None or parts.password is not None:
        raise BotAuthError(f"Signature-Agent {url!r}: must not hold credentials")
    # A directory served anywhere else cannot be found: verifiers look only at the well-known
    # path of the origin (draft Section 5.5, type `directory`).
    if (
        parts.path not in ("", "/", WELL_KNOWN_PATH)
        or parts.query
        or parts.fragment
        or url.endswith(("?", "#"))
    ):
        raise BotAuthError(
            f"Signature-Agent {url!r}: must be an origin, like https://{parts.netloc}, or the "
            f"key directory's URL there, https://{parts.netloc}{WELL_KNOWN_PATH} (verifiers "
            "fetch the directory from that path only; draft Section 5.5, type `directory`)"
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != 443:
        netloc = f"{netloc}:{port}"
    return f"https://{netloc}"


def directory_url(origin: str) -> str:
    """Where the key directory must be served for `origin` (a signature_agent_origin value)."""
    return signature_agent_origin(origin) + WELL_KNOWN_PATH


def signature_agent_field(member: str, origin: str) -> str:
    """The `Signature-Agent` field value with one member, `member="origin"` (no `type`: the
    default, `directory`). Serialized by http-sf, which also checks `member` is a valid key."""
    # Imported here: settings.py validates the origin above for every crawl, signing or not.
    import http_sf

    try:
        return http_sf.ser({member: (origin, {})})
    except (ValueError, TypeError) as exc:
        raise BotAuthError(f"Signature-Agent member {member!r}: {exc}") from None
