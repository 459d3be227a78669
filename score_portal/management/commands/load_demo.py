"""``manage.py load_demo``: the demo world, and a table of who can sign in with what."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from score_portal.demo import DEFAULT_PASSWORD, DemoUser, load_demo_world

PORTAL_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = (
        "Create the demo world (partners, factories, a cohort, one user per role) if it is "
        "missing, and print the demo users. Safe to run repeatedly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password for every demo user (default: {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even when SCORE_ENVIRONMENT=production.",
        )

    def handle(self, *args: Any, password: str, force: bool, **options: Any) -> None:
        # Demo accounts with a published password must never appear in production by accident.
        if getattr(settings, "PRODUCTION", False) and not force:
            raise CommandError(
                _(
                    "Refusing to load demo data: this is a production environment "
                    "(SCORE_ENVIRONMENT=production). The demo users share a published "
                    "password. Use --force only if you really mean it."
                )
            )
        if not password:
            raise CommandError(_("The demo password cannot be empty."))
        users = load_demo_world(password=password)
        self.stdout.write(self.style.SUCCESS(_("Demo data is ready.")))
        self.stdout.write(_table(users, password))
        self.stdout.write(
            _("Open %(url)s and sign in with any of these accounts.") % {"url": PORTAL_URL}
        )


def _table(users: list[DemoUser], password: str) -> str:
    header = [_("Role"), _("Email"), _("Password"), _("Organisation")]
    rows = [header] + [[u.role, u.email, password, u.organisation] for u in users]
    # The last column is not padded, so its names (CJK, Bengali) need no width estimate.
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in [*widths, _width(row[-1])]))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )
