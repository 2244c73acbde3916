"""Where a user's notifications leave the platform: a webhook and an e-mail address.

Access patterns (see README):
- a user's channels ... channels: user_id (one item)

The e-mail confirmation token is not stored, only its hash, so a read of the table
cannot confirm an address. The webhook's signing secret lives only here: the API answers it once, when a new
webhook is set, and the delivery driver reads it to sign each POST.
"""
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import table


@table("channels")
class ChannelsModel(Model):
    class Meta:
        table_name = "channels"

    user_id = UnicodeAttribute(hash_key=True)
    webhook_url = UnicodeAttribute(null=True)
    webhook_secret = UnicodeAttribute(null=True)  # hex of 32 random bytes
    email = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # The address is used once its owner opened the confirmation link: when (app clock
    # key), and, while unconfirmed, the link's token (only its SHA-256) and its expiry.
    email_verified_at = UnicodeAttribute(null=True)
    email_token_hash = UnicodeAttribute(null=True)
    email_token_expires = UnicodeAttribute(null=True)
