"""One module per check. Each is small, synchronous and Scrapy-free."""
