"""Shared fixtures. The real servers live in ``tests/servers/``, registered here."""

pytest_plugins = [
    "tests.servers.smtp",
    "tests.servers.dovecot",
    "tests.servers.telegram",
]
