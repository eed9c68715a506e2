"""robots.txt per RFC 9309: parsing (robots/parser.py), group selection and matching
(robots/rules.py). The per-origin fetch states and caches it shares with tdmrep.json and ai.txt
are in polite_crawl/origin/. Scrapy-free."""
