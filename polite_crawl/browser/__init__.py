"""Browser crawls (scrapy-playwright): what the gate needs to know of a request a browser makes,
without Scrapy or Playwright. The glue is polite_crawl/shell/browser.py (docs/browser.md)."""
