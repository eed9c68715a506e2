"""The Scrapy shell around the decision core: one module per step of a request.

    spider ─yield─▶ links.py        LinksMiddleware (spider middleware 50): notes the page a
                                    request came from, and what the page said about it (an
                                    image inherits the page's signals); drops nofollow links
                                    and items the page forbids
    engine ─▶ scheduler ─▶ downloader middlewares
                    decide.py       DecisionMiddleware (100, where RobotsTxtMiddleware was):
                                    asks the core's Gate; a missing origin file is fetched by
                      preflight.py  OriginFileFetcher (once per origin, through the engine;
                      fetched.py    FetchedRecorder at 990 inflates it within the limit);
                      journal.py    the decision is written ahead (group commit, fdatasync in
                      records.py    a helper process); a refusal raises, an allow waits until
                                    its record is durable and leaves a ticket
                      throttle.py   Crawl-delay through Scrapy's downloader slots
                    fetched.py      FetchedRecorder (990): every other response received,
                                    recorded
    downloader ─▶   wire.py         WireHandler, in front of every scheme's download handler:
                      wire_check.py the request must still be the one decided (else refused,
                                    recorded) and
                      pacing.py     a paced host waits its turn; then the configured handler
                      dnsguard.py   sends it (internal DNS answers dropped)
    response ─▶     discard.py      (DecisionMiddleware.process_response) what only the
                                    response reveals can still keep it from the spider

    addon.py        installs all of the above; project_settings.py: what a spider may not
                    weaken; crawl.py: the per-crawl state they share (state_of(crawler));
                    counts.py, exitstatus.py, _compat.py (every Scrapy version probe)

Nothing here decides: the checks live in polite_crawl/core/ and import no Scrapy.
"""
