"""Optional license check against a published CSV (LICENSE_SHEET_URL), fetched with httpx."""

from __future__ import annotations

import csv
import io

import httpx

from engine.errors import ConfigError

ACTIVE = {"active", "yes", "true", "1", "valid", "enabled"}


def check_license(sheet_url: str, key: str, *, timeout: float = 15.0) -> None:
    """Raise ConfigError unless ``key`` is listed as active in the sheet."""
    if not sheet_url:
        return
    try:
        resp = httpx.get(sheet_url, timeout=timeout, follow_redirects=True)
        resp.raise_for_status()
    except httpx.HTTPError as e:
        raise ConfigError(
            [f"could not fetch the license sheet ({type(e).__name__}); check LICENSE_SHEET_URL"]
        ) from None
    rows = list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"))))
    if not rows:
        raise ConfigError(["the license sheet is empty"])
    header = [h.strip().lower() for h in rows[0]]
    key_col = next((i for i, h in enumerate(header) if h in ("key", "license", "license_key")), 0)
    status_col = next((i for i, h in enumerate(header) if h in ("status", "active", "state")), None)
    for row in rows[1:]:
        if len(row) > key_col and row[key_col].strip() == key.strip():
            if status_col is None or (
                len(row) > status_col and row[status_col].strip().lower() in ACTIVE
            ):
                return
            raise ConfigError(["LICENSE_KEY is not active in the license sheet"])
    raise ConfigError(["LICENSE_KEY was not found in the license sheet"])
