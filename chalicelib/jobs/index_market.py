"""`index_market`: the consumer of the services table's stream, which keeps the market's
search entries (services.market_index). Deployed, Lambda reads the stream and calls it
with batches of records; locally the dev server's stream reader (local/stream_reader.py)
and the tests' helper call it with the same event."""
import logging

from chalicelib.services import market_index

log = logging.getLogger("market.jobs")

NAME = "index_market"


def run(records) -> dict:
    """Apply a batch of stream records (chalice's DynamoDBRecord, or anything with
    `old_image` and `new_image`); raises to have the whole batch retried."""
    report = market_index.apply_records([(r.old_image, r.new_image) for r in records])
    if report["applied"] or report["stale"]:
        log.info("index_market: %s", report)
    return report
