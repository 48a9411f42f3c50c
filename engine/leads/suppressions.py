"""Use-cases on the suppression list: page through it, take an entry off it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from engine.context import EngineContext
from engine.errors import UserInputError
from engine.storage.models import Suppression

PER_PAGE = 20


@dataclass(frozen=True)
class Entry:
    id: int
    value: str
    kind: str  # email | domain
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    page: int  # 0-based, clamped to the pages there are
    pages: int
    total: int


def _entry(row: Suppression) -> Entry:
    return Entry(row.id, row.value, row.kind, row.reason or "", row.created_at)


def page(ctx: EngineContext, number: int, per_page: int = PER_PAGE) -> Page:
    """One page of the list, newest first."""
    with ctx.db.transaction() as session:
        total = int(session.scalar(select(func.count()).select_from(Suppression)) or 0)
        pages = max(1, -(-total // per_page))
        number = min(max(number, 0), pages - 1)
        rows = session.scalars(
            select(Suppression)
            .order_by(Suppression.created_at.desc(), Suppression.id.desc())
            .offset(number * per_page)
            .limit(per_page)
        )
        return Page([_entry(r) for r in rows], number, pages, total)


def find(ctx: EngineContext, value: str) -> Entry:
    """The entry for an address or a domain, as the operator typed it."""
    key = value.strip().strip("<>").lower()
    if not key:
        raise UserInputError("Which entry? e.g. /unsuppress ana@acme.io or /unsuppress acme.io")
    with ctx.db.transaction() as session:
        row = session.scalars(select(Suppression).where(Suppression.value == key)).first()
        if row is None:
            domain = key.rsplit("@", 1)[-1] if "@" in key else ""
            held = (
                domain
                and session.scalars(
                    select(Suppression.id).where(Suppression.value == domain)
                ).first()
            )
            hint = f" Its whole domain is: /unsuppress {domain}." if held else ""
            raise UserInputError(
                f"{key[:320]} is not on the suppression list (it holds addresses and domains "
                f"exactly as stored).{hint} /suppressions shows the list."
            )
        return _entry(row)


def remove(ctx: EngineContext, entry_id: int) -> str:
    """Take an entry off the list; returns its value. Leads already stopped stay stopped."""
    with ctx.db.transaction() as session:
        row = session.get(Suppression, entry_id)
        if row is None:
            raise UserInputError("That entry is no longer on the suppression list.")
        value = row.value
        session.execute(delete(Suppression).where(Suppression.id == entry_id))
        return value
