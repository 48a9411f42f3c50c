"""Errors typed by what they mean, decided in one place
(``engine.sending.smtp_errors.classify_smtp_error``).

The sender raises one of these; only the dispatcher decides what to do about it.
"""

from __future__ import annotations


class OutreachError(Exception):
    """Base class for every error the engine raises on purpose."""


class ConfigError(OutreachError):
    """The configuration is wrong. ``problems`` lists every problem found, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class UserInputError(OutreachError):
    """Something the operator sent is wrong; the message says what and what to do."""


class SecretKeyMissing(UserInputError):
    """A mailbox's password would have to be stored, and SECRET_KEY is not set."""

    def __init__(self) -> None:
        super().__init__(
            "Mailboxes added from the chat need SECRET_KEY: their passwords are stored "
            "encrypted with it. Set SECRET_KEY (at least 16 characters, e.g. the output of "
            'python -c "import secrets; print(secrets.token_urlsafe(32))") and restart, then '
            "add the mailbox again. Nothing was saved."
        )


class WrongSecretKey(OutreachError):
    """A stored mailbox password cannot be decrypted: SECRET_KEY is not the key it was
    encrypted with, or the stored text was altered. The text never contains either."""


class SendError(OutreachError):
    """A send did not go through. ``smtp_code``/``enhanced`` carry the server's answer if any."""

    def __init__(
        self, text: str, smtp_code: int | None = None, enhanced: str | None = None
    ) -> None:
        self.text = text
        self.smtp_code = smtp_code
        self.enhanced = enhanced
        super().__init__(text)


class AccountBroken(SendError):
    """The mailbox login does not work (535/534/530, no AUTH offered): pause, touch no lead."""


class TooManyLogins(SendError):
    """454 too many logins / concurrent sessions: back off the account for a while."""


class QuotaExceeded(SendError):
    """The provider's sending quota is used up (550 5.4.5 ...): stop until the window rolls."""


class TryLater(SendError):
    """The server is busy or unreachable (421, 4.x.x, timeouts): retry the same message later."""


class ClassifierUnavailable(TryLater):
    """The inbox's classifier process could not be started: no mailbox can be read now (the
    reply check fails as a whole and is retried; it is no fault of any mailbox)."""


class RecipientRejected(SendError):
    """This recipient is bad (550 5.1.1, 553 5.1.x at RCPT): the lead bounces."""


class ContentBlocked(SendError):
    """Our content or reputation is blocked (5.7.x on the message, 554): pause and tell."""


class Uncertain(SendError):
    """The connection dropped after DATA was sent: the server may or may not have the message."""


class DatabaseUnavailable(OutreachError):
    """The database cannot be reached right now; the job retries later."""
