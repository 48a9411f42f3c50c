"""When a campaign's lead may get its next email: its due time moved into the campaign's send
window, read in the lead's own zone (or the campaign's). The result is stored on the lead
(``next_send_at``), so the queue stays an index look-up; a claim checks the window again and moves
a lead it finds outside."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from engine.campaigns.config import CampaignConfig, load_all
from engine.config import Settings
from engine.storage.models import Lead


def stored_zone(value: str | None) -> tzinfo | None:
    """A zone as stored on a lead (an IANA name, or ``UTC+hh:mm``); None when unusable."""
    if not value:
        return None
    if value.startswith("UTC") and len(value) == 9 and value[3] in "+-":
        try:
            hours, minutes = int(value[4:6]), int(value[7:9])
        except ValueError:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if value[3] == "-" else offset)
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def lead_zone(lead: Lead, config: CampaignConfig) -> tzinfo:
    return stored_zone(lead.timezone) or config.tz


def allowed_from(lead: Lead, config: CampaignConfig, due: datetime) -> datetime:
    """The first moment at or after ``due`` inside the campaign's window in the lead's zone."""
    window = config.window
    if window is None:
        return due
    return window.next_open(due, lead_zone(lead, config))  # type: ignore[arg-type]


def configs(session: Session, base: Settings, now: datetime) -> dict[int, CampaignConfig]:
    """Every campaign's config, read once per transaction (kept in ``session.info``)."""
    cached = session.info.get("campaign_configs")
    if cached is None:
        cached = load_all(session, base, now)
        session.info["campaign_configs"] = cached
    return cached
