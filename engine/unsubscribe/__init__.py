"""One-click unsubscribe (RFC 8058): the signed link each campaign email carries
(:mod:`engine.unsubscribe.links`, pure) and what following it does (:mod:`engine.unsubscribe.service`).
The HTTP endpoint that serves the link is the bot's (``bot/unsubscribe.py``)."""
