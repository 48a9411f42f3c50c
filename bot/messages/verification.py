"""Words for list verification: the import report's lines about mail servers, disposable and
role addresses (``engine.leads.service.ImportReport``), the progress while domains are looked
up, and the answer to /verify (``engine.leads.recheck.Recheck``)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.leads.csv_import import InvalidRow
from engine.leads.recheck import Recheck
from engine.leads.service import ImportReport
from engine.leads.verification import FlaggedRow

SHOWN = 5  # lines listed per kind


def _listed(rows: Sequence[FlaggedRow | InvalidRow], why: bool = False) -> list[str]:
    lines = []
    for row in rows[:SHOWN]:
        email = row.value if isinstance(row, InvalidRow) else row.email
        reason = f" — {row.reason}" if why and isinstance(row, InvalidRow) else ""
        lines.append(f"  line {row.line}: {email[:120]}{reason[:200]}")
    if len(rows) > SHOWN:
        lines.append(f"  … and {len(rows) - SHOWN} more")
    return lines


def import_lines(r: ImportReport) -> list[str]:
    """The report's lines on the checks, each kind with its first lines."""
    lines = []
    if r.no_mail_server:
        lines.append(f"No mail server (invalid, not imported): {len(r.no_mail_server)}")
        lines += _listed(r.no_mail_server, why=True)
    if r.disposable:
        lines.append(f"Disposable addresses (skipped): {len(r.disposable)}")
        lines += _listed(r.disposable)
    if r.unverified:
        lines.append(
            f"Unverified (DNS gave no answer in time; imported): {len(r.unverified)} — "
            "send /verify later to check them again"
        )
        lines += _listed(r.unverified)
    if r.role:
        lines.append(
            f"⚠️ Role addresses (imported): {len(r.role)} — shared inboxes like info@ rarely "
            "answer and report spam more readily; /lead ADDRESS → Stop leaves one out"
        )
        lines += _listed(r.role)
    if r.verified:
        lines.append(f"Mail servers: {r.domains_looked_up} domain(s) looked up")
    else:
        lines.append("Mail servers: not looked up (/settings verify_emails mx turns it on)")
    return lines


def import_verifying_text(done: int, total: int) -> str:
    """The upload's progress while it waits for DNS."""
    return f"⏳ Verifying {total:,} domain(s)… {done:,} checked"


def recheck_progress_text(done: int, total: int) -> str:
    return f"🔎 Checking the mail servers of {total:,} domain(s)… {done:,} checked"


def recheck_text(r: Recheck, several: bool = False) -> str:
    """The answer to /verify; ``several``: there are several campaigns, so it names one."""
    of = f" of {r.campaign}" if several else ""
    if not r.leads:
        return (
            f"🔎 No lead{of} is waiting for its first email: nothing to check. Upload a CSV to "
            "add leads (it is checked as it is imported)."
        )
    lines = [
        f"🔎 Checked {r.leads:,} lead(s){of} waiting for their first email, at "
        f"{r.domains:,} domain(s)."
    ]
    if r.failed:
        lines.append(
            f"❌ {r.failed:,} lead(s) marked invalid: no mail server at "
            + ", ".join(r.dead_domains[:SHOWN])
            + (f" and {len(r.dead_domains) - SHOWN} more" if len(r.dead_domains) > SHOWN else "")
            + ". Nothing will be sent to them."
        )
        lines += [f"  {email}" for email in r.failed_examples[:SHOWN]]
        if r.failed > SHOWN:
            lines.append(f"  … and {r.failed - SHOWN:,} more")
    if r.unverified_domains:
        shown = ", ".join(r.unverified_domains[:SHOWN])
        more = len(r.unverified_domains) - SHOWN
        lines.append(
            f"⚠️ {len(r.unverified_domains):,} domain(s) gave no answer in time ({shown}"
            + (f" and {more} more" if more > 0 else "")
            + f"): their {r.unverified_leads:,} lead(s) are kept. Send /verify again later to "
            "re-check them."
        )
    if not r.failed and not r.unverified_domains:
        lines.append("✅ Every domain has a mail server.")
    return "\n".join(lines)
