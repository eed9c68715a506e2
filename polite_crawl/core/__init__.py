"""The decision core: pure, synchronous and free of Scrapy imports.

See docs/architecture.md for the path of one request through the gate.
"""
