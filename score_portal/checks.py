"""Deployment checks of our own, run by ``manage.py check --deploy`` (``make check-deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.caches, deploy=True)
def broker_apart_from_cache(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The broker and the cache in one Redis database: flushing the cache drops queued work."""
    if settings.REDIS_URL and settings.CELERY_BROKER_URL == settings.REDIS_URL:
        return [
            Warning(
                "Celery's broker and the cache share one Redis database.",
                hint=(
                    "Set REDIS_BROKER_URL to another database (redis://host:6379/1 beside "
                    "REDIS_URL's /0) or another Redis: a cache flush would drop queued tasks."
                ),
                id="score_portal.W001",
            )
        ]
    return []
