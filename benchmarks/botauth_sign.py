"""CPU per signed request of the Web Bot Auth signer (polite_crawl/botauth/): fresh parameters
and the signature, as the wire will add them to every request, against Ed25519 alone.

    .venv/bin/python -m benchmarks.botauth_sign [--requests 2000] [--rounds 5]

No Scrapy, no network; process CPU time, best and median of the rounds. Results:
docs/benchmarks.md and docs/bot-auth.md ("Cost").
"""

from __future__ import annotations

import argparse
import statistics
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polite_crawl.botauth.key import BotAuthKey
from polite_crawl.botauth.params import fresh_params
from polite_crawl.botauth.sign import Signer

AGENT = "https://crawler.example.org"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    key = BotAuthKey.of(Ed25519PrivateKey.generate())
    signer = Signer(key)
    urls = [f"https://shop.example.com/items/{i}?page={i % 7}" for i in range(args.requests)]
    for url in urls[:100]:  # warm up
        signer.sign("GET", url, fresh_params("GET", url, key.keyid, signature_agent=AGENT), AGENT)
    signing: list[float] = []
    alone: list[float] = []
    for _ in range(args.rounds):
        start = time.process_time()
        for url in urls:
            signer.sign(
                "GET", url, fresh_params("GET", url, key.keyid, signature_agent=AGENT), AGENT
            )
        signing.append((time.process_time() - start) / len(urls))
        start = time.process_time()
        for url in urls:
            key.private.sign(url.encode() * 8)
        alone.append((time.process_time() - start) / len(urls))
    print(
        f"bot-auth signing: best {min(signing) * 1e6:.0f} us, median "
        f"{statistics.median(signing) * 1e6:.0f} us CPU per request "
        f"(Ed25519 alone: median {statistics.median(alone) * 1e6:.0f} us); "
        f"3,000 requests: {statistics.median(signing) * 3000:.2f} s"
    )


if __name__ == "__main__":
    main()
