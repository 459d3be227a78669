"""``manage.py check_training_records [rule ...]``: list stored records that break the rules.

Changes nothing. Prints one line per violation (rule, row, message) and exits 1 when it
finds any (2 for an unknown rule), so it can run in CI or cron after a rule is tightened.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from score_portal import record_checks


class Command(BaseCommand):
    help = "List stored records that break the training rules (dates in order, ...); exit 1 if any."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("rules", nargs="*", help="only these rules (default: all)")
        parser.add_argument("--list", action="store_true", help="list the rules and stop")

    def handle(self, *args: Any, rules: list[str], list: bool, **options: Any) -> None:
        known = record_checks.rules()
        if list:
            for rule in known:
                self.stdout.write(rule)
            return
        unknown = sorted(set(rules) - set(known))
        if unknown:
            self.stderr.write(
                f"Unknown rule(s): {', '.join(unknown)}; the rules are: {', '.join(known)}."
            )
            sys.exit(2)
        found = 0
        with translation.override("en"):
            for violation in record_checks.run(rules or None):
                found += 1
                self.stdout.write(f"{violation.rule}: {violation.label}: {violation.message}")
        if found:
            self.stderr.write(f"{found} record(s) break the rules.")
            sys.exit(1)
        self.stdout.write(f"No record breaks the rules ({len(rules or known)} checked).")
