"""Payout accounts and withdrawals (提现).

Access patterns (see README):
- a provider's payout account ................... payout_accounts: user_id
- a withdrawal by id ............................ withdrawals: id
- a user's withdrawals, newest first ............ withdrawals.by_user: user_id, created_key
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import table


@table("payout_accounts", money=True)
class PayoutAccountModel(Model):
    """Where a provider's withdrawals are paid: an Alipay account and its holder's name."""

    class Meta:
        table_name = "payout_accounts"

    user_id = UnicodeAttribute(hash_key=True)
    account = UnicodeAttribute()
    name = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class WithdrawalsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)  # <created key>#<id>


@table("withdrawals", money=True)
class WithdrawalModel(Model):
    """One withdrawal: pending until its payout instruction ends it as paid or failed.
    The payee is copied from the payout account when asked, so changing the account
    later never redirects money already on its way."""

    class Meta:
        table_name = "withdrawals"

    id = UnicodeAttribute(hash_key=True)  # wd_…
    user_id = UnicodeAttribute()
    amount = NumberAttribute()  # fen
    currency = UnicodeAttribute(default="CNY")
    status = UnicodeAttribute()  # pending | paid | failed
    account = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_key = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    failed_at = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    gateway_ref = UnicodeAttribute(null=True)
    # `<caller>#<Idempotency-Key>@<window start>` of the request that asked, if any.
    request_key = UnicodeAttribute(null=True)

    by_user = WithdrawalsByUser()


def created_key(at_key: str, withdrawal_id: str) -> str:
    """`<created key>#<id>`: a user's withdrawals sort by time (the by_user index)."""
    return f"{at_key}#{withdrawal_id}"
