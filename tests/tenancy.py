"""Helpers for the per-view access matrices."""

from __future__ import annotations

from django.test import Client

from tests.conftest import client_for


def status_for(request, persona: str | None, url: str) -> int:
    """GET ``url`` as the named persona fixture (None: an anonymous visitor)."""
    user = request.getfixturevalue(persona) if persona else None
    client: Client = client_for(user)
    return client.get(url).status_code
