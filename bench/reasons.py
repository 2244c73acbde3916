"""Why a route is above its floor, as docs/request-floors.md states it (issue 29, item 3).

The harness derives the measured part from the calls themselves (`calls.why_above`:
which tables, how many times, what sits outside the transaction); where the page names
the reason behind those calls, BENCHMARKS.md shows the page's words first, so that the
two say the same thing. Keep this in step with docs/request-floors.md.
"""

EXTERNAL = "an external call"
MONEY_READS = ("reads the provider's payable and debt balances (`accounts`, 2 GetItems): a "
               "release first repays what the provider owes and a reversal borrows what the "
               "balance cannot cover, a split that depends on both balances (no update "
               "expression can take a minimum), so the transaction is conditional on both "
               "being what was read")
CONTRACT_PAY = (
    f"{EXTERNAL}, as an order's pay: the payment item is written before the gateway is "
    "asked and updated with its answer; the trade's reference is found by reading the "
    "payments already opened for it (a timed-out trade cannot be paid again); paid at "
    "once, the money is settled by the one path every gateway statement takes, which "
    "reads the contract again to decide as a notification arriving alone must, and the "
    "answer reads the contract as committed")
ACTED_ON = "reads the order (who may act) and the proposal or review acted on"

SHARDED = ("reads every shard of a write-sharded key (16 by default, one Query each): one "
           "constant key would cap the market's writes at a partition's ~1,000 a second "
           "(docs/scale.md)")
DAY_MARK = ("reads the buyer's mark for the day (`daily_counts`), so that the day's distinct "
            "buyers count each buyer once; the transaction is conditional on it")
CONTRACT_ACTED_ON = ("reads the contract (who may act, its terms) and the statement acted on")
CONTRACT_FOLLOW_UPS = (
    f"{CONTRACT_ACTED_ON}; a settled bill's follow-ups (resume a suspended contract, return "
    "an ended contract's deposit once nothing is outstanding: `accounts.after_settling`) "
    "read the contract and its statements again, each its own conditional move — measured, "
    "the work left is to fold them into the move's transaction")
CAP_COUNTED = ("counts its files before and after writing the new one: a cap over other items "
               "(at most MAX_ATTACHMENTS), which no condition can count")

DOCUMENTED = {
    "GET /admin/analytics/daily": SHARDED,
    "GET /me/analytics/daily": SHARDED,
    "GET /admin/orders": f"{SHARDED}, merged in order (a k-way merge with a signed cursor)",
    "GET /admin/stuck": SHARDED,
    "POST /services/{service_id}/inquiries": (
        f"reads the service (listed, whose); {DAY_MARK}"),
    "POST /inquiries/{inquiry_id}/offer": (
        "reads the inquiry (who may offer, to whom) and the service offered (listed, its "
        "price and packages)"),
    "POST /services/{service_id}/answer-files": (
        "reads the service (its form: which question takes a file) and counts the buyer's "
        "answer files for it (a cap over other items)"),
    "GET /me/channels/email/verify": (
        "a state change reached from a link in an e-mail (so a GET): one read and one "
        "conditional write, a state change's floor"),
    "GET /contracts": (
        "each live contract's amount owed is summed from its statements (one Query per live "
        "contract on the page) — measured; the work left is to keep `owed` on the contract"),
    "POST /contracts/{contract_id}/go-live": (
        "reads the contract, and its statements for the answer's amount owed"),
    "POST /contracts/{contract_id}/messages": (
        "reads the contract (who may write) and an attached file's record"),
    "POST /contracts/{contract_id}/attachments": (
        f"reads the contract (who may attach), then {CAP_COUNTED}"),
    "POST /contracts/{contract_id}/statements/{statement_id}/dispute": CONTRACT_ACTED_ON,
    "POST /contracts/{contract_id}/statements/{statement_id}/submit": CONTRACT_FOLLOW_UPS,
    "POST /contracts/{contract_id}/statements/{statement_id}/confirm": CONTRACT_FOLLOW_UPS,
    "POST /admin/contracts/{contract_id}/statements/{statement_id}/resolve": CONTRACT_FOLLOW_UPS,
    "POST /admin/orders/{order_id}/reviews/{side}/hide": (
        "reads the order (whose review) and the review hidden"),
    "POST /orders/{order_id}/reviews/buyer/follow-up": (
        "reads the order (who may act) and the review followed up"),
    "POST /orders/{order_id}/pay": (
        f"{EXTERNAL}: the payment item is written before the gateway is asked and updated "
        "with its answer (a crash in between must leave a record of a charge that may have "
        "happened); the order's move is its own transaction"),
    "POST /contracts/{contract_id}/pay": CONTRACT_PAY,
    "POST /contracts/{contract_id}/statements/{statement_id}/pay": (
        f"{CONTRACT_PAY}; the bill is read to know what is owed, by the settlement, and "
        "for the answer"),
    "POST /payments/{gateway}/notify": (
        f"{EXTERNAL}: the gateway's notification names a payment; the payment and its order "
        "are read to decide, the payment updated with the gateway's answer"),
    "POST /orders/{order_id}/reject": (
        f"{EXTERNAL}: the refund is posted in a transaction of its own after the gateway's "
        "refund answered"),
    "POST /admin/orders/{order_id}/resolve": (
        f"{EXTERNAL}: the refund is posted in a transaction of its own after the gateway's "
        f"refund answered; {MONEY_READS}"),
    "POST /orders/{order_id}/proposals/{proposal_id}/accept": (
        f"{EXTERNAL} (with a refund): the refund is posted in a transaction of its own after "
        f"the gateway's refund answered; {MONEY_READS}"),
    "POST /services/{service_id}/list": (
        "the near-duplicate rule compares the service's text with the provider's other "
        "listed services (at most 11, the sparse `by_listed_provider` index): a rule over "
        "other items' text, which no transaction condition can express"),
    "POST /admin/providers/{provider_id}/suspend": (
        "the provider is read and updated, its listed services found in their sparse index "
        "and each delisted in a transaction of its own, then the provider's counters are "
        "read to know every listing is gone (the index lags the table); +1 transaction per "
        "further listed service, at most 11"),
    "POST /me/notifications/read": "\"mark all\" reads the unread index to know which to mark",
    "POST /orders/{order_id}/deliver": (
        "reads the uploaded files' records (one BatchGetItem) to check they are the order's "
        "and complete"),
    "POST /orders/{order_id}/messages": "reads an attached file's record",
    "POST /orders/{order_id}/attachments": (
        "reads the order (who may attach), then counts the order's attachments before "
        "and after writing the new one: a cap over other items (at most MAX_ATTACHMENTS "
        "per order), which no condition can count; of racers for the last places, one "
        "that went over takes its own file back"),
    "POST /orders/{order_id}/proposals/{proposal_id}/decline": ACTED_ON,
    "POST /orders/{order_id}/proposals/{proposal_id}/withdraw": ACTED_ON,
    "POST /orders/{order_id}/reviews/buyer/reply": ACTED_ON,
    "POST /orders/{order_id}/reviews/provider/reply": ACTED_ON,
    "POST /orders/{order_id}/accept": MONEY_READS,
    "POST /orders/{order_id}/approve": MONEY_READS,
    "GET /providers/{provider_id}": (
        "the provider's stats live in an item of their own (`provider_stats`), written by "
        "the order transactions"),
}


def explained(route: str, measured: str) -> str:
    """The page's reason for `route` (if it gives one) with what the calls show."""
    documented = DOCUMENTED.get(route)
    if not documented:
        return measured
    return f"{documented} — measured: {measured}" if measured else documented
