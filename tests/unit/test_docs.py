"""The README, .env.example and .ci/run stay true to the code.

Environment variables are taken from engine/config.py's settings table (``SETTINGS``); commands from bot.format.COMMANDS and the handlers
bot.handlers.register() really installs.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from telegram.ext import Application, CommandHandler

from bot.format import COMMANDS
from bot.handlers import register
from engine.campaign import CAMPAIGN_ONLY, settable_keys
from engine.config import SETTINGS, TUNABLES, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
CI_RUN = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

RUN_COMMAND = "pip install -r requirements.txt && python -m bot"
TEST_COMMAND = "pip install -r requirements-dev.txt && python -m pytest"
REQUIRED = {
    "TELEGRAM_BOT_TOKEN": "123456:TEST-token_abcdef",
    "TELEGRAM_ADMIN_IDS": "1001",
    "EMAIL_ADDRESS": "sender@example.com",
    "EMAIL_PASSWORD": "app-password-123",
}


def config_env_names() -> set[str]:
    return {row.env for row in SETTINGS}


def section(title: str) -> str:
    """The README text under the heading ``title`` (any level), up to the next heading of the
    same or a higher level."""
    m = re.search(rf"^(#+) {re.escape(title)}\s*$", README, re.MULTILINE)
    assert m, f"README has no section {title!r}"
    level = len(m.group(1))
    rest = README[m.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def table_first_column(text: str) -> list[str]:
    """The backticked names in the first column of the markdown table rows in ``text``."""
    return re.findall(r"^\|\s*`([^`]+)`", text, re.MULTILINE)


def readme_config_lines() -> dict[str, str]:
    """Variable → its whole row, from the configuration table."""
    rows = {}
    for line in section("Configuration").splitlines():
        m = re.match(r"^\|\s*`([A-Z][A-Z0-9_]*)`", line)
        if m:
            rows[m.group(1)] = line
    return rows


def readme_config_rows() -> dict[str, str]:
    """Variable → default cell, from the configuration table."""
    rows = {}
    for line in section("Configuration").splitlines():
        m = re.match(r"^\|\s*`([A-Z][A-Z0-9_]*)`[^|]*\|([^|]*)\|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


def env_example_entries() -> dict[str, str]:
    """Variable → value of every ``NAME=value`` line, commented out or not."""
    return dict(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, re.MULTILINE))


def code_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)]


def test_it_parses_every_env_var_from_the_config_source() -> None:
    # Guards the derivation: if the settings table changes shape, the other tests must not pass vacuously.
    names = config_env_names()
    assert {"TELEGRAM_BOT_TOKEN", "DAILY_EMAIL_LIMIT", "WEBHOOK_SECRET", "LOG_LEVEL"} <= names
    assert len(names) >= 30


def test_it_documents_every_env_var_in_the_readme_configuration_table() -> None:
    missing = config_env_names() - set(readme_config_rows())
    assert not missing, f"add to the README configuration table: {sorted(missing)}"


def test_it_documents_no_unknown_env_var_in_the_readme_configuration_table() -> None:
    unknown = set(readme_config_rows()) - config_env_names()
    assert not unknown, f"the README documents variables the code never reads: {sorted(unknown)}"


def test_it_lists_every_env_var_in_env_example() -> None:
    missing = config_env_names() - set(env_example_entries())
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_it_lists_no_unknown_env_var_in_env_example() -> None:
    unknown = set(env_example_entries()) - config_env_names()
    assert not unknown, f".env.example has variables the code never reads: {sorted(unknown)}"


def test_it_gives_every_env_example_variable_a_comment_line() -> None:
    lines = ENV_EXAMPLE.splitlines()
    assignment = re.compile(r"^#?\s*[A-Z][A-Z0-9_]*=")
    uncommented = [
        line.split("=")[0].lstrip("# ")
        for i, line in enumerate(lines)
        if assignment.match(line)
        and (i == 0 or not lines[i - 1].startswith("#") or assignment.match(lines[i - 1]))
    ]
    assert not uncommented, f"give these a one-line comment above them: {uncommented}"


def test_it_shows_the_code_defaults_in_env_example() -> None:
    """Uncommenting every line of .env.example (with the required values filled in) must give
    exactly the settings the code's defaults give."""
    example = {k: v for k, v in env_example_entries().items() if k != "DATABASE_URL"}
    example.update(REQUIRED)
    from_example = load_settings(example)
    from_defaults = load_settings(REQUIRED)
    assert dataclasses.replace(from_example, database_url="") == dataclasses.replace(
        from_defaults, database_url=""
    )


def test_it_shows_the_env_example_defaults_in_the_readme_table() -> None:
    rows = readme_config_rows()
    wrong = {
        name: value
        for name, value in env_example_entries().items()
        if value and name in rows and name != "DATABASE_URL" and f"`{value}`" not in rows[name]
    }
    assert not wrong, f"README default column disagrees with .env.example: {wrong}"


def test_it_requires_in_the_readme_exactly_the_vars_the_code_requires() -> None:
    required_in_readme = {n for n, default in readme_config_rows().items() if "required" in default}
    assert required_in_readme == set(REQUIRED)
    # And the code agrees: those four alone are enough to start.
    load_settings(REQUIRED)


def test_it_marks_exactly_the_chat_tunable_settings_in_the_readme_table() -> None:
    marked = {name for name, line in readme_config_lines().items() if f"`{name}` ✎" in line}
    assert marked == {row.env for row in TUNABLES.values()}


def test_it_states_each_whole_number_range_in_the_readme_table() -> None:
    lines = readme_config_lines()
    wrong = {
        row.env: row.range
        for row in SETTINGS
        if row.range and f"{row.range[0]}–{row.range[1]}" not in lines[row.env]
    }
    assert not wrong, f"state these ranges in the README configuration table: {wrong}"


def test_it_requires_exactly_the_settings_without_a_default() -> None:
    assert {row.env for row in SETTINGS if row.default is None} == set(REQUIRED)


def test_it_shows_each_table_default_in_env_example() -> None:
    example = env_example_entries()
    wrong = {
        row.env: (example[row.env], default)
        for row in SETTINGS
        if row.default is not None and row.env != "DATABASE_URL"
        for default in [row.default({}) if callable(row.default) else row.default]
        if example[row.env] != default
    }
    assert not wrong, f".env.example disagrees with the settings table: {wrong}"


def readme_commands() -> set[str]:
    """Commands in the README's command table (the text before its first subsection)."""
    table = section("Bot commands").split("\n### ")[0]
    return {c.split()[0].lstrip("/") for c in table_first_column(table)}


def test_it_documents_every_command_in_the_readme() -> None:
    documented = readme_commands()
    missing = {name for name, _ in COMMANDS} - documented
    assert not missing, f"add to the README command list: {sorted(missing)}"


def test_it_documents_no_command_the_bot_lacks() -> None:
    documented = readme_commands()
    unknown = documented - {name for name, _ in COMMANDS}
    assert not unknown, f"the README documents commands not in COMMANDS: {sorted(unknown)}"


def registered_commands() -> set[str]:
    app = Application.builder().token(REQUIRED["TELEGRAM_BOT_TOKEN"]).updater(None).build()
    register(app)
    names: set[str] = set()
    for handlers in app.handlers.values():
        for h in handlers:
            if isinstance(h, CommandHandler):
                names |= set(h.commands)
    return names


def test_it_lists_every_registered_command_in_the_menu() -> None:
    unlisted = registered_commands() - {name for name, _ in COMMANDS}
    assert not unlisted, f"handled but missing from bot.format.COMMANDS: {sorted(unlisted)}"


def test_it_handles_every_command_in_the_menu() -> None:
    unhandled = {name for name, _ in COMMANDS} - registered_commands()
    assert not unhandled, f"in bot.format.COMMANDS but no CommandHandler: {sorted(unhandled)}"


def test_it_documents_exactly_the_settings_keys() -> None:
    """Every key /settings takes (the campaign's and the global ones), and no other."""
    keys = table_first_column(section("`/settings` keys"))
    assert sorted(keys) == sorted(settable_keys())


def test_it_pairs_each_settings_key_with_its_env_var() -> None:
    """A key the environment also sets names its variable; a campaign-only key names none."""
    rows = re.findall(r"^\|\s*`([a-z_]+)`\s*\|\s*(`[A-Z_]+`|—)", section("`/settings` keys"), re.M)
    expected = {
        key: f"`{TUNABLES[key].env}`" if key in TUNABLES and key not in CAMPAIGN_ONLY else "—"
        for key in settable_keys()
    }
    assert dict(rows) == expected


def test_it_has_exactly_the_two_quick_start_commands() -> None:
    blocks = code_blocks(section("Quick start"))
    assert blocks[:2] == [RUN_COMMAND, TEST_COMMAND]
    assert not [b for b in blocks[2:] if "pip " in b or "python -m" in b]


def test_it_ends_ci_with_the_readme_test_command() -> None:
    install, _, run = TEST_COMMAND.partition(" && ")
    lines = [ln.strip() for ln in CI_RUN.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[-1] == run
    requirement = install.removeprefix("pip install ")
    assert any("pip install" in ln and requirement in ln for ln in lines[:-1]), (
        f".ci/run must {install} before running the tests"
    )
