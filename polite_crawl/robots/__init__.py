"""robots.txt per RFC 9309: parsing, group selection and matching (robots/rules.py), the
per-origin fetch outcome state machine (robots/state.py). Scrapy-free."""
