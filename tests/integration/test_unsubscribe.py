"""One-click unsubscribe through a real uvicorn server serving the process's ``/u/TOKEN`` route,
with the send queue against the real aiosmtpd server and a FakeClock, on SQLite and PostgreSQL.

The links come from what the SMTP server received: the test follows the email's own header, as
a mail provider would."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette

from bot.ratelimit import RequestLimiter
from bot.unsubscribe import unsubscribe_routes
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.leads import service as leads
from engine.sending.messages import make_message_id
from engine.sending.queue import run_send_queue
from engine.states import LeadStatus, MessageKind, NoticeKind, OutboundState
from engine.storage.models import CALENDAR_STEP, OutboundMessage, Suppression
from tests.e2e.proc import free_port
from tests.integration.sendkit import add_leads, lead, outbox, set_status, start
from tests.servers.smtp import SmtpServer
from tests.waiting import wait_until

Ctx = Callable[..., EngineContext]
SECRET_KEY = "unsubscribe-test-secret-0123456789"
ANA, BOB = "ana@acme.io", "bob@beta.io"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
# RFC 8058 section 3.1: the https URI (first here), then our mailto, each in angle brackets.
LIST_UNSUBSCRIBE = re.compile(r"<(https?://[^<>\s,]+)>, <mailto:[^<>\s,]+\?subject=unsubscribe>")


class Web:
    """A real uvicorn server in a thread, serving the unsubscribe route for one context."""

    def __init__(self, ctx: EngineContext, port: int, limiter: RequestLimiter) -> None:
        app = Starlette(routes=unsubscribe_routes(ctx, limiter))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> Web:
        self.thread.start()
        wait_until(lambda: self.server.started, 10, "uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def ctx(engine_ctx: Ctx, port: int) -> EngineContext:
    return engine_ctx(
        PUBLIC_URL=f"http://127.0.0.1:{port}", SECRET_KEY=SECRET_KEY, FOLLOWUP_DELAYS="1h,1h"
    )


@pytest.fixture
def limiter() -> RequestLimiter:
    return RequestLimiter(limit=1000)


@pytest.fixture
def web(ctx: EngineContext, port: int, limiter: RequestLimiter) -> Iterator[Web]:
    with Web(ctx, port, limiter) as w:
        yield w


def header_link(msg: EmailMessage) -> str:
    """The https link of a received message's List-Unsubscribe, checked for RFC 8058's shape."""
    value = " ".join(str(msg["List-Unsubscribe"]).split())
    m = LIST_UNSUBSCRIBE.fullmatch(value)
    assert m, value
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    return m.group(1)


def first_emails(ctx: EngineContext, mailer, smtp_server: SmtpServer) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Start the campaign with Ana and Bob; the link each first email carries."""
    start(ctx)
    add_leads(ctx, ANA, BOB)
    assert run_send_queue(ctx, mailer).sent == 2
    return {r.rcpt_tos[0]: header_link(r.message) for r in smtp_server.messages}


def suppressed(ctx: EngineContext) -> set[str]:
    with ctx.db.transaction() as session:
        return set(session.scalars(select(Suppression.value)))


def notices(ctx: EngineContext) -> list[dict]:
    return [dict(n.payload) for n in outbox(ctx, NoticeKind.UNSUBSCRIBE_LINK)]


def followups_after_an_hour(
    ctx: EngineContext, mailer, smtp_server: SmtpServer, clock: FakeClock
) -> list[str]:  # type: ignore[no-untyped-def]
    smtp_server.clear_messages()
    clock.advance(timedelta(hours=1))
    run_send_queue(ctx, mailer)
    return [r.rcpt_tos[0] for r in smtp_server.messages]


# --- POST ---------------------------------------------------------------------------------------


def test_the_one_click_post_unsubscribes_at_once_and_no_followup_follows(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    mailer = mailers(ctx)
    links = first_emails(ctx, mailer, smtp_server)
    assert links[ANA].startswith(f"{web.url}/u/") and links[ANA] != links[BOB]

    r = httpx.post(links[ANA], data=ONE_CLICK, timeout=10)

    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert lead(ctx, ANA).status == LeadStatus.UNSUBSCRIBED
    assert lead(ctx, ANA).queue is None
    assert ANA in suppressed(ctx)
    assert [(n["email"], n["lead_id"]) for n in notices(ctx)] == [(ANA, lead(ctx, ANA).id)]
    assert followups_after_an_hour(ctx, mailer, smtp_server, clock) == [BOB]
    clock.advance(timedelta(days=30))
    run_send_queue(ctx, mailer)
    assert ANA not in [r.rcpt_tos[0] for r in smtp_server.messages]


def test_a_multipart_one_click_post_unsubscribes_too(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    r = httpx.post(links[BOB], files={"List-Unsubscribe": (None, "One-Click")}, timeout=10)
    assert r.status_code == 200
    assert lead(ctx, BOB).status == LeadStatus.UNSUBSCRIBED


def test_a_repeated_post_is_harmless_and_tells_the_admins_once(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    answers = [httpx.post(links[ANA], data=ONE_CLICK, timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("You are unsubscribed" in a.text for a in answers)
    assert lead(ctx, ANA).status == LeadStatus.UNSUBSCRIBED
    assert len(notices(ctx)) == 1


def test_concurrent_posts_for_one_lead_unsubscribe_it_once(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    codes: list[int] = []

    def post() -> None:
        codes.append(httpx.post(links[ANA], data=ONE_CLICK, timeout=10).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert codes == [200] * 4
    assert len(notices(ctx)) == 1


def test_a_post_without_the_one_click_body_changes_nothing_and_offers_the_button(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    for data in ({}, {"List-Unsubscribe": "Yes"}):
        r = httpx.post(links[ANA], data=data, timeout=10)
        assert r.status_code == 400 and "<form" in r.text
    r = httpx.post(links[ANA], content=b"x" * 100_000, timeout=10)
    assert r.status_code == 413
    assert lead(ctx, ANA).status == LeadStatus.SENT
    assert ANA not in suppressed(ctx) and notices(ctx) == []


def test_a_lead_that_replied_stays_replied_and_is_suppressed(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    set_status(ctx, ANA, LeadStatus.REPLIED)
    assert httpx.post(links[ANA], data=ONE_CLICK, timeout=10).status_code == 200
    assert lead(ctx, ANA).status == LeadStatus.REPLIED
    assert ANA in suppressed(ctx) and len(notices(ctx)) == 1


def test_a_lead_deleted_since_gets_the_done_page_and_nothing_is_written(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    leads.delete_lead(ctx, lead(ctx, ANA).id)
    r = httpx.post(links[ANA], data=ONE_CLICK, timeout=10)
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert suppressed(ctx) == set() and notices(ctx) == []


# --- GET ----------------------------------------------------------------------------------------


def test_a_get_shows_the_button_and_never_unsubscribes(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    mailer = mailers(ctx)
    links = first_emails(ctx, mailer, smtp_server)

    page = httpx.get(links[ANA], timeout=10)
    head = httpx.head(links[ANA], timeout=10)

    assert page.status_code == 200 and head.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="viewport"' in page.text and ">Unsubscribe</button>" in page.text
    assert lead(ctx, ANA).status == LeadStatus.SENT
    assert suppressed(ctx) == set() and notices(ctx) == []
    assert sorted(followups_after_an_hour(ctx, mailer, smtp_server, clock)) == [ANA, BOB]


def test_the_pages_button_posts_the_one_click_form_and_the_page_confirms(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    page = httpx.get(links[ANA], timeout=10).text
    form = re.search(r'<form method="post">(.*?)</form>', page, re.S)
    assert form is not None
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', form[1]))
    # A browser posts the form to the page's own address (no action attribute).
    r = httpx.post(links[ANA], data=fields, timeout=10)
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert lead(ctx, ANA).status == LeadStatus.UNSUBSCRIBED


# --- forged links -------------------------------------------------------------------------------


def test_a_tampered_token_gets_404_and_nothing_changes(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    mailer = mailers(ctx)
    links = first_emails(ctx, mailer, smtp_server)
    token = links[ANA].rsplit("/", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    bob_token = links[BOB].rsplit("/", 1)[1]
    forged = [
        f"{web.url}/u/{flipped}",
        f"{web.url}/u/{token[:-1]}",
        f"{web.url}/u/{token[:8]}{bob_token[8:]}",
        f"{web.url}/u/not-a-token",
    ]
    for url in forged:
        assert httpx.post(url, data=ONE_CLICK, timeout=10).status_code == 404, url
        assert httpx.get(url, timeout=10).status_code == 404, url
    assert {lead(ctx, a).status for a in (ANA, BOB)} == {LeadStatus.SENT}
    assert suppressed(ctx) == set() and notices(ctx) == []
    assert sorted(followups_after_an_hour(ctx, mailer, smtp_server, clock)) == [ANA, BOB]


def test_a_link_signed_with_another_secret_key_gets_404(
    ctx: EngineContext, engine_ctx: Ctx, port: int, mailers, smtp_server: SmtpServer
) -> None:
    other = engine_ctx(PUBLIC_URL=f"http://127.0.0.1:{port}", SECRET_KEY="a-different-key-0000")
    links = first_emails(ctx, mailers(ctx), smtp_server)
    with Web(other, port, RequestLimiter()):
        assert httpx.post(links[ANA], data=ONE_CLICK, timeout=10).status_code == 404
    assert lead(ctx, ANA).status == LeadStatus.SENT


# --- rate limit ---------------------------------------------------------------------------------


def test_it_answers_429_past_the_limit_per_address(
    ctx: EngineContext, engine_ctx: Ctx, port: int, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    with Web(ctx, port, RequestLimiter(limit=3, window=3600)):
        codes = [httpx.get(links[ANA], timeout=10).status_code for _ in range(3)]
        refused = httpx.post(links[ANA], data=ONE_CLICK, timeout=10)
    assert codes == [200, 200, 200]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert lead(ctx, ANA).status == LeadStatus.SENT


# --- the headers and the placeholder ------------------------------------------------------------


def parsed(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_initial_and_followup_emails_carry_both_headers_and_the_body_link_is_the_same(
    ctx: EngineContext, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    mailer = mailers(ctx)
    campaign.change_template(
        ctx, "initial", "Subject: Hi {first_name}\n\nHello.\n\nNo more: {unsubscribe_link}"
    )
    campaign.change_template(ctx, "followup_1", "Again.\n\nNo more: {unsubscribe_link}")
    links = first_emails(ctx, mailer, smtp_server)
    first = smtp_server.by_recipient(ANA)[0]
    assert sorted(followups_after_an_hour(ctx, mailer, smtp_server, clock)) == [ANA, BOB]
    followup = smtp_server.by_recipient(ANA)[0]
    assert followup.message["In-Reply-To"] == first.message["Message-ID"]

    for received in (first, followup):
        msg = parsed(received.data)  # the bytes on the wire, parsed afresh
        assert header_link(msg) == links[ANA]
        assert msg.get_body(("plain",)).get_content().rstrip().endswith(f"No more: {links[ANA]}")
        assert len(msg.get_all("List-Unsubscribe")) == 1


def test_without_public_url_emails_carry_only_todays_mailto_header(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(SECRET_KEY=SECRET_KEY, FOLLOWUP_DELAYS="1h")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, ANA)
    run_send_queue(ctx, mailer)
    clock.advance(timedelta(hours=1))
    run_send_queue(ctx, mailer)
    assert len(smtp_server.by_recipient(ANA)) == 2  # the first email and its follow-up
    for r in smtp_server.messages:
        assert (
            str(r.message["List-Unsubscribe"]) == "<mailto:sender@example.com?subject=unsubscribe>"
        )
        assert r.message["List-Unsubscribe-Post"] is None


def test_calendar_answers_and_test_emails_carry_no_one_click_header(
    ctx: EngineContext, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    mailer = mailers(ctx)
    first_emails(ctx, mailer, smtp_server)
    set_status(ctx, ANA, LeadStatus.REPLIED)
    ana = lead(ctx, ANA)
    with ctx.db.transaction() as session:
        session.add(
            OutboundMessage(
                lead_id=ana.id,
                kind=MessageKind.CALENDAR,
                step=CALENDAR_STEP,
                message_id=make_message_id("sender@example.com"),
                to_email=ana.email,
                subject="Re: Hi",
                body="Book a time: https://cal.example.com/sam",
                state=OutboundState.QUEUED,
                attempts=0,
                created_at=clock.now(),
                campaign_id=ana.campaign_id,
            )
        )
    smtp_server.clear_messages()
    run_send_queue(ctx, mailer)
    campaign.send_test(ctx, "me@example.org")

    calendar, test = smtp_server.by_recipient(ANA)[0], smtp_server.by_recipient("me@example.org")[0]
    for r in (calendar, test):
        assert str(r.message["List-Unsubscribe"]).startswith("<mailto:")
        assert r.message["List-Unsubscribe-Post"] is None


def test_the_placeholder_is_refused_at_save_without_public_url(engine_ctx: Ctx) -> None:
    ctx = engine_ctx(SECRET_KEY=SECRET_KEY)
    with pytest.raises(UserInputError, match=r"\{unsubscribe_link\} needs PUBLIC_URL"):
        campaign.change_template(ctx, "initial", "Subject: Hi\n\nBye: {unsubscribe_link}")
    assert "{unsubscribe_link}" not in campaign.templates_view(ctx)[0].body


def test_a_test_email_shows_a_sample_link_that_unsubscribes_nobody(
    ctx: EngineContext, web: Web, mailers, smtp_server: SmtpServer
) -> None:
    links = first_emails(ctx, mailers(ctx), smtp_server)
    campaign.change_template(ctx, "initial", "Subject: Hi\n\nBye: {unsubscribe_link}")
    campaign.send_test(ctx, "me@example.org")
    body = smtp_server.by_recipient("me@example.org")[0].message.get_content()
    sample = re.search(r"Bye: (\S+)", body)
    assert sample is not None and sample[1].startswith(f"{web.url}/u/")
    assert sample[1] not in links.values()
    assert httpx.get(sample[1], timeout=10).status_code == 200
    assert httpx.post(sample[1], data=ONE_CLICK, timeout=10).status_code == 200
    assert suppressed(ctx) == set() and notices(ctx) == []
    assert {lead(ctx, a).status for a in (ANA, BOB)} == {LeadStatus.SENT}
