"""When a campaign's lead may get its next email: its due time moved into the campaign's send
window, read in the lead's own zone (or the campaign's). The result is stored on the lead
(``next_send_at``), so the queue stays an index look-up; a claim checks the window again and moves
a lead it finds outside."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from engine.campaigns.config import CampaignConfig, load_all
from engine.config import Settings
from engine.errors import UserInputError
from engine.storage.models import Lead
from engine.zones import zone_from_stored


def stored_zone(value: str | None) -> tzinfo | None:
    """A zone as stored on a lead (an IANA name, or ``UTC+hh:mm``); None when unusable."""
    if not value:
        return None
    try:
        return zone_from_stored(value)
    except UserInputError:
        return None


def lead_zone(lead: Lead, config: CampaignConfig) -> tzinfo:
    return stored_zone(lead.timezone) or config.tz


def allowed_from(lead: Lead, config: CampaignConfig, due: datetime) -> datetime:
    """The first moment at or after ``due`` inside the campaign's window in the lead's zone."""
    window = config.window
    if window is None:
        return due
    return window.next_open(due, lead_zone(lead, config))


def configs(session: Session, base: Settings, now: datetime) -> dict[int, CampaignConfig]:
    """Every campaign's config, read once per transaction (kept in ``session.info``)."""
    cached = session.info.get("campaign_configs")
    if cached is None:
        cached = load_all(session, base, now)
        session.info["campaign_configs"] = cached
    return cached
