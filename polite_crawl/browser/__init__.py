"""Browser crawls (scrapy-playwright): what the gate needs to know of a request a browser makes,
without Scrapy or Playwright. The glue is polite_crawl/shell/browser.py (docs/browser.md)."""

# The only browser the gate was checked in. Playwright's Firefox and WebKit route differently
# (what a route sees of redirects, service workers, popups), and the hop guard speaks
# Chromium's DevTools protocol: a crawl in another browser would be gated by guesswork.
CHECKED_BROWSER = "chromium"
