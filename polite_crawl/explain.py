"""`polite-crawl check URL`: explain the gate's decision for one URL.

The live mode runs a real Scrapy crawl with the add-on (so proxies, TLS settings and the user
agent apply) whose spider sends nothing but the preflights the decision needs.
"""

from __future__ import annotations

import json
import tempfile
import time
from typing import TYPE_CHECKING, Any

import scrapy

from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.context import RequestContext
from polite_crawl.core.gate import Gate, Pending
from polite_crawl.robots.state import FetchResult, RobotsStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from polite_crawl.core.context import Purpose
    from polite_crawl.core.decision import Decision


def offline(
    url: str, purposes: frozenset[Purpose], token: str, robots: bytes, source: str
) -> Decision:
    """Judge url against a local robots.txt file (no network at all)."""
    ctx = RequestContext.build(url, purposes)
    store = RobotsStore(token, clock=time.time)
    store.record(ctx.origin, FetchResult(source, source, 200, robots, fetched_at=time.time()))
    decision = Gate([SchemeCheck(), RobotsCheck(store)]).decide(ctx)
    assert not isinstance(decision, Pending)
    return decision


class CheckSpider(scrapy.Spider):
    """Asks the installed gate about one URL; yields no request of its own."""

    name = "polite_crawl_check"
    decision: Decision | None = None
    target_url: str = ""

    async def start(self) -> AsyncIterator[Any]:
        from polite_crawl.middlewares import PoliteDownloaderMiddleware

        assert self.crawler.engine is not None
        for mw in self.crawler.engine.downloader.middleware.middlewares:
            if isinstance(mw, PoliteDownloaderMiddleware):
                self.decision = await mw.explain(self.target_url)
        return
        yield  # an async generator that yields nothing


def live(url: str, overrides: dict[str, Any], process: Any = None) -> Decision | None:
    """Ask the add-on's gate about url inside a real crawl. `process` is the command's
    CrawlerProcess in a Scrapy project (its settings apply); a fresh one otherwise."""
    if process is None:
        from scrapy.crawler import CrawlerProcess

        process = CrawlerProcess({"TELNETCONSOLE_ENABLED": False, "LOG_LEVEL": "ERROR"})
    with tempfile.TemporaryDirectory() as tmp:
        custom = {"POLITE_CRAWL_AUDIT_DIR": tmp, **overrides}
        addons = dict(process.settings.getdict("ADDONS"))
        addons.setdefault("polite_crawl.Addon", 0)
        custom["ADDONS"] = addons
        spidercls = type("CheckSpider", (CheckSpider,), {"custom_settings": custom})
        crawler = process.create_crawler(spidercls)
        process.crawl(crawler, target_url=url)
        process.start()
        spider = crawler.spider
        return spider.decision if isinstance(spider, CheckSpider) else None


def render(url: str, decision: Decision, purposes: frozenset[Purpose]) -> str:
    lines = [
        f"url        {url}",
        f"decision   {decision.verdict.value.upper()}  ({decision.reason.value})",
        f"purposes   {', '.join(sorted(p.value for p in purposes))}",
        "checks",
    ]
    for result in decision.trace:
        lines.append(f"  {result.check:<8} {result.outcome.value:<6} {result.reason.value}")
        lines += [f"           {line}" for line in _details(result.check, result.evidence)]
    return "\n".join(lines)


def _details(check: str, evidence: dict[str, Any]) -> list[str]:
    if check != "robots" or not evidence:
        return [f"{k}: {v}" for k, v in evidence.items()]
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


def _utc(epoch: Any) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch or 0)))


def as_json(url: str, decision: Decision) -> str:
    return json.dumps({"url": url, **decision.to_record()}, indent=2)
