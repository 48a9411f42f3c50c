"""Every state and kind the engine stores, as ``StrEnum``s: one place to read what a column may
hold. Values are the strings already in the database, so no migration is needed.

Different enums may share a value where two columns name the same idea (a lead and an outbound
message can both be ``sent``); they are still different types, and ``tests/unit/test_states.py``
lists every shared value so that none is shared by accident.
"""

from __future__ import annotations

from enum import StrEnum


class LeadStatus(StrEnum):
    PENDING = "pending"  # imported, nothing sent yet
    SENT = "sent"  # in its sequence
    REPLIED = "replied"  # a human answered: the sequence stopped
    BOUNCED = "bounced"  # a hard bounce: never written to again
    FAILED = "failed"  # the address cannot be sent to
    UNSUBSCRIBED = "unsubscribed"  # asked to be removed (or suppressed)
    COMPLETED = "completed"  # every step sent, no answer
    STOPPED = "stopped"  # stopped by the operator
    INVALID = "invalid"  # /verify found no mail server for its domain: never written to


class OutboundState(StrEnum):
    """queued -> sending -> sent | failed | cancelled; sending -> uncertain."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCERTAIN = "uncertain"


class MessageKind(StrEnum):
    """What an outbound message is: step 0, steps 1..N, the calendar answer, a /test email,
    an answer an admin wrote in the chat."""

    INITIAL = "initial"
    FOLLOWUP = "followup"
    CALENDAR = "calendar"
    TEST = "test"
    ANSWER = "answer"


# The steps of a lead's sequence: the campaign emails, which carry the unsubscribe link.
CAMPAIGN_KINDS = (MessageKind.INITIAL, MessageKind.FOLLOWUP)

# Answers to a lead that are not steps of its sequence: sending one never moves the lead on,
# and a lead out of its sequence (it replied) may still get one.
REPLY_KINDS = (MessageKind.CALENDAR, MessageKind.ANSWER)


class DraftState(StrEnum):
    """An answer written in the chat (``answer_drafts.state``)."""

    AWAITING = "awaiting"  # Reply pressed: the admin's next text is the draft
    READY = "ready"  # previewed with Send and Cancel
    SENDING = "sending"  # claimed: its outbound row says whether it went
    SENT = "sent"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class CalendarMode(StrEnum):
    """What a lead's first human reply does about the calendar answer (``CALENDAR_MODE``)."""

    AUTO = "auto"  # queued at once when a calendar link is set
    ASK = "ask"  # nothing queued; the reply notice offers a button that queues it
    OFF = "off"  # never sent


class CampaignState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Hold(StrEnum):
    """Why no email goes right now: the reason of a closed gate (``engine.sending.pacing.Gate``)
    or of a stopped send run. The engine reports the hold and the detail its words need;
    ``bot/messages/holds.py`` writes the words."""

    CAMPAIGN_NOT_RUNNING = "campaign_not_running"  # paused or stopped (detail: state, reason)
    BLOCKED = "blocked"  # the account is on hold (detail: the reason stored on the mailbox)
    OUTSIDE_WINDOW = "outside_window"  # outside SEND_WINDOW / SEND_DAYS (detail: the window)
    DAILY_CAP = "daily_cap"  # the cap for the local day (detail: sent, limit)
    ROLLING_CAP = "rolling_cap"  # the cap over the rolling 24 hours (detail: sent, limit)
    PACING = "pacing"  # the gap between emails (and the batch pause) is not over
    NOTHING_DUE = "nothing_due"  # no lead or queued email is due
    BRAKE = "brake"  # the campaign was paused or stopped while a batch was being sent
    MAILBOX_PAUSED = "mailbox_paused"  # this mailbox is paused or broken (detail: mailbox, hold)
    CAMPAIGN_LIMIT = "campaign_limit"  # the campaign's own daily limit (detail: sent, limit)
    NO_MAILBOX = "no_mailbox"  # none of the campaign's mailboxes exists (detail: mailboxes)


class BlockReason(StrEnum):
    """Why the account is on hold (``mailbox_state.blocked_reason``). A row written by an older
    release holds a sentence instead, shown as stored."""

    TOO_MANY_LOGINS = "too_many_logins"
    QUOTA = "quota"


class AlertCondition(StrEnum):
    """A standing condition the admins are told about once when it starts and once when it
    ends. A typo here is a type error, not an alert that never clears."""

    ACCOUNT = "account"  # the mailbox refuses the login
    CONTENT = "content"  # the server blocks our content (5.7.x)
    QUOTA = "quota"  # the sending quota is used up
    SERVER_BUSY = "server_busy"  # 4xx back-off
    TOO_MANY_LOGINS = "too_many_logins"
    BOUNCE_RATE = "bounce_rate"  # the bounce-rate guard paused the campaign
    UNCERTAIN = "uncertain"  # sends whose outcome is unknown need the operator
    RECORD_FAILED = "record_failed"  # accepted by the server, not recorded
    IMAP = "imap"  # the reply check keeps failing
    MAILBOX_BROKEN = "mailbox_broken"  # stored mailbox passwords cannot be decrypted
    JOB_SEND = "job:send"
    JOB_MIDNIGHT = "job:midnight"
    JOB_OUTBOX = "job:outbox"
    JOB_MAINTENANCE = "job:maintenance"

    @classmethod
    def for_job(cls, job: str) -> AlertCondition:
        """The condition of a failing scheduler job (``job:<name>``)."""
        return cls(f"job:{job}")


class NoticeKind(StrEnum):
    """What a notification to the admins is about. The engine stores the kind and a structured
    payload; ``bot/`` turns them into words and buttons."""

    # --- inbox
    REPLY = "reply"
    BOUNCE = "bounce"
    OPT_OUT = "opt_out"
    UNVERIFIED = "unverified"
    AWAY = "away"  # an out-of-office reply named its return date
    # --- one-click unsubscribe (engine/unsubscribe/)
    UNSUBSCRIBE_LINK = "unsubscribe_link"  # a lead unsubscribed with the link in the email
    # --- sending
    BAD_ADDRESS = "bad_address"  # a lead's stored address cannot go on an envelope
    # --- system
    ALERT = "alert"
    CLEARED = "cleared"
    SUMMARY = "summary"
    INFO = "info"
    ERROR = "error"


class InboundKind(StrEnum):
    """What an inbound message was recorded as (``inbound_messages.kind``). The classifier's
    verdict is one of the first four; the rest are the reply check's own."""

    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    OPT_OUT = "opt_out"
    HUMAN = "human"
    OTHER = "other"  # no matching lead, an uncited bounce, or not classifiable in time
    OWN = "own"  # sent by this mailbox
    UNVERIFIED = "unverified"  # the sender failed DMARC: held until an admin applies it
    DUPLICATE = "duplicate"  # seen before (never stored: the reply check's count only)


class MailboxSource(StrEnum):
    """Where a mailbox's account comes from."""

    ENV = "env"  # EMAIL_ADDRESS / EMAIL_PASSWORD: mailbox 1
    CHAT = "chat"  # added with /mailbox add (password encrypted with SECRET_KEY)


class MailboxStatus(StrEnum):
    """Whether a mailbox sends. ``paused`` carries a :class:`MailboxHold` saying why."""

    ACTIVE = "active"
    PAUSED = "paused"
    BROKEN = "broken"  # its password cannot be decrypted (SECRET_KEY missing or changed)
    REMOVED = "removed"  # kept for its history; sends and reads nothing


class MailboxHold(StrEnum):
    """Why a mailbox is paused: by an admin, or by a fault kept to that mailbox."""

    ADMIN = "admin"
    AUTH = "auth"  # the server refuses the login
    QUOTA = "quota"
    CONTENT = "content"  # 5.7.x: content or reputation blocked
    BOUNCE_RATE = "bounce_rate"


class StateReason(StrEnum):
    """Why the campaign (or a mailbox) is paused or stopped, stored as data and worded by
    ``bot/messages/holds.py``. A row written by an older release holds a sentence instead,
    shown as stored."""

    ADMIN_PAUSE = "admin_pause"
    ADMIN_STOP = "admin_stop"
    LOGIN_FAILED = "login_failed"
    CONTENT_BLOCKED = "content_blocked"
    RECIPIENT_STREAK = "recipient_streak"
    BOUNCE_RATE = "bounce_rate"  # detail: rate
    RECORD_FAILED = "record_failed"
