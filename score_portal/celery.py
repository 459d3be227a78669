"""The Celery application. Tasks live in each app's tasks.py and are found automatically."""

import logging
import os
from typing import Any

from celery import Celery

from score_portal import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "score_portal.settings")

app = Celery("score_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Request ids into tasks, task metrics, and Django's LOGGING for the worker and beat.
observability.watch_celery()


logger = logging.getLogger(__name__)


def publish(task: Any, *args: Any) -> bool:
    """Queue ``task`` with ``args``; False if the broker is down (logged, never raised).

    Every caller keeps the work itself in the database (an outbox row, a pending certificate,
    an uploaded import), so a request never fails because Redis is away: the periodic sweeps
    queue that work again once it is back.
    """
    try:
        task.delay(*args)
    except Exception:
        logger.exception("Could not queue %s%r: left for the sweep", task.name, args)
        return False
    return True
