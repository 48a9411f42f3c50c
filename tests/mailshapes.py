"""Builders of real-world-shaped raw messages (bytes, CRLF line endings).

Each builder mimics what a given provider actually puts in an inbox: header
names and order, MIME structure, quoting style. They take the identifiers as
parameters so IMAP end-to-end tests can APPEND them to a real mailbox and thread
them onto messages the engine really sent.

Message-ids are passed and returned WITH angle brackets ("<abc@x>").
"""

from __future__ import annotations

import base64
import quopri
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime
from hashlib import sha1

DEFAULT_DATE = datetime(2024, 1, 15, 10, 2, 0, tzinfo=UTC)
OUR_FOOTER = "Reply 'unsubscribe' and I won't email you again."


def _crlf(text: str) -> bytes:
    lines = text.replace("\r\n", "\n").split("\n")
    return "\r\n".join(lines).encode("utf-8")


def _date(when: datetime | None) -> str:
    return format_datetime(when or DEFAULT_DATE)


def _mid(seed: str, domain: str) -> str:
    return f"<{sha1(seed.encode()).hexdigest()[:24]}@{domain}>"


def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[-1] if "@" in addr else "example.com"


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def _b64(text: str) -> str:
    return base64.encodebytes(text.encode("utf-8")).decode("ascii").rstrip("\n")


def _enc(text: str) -> str:
    """RFC 2047-encode a header value when it is not plain ASCII."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return Header(text, "utf-8").encode()


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _fold_ids(ids: list[str], *, commas: bool) -> str:
    if commas:
        return ", ".join(ids)
    # Folded one id per line, as Gmail/Thunderbird do for long References.
    return "\n ".join(ids)


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html_lines(text: str) -> str:
    return "<br>\n".join(_html_escape(line) for line in text.split("\n"))


def default_original_body(footer: str = OUR_FOOTER) -> str:
    """The cold email we sent, as it appears quoted in replies."""
    return (
        "Hi Jane,\n"
        "\n"
        "I noticed Acme is hiring SDRs. We help teams like yours book more meetings\n"
        "without adding headcount. Worth a 15 minute call next week?\n"
        "\n"
        "Best,\n"
        "Sam\n"
        "\n"
        f"{footer}"
    )


# --------------------------------------------------------------------------- bounces


_GMAIL_DIAGNOSTIC = {
    "5.1.1": (
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
        " 550-5.1.1 double-checking the recipient's email address for typos or\n"
        " 550-5.1.1 unnecessary spaces. For more information, go to\n"
        " 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp"
    ),
    "5.2.2": (
        "552-5.2.2 The recipient's inbox is out of storage space. Please direct the\n"
        " 552-5.2.2 recipient to\n"
        " 552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm a1si123 - gsmtp"
    ),
    "4.2.2": (
        "452-4.2.2 The recipient's inbox is out of storage space and inbound mail\n"
        " 452-4.2.2 cannot be delivered. Please try again later.\n"
        " 452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp a1si123 - gsmtp"
    ),
}


def _original_copy(
    sender: str, rcpt: str, message_id: str, subject: str, body: str, date: datetime | None
) -> str:
    return (
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + _domain(sender) + "; s=s1;\n"
        " h=from:to:subject:message-id:date; bh=abc=; b=def=\n"
        f"From: Sam Sender <{sender}>\n"
        f"To: {rcpt}\n"
        f"Subject: {_enc(subject)}\n"
        f"Message-ID: {message_id}\n"
        f"Date: {_date(date)}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        f"{body}\n"
    )


def gmail_dsn(
    failed_rcpt: str,
    original_message_id: str,
    status: str = "5.1.1",
    *,
    sender: str = "sam@ourdomain.com",
    original_subject: str = "Quick question",
    message_id: str | None = None,
    headers_only: bool = False,
    date: datetime | None = None,
) -> bytes:
    """Gmail's "Delivery Status Notification" (multipart/report; report-type=delivery-status).

    Structure as Gmail sends it: multipart/related(multipart/alternative(text/plain,
    text/html), image/png) explanation, message/delivery-status, then the original as
    message/rfc822 (or text/rfc822-headers with ``headers_only``). The DSN carries
    In-Reply-To/References naming the original, so naive threading sees a "reply".
    A 4.x.x ``status`` produces Gmail's "(Delay)" variant with ``Action: delayed``.
    """
    delayed = status.startswith("4")
    action = "delayed" if delayed else "failed"
    title = "Delay" if delayed else "Failure"
    message_id = message_id or _mid(f"dsn{failed_rcpt}{original_message_id}", "mx.google.com")
    code = {"5": "550", "4": "451"}[status[0]]
    diagnostic = _GMAIL_DIAGNOSTIC.get(status, f"{code} {status} Delivery failed - gsmtp")
    rcpt_domain = _domain(failed_rcpt)
    if status == "5.2.2":
        explain = (
            f"** Recipient inbox full **\n\nYour message couldn't be delivered to {failed_rcpt}. "
            "Their inbox is full, or it's getting too much mail right now."
        )
    elif delayed:
        explain = (
            f"** Message delayed **\n\nThere was a temporary problem delivering your message to "
            f"{failed_rcpt}. Gmail will retry for 46 more hours. You'll be notified if the "
            "delivery fails permanently."
        )
    else:
        explain = (
            f"** Address not found **\n\nYour message wasn't delivered to {failed_rcpt} because "
            "the address couldn't be found, or is unable to receive mail."
        )
    plain = (
        f"{explain}\n\nLearn more here: https://support.google.com/mail/?p=NoSuchUser\n\n"
        f"The response was:\n\n{diagnostic.replace(chr(10) + ' ', chr(10))}\n"
    )
    html = (
        "<html><head><style>* {font-family:Roboto, sans-serif;}</style></head><body>"
        '<table><tr><td><img src="cid:icon.png" width="24" height="24"></td>'
        f"<td>{_html_lines(explain)}</td></tr></table></body></html>"
    )
    icon = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode("ascii").rstrip("\n")
    if headers_only:
        original = (
            "Content-Type: text/rfc822-headers\n\n"
            + _original_copy(
                sender, failed_rcpt, original_message_id, original_subject, "", date
            ).split("\n\n", 1)[0]
            + "\n"
        )
    else:
        original = "Content-Type: message/rfc822\n\n" + _original_copy(
            sender,
            failed_rcpt,
            original_message_id,
            original_subject,
            default_original_body(),
            date,
        )
    text = f"""Delivered-To: {sender}
Received: by 2002:a05:6a10:1234 with SMTP id abc;
        {_date(date)}
Return-Path: <>
Received: from mail-sor-f69.google.com (mail-sor-f69.google.com. [209.85.220.69])
        by mx.google.com with SMTPS id a1sor123.2024.01.15.10.02.00
        for <{sender}>;
        {_date(date)}
Content-Type: multipart/report; boundary="000000000000a1b2c3d4e5f60718"; report-type=delivery-status
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {sender}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification ({title})
References: {original_message_id}
In-Reply-To: {original_message_id}
X-Failed-Recipients: {failed_rcpt}
Message-ID: {message_id}
Date: {_date(date)}

--000000000000a1b2c3d4e5f60718
Content-Type: multipart/related; boundary="000000000000b2c3d4e5f6071800"

--000000000000b2c3d4e5f6071800
Content-Type: multipart/alternative; boundary="000000000000c3d4e5f607180011"

--000000000000c3d4e5f607180011
Content-Type: text/plain; charset="UTF-8"

{plain}
--000000000000c3d4e5f607180011
Content-Type: text/html; charset="UTF-8"

{html}

--000000000000c3d4e5f607180011--
--000000000000b2c3d4e5f6071800
Content-Type: image/png; name="icon.png"
Content-Disposition: attachment; filename="icon.png"
Content-Transfer-Encoding: base64
Content-ID: <icon.png>

{icon}
--000000000000b2c3d4e5f6071800--
--000000000000a1b2c3d4e5f60718
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; {sender}
Arrival-Date: {_date(date)}
X-Original-Message-ID: {original_message_id}

Final-Recipient: rfc822; {failed_rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.{rcpt_domain}. (192.0.2.25, the server for the domain {rcpt_domain}.)
Diagnostic-Code: smtp; {diagnostic}
Last-Attempt-Date: {_date(date)}

--000000000000a1b2c3d4e5f60718
{original}
--000000000000a1b2c3d4e5f60718--
"""
    return _crlf(text)


def postfix_bounce(
    failed_rcpt: str,
    original_message_id: str,
    status: str = "5.1.1",
    *,
    sender: str = "sam@ourdomain.com",
    reporting_mta: str = "mail.ourdomain.com",
    original_subject: str = "Quick question",
    message_id: str | None = None,
    with_dsn_part: bool = True,
    date: datetime | None = None,
) -> bytes:
    """Postfix's "Undelivered Mail Returned to Sender" from MAILER-DAEMON.

    With ``with_dsn_part`` (the default) it is a multipart/report like Postfix
    sends; without it, an old-style single text/plain bounce where the recipient,
    the codes and the original's Message-ID must be read from the text.
    """
    message_id = message_id or _mid(f"pf{failed_rcpt}{original_message_id}", reporting_mta)
    code = {"5.1.1": "550", "5.2.2": "552", "4.2.2": "452"}.get(status, f"{status[0]}50")
    reason = {
        "5.1.1": "Recipient address rejected: User unknown in virtual mailbox table",
        "5.2.2": "Mailbox full",
        "4.2.2": "Mailbox full, try again later",
    }.get(status, "Delivery failed")
    said = (
        f"<{failed_rcpt}>: host mx.{_domain(failed_rcpt)}[192.0.2.25] said: {code} {status}\n"
        f"    <{failed_rcpt}>: {reason} (in reply to RCPT TO command)"
    )
    notification = f"""This is the mail system at host {reporting_mta}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

{said}
"""
    original = _original_copy(
        sender, failed_rcpt, original_message_id, original_subject, default_original_body(), date
    )
    head = f"""Return-Path: <>
Delivered-To: {sender}
Received: by {reporting_mta} (Postfix)
\tid 4TDx1234; {_date(date)}
Date: {_date(date)}
From: MAILER-DAEMON@{reporting_mta} (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {sender}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Message-Id: {message_id}
"""
    if not with_dsn_part:
        text = (
            head
            + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            + notification
            + "\n--- Undelivered message headers follow ---\n\n"
            + original.split("\n\n", 1)[0]
            + "\n"
        )
        return _crlf(text)
    boundary = f"4TDx1234.1705312920/{reporting_mta}"
    text = f"""{head}Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Content-Transfer-Encoding: 8bit

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8

{notification}
--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {reporting_mta}
X-Postfix-Queue-ID: 4TDx1234
X-Postfix-Sender: rfc822; {sender}
Arrival-Date: {_date(date)}

Final-Recipient: rfc822; {failed_rcpt}
Original-Recipient: rfc822;{failed_rcpt}
Action: {"delayed" if status.startswith("4") else "failed"}
Status: {status}
Remote-MTA: dns; mx.{_domain(failed_rcpt)}
Diagnostic-Code: smtp; {code} {status} <{failed_rcpt}>: {reason} (in
    reply to RCPT TO command)

--{boundary}
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

{original}
--{boundary}--
"""
    return _crlf(text)


# --------------------------------------------------------------------------- auto-replies


def exchange_out_of_office(
    from_addr: str,
    in_reply_to: str,
    *,
    to_addr: str = "sam@ourdomain.com",
    original_subject: str = "Quick question",
    message_id: str | None = None,
    from_name: str = "Jane Doe",
    date: datetime | None = None,
) -> bytes:
    """Exchange Online / Outlook "Automatic reply:" (OOF).

    Headers as Exchange stamps them: Auto-Submitted: auto-generated,
    X-Auto-Response-Suppress: All, X-MS-Exchange-Inbox-Rules-Loop naming the mailbox,
    X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent; multipart/alternative.
    """
    message_id = message_id or _mid(
        f"oof{from_addr}{in_reply_to}", "AM0PR01MB1234.eurprd01.prod.outlook.com"
    )
    body = (
        "Thank you for your email. I am out of the office until Monday, January 22nd\n"
        "with limited access to email. For urgent matters please contact\n"
        "office@" + _domain(from_addr) + ".\n\nKind regards,\n" + from_name
    )
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "</head><body><div>" + _html_lines(body) + "</div></body></html>"
    )
    text = f"""Received: from AM0PR01MB1234.eurprd01.prod.outlook.com (2603:10a6:208:1::1) by
 AM0PR01MB5678.eurprd01.prod.outlook.com with HTTPS; {_date(date)}
From: {from_name} <{from_addr}>
To: Sam Sender <{to_addr}>
Subject: Automatic reply: {_enc(original_subject)}
Thread-Topic: {_enc(original_subject)}
Thread-Index: AQHaR2x1AbCdEfGhIjKlMnOpQrStUv==
Date: {_date(date)}
Message-ID: {message_id}
References: {in_reply_to}
In-Reply-To: {in_reply_to}
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-Exchange-Organization-SCL: -1
X-MS-TNEF-Correlator:
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: {from_addr}
X-MS-Exchange-Organization-AuthAs: Internal
Auto-Submitted: auto-generated
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
Content-Type: multipart/alternative;
\tboundary="_000_AM0PR01MB1234OOF_"
MIME-Version: 1.0

--_000_AM0PR01MB1234OOF_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{_b64(body)}

--_000_AM0PR01MB1234OOF_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{_b64(html)}

--_000_AM0PR01MB1234OOF_--
"""
    return _crlf(text)


def gmail_vacation_reply(
    from_addr: str,
    in_reply_to: str,
    *,
    to_addr: str = "sam@ourdomain.com",
    original_subject: str = "Quick question",
    subject: str | None = None,
    message_id: str | None = None,
    from_name: str = "Jane Doe",
    date: datetime | None = None,
) -> bytes:
    """Gmail's vacation responder.

    Faithful to Gmail: the only machine marker is ``Auto-Submitted: auto-replied``
    (no Precedence, no X-Autoreply). The subject is what the user configured; by
    default ``Re: <original subject>``, so only the header gives it away.
    """
    message_id = message_id or _mid(f"vac{from_addr}{in_reply_to}", "mail.gmail.com")
    subject = subject if subject is not None else f"Re: {original_subject}"
    body = (
        "Hi,\n\nI'm on vacation until January 22nd without access to email.\n"
        "I'll get back to you when I return.\n\n" + from_name
    )
    text = f"""MIME-Version: 1.0
Date: {_date(date)}
References: {in_reply_to}
In-Reply-To: {in_reply_to}
Message-ID: {message_id}
Subject: {_enc(subject)}
From: {from_name} <{from_addr}>
To: {to_addr}
Auto-Submitted: auto-replied
Content-Type: multipart/alternative; boundary="000000000000f1e2d3c4b5a69788"

--000000000000f1e2d3c4b5a69788
Content-Type: text/plain; charset="UTF-8"

{body}

--000000000000f1e2d3c4b5a69788
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">{_html_lines(body)}</div>

--000000000000f1e2d3c4b5a69788--
"""
    return _crlf(text)


def german_abwesenheitsnotiz(
    from_addr: str,
    in_reply_to: str,
    *,
    to_addr: str = "sam@ourdomain.com",
    original_subject: str = "Kurze Frage zu Ihrem Büro",
    message_id: str | None = None,
    from_name: str = "Jürgen Müller",
    auto_submitted: bool = False,
    date: datetime | None = None,
) -> bytes:
    """A German out-of-office ("Abwesenheitsnotiz: ...") as many hosted mail servers send it.

    RFC 2047-encoded subject and display name, quoted-printable ISO-8859-1 body.
    By default without Auto-Submitted, so only the subject identifies it.
    """
    message_id = message_id or _mid(f"abw{from_addr}{in_reply_to}", _domain(from_addr))
    body = (
        "Sehr geehrte Damen und Herren,\n\n"
        "ich bin bis einschließlich 22.01.2024 nicht im Büro. Ihre Nachricht wird\n"
        "nicht weitergeleitet. In dringenden Fällen wenden Sie sich bitte an\n"
        f"zentrale@{_domain(from_addr)}.\n\nMit freundlichen Grüßen\n{from_name}"
    )
    qp = quopri.encodestring(body.encode("iso-8859-1")).decode("ascii")
    auto = "Auto-Submitted: auto-replied\n" if auto_submitted else ""
    subject = Header(f"Abwesenheitsnotiz: {original_subject}", "utf-8").encode()
    name = Header(from_name, "iso-8859-1").encode()
    text = f"""Return-Path: <{from_addr}>
Date: {_date(date)}
From: {name} <{from_addr}>
To: {to_addr}
Subject: {subject}
In-Reply-To: {in_reply_to}
References: {in_reply_to}
Message-ID: {message_id}
{auto}MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

{qp}
"""
    return _crlf(text)


# --------------------------------------------------------------------------- human replies


def threaded_reply(
    from_addr: str,
    to_addr: str,
    in_reply_to: str,
    references: list[str],
    body_new: str,
    quoted_original: str,
    comma_references: bool = False,
    *,
    subject: str = "Re: Quick question",
    message_id: str | None = None,
    from_name: str = "Jane Doe",
    to_name: str = "Sam Sender",
    angle_brackets: bool = True,
    wrap_attribution: bool = False,
    date: datetime | None = None,
) -> bytes:
    """A Gmail reply: multipart/alternative, ``>``-quoted text, "On ... wrote:" attribution.

    ``comma_references`` joins References with ", " as Exchange and iOS Mail do;
    ``angle_brackets=False`` drops the brackets around the ids (seen from broken
    clients); ``wrap_attribution`` breaks the attribution over two lines the way
    Gmail's plain-text part does when it is long.
    """
    message_id = message_id or _mid(f"re{from_addr}{in_reply_to}{body_new}", "mail.gmail.com")
    ids = references or [in_reply_to]
    if not angle_brackets:
        ids = [i.strip("<>") for i in ids]
        irt = in_reply_to.strip("<>")
    else:
        irt = in_reply_to
    when = "Mon, Jan 15, 2024 at 10:02\u202fAM"
    if wrap_attribution:
        attribution = f"On {when} {to_name} <{to_addr}>\nwrote:"
    else:
        attribution = f"On {when} {to_name} <{to_addr}> wrote:"
    plain = f"{body_new}\n\n{attribution}\n\n{_quote(quoted_original)}\n"
    html = (
        f'<div dir="ltr">{_html_lines(body_new)}</div><br><div class="gmail_quote">'
        f'<div dir="ltr" class="gmail_attr">On {when} {_html_escape(to_name)} &lt;<a href="mailto:'
        f'{to_addr}">{to_addr}</a>&gt; wrote:<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        f"{_html_lines(quoted_original)}</blockquote></div>"
    )
    text = f"""MIME-Version: 1.0
Date: {_date(date)}
References: {_fold_ids(ids, commas=comma_references)}
In-Reply-To: {irt}
Message-ID: {message_id}
Subject: {_enc(subject)}
From: {_enc(from_name)} <{from_addr}>
To: {_enc(to_name)} <{to_addr}>
Content-Type: multipart/alternative; boundary="0000000000001a2b3c4d5e6f7a8b"

--0000000000001a2b3c4d5e6f7a8b
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{_qp(plain)}
--0000000000001a2b3c4d5e6f7a8b
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{_qp(html)}
--0000000000001a2b3c4d5e6f7a8b--
"""
    return _crlf(text)


def outlook_reply(
    from_addr: str,
    to_addr: str,
    in_reply_to: str,
    body_new: str,
    quoted_original: str,
    *,
    subject: str = "RE: Quick question",
    original_subject: str = "Quick question",
    message_id: str | None = None,
    from_name: str = "Jane Doe",
    to_name: str = "Sam Sender",
    date: datetime | None = None,
) -> bytes:
    """An Outlook desktop reply: top-posted, original NOT ``>``-quoted, under an
    underscore rule and a ``From:/Sent:/To:/Subject:`` block; References comma-free but
    Thread-Index present."""
    message_id = message_id or _mid(f"ol{from_addr}{in_reply_to}{body_new}", "EX01.corp.local")
    plain = (
        f"{body_new}\n\n________________________________\n"
        f"From: {to_name} <{to_addr}>\n"
        "Sent: Monday, January 15, 2024 10:02 AM\n"
        f"To: {from_name} <{from_addr}>\n"
        f"Subject: {original_subject}\n\n{quoted_original}\n"
    )
    text = f"""From: {from_name} <{from_addr}>
To: {to_name} <{to_addr}>
Subject: {_enc(subject)}
Thread-Topic: {_enc(original_subject)}
Thread-Index: AQHaR2x1AbCdEfGhIjKlMnOpQrStUvWxYz==
Date: {_date(date)}
Message-ID: {message_id}
References: {in_reply_to}
In-Reply-To: {in_reply_to}
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

{_qp(plain)}
"""
    return _crlf(text)


def unthreaded_reply(
    from_addr: str,
    to_addr: str,
    subject: str,
    body: str,
    *,
    message_id: str | None = None,
    from_name: str = "Jane Doe",
    date: datetime | None = None,
) -> bytes:
    """A fresh message (no In-Reply-To/References), e.g. typed into a new compose window."""
    message_id = message_id or _mid(f"new{from_addr}{subject}{body}", _domain(from_addr))
    text = f"""From: {_enc(from_name)} <{from_addr}>
To: {to_addr}
Subject: {_enc(subject)}
Date: {_date(date)}
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

{body}
"""
    return _crlf(text)


def reply_quoting_unsubscribe_footer(
    from_addr: str,
    to_addr: str,
    in_reply_to: str,
    *,
    references: list[str] | None = None,
    message_id: str | None = None,
    footer: str = OUR_FOOTER,
    style: str = "gmail",
) -> bytes:
    """A positive reply whose QUOTED original contains our unsubscribe footer.

    New text "Sounds good, let's talk Tuesday"; must be HUMAN, not OPT_OUT.
    ``style`` is "gmail" (``>`` quoting) or "outlook" (unquoted original under a header block).
    """
    body = "Sounds good, let's talk Tuesday.\n\nJane"
    original = default_original_body(footer)
    if style == "outlook":
        return outlook_reply(from_addr, to_addr, in_reply_to, body, original, message_id=message_id)
    return threaded_reply(
        from_addr,
        to_addr,
        in_reply_to,
        references or [in_reply_to],
        body,
        original,
        message_id=message_id,
    )


def opt_out_reply(
    from_addr: str,
    to_addr: str,
    in_reply_to: str,
    *,
    references: list[str] | None = None,
    message_id: str | None = None,
    body: str = "Please remove me from your list.",
) -> bytes:
    """A Gmail reply asking to be removed, quoting our original (with footer)."""
    return threaded_reply(
        from_addr,
        to_addr,
        in_reply_to,
        references or [in_reply_to],
        body,
        default_original_body(),
        message_id=message_id,
    )


def html_only_reply(
    from_addr: str,
    to_addr: str,
    in_reply_to: str,
    *,
    body_new: str = "Yes, I'd like to learn more. Does Thursday at 2pm work?",
    quoted_original: str | None = None,
    subject: str = "Re: Quick question",
    message_id: str | None = None,
    from_name: str = "Jane Doe",
    date: datetime | None = None,
) -> bytes:
    """A reply with ONLY a text/html part (some webmail and mobile clients), base64,
    windows-1252, quoting the original in a ``<blockquote>`` with our footer inside."""
    message_id = message_id or _mid(f"html{from_addr}{in_reply_to}", _domain(from_addr))
    quoted = quoted_original if quoted_original is not None else default_original_body()
    html = (
        "<html><head><style>p{margin:0}</style><title>Re</title></head><body>"
        f"<p>{_html_escape(body_new)}</p><p>&nbsp;</p><p>Best,<br>{_html_escape(from_name)}</p>"
        '<div class="moz-cite-prefix">On 15.01.2024 10:02, Sam Sender wrote:<br></div>'
        f'<blockquote type="cite">{_html_lines(quoted)}</blockquote></body></html>'
    )
    payload = base64.encodebytes(html.encode("cp1252")).decode("ascii").rstrip("\n")
    text = f"""From: {_enc(from_name)} <{from_addr}>
To: {to_addr}
Subject: {_enc(subject)}
Date: {_date(date)}
Message-ID: {message_id}
In-Reply-To: {in_reply_to}
References: {in_reply_to}
MIME-Version: 1.0
Content-Type: text/html; charset="windows-1252"
Content-Transfer-Encoding: base64

{payload}
"""
    return _crlf(text)


def our_own_message(
    sender: str,
    message_id: str,
    *,
    to_addr: str = "jane@acme.example",
    subject: str = "Quick question",
    body: str | None = None,
    date: datetime | None = None,
) -> bytes:
    """One of OUR cold emails, as it would sit in the mailbox (a Sent copy, a self-BCC).

    It carries our footer, so classify() alone would read it as an opt-out: the IMAP
    layer must skip messages whose From is one of our own accounts.
    """
    text = f"""From: Sam Sender <{sender}>
To: {to_addr}
Subject: {_enc(subject)}
Date: {_date(date)}
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit

{body if body is not None else default_original_body()}
"""
    return _crlf(text)
