"""A fleet worker: scrapy-redis's shared queue and dupefilter, polite_crawl's fleet mode, one
log key for the fleet. Every worker runs this project with its own WORKER_ID (see README.md)."""

import os

BOT_NAME = "fleet_example"
SPIDER_MODULES = ["fleet_example.spiders"]

REDIS = os.environ.get("FLEET_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKER = os.environ["WORKER_ID"]  # unique in the fleet: it names this worker's logs

# polite_crawl: decide every request, share origin files and pacing through Redis.
ADDONS = {"polite_crawl.Addon": 0}
USER_AGENT = "examplebot/1.0 (+mailto:crawler@example.org)"
POLITE_CRAWL_CONTACT = "mailto:crawler@example.org"
POLITE_CRAWL_PURPOSES = ["archiving"]
POLITE_CRAWL_REDIS_URL = REDIS
POLITE_CRAWL_WORKER_ID = WORKER
POLITE_CRAWL_AUDIT_DIR = f"audit/{WORKER}"  # one directory per worker
POLITE_CRAWL_AUDIT_KEY = os.environ.get("FLEET_KEY", "fleet.key")  # one key for the fleet
POLITE_CRAWL_AUDIT_KEY_CREATE = False

# scrapy-redis, as its README sets it up.
SCHEDULER = "scrapy_redis.scheduler.Scheduler"
DUPEFILTER_CLASS = "scrapy_redis.dupefilter.RFPDupeFilter"
REDIS_URL = REDIS
# Kept on close: with False, the first worker to finish deletes the queue and the dupefilter
# the others still use.
SCHEDULER_PERSIST = True
# polite_crawl's queue hands out the shared queue host by host, in turn (scrapy-redis's own
# hands out one site's links in a row, filling each worker's download slots with that site).
SCHEDULER_QUEUE_CLASS = "polite_crawl.queues.HostQueue"
# A RedisSpider waits for start URLs for ever; this one stops after 10 idle seconds.
MAX_IDLE_TIME_BEFORE_CLOSE = int(os.environ.get("FLEET_MAX_IDLE", "10"))

CONCURRENT_REQUESTS = 16
TELNETCONSOLE_ENABLED = False
