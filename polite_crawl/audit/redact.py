"""Credentials never reach the log: userinfo is dropped from every URL, and the values of
sensitive query parameters (POLITE_CRAWL_AUDIT_REDACT_PARAMS) are replaced by REDACTED."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_REDACT_PARAMS = (
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "key",
    "password",
    "passwd",
    "secret",
    "session",
    "sessionid",
    "sid",
    "sig",
    "signature",
    "token",
)


def redact_url(url: str, params: frozenset[str] = frozenset(DEFAULT_REDACT_PARAMS)) -> str:
    if "@" not in url and ("?" not in url or not params):
        return url  # the common case: nothing that could hold a credential
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[1] if "@" in parts.netloc else parts.netloc
    query = parts.query
    if query and params:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in params for k, _ in pairs):
            query = urlencode([(k, "REDACTED" if k.lower() in params else v) for k, v in pairs])
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
