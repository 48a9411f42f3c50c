"""The one-click unsubscribe endpoint, ``/u/TOKEN`` on the process's web server (RFC 8058).

* ``POST`` with the form body ``List-Unsubscribe=One-Click`` (what a mail provider sends when
  its user presses "Unsubscribe", and what the page's button sends) removes the lead at once
  (``engine.unsubscribe.service``) and answers 200 with a page that says so. A repeat is
  answered the same and changes nothing.
* ``GET`` (and ``HEAD``) only shows a small page with one "Unsubscribe" button: link scanners
  and previews follow links, so a GET never unsubscribes anyone. It touches no database.
* A token this service did not make (forged, altered, cut short, or of another SECRET_KEY) gets
  404 and has no effect; so does every link while SECRET_KEY is unset.
* Every request counts against its client address's rate limit (429 past it).

The page is plain HTML readable on a phone: no script, no external assets, every text
escaped, and headers that keep it out of search engines, frames and referrers.
"""

from __future__ import annotations

import asyncio
import html
import logging
from email.message import Message
from email.parser import BytesParser
from email.policy import default as default_policy
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.ratelimit import RequestLimiter
from engine.context import EngineContext
from engine.errors import DatabaseUnavailable
from engine.unsubscribe import service
from engine.unsubscribe.links import PATH

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024  # a one-click body is 26 bytes; a multipart one a few hundred
FIELD, VALUE = "list-unsubscribe", "one-click"  # RFC 8058's pair, compared case-insensitively

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:30rem;"
    "margin:3rem auto;padding:0 1.25rem;line-height:1.5;color:#1f1f1f;background:#fff}"
    "h1{font-size:1.5rem;margin:0 0 1rem}"
    "button{font:inherit;font-size:1.1rem;width:100%;padding:.8rem 1rem;margin-top:1rem;"
    "border:0;border-radius:.5rem;background:#1f1f1f;color:#fff;cursor:pointer}"
)
_BUTTON = (
    '<form method="post">'
    '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
    '<button type="submit">Unsubscribe</button>'
    "</form>"
)

# What the page says: (title, text).
ASK = ("Unsubscribe", "Press the button to get no more emails from us at this address.")
DONE = ("You are unsubscribed", "You will get no more emails from us. You can close this page.")
NOT_VALID = (
    "This link is not valid",
    "This unsubscribe link is not one of ours, or it was cut short. Open it from the email "
    "again, or reply to the email and ask to be removed.",
)
TOO_MANY = ("Too many requests", "Please wait a minute and try again.")
TOO_LARGE = ("Request too large", "This request is larger than an unsubscribe request can be.")
TRY_LATER = (
    "Please try again",
    "Your request could not be recorded just now. Please try again in a few minutes, or reply "
    "to the email and ask to be removed.",
)


def page(status: int, words: tuple[str, str], *, button: bool = False) -> HTMLResponse:
    """A complete page: a title, one paragraph and, with ``button``, the form that POSTs
    ``List-Unsubscribe=One-Click`` to the page's own address."""
    title, text = (html.escape(w) for w in words)
    body = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{title}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{title}</h1><p>{text}</p>{_BUTTON if button else ''}</main>"
        "</body></html>\n"
    )
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def one_click(content_type: str, body: bytes) -> bool:
    """Whether a POST body carries ``List-Unsubscribe=One-Click``. RFC 8058 lets the provider
    send it as ``multipart/form-data`` or ``application/x-www-form-urlencoded`` (Gmail and our
    own form send the latter); a body with no content type is read as the latter."""
    header = Message()
    header["Content-Type"] = content_type or "application/x-www-form-urlencoded"
    if header.get_content_type() == "multipart/form-data":
        return _multipart_one_click(content_type, body)
    text = body.decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=20)
    except ValueError:  # more fields than any unsubscribe form has
        return False
    return any(k.strip().lower() == FIELD and v.strip().lower() == VALUE for k, v in pairs)


def _multipart_one_click(content_type: str, body: bytes) -> bool:
    """The multipart form, read with the standard library's MIME parser (the body is capped at
    MAX_BODY, so this is cheap)."""
    try:
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
        form = BytesParser(policy=default_policy).parsebytes(head + body)
        if not form.is_multipart():
            return False
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str) and name.strip().lower() == FIELD:
                value = part.get_payload(decode=True) or b""
                if isinstance(value, bytes) and value.strip().lower() == VALUE.encode():
                    return True
    except (ValueError, TypeError, LookupError, UnicodeError):
        return False
    return False


async def _body(request: Request) -> bytes | None:
    """The request's body, or None when it is over MAX_BODY (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return None
    return bytes(data)


def unsubscribe_routes(ctx: EngineContext, limiter: RequestLimiter | None = None) -> list[Route]:
    """The ``/u/TOKEN`` route of the web server, serving ``ctx``'s leads. ``limiter`` (default
    30 requests a minute per client address, 10,000 addresses remembered) is the tests' to
    replace. Behind a proxy the client address is the proxy's unless uvicorn is told to trust
    its X-Forwarded-For (``FORWARDED_ALLOW_IPS``)."""
    limiter = RequestLimiter() if limiter is None else limiter  # (empty is falsy: len 0)

    async def link(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        if not limiter.allow(client):
            response = page(429, TOO_MANY)
            response.headers["Retry-After"] = str(limiter.retry_after(client))
            return response
        token = service.read(ctx.settings, request.path_params["token"])
        if token is None:
            return page(404, NOT_VALID)
        if request.method != "POST":
            return page(200, ASK, button=True)
        body = await _body(request)
        if body is None:
            return page(413, TOO_LARGE)
        if not one_click(request.headers.get("content-type", ""), body):
            # Not the one-click form: a person may still press the button.
            return page(400, ASK, button=True)
        try:
            outcome = await asyncio.to_thread(service.unsubscribe, ctx, token)
        except DatabaseUnavailable as e:
            log.warning("could not record an unsubscribe: %s", type(e).__name__)
            response = page(503, TRY_LATER)
            response.headers["Retry-After"] = "60"
            return response
        log.info("unsubscribe link of lead %s: %s", token.lead_id, outcome)
        return page(200, DONE)

    return [Route(PATH + "{token}", link, methods=["GET", "POST"])]
