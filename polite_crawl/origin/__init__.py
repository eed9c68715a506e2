"""What the crawl knows of each origin's origin-level files: robots.txt, tdmrep.json and ai.txt.

Every file has a per-origin store (store.py) with the same fetch states, lifetimes and backoff;
only how a 2xx body is read differs (robots.txt and ai.txt by the robots.txt parser in
polite_crawl/robots/, tdmrep.json by signals/tdmrep.py). Scrapy-free.
"""
