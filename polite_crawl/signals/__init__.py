"""Opt-out signals: parsers (one module per signal) and what each value forbids
(signals/mapping.py). Scrapy-free; every parser takes untrusted input and never raises."""
