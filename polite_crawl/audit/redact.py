"""Credentials never reach the log: userinfo and fragments are dropped from every URL, and the
values of sensitive query and path parameters (POLITE_CRAWL_AUDIT_REDACT_PARAMS, e.g. `token=`,
`;jsessionid=`, `X-Amz-Signature=`) are replaced by REDACTED."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_REDACT_PARAMS = (
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "code",
    "jsessionid",
    "key",
    "password",
    "passwd",
    "phpsessid",
    "secret",
    "session",
    "sessionid",
    "sid",
    "sig",
    "signature",
    "token",
    "x-amz-credential",
    "x-amz-security-token",
    "x-amz-signature",
    "x-goog-credential",
    "x-goog-signature",
)
_PATH_PARAM = re.compile(r";([^;/=?#]+)=([^;/?#]*)")


def redact_url(url: str, params: frozenset[str] = frozenset(DEFAULT_REDACT_PARAMS)) -> str:
    if "@" not in url and "#" not in url and "?" not in url and ";" not in url:
        return url  # the common case: nothing that could hold a credential
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[1] if "@" in parts.netloc else parts.netloc
    query = parts.query
    if query and params:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in params for k, _ in pairs):
            query = urlencode([(k, "REDACTED" if k.lower() in params else v) for k, v in pairs])
    path = _PATH_PARAM.sub(
        lambda m: f";{m.group(1)}=REDACTED" if m.group(1).lower() in params else m.group(0),
        parts.path,
    )
    return urlunsplit((parts.scheme, netloc, path, query, ""))
