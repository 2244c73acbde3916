"""Providers and services: the catalog's PynamoDB models.

Access patterns (see README):
- provider by id ............................ providers: user_id
- applications by status, oldest first ...... providers.by_status: status, applied_at
- service by id ............................. services: id
- a provider's services, newest first ....... services.by_provider: provider_id, created_at
- a provider's listed services (sparse) ...... services.by_listed_provider: listed_provider_id, listed_at
- trial services of a campaign .............. services.by_trial_campaign: trial_campaign_id, created_at
- uniqueness claim by key ................... catalog_guards: key (TITLE#<provider>#<title>, TRIAL#<campaign>#<provider>)
- campaign by id ............................ campaigns: id
- campaigns by end time ..................... campaigns.by_end: kind, ends_at
- ended campaigns not yet swept (sparse) .... campaigns.by_pending_end: kind, pending_end
"""
from pynamodb.attributes import (UnicodeSetAttribute, BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute,
                                 UnicodeAttribute)
from pynamodb.exceptions import DoesNotExist
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
    # Qualification documents (services.provider_documents): plain maps, at most 10.
    documents = ListAttribute(null=True)

    by_status = ProvidersByStatus()


def get_provider(user_id: str) -> ProviderModel | None:
    """A provider's profile, or None before any application. The one provider lookup:
    the catalog checks providers with it and providers' own use cases read with it."""
    try:
        return ProviderModel.get(user_id, consistent_read=True)
    except DoesNotExist:
        return None


class ServicesByProvider(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_provider"
        projection = AllProjection()

    provider_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ServicesByListedProvider(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_listed_provider"
        projection = AllProjection()

    listed_provider_id = UnicodeAttribute(hash_key=True)
    listed_at = UnicodeAttribute(range_key=True)


class ServicesByTrialCampaign(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_trial_campaign"
        projection = AllProjection()

    trial_campaign_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


@table("services")
class ServiceModel(Model):
    """A published service. Orders condition their placement on `status == "listed"` and
    on `open_orders < capacity`, and keep `open_orders` in step in their transactions."""

    class Meta:
        table_name = "services"
        # The market index follows the services from this stream (services.market_index):
        # both images, so a change's consumer sees what the service was and is.
        stream_view_type = "NEW_AND_OLD_IMAGES"

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
    featured = BooleanAttribute(default=False)  # 小二推荐: shown under featured=true while listed
    featured_at = UnicodeAttribute(null=True)
    featured_by = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    extra = MapAttribute(default=dict)
    # The menu (issue 26): packages, extras and the requirement form's questions, each a
    # list of plain maps (domain.choices); a null field is left out of its map.
    packages = ListAttribute(null=True)
    extras = ListAttribute(null=True)
    questions = ListAttribute(null=True)
    # Checked pictures for the content: "<image id>=<S3 key>" (services.catalog.images).
    images = UnicodeSetAttribute(null=True)
    # The content rendered when written, and the fingerprint of what it was rendered from
    # (services.content.stored_html): a read answers it only while that still matches.
    content_html = UnicodeAttribute(null=True)
    content_html_of = UnicodeAttribute(null=True)

    # Set only while listed, so the duplicate check and a suspension read the (at most
    # eleven) listed services of a provider rather than every draft it ever wrote.
    listed_provider_id = UnicodeAttribute(null=True)

    by_provider = ServicesByProvider()
    by_listed_provider = ServicesByListedProvider()
    by_trial_campaign = ServicesByTrialCampaign()


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
    # Orders awaiting payment with no payment pending (MAX_UNPAID_ORDERS), moved in the
    # transactions that place, start paying or close them.
    unpaid_orders = NumberAttribute(null=True)


@table("catalog_guards")
class GuardModel(Model):
    """A uniqueness claim put with attribute_not_exists inside the listing transaction,
    so two racing listings cannot both hold it: one listed title per provider
    (TITLE#…, removed on delist) and one trial slot per provider per campaign (TRIAL#…,
    kept for good)."""

    class Meta:
        table_name = "catalog_guards"

    key = UnicodeAttribute(hash_key=True)
    service_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class CampaignsByEnd(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_end"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    ends_at = UnicodeAttribute(range_key=True)


class CampaignsByPendingEnd(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_pending_end"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    pending_end = UnicodeAttribute(range_key=True)


CAMPAIGN_KIND = "campaign"


@table("campaigns")
class CampaignModel(Model):
    """A trial campaign (e.g. 新店体验季). Campaigns are few, so one `kind` partition
    in the by_end index holds them all in end-time order. `pending_end` is removed once
    the sweep has delisted the campaign's trial services, keeping each sweep small."""

    class Meta:
        table_name = "campaigns"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=CAMPAIGN_KIND)
    name = UnicodeAttribute()
    starts_at = UnicodeAttribute()  # clock.to_key
    ends_at = UnicodeAttribute()
    pending_end = UnicodeAttribute(null=True)
    max_price = NumberAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()

    by_end = CampaignsByEnd()
    by_pending_end = CampaignsByPendingEnd()


# --- keys: the uniqueness guards ---------------------------------------------------
def title_guard_key(provider_id: str, normalized_title: str) -> str:
    """One listed service per provider and (normalised) title."""
    return f"TITLE#{provider_id}#{normalized_title}"


def trial_guard_key(campaign_id: str, provider_id: str) -> str:
    """One trial listing per provider and campaign, kept after delisting."""
    return f"TRIAL#{campaign_id}#{provider_id}"
