"""Trial campaigns (e.g. 新店体验季): created by operators, open to trial listings
while active."""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, ids
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import ValidationFailed
from chalicelib.storage import base
from chalicelib.storage.catalog import CAMPAIGN_KIND, CampaignModel


def create_campaign(operator: Caller, *, name: str, starts_at: datetime, ends_at: datetime,
                    max_price: int, now: datetime) -> dict:
    """Create a campaign; it is active from starts_at (inclusive) to ends_at (exclusive)."""
    if ends_at <= starts_at:
        raise ValidationFailed("ends_at must be after starts_at", errors=[
            {"field": "ends_at", "problem": "must be after starts_at"}])
    campaign = CampaignModel(
        ids.new_id("cmp"), kind=CAMPAIGN_KIND, name=name, starts_at=clock.to_key(starts_at),
        ends_at=clock.to_key(ends_at), pending_end=clock.to_key(ends_at), max_price=max_price,
        created_by=operator.user_id, created_at=clock.to_key(now))
    campaign.save(condition=CampaignModel.id.does_not_exist())
    return view(campaign, now)


def get_campaign(campaign_id: str) -> CampaignModel | None:
    try:
        return CampaignModel.get(campaign_id, consistent_read=True)
    except DoesNotExist:
        return None


def is_active(campaign: CampaignModel, now: datetime) -> bool:
    key = clock.to_key(now)
    return campaign.starts_at <= key < campaign.ends_at


def active_campaigns(now: datetime, limit: int, start_key) -> tuple[list[dict], dict | None]:
    """Campaigns running now, ending soonest first."""
    key = clock.to_key(now)
    # Campaigns scheduled but not started are read and filtered out: bounded per request.
    found, last_key, _ = base.bounded_query(
        CampaignModel, CampaignModel.by_end, CAMPAIGN_KIND, range_key_condition=(
            CampaignModel.ends_at > key), filter_condition=CampaignModel.starts_at <= key,
        limit=limit, read_budget=base.READ_BUDGET, last_evaluated_key=start_key,
        page_size=max(limit, 20), later_page_size=100)
    return [view(c, now) for c in found], last_key


def current_campaigns(now: datetime, limit: int, start_key) -> tuple[list[dict], dict | None]:
    """Operators: every campaign that has not ended — running and scheduled (upcoming) —
    ending soonest first, so one created to start later is seen as soon as it exists."""
    found = CampaignModel.by_end.query(CAMPAIGN_KIND, CampaignModel.ends_at > clock.to_key(now),
                                       limit=limit, last_evaluated_key=start_key)
    items = [view(c, now) for c in found]
    return items, found.last_evaluated_key


def phase(campaign: CampaignModel, now: datetime) -> str:
    key = clock.to_key(now)
    return "upcoming" if key < campaign.starts_at else "active" if key < campaign.ends_at \
        else "ended"


def view(campaign: CampaignModel, now: datetime) -> dict:
    return {
        "id": campaign.id, "name": campaign.name,
        "starts_at": clock.key_to_iso(campaign.starts_at),
        "ends_at": clock.key_to_iso(campaign.ends_at), "max_price": int(campaign.max_price),
        "currency": "CNY", "active": is_active(campaign, now), "phase": phase(campaign, now),
    }
