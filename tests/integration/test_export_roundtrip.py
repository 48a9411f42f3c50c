"""/export → CSV import gives back the same addresses: the export's formula protection (a leading
``'`` before = + - @, tab or CR) is undone on the email column, on both databases."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy import delete, select

from engine import campaign
from engine.context import EngineContext
from engine.leads import service as leads
from engine.storage.models import Lead

Ctx = Callable[..., EngineContext]

# Addresses whose first character a spreadsheet reads as a formula, and one that is plain.
EMAILS = ["-f3@w.example", "+tag@plus.io", "=eq@sign.io", "plain@x.io"]


def _stored(ctx: EngineContext) -> list[str]:
    with ctx.db.transaction() as session:
        return list(session.scalars(select(Lead.email).order_by(Lead.id)))


def test_it_reimports_its_own_export_as_the_same_addresses(make_ctx: Ctx) -> None:
    ctx = make_ctx()
    source = "email,first_name\n" + "".join(f"{e},-Ann\n" for e in EMAILS)
    assert leads.import_csv(ctx, source.encode()).imported == len(EMAILS)
    exported = campaign.export_csv(ctx)
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert sorted(r["email"] for r in rows) == sorted(
        ["'-f3@w.example", "'+tag@plus.io", "'=eq@sign.io", "plain@x.io"]
    )  # the export still protects the cells

    again = leads.import_csv(ctx, exported)

    assert again.imported == 0 and again.invalid == []
    assert len(again.already_stored) == len(EMAILS)
    assert sorted(_stored(ctx)) == sorted(EMAILS)

    with ctx.db.transaction() as session:
        session.execute(delete(Lead))
    fresh = leads.import_csv(ctx, exported)

    assert fresh.imported == len(EMAILS)
    assert sorted(_stored(ctx)) == sorted(EMAILS)


def test_it_keeps_a_leading_quote_the_export_did_not_add(make_ctx: Ctx) -> None:
    ctx = make_ctx()
    report = leads.import_csv(ctx, b"email\n'quote@x.io\n")

    # ' before a letter is not the export's protection, so it stays (and is an address of its own)
    assert report.imported == 1
    assert _stored(ctx) == ["'quote@x.io"]
