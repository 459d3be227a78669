"""``manage.py health [component ...]``: readiness from a shell, for container healthchecks.

Prints one line per component and exits 1 if any is failing (2 for an unknown name), so a
compose healthcheck can ask for exactly what its service is responsible for, e.g.
``manage.py health beat`` in the beat container.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from score_portal import health


class Command(BaseCommand):
    help = "Run the readiness checks (all, or the components named) and exit 1 if any fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("components", nargs="*", help="database, cache, broker, workers, ...")

    def handle(self, *args: Any, components: list[str], **options: Any) -> None:
        available = {probe.name: probe for probe in health.probes()}
        unknown = sorted(set(components) - set(available))
        if unknown:
            self.stderr.write(
                f"Unknown component(s): {', '.join(unknown)}; this deployment has: "
                f"{', '.join(available)}."
            )
            sys.exit(2)
        chosen = [available[name] for name in components] if components else None
        outcomes = health.run(chosen)
        for outcome in outcomes:
            state = "ok" if outcome.ok else "failing"
            detail = f" ({outcome.detail})" if outcome.detail else ""
            self.stdout.write(f"{outcome.name}: {state}{detail}")
        if not all(outcome.ok for outcome in outcomes):
            sys.exit(1)
