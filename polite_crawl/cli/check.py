"""`polite-crawl check URL`: explain the gate's decision for one URL.

The offline mode decides without any network, robots.txt read from `--robots-file`. The live
mode runs a real Scrapy crawl with the add-on (so proxies, TLS settings and the user agent
apply) whose spider sends nothing but the preflights the decision needs.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scrapy

from polite_crawl import __version__
from polite_crawl.cli import after_fetch
from polite_crawl.core import assembly
from polite_crawl.core.config import load
from polite_crawl.core.gate import Pending
from polite_crawl.core.purposes import Kind, Purpose
from polite_crawl.origin.store import FetchResult
from polite_crawl.settings import SettingsError, did_you_mean, leading_token
from polite_crawl.shell import project_settings
from polite_crawl.signals.mapping import ROBOTS_TAG
from polite_crawl.signals.memory import Inherited

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator, Iterable, Mapping

    from polite_crawl.core.decision import Decision

EXIT_OK, EXIT_DENIED, EXIT_USAGE = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check", help="explain the decision for one URL (fetches only robots.txt and the like)"
    )
    check.add_argument("url")
    check.add_argument(
        "--purpose",
        action="append",
        default=[],
        dest="purposes",
        help="a declared purpose (repeatable, or comma-separated as in settings); default: "
        "the project's",
    )
    check.add_argument(
        "--ua", help="robots.txt product token; default: the project's, or 'polite-crawl'"
    )
    check.add_argument(
        "--robots-file",
        type=Path,
        help="judge against this local robots.txt instead of fetching it",
    )
    check.add_argument(
        "--image",
        action="store_true",
        help="judge the URL as an image embedded in a page (as ImagesPipeline's requests are)",
    )
    check.add_argument(
        "--page-says",
        metavar="DIRECTIVES",
        help="what the page that links or embeds the URL says in its meta robots or "
        "X-Robots-Tag, comma-separated (e.g. noimageai)",
    )
    check.add_argument(
        "--response-header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        dest="response_headers",
        help="a header the response would carry (repeatable): the after-fetch line judges it",
    )
    check.add_argument("--json", action="store_true", help="print the decision as JSON")


def run(args: argparse.Namespace, settings: Any, process: Any) -> int:
    """`settings`/`process`: the project's, when run as `scrapy polite check`."""
    project = settings if settings is not None else {}
    raw = args.purposes or project.get("POLITE_CRAWL_PURPOSES") or []
    if isinstance(raw, str):
        raw = [raw]
    try:
        purposes = parse_purposes(raw)
    except ValueError as exc:
        return _fail(str(exc))
    if not purposes:
        return _fail("declare what the crawl is for with --purpose (repeatable)")
    hint = scheme_hint(args.url)
    if hint:
        return _fail(hint)
    try:
        inherited = page_signals(args.page_says, image=args.image)
        headers = response_headers(args.response_headers)
    except ValueError as exc:
        return _fail(str(exc))
    overrides: dict[str, Any] = {
        "POLITE_CRAWL_PURPOSES": sorted(p.value for p in purposes),
        "LOG_LEVEL": "ERROR",
    }
    token = args.ua or project.get("POLITE_CRAWL_USER_AGENT_TOKEN")
    if token or settings is None:
        token = token or "polite-crawl"
        overrides["POLITE_CRAWL_USER_AGENT_TOKEN"] = token
        overrides["USER_AGENT"] = f"{token}/{__version__} (polite-crawl check)"
    body = None
    if args.robots_file is not None:
        try:
            body = args.robots_file.read_bytes()
        except OSError as exc:
            return _fail(f"cannot read {args.robots_file}: {exc.strerror or exc}")
    with tempfile.TemporaryDirectory() as tmp:
        values = {k: project[k] for k in project if k.startswith("POLITE_CRAWL_")}
        values["USER_AGENT"] = project.get("USER_AGENT")
        values.update(overrides, POLITE_CRAWL_AUDIT_DIR=tmp)
        values.pop("LOG_LEVEL")
        try:
            decision = offline(args.url, values, body, str(args.robots_file), inherited)
        except SettingsError as exc:
            return _fail(str(exc))
    if decision is None:  # robots.txt must be fetched: ask the gate inside a real crawl
        decision = live(args.url, overrides, process, inherited)
        if decision is None:
            return _fail("the crawl did not start; see the log above")
    token = str(
        overrides.get("POLITE_CRAWL_USER_AGENT_TOKEN")
        or leading_token(str(project.get("USER_AGENT") or ""))
        or "polite-crawl"
    )
    after = after_fetch.judge(args.url, purposes, token, inherited, headers)
    allowed = decision.allowed and (after.discard is None)
    if args.json:
        print(as_json(args.url, decision, after))
    else:
        print(render(args.url, decision, purposes, after))
    return EXIT_OK if allowed else EXIT_DENIED


def parse_purposes(raw: Iterable[Any]) -> frozenset[Purpose]:
    """--purpose research,archiving as the settings read it; a near miss gets a suggestion."""
    out: set[Purpose] = set()
    for item in raw:
        for text in str(item).split(","):
            name = text.strip()
            if not name:
                continue
            try:
                out.add(Purpose(name))
            except ValueError:
                valid = ", ".join(p.value for p in Purpose)
                raise ValueError(
                    f"--purpose {name!r} is not a valid purpose"
                    f"{did_you_mean('purposes', name)}; valid purposes: {valid}"
                ) from None
    return frozenset(out)


def scheme_hint(url: str) -> str | None:
    """A URL typed without its scheme (shop.test/x, localhost:8080/x) is a usage error that
    says what to add, not a `scheme.unsupported` refusal."""
    if "://" in url:
        return None
    scheme, colon, rest = url.partition(":")
    if colon and "." not in scheme and not rest[:1].isdigit():
        return None  # mailto:, data:, ...: a scheme, judged (and refused) by the gate
    return f"{url!r} has no scheme: add http:// or https:// (e.g. https://{url})"


def page_signals(says: str | None, *, image: bool) -> Inherited | None:
    if says is None and not image:
        return None
    directives = frozenset(d.strip().lower() for d in (says or "").split(",") if d.strip())
    unknown = sorted(directives - ROBOTS_TAG.keys())
    if unknown:
        raise ValueError(
            f"--page-says {', '.join(unknown)}: not a directive polite_crawl acts on "
            f"(known: {', '.join(d for d in ROBOTS_TAG if ':' not in d)})"
        )
    kind = Kind.IMAGE if image else Kind.PAGE
    return Inherited(directives, kind, "the page given with --page-says")


def response_headers(given: list[str]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for text in given:
        name, colon, value = text.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"--response-header {text!r}: write it as 'NAME: VALUE'")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return headers


def _fail(message: str) -> int:
    print(f"polite-crawl check: {message}", file=sys.stderr)
    return EXIT_USAGE


def offline(
    url: str,
    values: Mapping[str, Any],
    robots: bytes | None,
    source: str,
    inherited: Inherited | None = None,
) -> Decision | None:
    """Decide without any network: offline checks, and robots.txt from a local file. None when
    the decision needs a robots.txt that was not given."""
    config = load(values)
    if config is None:
        return None
    decider = assembly.build(config, persist=False)
    ctx = decider.context(url, inherited=inherited)
    decision = decider.decide(ctx)
    asked: set[str] = set()
    while (
        isinstance(decision, Pending)
        and robots is not None
        and not asked.issuperset(decision.kinds)
    ):
        asked.update(decision.kinds)
        for kind in decision.kinds:
            if kind == "robots":
                result = FetchResult(source, source, 200, robots, fetched_at=time.time())
            else:  # other origin files are not read offline: fail closed, and say why
                url = ctx.origin.url(decider.files[kind].path)
                error = "not fetched: an offline check reads only the robots.txt file given"
                result = FetchResult(url, url, None, error=error, fetched_at=time.time())
            decider.files[kind].record(ctx.origin, result)
        decision = decider.decide(ctx)
    return None if isinstance(decision, Pending) else decision


class CheckSpider(scrapy.Spider):
    """Asks the installed gate about one URL; yields no request of its own."""

    name = "polite_crawl_check"
    decision: Decision | None = None
    target_url: str = ""
    inherited: Inherited | None = None

    async def start(self) -> AsyncIterator[Any]:
        from polite_crawl.shell.decide import PoliteDownloaderMiddleware

        assert self.crawler.engine is not None
        for mw in self.crawler.engine.downloader.middleware.middlewares:
            if isinstance(mw, PoliteDownloaderMiddleware):
                self.decision = await mw.explain(self.target_url, inherited=self.inherited)
        return
        yield  # an async generator that yields nothing


def live(
    url: str, overrides: dict[str, Any], process: Any = None, inherited: Inherited | None = None
) -> Decision | None:
    """Ask the add-on's gate about url inside a real crawl. `process` is the command's
    CrawlerProcess in a Scrapy project (its settings apply); a fresh one otherwise."""
    if process is None:
        from scrapy.crawler import CrawlerProcess

        process = CrawlerProcess({"TELNETCONSOLE_ENABLED": False, "LOG_LEVEL": "ERROR"})
    with tempfile.TemporaryDirectory() as tmp:
        # The check's options are the operator's command line, not a spider's settings: set at
        # the command line's priority and noted as the project's, so that asking about another
        # purpose or product token is not refused as a spider weakening the project's settings.
        settings = process.settings
        settings.setdict({"POLITE_CRAWL_AUDIT_DIR": tmp, **overrides}, priority="cmdline")
        if "polite_crawl.Addon" not in settings["ADDONS"]:
            settings["ADDONS"].set("polite_crawl.Addon", 0, priority="cmdline")
        project_settings.remember(settings)
        crawler = process.create_crawler(CheckSpider)
        process.crawl(crawler, target_url=url, inherited=inherited)
        process.start()
        spider = crawler.spider
        return spider.decision if isinstance(spider, CheckSpider) else None


def render(
    url: str,
    decision: Decision,
    purposes: frozenset[Purpose],
    after: after_fetch.AfterFetch | None = None,
) -> str:
    verdict = decision.verdict.value.upper()
    lines = [
        f"url        {url}",
        f"decision   {verdict}  ({decision.reason.value})",
        f"purposes   {', '.join(sorted(p.value for p in purposes))}",
        "checks",
    ]
    width = max((len(r.check) for r in decision.trace), default=8)
    pad = " " * (width + 3)
    for result in decision.trace:
        lines.append(f"  {result.check:<{width}} {result.outcome.value:<6} {result.reason.value}")
        lines += [f"{pad}{line}" for line in _details(result.check, result.evidence)]
    if after is not None and decision.allowed:
        lines += _after_lines(after)
    return "\n".join(lines)


def _after_lines(after: after_fetch.AfterFetch) -> list[str]:
    """The second line: an ALLOW is the answer before the fetch, not a promise to keep it."""
    out = [f"after the fetch (judged as {after.kind.value}; check fetches no response)"]
    if after.discard is not None:
        out.append(f"  DISCARD  ({after.discard.reason.value}) by {after.discard.check}")
        out += [f"           {line}" for line in _details("", after.discard.evidence)]
        return out
    if not after.would_discard_if:
        out.append("  KEEP     no after-fetch signal concerns the declared purposes")
        return out
    if after.judged:
        out.append(f"  KEEP     {', '.join(after.judged)} given: none discards it")
    out.append("  it would be discarded if:")
    out += [f"    {line}" for line in after.would_discard_if]
    return out


def _details(check: str, evidence: dict[str, Any]) -> list[str]:
    if check == "tos":
        return _tos_details(evidence)
    if check != "robots" or not evidence:
        return [f"{k}: {_value(k, v)}" for k, v in evidence.items()]
    out = [
        f"robots.txt {evidence.get('robots_url')} -> {evidence.get('final_url')}",
        f"status     {evidence.get('status')}  state {evidence.get('state')}"
        + (f"  error {evidence['error']}" if evidence.get("error") else ""),
        f"sha256     {evidence.get('sha256')}",
        f"fetched    {_utc(evidence.get('fetched_at'))}",
    ]
    if "group" in evidence:
        lines = ", ".join(str(n) for n in evidence.get("group_lines", [])) or "-"
        out.append(f"group      {evidence['group'] or 'none applies'} (lines {lines})")
        rule = evidence.get("rule")
        out.append(
            f"rule       line {rule['line']}: {rule['text']}"
            if rule
            else "rule       no rule matches: allowed"
        )
    if "crawl_delay" in evidence:
        delay = evidence["crawl_delay"]
        out.append(
            f"crawl-delay {delay['requested']} s asked (line {delay['line']}), "
            f"{delay['applied']} s applied"
        )
    return out


def _tos_details(evidence: dict[str, Any]) -> list[str]:
    if not evidence:
        return ["no platform policy claims this host"]
    out = [f"policy     {evidence['policy']} (sha256 {evidence['policy_sha256'][:16]}...)"]
    if "clause" in evidence:
        src = evidence["source"]
        out += [
            f"purpose    {evidence['purpose']}: {evidence['stance']}",
            f"clause     {evidence['clause']}",
            f"source     {src['title']}" + (f", {src['section']}" if src.get("section") else ""),
            f"           {src['url']} (text of {src['date']}, {src['grade']})",
        ]
        if src.get("quote"):
            out.append(f'quote      "{src["quote"]}"')
        elif src.get("no_quote"):
            out.append(f"no quote   {src['no_quote']}")
    else:
        out.append(f"stance     {evidence.get('stance')} for every declared purpose")
    consent = evidence.get("consent")
    if isinstance(consent, dict):
        out.append(
            f"consent    grant {consent['grant']!r} from {consent['granted_by']}, "
            f"valid until {consent['valid_until']}"
        )
    elif consent:
        out.append(f"consent    none applies: {consent}")
    return out


def _value(key: str, value: Any) -> Any:
    """Epoch seconds (fetched_at, expires_at, ...) as a time a person reads."""
    if key.endswith("_at") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _utc(value)
    return value


def _utc(epoch: Any) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch or 0)))


def as_json(url: str, decision: Decision, after: after_fetch.AfterFetch | None = None) -> str:
    record = {"url": url, **decision.to_record()}
    if after is not None and decision.allowed:  # the second line only follows an allow
        record["after_fetch"] = after.to_record()
    return json.dumps(record, indent=2)
