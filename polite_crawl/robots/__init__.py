"""robots.txt per RFC 9309: parsing (robots/parser.py), group selection and matching
(robots/rules.py), and the reader that turns a fetched body into rules for the origin store
(robots/reader.py). The per-origin fetch states and caches it shares with tdmrep.json and
ai.txt are in polite_crawl/origin/. Scrapy-free."""
