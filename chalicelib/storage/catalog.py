"""Providers and services: the catalog's PynamoDB models.

Access patterns (see README):
- provider by id ............................ providers: user_id
- applications by status, oldest first ...... providers.by_status: status, applied_at
- service by id ............................. services: id
- a provider's services, newest first ....... services.by_provider: provider_id, created_at
"""
from pynamodb.attributes import (ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import table


class ProvidersByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    applied_at = UnicodeAttribute(range_key=True)


@table("providers")
class ProviderModel(Model):
    """A user's provider profile. `listed_count` is the conditional counter that enforces
    the 10-listing limit; `credit` and `ratings_*` move with buyers' reviews."""

    class Meta:
        table_name = "providers"

    user_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()  # pending | approved | rejected | suspended
    display_name = UnicodeAttribute()
    company_name = UnicodeAttribute()
    contact = UnicodeAttribute()
    intro = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)  # the operator's reason on reject/suspend
    applied_at = UnicodeAttribute()  # clock.to_key
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    listed_count = NumberAttribute(default=0)  # regular (non-trial) listed services
    trial_listed_count = NumberAttribute(default=0)
    credit = NumberAttribute(default=0)
    ratings_good = NumberAttribute(default=0)
    ratings_neutral = NumberAttribute(default=0)
    ratings_bad = NumberAttribute(default=0)
    version = NumberAttribute(default=0)

    by_status = ProvidersByStatus()


class ServicesByProvider(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_provider"
        projection = AllProjection()

    provider_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


@table("services")
class ServiceModel(Model):
    """A published service. Orders condition their placement on `status == "listed"` and
    on `open_orders < capacity`, and keep `open_orders` in step in their transactions."""

    class Meta:
        table_name = "services"

    id = UnicodeAttribute(hash_key=True)
    provider_id = UnicodeAttribute()
    title = UnicodeAttribute()
    category = UnicodeAttribute()
    summary = UnicodeAttribute()
    content = UnicodeAttribute()
    pricing = UnicodeAttribute()  # fixed | negotiable
    price = NumberAttribute()  # fen
    currency = UnicodeAttribute(default="CNY")
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    logo_key = UnicodeAttribute(null=True)  # S3 key of the checked logo
    status = UnicodeAttribute(default="draft")  # draft | listed | delisted
    trial_campaign_id = UnicodeAttribute(null=True)
    capacity = NumberAttribute(null=True)  # most open orders at once; None = unlimited
    open_orders = NumberAttribute(default=0)
    rating_sum = NumberAttribute(default=0)  # good +1 / neutral 0 / bad -1
    rating_count = NumberAttribute(default=0)
    ratings_good = NumberAttribute(default=0)
    ratings_neutral = NumberAttribute(default=0)
    ratings_bad = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed_at = UnicodeAttribute(null=True)
    delisted_reason = UnicodeAttribute(null=True)
    guard_keys = ListAttribute(of=UnicodeAttribute, default=list)  # uniqueness claims held while listed
    version = NumberAttribute(default=0)
    extra = MapAttribute(default=dict)

    by_provider = ServicesByProvider()


@table("users")
class UserModel(Model):
    """A user's standing as a buyer: credit moved by providers' reviews."""

    class Meta:
        table_name = "users"

    user_id = UnicodeAttribute(hash_key=True)
    credit = NumberAttribute(default=0)
    ratings_good = NumberAttribute(default=0)
    ratings_neutral = NumberAttribute(default=0)
    ratings_bad = NumberAttribute(default=0)
