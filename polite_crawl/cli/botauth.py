"""`polite-crawl bot-auth directory AUDIT_DIR -o FILE [--key PATH ...] [--create]
[--signature-agent ORIGIN] [--valid-days N]`: write the Web Bot Auth key directory.

FILE gets the directory's exact bytes (a JWK Set, polite_crawl/botauth/directory.py) for the
operator to serve at `https://ORIGIN/.well-known/http-message-signatures-directory`, and
FILE.headers the header lines to serve it with. With the origin known (`--signature-agent`, or
`POLITE_CRAWL_SIGNATURE_AGENT` when run as `scrapy polite`), the response is signed as the
protocol draft recommends; without it, it is written unsigned and the command says so.

The key is `AUDIT_DIR/bot-auth.key` (or `--key PATH`; several `--key`s list several keys, for
a rotation: the old key and the new one until no crawl signs with the old). A missing key is
an error unless
`--create` is given: publishing a key the crawl never signed with would tell platforms to
expect signatures that never come, and a directory made from a fresh key by mistake (wrong
audit directory) would replace the one the crawl really uses.

Exit 0 written, 2 usage error (no key, unusable key, bad origin).
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polite_crawl.botauth.errors import BotAuthError, KeyFileError

if TYPE_CHECKING:
    import argparse

EXIT_OK, EXIT_USAGE = 0, 2
HEADERS_SUFFIX = ".headers"
DEFAULT_VALID_DAYS = 30  # polite_crawl.botauth.directory.DEFAULT_VALIDITY, in days


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    botauth = sub.add_parser("bot-auth", help="Web Bot Auth: the signing key's directory")
    bsub = botauth.add_subparsers(dest="bot_auth_command", required=True)
    directory = bsub.add_parser(
        "directory",
        help="write the key directory to serve at /.well-known/http-message-signatures-directory",
    )
    directory.add_argument("audit_dir", type=Path, metavar="AUDIT_DIR")
    directory.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    directory.add_argument(
        "--key",
        type=Path,
        action="append",
        metavar="PATH",
        help="a key file (default AUDIT_DIR/bot-auth.key); give it twice while rotating: the "
        "directory lists every key given",
    )
    directory.add_argument(
        "--create", action="store_true", help="create the key if it does not exist yet"
    )
    directory.add_argument(
        "--signature-agent",
        metavar="ORIGIN",
        help="the https origin that will serve it (POLITE_CRAWL_SIGNATURE_AGENT): signs it",
    )
    directory.add_argument(
        "--valid-days",
        type=int,
        default=DEFAULT_VALID_DAYS,
        metavar="N",
        help="how long the directory's signature is valid (default: %(default)s days)",
    )


def run(args: argparse.Namespace, settings: Any = None) -> int:
    origin = args.signature_agent
    if origin is None and settings is not None:
        origin = settings.get("POLITE_CRAWL_SIGNATURE_AGENT") or None
    keys = args.key
    if keys is None and settings is not None and settings.get("POLITE_CRAWL_BOT_AUTH_KEY"):
        keys = [Path(settings.get("POLITE_CRAWL_BOT_AUTH_KEY"))]  # the key the crawl signs with
    return directory(args.audit_dir, args.output, keys, args.create, origin, args.valid_days)


def directory(
    audit_dir: Path,
    out: Path,
    key_files: list[Path] | None,
    create: bool,
    origin: str | None,
    valid_days: int,
) -> int:
    # Imported here: the signing library is not needed by any other polite-crawl command.
    from polite_crawl.botauth.agent import WELL_KNOWN_PATH, directory_url, signature_agent_origin
    from polite_crawl.botauth.directory import directory_response
    from polite_crawl.botauth.key import BotAuthKey, key_path, load_or_create

    paths = key_files or [key_path(audit_dir)]
    path = paths[0]
    try:
        if origin is not None:
            origin = signature_agent_origin(origin)
        if valid_days <= 0:
            raise BotAuthError(f"--valid-days must be positive, not {valid_days}")
        keys: list[BotAuthKey] = []
        for path in paths:
            key = load_or_create(path, create=create)
            if key.keyid in {k.keyid for k in keys}:
                raise BotAuthError(f"{path}: the same key is given twice")
            keys.append(key)
        response = directory_response(keys, origin, validity=valid_days * 86400)
    except KeyFileError as exc:
        hint = "" if create or path.exists() else "; give --create to make one now"
        print(f"polite-crawl bot-auth directory: {exc}{hint}", file=sys.stderr)
        return EXIT_USAGE
    except BotAuthError as exc:
        print(f"polite-crawl bot-auth directory: {exc}", file=sys.stderr)
        return EXIT_USAGE
    headers_file = out.with_name(out.name + HEADERS_SUFFIX)
    try:
        out.write_bytes(response.body)  # byte for byte: Content-Digest covers these bytes
        headers_file.write_text("".join(f"{n}: {v}\n" for n, v in response.headers))
    except OSError as exc:
        print(f"polite-crawl bot-auth directory: {exc}", file=sys.stderr)
        return EXIT_USAGE
    where = directory_url(origin) if origin else f"https://<your Signature-Agent>{WELL_KNOWN_PATH}"
    for key in keys:
        print(f"keyid {key.keyid}")
    print(f"wrote {out}: serve it at {where}")
    print(f"with these headers (also in {headers_file}):")
    for name, value in response.headers:
        print(f"  {name}: {value}")
    if origin is None:
        print(
            "unsigned: give --signature-agent ORIGIN (the POLITE_CRAWL_SIGNATURE_AGENT origin) "
            "to add the signature the protocol draft recommends"
        )
    else:
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(valid_days)
        print(
            f"signed for {origin} until {until:%Y-%m-%d %H:%M} UTC: write it again before then "
            "and whenever the key changes"
        )
    return EXIT_OK
