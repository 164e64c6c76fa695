"""Build :class:`AppSettings` from the environment, a ``.env`` file and overrides.

All problems are collected before anything fails, so a user fixes their
configuration in one pass: each bad variable becomes one
:class:`~vibe.common.errors.ConfigIssue` naming the variable, the value (masked
when it is a secret) and what was expected. A line of the dotenv file that is
not ``NAME=value``, a comment or blank is an issue too, named by file and line
number (only its first word is shown: the rest may be a secret).
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from dotenv.parser import parse_stream
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from vibe.common.errors import ConfigIssue, ConfigurationError
from vibe.trading_bot.config.settings import (
    GROUPS,
    AppSettings,
    is_secret_setting,
    setting_names,
)

MASK = "**********"

#: Variables read by SDKs or the shell that may sit in a ``.env`` file legitimately.
_FOREIGN_PREFIXES = ("AWS_", "AZURE_", "PYTHON", "TZ", "HOME", "PATH")


def load_settings(
    env_file: str | Path | None = ".env",
    overrides: Mapping[str, Any] | None = None,
) -> AppSettings:
    """Read every setting group and check every rule.

    Precedence, highest first: ``overrides`` (keys are setting names, any case,
    e.g. ``{"trend_filter": "false"}``), environment variables, the ``env_file``,
    defaults.

    Args:
        env_file: path of a dotenv file; a missing file is ignored; ``None`` skips it.
        overrides: values that win over the environment (backtest ``--param``).

    Returns:
        The frozen, validated settings.

    Raises:
        ConfigurationError: one issue per bad, unknown or missing variable, and one
            per malformed line of ``env_file``.
    """
    names = setting_names()
    by_group: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
    issues = _sort_overrides(overrides or {}, names, by_group)
    issues += malformed_env_lines(env_file)
    with _dotenv_warnings_silenced():  # reported above, with line numbers
        issues += _unknown_env_file_keys(env_file, names)
        groups: dict[str, BaseSettings] = {}
        for group_name, cls in GROUPS.items():
            try:
                groups[group_name] = cls(_env_file=env_file, **by_group[group_name])
            except ValidationError as exc:
                issues += issues_from_validation(exc)
            except ConfigurationError as exc:
                issues += exc.issues
    if issues:
        raise ConfigurationError(issues)
    return AppSettings(**groups)


def _sort_overrides(
    overrides: Mapping[str, Any], names: dict[str, str], by_group: dict[str, dict[str, Any]]
) -> list[ConfigIssue]:
    issues = []
    for key, value in overrides.items():
        group = names.get(key.lower())
        if group is None:
            issues.append(_unknown(key, value, names))
        else:
            by_group[group][key.lower()] = value
    return issues


_FIRST_WORD = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)")
_DOTENV_LOGGER = "dotenv.main"


def malformed_env_lines(env_file: str | Path | None) -> list[ConfigIssue]:
    """One issue per line of ``env_file`` that python-dotenv cannot parse, or a bare ``NAME``.

    The issue is named ``<file> line <n>``; its value shows the line's first word
    only (the rest is masked: it may hold a secret). A missing file has no issue.
    """
    if env_file is None or not Path(env_file).is_file():
        return []
    issues = []
    line = 1  # counted here: python-dotenv's own count drifts after blank lines
    with Path(env_file).open(encoding="utf-8", errors="replace") as stream:
        for binding in parse_stream(stream):
            raw = binding.original.string
            start, line = line, line + raw.count("\n")
            if not binding.error and (binding.key is None or binding.value is not None):
                continue  # a good line, a comment or a blank (a bare NAME has no value)
            start += raw[: len(raw) - len(raw.lstrip())].count("\n")  # blank lines before it
            text = raw.strip()
            word = _FIRST_WORD.match(text)
            shown = word.group(1) if word else ""
            if len(text) > len(shown):
                shown = f"{shown} {MASK}".strip()
            issues.append(
                ConfigIssue(
                    f"{env_file} line {start}",
                    shown,
                    "NAME=value, a # comment or a blank line",
                )
            )
    return issues


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def _dotenv_warnings_silenced() -> Iterator[None]:
    """python-dotenv logs "could not parse statement"; :func:`malformed_env_lines` says it."""
    logger = logging.getLogger(_DOTENV_LOGGER)
    drop = _DropAll()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _unknown_env_file_keys(env_file: str | Path | None, names: dict[str, str]) -> list[ConfigIssue]:
    if env_file is None or not Path(env_file).is_file():
        return []
    issues = []
    for key, value in dotenv_values(env_file).items():
        if key.lower() not in names and not key.upper().startswith(_FOREIGN_PREFIXES):
            issues.append(_unknown(key, value, names))
    return issues


def _unknown(key: str, value: Any, names: dict[str, str]) -> ConfigIssue:
    close = difflib.get_close_matches(key.lower(), list(names), n=1)
    hint = f" (did you mean {close[0].upper()}?)" if close else ""
    return ConfigIssue(key.upper(), MASK if value else None, f"a known setting name{hint}")


def issues_from_validation(exc: ValidationError) -> list[ConfigIssue]:
    """Translate pydantic's errors into issues that name the environment variable.

    Secret values are masked; pydantic's "Input should be" / "Value error," wording
    is trimmed to the expectation itself.
    """
    issues = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "?"
        raw = error.get("input")
        if is_secret_setting(field):
            shown = MASK if raw else None
        else:
            shown = None if raw is None or isinstance(raw, dict) else str(raw)
            if shown is not None and field.endswith("_url"):
                shown = _mask_query(shown)
        issues.append(ConfigIssue(field.upper(), shown, _expected(field, error["msg"])))
    return issues


def _mask_query(url: str) -> str:
    """A URL with its query string masked (it may carry a key or a SAS token)."""
    base, sep, _ = url.partition("?")
    return f"{base}?{MASK}" if sep else url


def _expected(field: str, message: str) -> str:
    for prefix in ("Input should be ", "Value error, "):
        message = message.removeprefix(prefix)
    group = setting_names().get(field.lower())
    description = GROUPS[group].model_fields[field.lower()].description if group else None
    return f"{message} ({description})" if description else message
