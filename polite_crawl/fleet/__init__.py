"""Fleet crawls: state several worker processes share through Redis (POLITE_CRAWL_REDIS_URL).

Scrapy-free, like the rest of the core: the Scrapy shell hands it a redis-py asyncio client.
Every reply from Redis is untrusted input (fleet/codec.py), and every failure to reach it, or to
get a usable answer in time, is a FleetError: the request waiting on it is refused and recorded,
never allowed on per-process state (docs/fleet.md).
"""
