"""A fake Telegram Bot API server for tests, plus the ``fake_telegram`` fixture.

``FakeTelegram`` speaks the Bot API over real HTTP on 127.0.0.1 (stdlib
``ThreadingHTTPServer`` in a background thread), so the real python-telegram-bot
``Application`` can be pointed at it in-process (``.base_url(f"{fake.url}/bot")``,
``.base_file_url(f"{fake.url}/file/bot")``) or from a ``python -m bot`` subprocess
(env ``TELEGRAM_API_URL=fake.url``).

Behaviour copied from the real server (tdlib/telegram-bot-api) where it matters:

* getUpdates long-polls; updates below ``offset`` are confirmed (forgotten), a negative
  offset counts from the end. A getUpdates that has to wait while another one is already
  waiting terminates the *older* one with 409 "Conflict: terminated by other getUpdates
  request; make sure that only one bot instance is running" (``conflict_mode="telegram"``,
  the default). ``conflict_mode="reject_new"`` answers the newer request with 409 instead.
* While a webhook is set getUpdates answers 409 "Conflict: can't use getUpdates method
  while webhook is active; use deleteWebhook to delete the webhook first", and setWebhook
  terminates a pending long poll with "Conflict: terminated by setWebhook request".
* Formatting (HTML / MarkdownV2 / Markdown) is checked roughly like Telegram does, so a
  missing escape gives ``400 Bad Request: can't parse entities: ...`` here too; over-long
  texts, empty texts, callback_data over 64 bytes, "message is not modified", unknown
  callback query ids and files over 20 MB for getFile are refused the same way.
* sendPhoto takes an uploaded PNG or JPEG (or a known file_id) and answers with the photo in
  Telegram's sizes (thumbnails of at most 90, 320, 800, 1280 and 2560 pixels a side, then the
  upload), as the real server does; the fake does not rescale, so every size downloads the
  uploaded bytes. Anything that is not a PNG or JPEG is IMAGE_PROCESS_FAILED, and a photo over
  10 MB, over 10,000 pixels wide and high together, or more than 20 times wider than high (or
  the reverse) is refused like Telegram refuses it.

Every method is dispatched case-insensitively. Unknown ``set*``/``delete*`` methods are
recorded and answered ``true``; any other unknown method gets 404 like Telegram.

The test-side API is synchronous and thread-safe. From async tests, never call the
blocking ``wait_for`` directly (it would block the loop the bot runs on): use
``await fake.wait_for_async(...)`` or ``await asyncio.to_thread(fake.wait_for, ...)``.
The token is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files on the public server
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_SIZE = 10 * 1024 * 1024  # sendPhoto's limit for an upload
PHOTO_SIDES = (90, 320, 800, 1280, 2560)  # the sizes Telegram makes of a photo
TERMINATED_BY_OTHER = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
TERMINATED_BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"

# Update types delivered when allowed_updates is empty or was never given.
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

# Form values PTB sends raw (not JSON-encoded) that must stay strings even if they look
# like numbers or JSON ("42" as a message text).
_RAW_STRING_KEYS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "url",
        "secret_token",
        "ip_address",
        "description",
        "short_description",
        "name",
        "title",
        "language_code",
        "action",
        "emoji",
        "query",
        "document",
        "photo",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "thumbnail",
    }
)
# Keys whose value is a JSON object/array even when a client sends it as a string.
_JSON_KEYS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "media",
    }
)


class _Drop(Exception):
    """Close the connection without answering (network failure, server stopping)."""


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _norm_chat_id(value: Any) -> int | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text or None


def _as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


# ---------------------------------------------------------------------------- formatting


def _entity_error(message: str) -> _ApiError:
    return _bad(f"can't parse entities: {message}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([^\s<>/]*)([^<>]*)>")
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_HTML_ENTITY_CHARS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _parse_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _HTML_TAG_RE.match(text, i)
            offset = _byte_offset(text, i)
            if match is None:
                raise _entity_error(f"Unclosed start tag at byte offset {offset}")
            closing, name = match.group(1), match.group(2).lower()
            if not name:
                raise _entity_error(f"Empty tag name at byte offset {offset}")
            if closing:
                if not stack:
                    raise _entity_error(f"Unexpected end tag at byte offset {offset}")
                if stack[-1] != name:
                    raise _entity_error(
                        f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                        f'found "</{name}>"'
                    )
                stack.pop()
            else:
                if name not in _HTML_TAGS:
                    raise _entity_error(f'Unsupported start tag "{name}" at byte offset {offset}')
                stack.append(name)
            i = match.end()
            continue
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match is not None:
                name = match.group(1)
                if name.startswith(("#x", "#X")):
                    out.append(chr(int(name[2:], 16)))
                elif name.startswith("#"):
                    out.append(chr(int(name[1:])))
                else:
                    out.append(_HTML_ENTITY_CHARS[name])
                i = match.end()
                continue
        out.append(char)
        i += 1
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}


def _parse_markdown_v2(text: str) -> str:
    """Approximates Telegram's MarkdownV2 parser: reserved characters must be escaped."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        offset = _byte_offset(text, i)
        if char == "\\":
            if i + 1 < n:
                out.append(text[i + 1])
            i += 2
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            j = i + len(fence)
            while j < n and not text.startswith(fence, j):
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                kind = "Pre" if fence == "```" else "Code"
                raise _entity_error(f"Can't find end of {kind} entity at byte offset {offset}")
            out.append(text[i + len(fence) : j].replace("\\`", "`").replace("\\\\", "\\"))
            i = j + len(fence)
            continue
        token = None
        if char == "_":
            token = "__" if text.startswith("__", i) else "_"
        elif char in "*~":
            token = char
        elif char == "|" and text.startswith("||", i):
            token = "||"
        if token is not None:
            if stack and stack[-1][0] == token:
                stack.pop()
            elif any(open_token == token for open_token, _ in stack):
                top, top_offset = stack[-1]
                raise _entity_error(
                    f"Can't find end of {_MDV2_NAMES[top]} entity at byte offset {top_offset}"
                )
            else:
                stack.append((token, offset))
            i += len(token)
            continue
        if char == "[":
            stack.append(("[", offset))
            i += 1
            continue
        if char == "]" and stack and stack[-1][0] == "[":
            stack.pop()
            if i + 1 < n and text[i + 1] == "(":
                j = i + 2
                while j < n and text[j] != ")":
                    j += 2 if text[j] == "\\" else 1
                if j >= n:
                    raise _entity_error(f"Can't find end of a URL at byte offset {offset}")
                i = j + 1
            else:
                i += 1
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # blockquote
            continue
        if char in _MDV2_RESERVED:
            raise _entity_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(char)
        i += 1
    if stack:
        token, offset = stack[-1]
        raise _entity_error(
            f"Can't find end of {_MDV2_NAMES[token]} entity at byte offset {offset}"
        )
    return "".join(out)


def _parse_markdown(text: str) -> str:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url), no nesting."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        closer = {"*": "*", "_": "_", "`": "`", "[": "]"}.get(char)
        if closer is None:
            out.append(char)
            i += 1
            continue
        if text.startswith("```", i):
            closer = "```"
        start = i + len(closer)
        end = text.find(closer, start)
        if end < 0:
            raise _entity_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
            )
        out.append(text[start:end])
        i = end + len(closer)
        if closer == "]" and i < n and text[i] == "(":
            close_paren = text.find(")", i)
            if close_paren < 0:
                raise _entity_error(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                )
            i = close_paren + 1
    return "".join(out)


def _plain_text(text: str, parse_mode: Any, has_entities: bool) -> str:
    if not parse_mode or has_entities:
        return text
    mode = str(parse_mode).lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise _bad(f"unsupported parse_mode {parse_mode}")


# -------------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTelegram


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelegramBotAPI/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silent: request lines contain the bot token."""

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.fake._track(self.connection, add=False)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def client_gone(self) -> bool:
        """True when the client closed its end (e.g. PTB cancelled a long poll)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _serve(self) -> None:
        try:
            body = self._read_body()
            status, payload, content_type = self.server.fake._dispatch(self, body)
        except _Drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(payload)


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, dict]]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise _bad("can't parse multipart body: no boundary")
    boundary = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, dict] = {}
    for raw in body.split(boundary)[1:]:
        if raw.startswith(b"--"):
            break
        raw = raw[2:] if raw.startswith(b"\r\n") else raw
        head, sep, content = raw.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = {
            key.lower(): urllib.parse.unquote(value.strip('"'))
            for key, value in re.findall(r';\s*([\w*]+)=("(?:[^"\\]|\\.)*"|[^;]*)', disposition)
        }
        name = params.get("name")
        if not name:
            continue
        filename = params.get("filename") or params.get("filename*", "").split("''")[-1] or None
        if filename is not None:
            files[name] = {
                "filename": filename,
                "content": content,
                "content_type": headers.get("content-type", "application/octet-stream"),
            }
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


def _decode_form_value(key: str, value: str) -> Any:
    if key in _RAW_STRING_KEYS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _image_size(content: bytes) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG, read from its header; anything else is refused as
    Telegram refuses it."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 <= len(content) and content[i] == 0xFF:
            marker = content[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
                height = int.from_bytes(content[i + 5 : i + 7], "big")
                return int.from_bytes(content[i + 7 : i + 9], "big"), height
            i += 2 + int.from_bytes(content[i + 2 : i + 4], "big")
    raise _bad("IMAGE_PROCESS_FAILED")


class FakeTelegram:
    """A local Bot API server. See the module docstring for what it imitates."""

    def __init__(
        self,
        token: str = "123:TEST",
        *,
        bot_username: str = "fake_outreach_bot",
        conflict_mode: str = "telegram",
        strict_chats: bool = False,
        webhook_max_attempts: int = 3,
    ) -> None:
        if conflict_mode not in ("telegram", "reject_new"):
            raise ValueError("conflict_mode must be 'telegram' or 'reject_new'")
        self.token = token
        self.conflict_mode = conflict_mode
        self.strict_chats = strict_chats
        self.webhook_max_attempts = webhook_max_attempts
        bot_id = _as_int(token.split(":", 1)[0], 123456) or 123456
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Fake Outreach Bot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._webhook_thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._stopping = False
        self._ids = itertools.count(1)
        self._reset_state()

    def _reset_state(self) -> None:
        self._updates: list[dict] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._chats: dict[int | str, dict] = {}
        self._blocked: set[int | str] = set()
        self._message_ids: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], dict] = {}
        self._files: dict[str, dict] = {}
        self._callback_ids: set[str] = set()
        self._commands: dict[str, list[dict]] = {}
        self._webhook: dict[str, Any] = {"url": "", "secret_token": None}
        self._webhook_attempts: dict[int, int] = {}
        self._webhook_last_error: tuple[int, str] | None = None
        self._deliveries: list[dict] = []
        self._sent: list[dict] = []
        self._calls: list[dict] = []
        self._faults: list[dict] = []
        self._unreachable = False
        self._poller: object | None = None
        self._conflicts = 0

    # ----------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTelegram:
        if self._server is not None:
            return self
        self._stopping = False
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        self._webhook_thread = threading.Thread(
            target=self._webhook_worker, name="fake-telegram-webhook", daemon=True
        )
        self._webhook_thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        for thread in (self._thread, self._webhook_thread):
            if thread is not None:
                thread.join(timeout=5)
        self._server = None
        self._thread = None
        self._webhook_thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._cond:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # ------------------------------------------------------------------ test-side: users

    def _user(self, user_id: int, username: str | None = None) -> dict:
        user: dict[str, Any] = {
            "id": int(user_id),
            "is_bot": False,
            "first_name": username or f"User{user_id}",
            "language_code": "en",
        }
        if username:
            user["username"] = username
        return user

    def _chat(self, user: dict, chat_id: int | None, chat_type: str) -> dict:
        if chat_type == "private":
            cid = int(chat_id) if chat_id is not None else user["id"]
            chat = {"id": cid, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
        else:
            if chat_id is None:
                raise ValueError(f"chat_id is required for a {chat_type} chat")
            chat = {"id": int(chat_id), "type": chat_type, "title": f"Test {chat_type} {chat_id}"}
        with self._cond:
            self._chats[chat["id"]] = chat
            if chat.get("username"):
                self._chats["@" + chat["username"]] = chat
        return chat

    def _new_message_id(self, chat_id: int | str) -> int:
        with self._cond:
            value = self._message_ids.get(chat_id, 0) + 1
            self._message_ids[chat_id] = value
            return value

    def _user_message(
        self, user_id: int, chat_id: int | None, chat_type: str, username: str | None
    ) -> dict:
        user = self._user(user_id, username)
        chat = self._chat(user, chat_id, chat_type)
        return {
            "message_id": self._new_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
        }

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        reply_to: dict | int | None = None,
    ) -> dict:
        """A user writes ``text`` to the bot; returns the Message (as JSON dict). With
        ``reply_to`` (a record from ``sent()``, a Message dict or a message_id in that chat)
        it is a Telegram reply to that message, which Telegram sends along whole (its
        keyboard included) as ``reply_to_message``."""
        message = self._user_message(user_id, chat_id, chat_type, username)
        message["text"] = text
        if reply_to is not None:
            message["reply_to_message"] = self._replied_message(message["chat"]["id"], reply_to)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        with self._cond:
            self._messages[(message["chat"]["id"], message["message_id"])] = message
        self._push("message", message)
        return message

    def _replied_message(self, chat_id: int | str, ref: dict | int) -> dict:
        key_id = ref if isinstance(ref, int) else int(ref["message_id"])
        with self._cond:
            stored = self._messages.get((_norm_chat_id(chat_id), key_id))
            if stored is None:
                raise AssertionError(f"no message {key_id} in chat {chat_id} to reply to")
            return json.loads(json.dumps(stored))

    def send_other(self, user_id: int, kind: str, *, chat_id: int | None = None) -> dict:
        """A user sends something that is not text: ``sticker``, ``photo``, ``voice``…,
        shaped as Telegram sends it (file ids only; nothing to download)."""
        message = self._user_message(user_id, chat_id, "private", None)
        file = {"file_id": f"f{next(self._ids)}", "file_unique_id": f"u{next(self._ids)}"}
        shapes: dict[str, Any] = {
            "sticker": {
                **file,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
            "photo": [{**file, "width": 90, "height": 90}],
            "voice": {**file, "duration": 3},
        }
        if kind not in shapes:
            raise AssertionError(f"send_other knows {sorted(shapes)}, not {kind!r}")
        message[kind] = shapes[kind]
        with self._cond:
            self._messages[(message["chat"]["id"], message["message_id"])] = message
        self._push("message", message)
        return message

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "text/csv",
        caption: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        file_size: int | None = None,
        username: str | None = None,
    ) -> dict:
        """A user uploads a document. ``file_size`` overrides the size Telegram reports."""
        message = self._user_message(user_id, chat_id, chat_type, username)
        stored = self._store_file(filename, bytes(content), mime_type, file_size)
        message["document"] = self._document_json(stored)
        if caption is not None:
            message["caption"] = caption
        with self._cond:
            self._messages[(message["chat"]["id"], message["message_id"])] = message
        self._push("message", message)
        return message

    def press_button(
        self,
        user_id: int,
        message: dict | int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        username: str | None = None,
    ) -> dict:
        """The user presses an inline button of a bot message; returns the CallbackQuery.

        ``message`` is a record from ``sent()``/``wait_for()``, a Message dict or a
        message_id. The button must exist on the message's current keyboard.
        """
        if isinstance(message, int):
            key_chat, key_id = (chat_id if chat_id is not None else user_id), message
        elif "chat" in message:
            key_chat, key_id = message["chat"]["id"], message["message_id"]
        else:
            key_chat, key_id = message["chat_id"], message["message_id"]
        if chat_id is not None:
            key_chat = chat_id
        with self._cond:
            stored = self._messages.get((_norm_chat_id(key_chat), int(key_id)))
            if stored is None:
                raise AssertionError(f"no message {key_id} in chat {key_chat} to press a button on")
            keyboard = (stored.get("reply_markup") or {}).get("inline_keyboard") or []
            data = [b.get("callback_data") for row in keyboard for b in row]
            if callback_data not in data:
                raise AssertionError(
                    f"message {key_id} has no button with callback_data {callback_data!r}; "
                    f"buttons: {data}"
                )
            query_id = str(next(self._ids) * 1000003)
            self._callback_ids.add(query_id)
            snapshot = json.loads(json.dumps(stored))
        query = {
            "id": query_id,
            "from": self._user(user_id, username),
            "message": snapshot,
            "chat_instance": f"ci{key_chat}",
            "data": callback_data,
        }
        self._push("callback_query", query)
        return query

    def push_update(self, payload: dict) -> dict:
        """Queue a raw update such as ``{"my_chat_member": {...}}``; returns it with its id."""
        ((kind, obj),) = payload.items()
        return self._push(kind, obj)

    def _push(self, kind: str, obj: dict) -> dict:
        with self._cond:
            update = {"update_id": self._next_update_id, kind: obj}
            self._next_update_id += 1
            if kind in self._allowed_updates:
                self._updates.append(update)
                self._cond.notify_all()
            return update

    # ---------------------------------------------------------------- test-side: output

    def sent(self, chat_id: int | str | None = None) -> list[dict]:
        """Every message the bot sent or edited, oldest first (copies). Each record has the
        method, chat_id, message_id, text/caption, reply_markup, the Bot API ``message`` and
        when the fake stored it (``time``: time.time(); ``monotonic``: time.monotonic())."""
        with self._cond:
            records = list(self._sent)
        if chat_id is not None:
            records = [r for r in records if str(r["chat_id"]) == str(chat_id)]
        return [dict(r) for r in records]

    def mark(self) -> int:
        """A position in ``sent()``; pass as ``after=`` to wait only for newer output."""
        with self._cond:
            return len(self._sent)

    def _matcher(self, predicate: Callable[[dict], bool] | str) -> Callable[[dict], bool]:
        if isinstance(predicate, str):
            needle = predicate
            return lambda r: needle in (r.get("text") or "") or needle in (r.get("caption") or "")
        return predicate

    def _find(self, match: Callable[[dict], bool], chat_id: Any, after: int) -> dict | None:
        with self._cond:
            records = self._sent[after:]
        for record in records:
            if chat_id is not None and str(record["chat_id"]) != str(chat_id):
                continue
            if match(record):
                return dict(record)
        return None

    def _timeout_report(self, predicate: Any, timeout: float) -> AssertionError:
        lines = [
            f"  {r['method']} chat={r['chat_id']} id={r['message_id']}: "
            f"{(r.get('text') or r.get('caption') or '')!r}"
            + (f" [document {r['document']['filename']}]" if r.get("document") else "")
            for r in self.sent()
        ]
        failed = [
            f"  {c['method']} -> {c['status']}"
            for c in self.calls()
            if c["status"] not in (None, 200) and c["method"] != "getUpdates"
        ]
        return AssertionError(
            f"no bot output matched {predicate!r} within {timeout}s; sent so far:\n"
            + ("\n".join(lines) or "  (nothing)")
            + ("\nfailed requests:\n" + "\n".join(failed) if failed else "")
        )

    def wait_for(
        self,
        predicate: Callable[[dict], bool] | str,
        timeout: float = 10.0,
        chat_id: int | str | None = None,
        *,
        after: int = 0,
    ) -> dict:
        """Block until a bot output matches (a str means "text or caption contains")."""
        match = self._matcher(predicate)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._find(match, chat_id, after)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_report(predicate, timeout)
                self._cond.wait(min(remaining, 0.05))

    async def wait_for_async(
        self,
        predicate: Callable[[dict], bool] | str,
        timeout: float = 10.0,
        chat_id: int | str | None = None,
        *,
        after: int = 0,
    ) -> dict:
        """``wait_for`` for async tests: polls without blocking the event loop."""
        match = self._matcher(predicate)
        deadline = time.monotonic() + timeout
        while True:
            found = self._find(match, chat_id, after)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise self._timeout_report(predicate, timeout)
            await asyncio.sleep(0.02)

    def calls(self, method: str | None = None) -> list[dict]:
        """Recorded API requests: {method, params, status, time}; method is case-insensitive."""
        with self._cond:
            calls = list(self._calls)
        if method is not None:
            calls = [c for c in calls if c["method"].lower() == method.lower()]
        return [dict(c) for c in calls]

    def clear(self) -> None:
        """Forget recorded output, calls, webhook deliveries and the conflict count."""
        with self._cond:
            self._sent.clear()
            self._calls.clear()
            self._deliveries.clear()
            self._conflicts = 0

    @property
    def conflicts(self) -> int:
        """How many getUpdates requests were answered 409 'terminated by other getUpdates'."""
        with self._cond:
            return self._conflicts

    @property
    def pending_updates(self) -> list[dict]:
        with self._cond:
            return json.loads(json.dumps(self._updates))

    @property
    def webhook(self) -> dict:
        with self._cond:
            return dict(self._webhook)

    def webhook_deliveries(self) -> list[dict]:
        """Each POST to the webhook: {update_id, status (None on network error), error}."""
        with self._cond:
            return [dict(d) for d in self._deliveries]

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def file_content(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id]["content"]

    def is_polling(self) -> bool:
        """True while a getUpdates long poll is waiting."""
        with self._cond:
            return self._poller is not None

    # ----------------------------------------------------------------- test-side: faults

    def fail_next(self, n: int = 1, status: int = 502, *, methods: Iterable[str] | None = None):
        """The next ``n`` requests (optionally only these methods) fail with ``status``."""
        self._add_fault({"kind": "status", "remaining": n, "status": status}, methods)

    def rate_limit_next(
        self, n: int = 1, retry_after: int = 1, *, methods: Iterable[str] | None = None
    ):
        """The next ``n`` requests get 429 Too Many Requests with parameters.retry_after."""
        self._add_fault({"kind": "429", "remaining": n, "retry_after": retry_after}, methods)

    def _add_fault(self, fault: dict, methods: Iterable[str] | None) -> None:
        fault["methods"] = None if methods is None else {m.lower() for m in methods}
        with self._cond:
            self._faults.append(fault)

    def set_unreachable(self, unreachable: bool = True) -> None:
        """While unreachable every request (and pending long poll) is dropped unanswered."""
        with self._cond:
            self._unreachable = unreachable
            self._cond.notify_all()

    def block_chat(self, chat_id: int | str, blocked: bool = True) -> None:
        """Sending to this chat answers 403 'Forbidden: bot was blocked by the user'."""
        with self._cond:
            (self._blocked.add if blocked else self._blocked.discard)(_norm_chat_id(chat_id))

    # --------------------------------------------------------------------- dispatching

    def _dispatch(self, handler: _Handler, body: bytes) -> tuple[int, bytes, str]:
        with self._cond:
            if self._stopping or self._unreachable:
                raise _Drop
        parts = urllib.parse.urlsplit(handler.path)
        path = urllib.parse.unquote(parts.path)
        file_match = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        api_match = re.fullmatch(r"/bot([^/]+)/([A-Za-z_]\w*)/?", path)
        if file_match is None and api_match is None:
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token = (file_match or api_match).group(1)  # type: ignore[union-attr]
        if token != self.token:
            return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if file_match is not None:
            method = "downloadFile"
            params: dict[str, Any] = {"file_path": file_match.group(2)}
        else:
            method = api_match.group(2)  # type: ignore[union-attr]
            try:
                params = self._parse_params(handler, parts.query, body)
            except _ApiError as exc:
                return self._error(exc)
        call = {"method": method, "params": params, "status": None, "time": time.time()}
        with self._cond:
            self._calls.append(call)
        try:
            self._apply_faults(method)
            if file_match is not None:
                status, payload, ctype = self._download(file_match.group(2))
                call["status"] = status
                return status, payload, ctype
            result = self._call(method, params, handler)
        except _ApiError as exc:
            call["status"] = exc.code
            return self._error(exc)
        except _Drop:
            call["status"] = "dropped"
            raise
        call["status"] = 200
        return self._json(200, {"ok": True, "result": result})

    @staticmethod
    def _json(status: int, payload: Any) -> tuple[int, bytes, str]:
        return status, json.dumps(payload).encode("utf-8"), "application/json"

    def _error(self, exc: _ApiError) -> tuple[int, bytes, str]:
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": exc.code,
            "description": exc.description,
        }
        if exc.parameters:
            payload["parameters"] = exc.parameters
        return self._json(exc.code, payload)

    def _parse_params(self, handler: _Handler, query: str, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = {
            key: _decode_form_value(key, value)
            for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True)
        }
        content_type = handler.headers.get("Content-Type", "")
        ctype = content_type.split(";")[0].strip().lower()
        if not body:
            return params
        if ctype == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise _bad("can't parse JSON request body") from None
            if not isinstance(data, dict):
                raise _bad("request body must be a JSON object")
            for key, value in data.items():
                if key in _JSON_KEYS and isinstance(value, str):
                    with contextlib.suppress(ValueError):
                        value = json.loads(value)
                params[key] = value
        elif ctype == "multipart/form-data":
            fields, files = _parse_multipart(body, content_type)
            for key, value in fields.items():
                params[key] = _decode_form_value(key, value)
            for key, value in params.items():
                if isinstance(value, str) and value.startswith("attach://"):
                    name = value[len("attach://") :]
                    if name in files:
                        params[key] = files.pop(name)
            params.update(files)
        else:  # application/x-www-form-urlencoded, or anything form-like
            text = body.decode("utf-8", "replace")
            for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
                params[key] = _decode_form_value(key, value)
        return params

    def _apply_faults(self, method: str) -> None:
        with self._cond:
            for fault in self._faults:
                if fault["methods"] is not None and method.lower() not in fault["methods"]:
                    continue
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self._faults.remove(fault)
                if fault["kind"] == "429":
                    retry = fault["retry_after"]
                    raise _ApiError(
                        429,
                        f"Too Many Requests: retry after {retry}",
                        {"retry_after": retry},
                    )
                status = fault["status"]
                try:
                    phrase = HTTPStatus(status).phrase
                except ValueError:
                    phrase = "Error"
                raise _ApiError(status, phrase)

    def _call(self, method: str, params: dict, handler: _Handler) -> Any:
        name = method.lower()
        implementation = getattr(self, f"_m_{name}", None)
        if implementation is not None:
            return implementation(params, handler)
        if name.startswith(("set", "delete")):
            return True
        raise _ApiError(404, "Not Found")

    # ------------------------------------------------------------------------- methods

    def _m_getme(self, params: dict, handler: _Handler) -> dict:
        return dict(self.bot_user)

    def _m_close(self, params: dict, handler: _Handler) -> bool:
        return True

    def _m_logout(self, params: dict, handler: _Handler) -> bool:
        return True

    def _take(self, offset: int, limit: int) -> list[dict]:
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return json.loads(json.dumps(self._updates[:limit]))

    def _m_getupdates(self, params: dict, handler: _Handler) -> list[dict]:
        offset = _as_int(params.get("offset"), 0) or 0
        limit = min(max(_as_int(params.get("limit"), 100) or 100, 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            timeout = 0.0
        with self._cond:
            if self._webhook["url"]:
                raise _ApiError(409, WEBHOOK_ACTIVE)
            allowed = params.get("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
            updates = self._take(offset, limit)
            if updates or timeout <= 0:
                return updates
            if self._poller is not None and self.conflict_mode == "reject_new":
                self._conflicts += 1
                raise _ApiError(409, TERMINATED_BY_OTHER)
            token = object()
            self._poller = token  # an older waiting poll sees it was replaced
            self._cond.notify_all()
            deadline = time.monotonic() + timeout
            try:
                while True:
                    if self._stopping or self._unreachable:
                        raise _Drop
                    if self._poller is not token:
                        self._conflicts += 1
                        raise _ApiError(409, TERMINATED_BY_OTHER)
                    if self._webhook["url"]:
                        raise _ApiError(409, TERMINATED_BY_SET_WEBHOOK)
                    updates = self._take(offset, limit)
                    if updates:
                        return updates
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    self._cond.wait(min(remaining, 0.05))
                    if handler.client_gone():
                        raise _Drop
            finally:
                if self._poller is token:
                    self._poller = None

    # -- messages

    def _resolve_chat(self, chat_id: Any) -> dict:
        cid = _norm_chat_id(chat_id)
        if cid is None:
            raise _bad("chat_id is empty")
        with self._cond:
            if cid in self._blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            chat = self._chats.get(cid)
            if chat is not None:
                return chat
            if self.strict_chats or isinstance(cid, str):
                raise _bad("chat not found")
            if cid > 0:
                chat = {"id": cid, "type": "private", "first_name": f"User{cid}"}
            else:
                chat = {"id": cid, "type": "supergroup", "title": f"Chat {cid}"}
            self._chats[cid] = chat
            return chat

    def _check_reply_markup(self, params: dict) -> dict | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is not None:
            if not isinstance(keyboard, list) or not all(isinstance(r, list) for r in keyboard):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for row in keyboard:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, params: dict) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            return _as_int(reply["message_id"])
        return _as_int(params.get("reply_to_message_id"))

    def _bot_message(self, chat: dict, params: dict, extra: dict) -> dict:
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": dict(self.bot_user),
            **extra,
        }
        markup = self._check_reply_markup(params)
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        reply_id = self._reply_to(params)
        if reply_id is not None:
            original = self._messages.get((chat["id"], reply_id))
            if original is not None:
                message["reply_to_message"] = {
                    k: v for k, v in original.items() if k != "reply_to_message"
                }
            else:
                reply = params.get("reply_parameters") or {}
                allow = params.get("allow_sending_without_reply") or (
                    isinstance(reply, dict) and reply.get("allow_sending_without_reply")
                )
                if not _as_bool(allow):
                    raise _bad("message to be replied not found")
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _record(self, method: str, message: dict, params: dict, **extra: Any) -> None:
        record = {
            "seq": len(self._sent),
            "method": method,
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "text": message.get("text"),
            "caption": message.get("caption"),
            "parse_mode": params.get("parse_mode"),
            "reply_markup": params.get("reply_markup") or None,
            "reply_to_message_id": self._reply_to(params),
            "document": None,
            "photo": None,
            "date": message.get("edit_date", message["date"]),
            "message": json.loads(json.dumps(message)),
            # When the fake stored it (as the Bot API would hand it on): time.time() as in
            # calls(), and time.monotonic() for latencies measured in this process.
            "time": time.time(),
            "monotonic": time.monotonic(),
        }
        record.update(extra)
        self._sent.append(record)
        self._cond.notify_all()

    def _checked_text(self, params: dict, key: str, limit: int, required: bool) -> str | None:
        text = params.get(key)
        if text is None or text == "":
            if required:
                raise _bad("message text is empty")
            return None
        text = str(text)
        entities_key = "entities" if key == "text" else "caption_entities"
        plain = _plain_text(text, params.get("parse_mode"), bool(params.get(entities_key)))
        if required and not plain.strip():
            raise _bad("message text is empty")
        if _utf16_len(plain) > limit:
            raise _bad("message is too long" if key == "text" else "message caption is too long")
        return text

    def _m_sendmessage(self, params: dict, handler: _Handler) -> dict:
        text = self._checked_text(params, "text", MAX_TEXT_LENGTH, required=True)
        with self._cond:
            chat = self._resolve_chat(params.get("chat_id"))
            message = self._bot_message(chat, params, {"text": text})
            self._record("sendMessage", message, params)
            return message

    def _stored_message(self, params: dict) -> dict:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: inline messages are not supported by the fake")
        chat = self._resolve_chat(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        message = self._messages.get((chat["id"], message_id or 0))
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    def _edit(self, method: str, params: dict, new_text: str | None) -> dict:
        with self._cond:
            message = self._stored_message(params)
            markup = self._check_reply_markup(params)
            new_markup = markup if markup and "inline_keyboard" in markup else None
            key = "caption" if "document" in message else "text"
            text = message.get(key) if new_text is None else new_text
            if text == message.get(key) and new_markup == message.get("reply_markup"):
                raise _bad(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            if text is not None:
                message[key] = text
            if new_markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = new_markup
            message["edit_date"] = int(time.time())
            self._record(method, message, params)
            return json.loads(json.dumps(message))

    def _m_editmessagetext(self, params: dict, handler: _Handler) -> dict:
        text = self._checked_text(params, "text", MAX_TEXT_LENGTH, required=True)
        return self._edit("editMessageText", params, text)

    def _m_editmessagecaption(self, params: dict, handler: _Handler) -> dict:
        caption = self._checked_text(params, "caption", MAX_CAPTION_LENGTH, required=False)
        return self._edit("editMessageCaption", params, caption or "")

    def _m_editmessagereplymarkup(self, params: dict, handler: _Handler) -> dict:
        return self._edit("editMessageReplyMarkup", params, None)

    def _m_deletemessage(self, params: dict, handler: _Handler) -> bool:
        with self._cond:
            chat = self._resolve_chat(params.get("chat_id"))
            message_id = _as_int(params.get("message_id")) or 0
            if self._messages.pop((chat["id"], message_id), None) is None:
                raise _bad("message to delete not found")
            return True

    def _m_sendchataction(self, params: dict, handler: _Handler) -> bool:
        with self._cond:
            self._resolve_chat(params.get("chat_id"))
        if not params.get("action"):
            raise _bad("wrong parameter action in request")
        return True

    def _m_answercallbackquery(self, params: dict, handler: _Handler) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            if query_id not in self._callback_ids:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            self._callback_ids.discard(query_id)
        return True

    # -- files

    def _store_file(
        self, filename: str, content: bytes, mime_type: str, file_size: int | None
    ) -> dict:
        number = next(self._ids)
        suffix = (
            re.sub(r"[^A-Za-z0-9]", "", filename.rsplit(".", 1)[-1])[:10] if "." in filename else ""
        )
        stored = {
            "file_id": f"BQACAgIAAxkBAAI{number:06d}fake",
            "file_unique_id": f"AgAD{number:06d}",
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content) if file_size is None else int(file_size),
            "file_path": f"documents/file_{number}" + (f".{suffix}" if suffix else ""),
            "content": content,
        }
        with self._cond:
            self._files[stored["file_id"]] = stored
        return stored

    @staticmethod
    def _document_json(stored: dict) -> dict:
        return {
            key: stored[key]
            for key in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
        }

    def _m_senddocument(self, params: dict, handler: _Handler) -> dict:
        caption = self._checked_text(params, "caption", MAX_CAPTION_LENGTH, required=False)
        document = params.get("document")
        if isinstance(document, dict) and "content" in document:
            stored = self._store_file(
                document["filename"],
                document["content"],
                document.get("content_type") or "application/octet-stream",
                None,
            )
        elif isinstance(document, str) and document in self._files:
            stored = self._files[document]
        elif isinstance(document, str) and document:
            raise _bad("wrong file identifier/HTTP URL specified")
        else:
            raise _bad("there is no document in the request")
        extra: dict[str, Any] = {"document": self._document_json(stored)}
        if caption is not None:
            extra["caption"] = caption
        with self._cond:
            chat = self._resolve_chat(params.get("chat_id"))
            message = self._bot_message(chat, params, extra)
            self._record(
                "sendDocument",
                message,
                params,
                document={
                    "filename": stored["file_name"],
                    "content": stored["content"],
                    "mime_type": stored["mime_type"],
                    "file_id": stored["file_id"],
                },
            )
            return message

    def _m_sendphoto(self, params: dict, handler: _Handler) -> dict:
        caption = self._checked_text(params, "caption", MAX_CAPTION_LENGTH, required=False)
        photo = params.get("photo")
        if isinstance(photo, dict) and "content" in photo:
            content = photo["content"]
            if len(content) > MAX_PHOTO_SIZE:
                raise _ApiError(413, "Request Entity Too Large")
            width, height = _image_size(content)
            if width + height > 10_000 or max(width, height) > 20 * min(width, height):
                raise _bad("PHOTO_INVALID_DIMENSIONS")
            stored = self._store_file(
                photo["filename"], content, photo.get("content_type") or "image/png", None
            )
            stored.update(width=width, height=height)
        elif isinstance(photo, str) and photo in self._files and "width" in self._files[photo]:
            stored = self._files[photo]
        elif isinstance(photo, str) and photo:
            raise _bad("wrong file identifier/HTTP URL specified")
        else:
            raise _bad("there is no photo in the request")
        sizes = [self._photo_size(stored, side) for side in PHOTO_SIDES]
        sizes = [s for s in sizes if s is not None] + [self._photo_json(stored)]
        extra: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            extra["caption"] = caption
        with self._cond:
            chat = self._resolve_chat(params.get("chat_id"))
            message = self._bot_message(chat, params, extra)
            self._record(
                "sendPhoto",
                message,
                params,
                photo={
                    "filename": stored["file_name"],
                    "content": stored["content"],
                    "width": stored["width"],
                    "height": stored["height"],
                    "file_id": stored["file_id"],
                },
            )
            return message

    @staticmethod
    def _photo_json(stored: dict) -> dict:
        return {
            key: stored[key]
            for key in ("file_id", "file_unique_id", "file_size", "width", "height")
        }

    def _photo_size(self, stored: dict, side: int) -> dict | None:
        """A smaller size of the photo (None when it is not bigger than ``side``)."""
        width, height = stored["width"], stored["height"]
        if max(width, height) <= side:
            return None
        scale = side / max(width, height)
        thumb = self._store_file(
            stored["file_name"], stored["content"], stored["mime_type"], stored["file_size"]
        )
        thumb.update(width=max(1, round(width * scale)), height=max(1, round(height * scale)))
        return self._photo_json(thumb)

    def _m_getfile(self, params: dict, handler: _Handler) -> dict:
        with self._cond:
            stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if stored["file_size"] > MAX_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        return {
            "file_id": stored["file_id"],
            "file_unique_id": stored["file_unique_id"],
            "file_size": stored["file_size"],
            "file_path": stored["file_path"],
        }

    def _download(self, file_path: str) -> tuple[int, bytes, str]:
        with self._cond:
            for stored in self._files.values():
                if stored["file_path"] == file_path:
                    return 200, stored["content"], stored["mime_type"]
        raise _ApiError(404, "Not Found")

    # -- commands

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + str(language_code or "")

    def _m_setmycommands(self, params: dict, handler: _Handler) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("command description must be non-empty")
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return True

    def _m_getmycommands(self, params: dict, handler: _Handler) -> list[dict]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    def _m_deletemycommands(self, params: dict, handler: _Handler) -> bool:
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            self._commands.pop(key, None)
        return True

    # -- webhook

    def _m_setwebhook(self, params: dict, handler: _Handler) -> bool:
        url = str(params.get("url") or "")
        with self._cond:
            if _as_bool(params.get("drop_pending_updates")):
                self._updates.clear()
            allowed = params.get("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
            if url and not url.startswith(("http://", "https://")):
                raise _bad("invalid webhook URL specified")
            self._webhook = {
                "url": url,
                "secret_token": params.get("secret_token") or None,
                "max_connections": _as_int(params.get("max_connections"), 40),
                "set_at": time.time(),
            }
            self._webhook_last_error = None
            self._cond.notify_all()  # wakes a pending long poll: "terminated by setWebhook"
        return True

    def _m_deletewebhook(self, params: dict, handler: _Handler) -> bool:
        with self._cond:
            if _as_bool(params.get("drop_pending_updates")):
                self._updates.clear()
            self._webhook = {"url": "", "secret_token": None}
            self._cond.notify_all()
        return True

    def _m_getwebhookinfo(self, params: dict, handler: _Handler) -> dict:
        with self._cond:
            info: dict[str, Any] = {
                "url": self._webhook["url"],
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook["url"]:
                info["max_connections"] = self._webhook.get("max_connections", 40)
                if self._allowed_updates != DEFAULT_ALLOWED_UPDATES:
                    info["allowed_updates"] = sorted(self._allowed_updates)
            if self._webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
            return info

    def _webhook_worker(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:
                with self._cond:
                    while not self._stopping and not (self._webhook["url"] and self._updates):
                        self._cond.wait(0.1)
                    if self._stopping:
                        return
                    update = json.loads(json.dumps(self._updates[0]))
                    url = self._webhook["url"]
                    secret = self._webhook.get("secret_token")
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                status: int | None = None
                error: str | None = None
                try:
                    status = client.post(url, json=update, headers=headers).status_code
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status}"
                except httpx.HTTPError as exc:
                    error = f"Connection failed: {exc.__class__.__name__}"
                with self._cond:
                    update_id = update["update_id"]
                    self._deliveries.append(
                        {"update_id": update_id, "url": url, "status": status, "error": error}
                    )
                    attempts = self._webhook_attempts.get(update_id, 0) + 1
                    self._webhook_attempts[update_id] = attempts
                    done = error is None or attempts >= self.webhook_max_attempts
                    if error is not None:
                        self._webhook_last_error = (int(time.time()), error)
                    if done and self._updates and self._updates[0]["update_id"] == update_id:
                        self._updates.pop(0)
                    self._cond.notify_all()
                    if not done:
                        self._cond.wait(0.2)


TEST_BOT_TOKEN = "123456:TEST-token_abcdef"  # the same as tests/conftest.py BASE_ENV


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A started FakeTelegram with the suite's bot token, stopped after the test."""
    with FakeTelegram(token=TEST_BOT_TOKEN) as fake:
        yield fake
