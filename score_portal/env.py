"""Strict reading of environment variables for settings.

Every variable the portal reads goes through one of these functions, so a typo in a
deployment ("DEBUG=ture", "DATABASE_CONN_MAX_AGE=sixty") stops the process with a message
that names the variable, instead of silently falling back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(Exception):
    """A bad value in the environment: the message says which variable and why."""


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        return None if value is None else value.strip()

    def is_set(self, name: str) -> bool:
        return bool(self._raw(name))

    def string(self, name: str, default: str = "") -> str:
        value = self._raw(name)
        return value or default

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if not value:  # unset or empty: the default, as for every other type
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(
            f"{name}={value!r} is not a boolean: use one of true/false, yes/no, on/off, 1/0."
        )

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._raw(name)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r} is not a whole number.") from None
        if minimum is not None and number < minimum:
            raise SettingsError(f"{name}={number} is below the minimum of {minimum}.")
        return number

    def fraction(self, name: str, default: float | None = None) -> float | None:
        """A number from 0 to 1 (a sampling rate), or ``default`` when unset."""
        value = self._raw(name)
        if not value:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r} is not a number.") from None
        if not 0 <= number <= 1:
            raise SettingsError(f"{name}={number} must be between 0 and 1.")
        return number

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._raw(name)
        if not value:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self._raw(name) or default
        if value not in choices:
            raise SettingsError(f"{name}={value!r} must be one of: {', '.join(choices)}.")
        return value

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        value = self._raw(name) or default
        scheme, sep, _rest = value.partition("://")
        if not sep or scheme not in schemes:
            raise SettingsError(
                f"{name} must be a URL starting with one of: "
                f"{', '.join(s + '://' for s in schemes)} (got {value!r})."
            )
        return value
