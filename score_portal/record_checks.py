"""Checks of the records already stored: which rows break a rule the services now enforce.

Each app registers its rules (``register``), each a function that yields ``Violation``s and
changes nothing; ``manage.py check_training_records`` runs them all (or those named) and
lists what it finds. The kernel knows no app: a rule brings its own query and message.

Adding a rule::

    @record_checks.register("attendance_before_classroom")
    def attendance_before_classroom(today: datetime.date) -> Iterator[Violation]:
        for row in ...:
            yield Violation(row, "attendance_before_classroom", "…")
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.db import models
from django.utils import timezone


@dataclass(frozen=True)
class Violation:
    """One stored row that breaks one rule, and why (a sentence naming the dates)."""

    obj: models.Model
    rule: str
    message: str

    @property
    def label(self) -> str:
        return f"{self.obj._meta.label} #{self.obj.pk}"


Check = Callable[[datetime.date], Iterable[Violation]]
_CHECKS: dict[str, Check] = {}


def register(rule: str) -> Callable[[Check], Check]:
    """Register ``check`` under ``rule`` (its name on the command line and in the output)."""

    def decorate(check: Check) -> Check:
        if rule in _CHECKS and _CHECKS[rule] is not check:
            raise ValueError(f"A record check named {rule!r} is already registered.")
        _CHECKS[rule] = check
        return check

    return decorate


def rules() -> list[str]:
    return list(_CHECKS)


def run(
    names: Iterable[str] | None = None, *, today: datetime.date | None = None
) -> Iterator[Violation]:
    """Every violation of the rules named (all by default), rule by rule, as of ``today``."""
    today = today or timezone.localdate()
    for name in names or list(_CHECKS):
        yield from _CHECKS[name](today)
