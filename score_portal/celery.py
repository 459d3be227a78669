"""The Celery application. Tasks live in each app's tasks.py and are found automatically;
work is queued through score_portal.jobs, which names the tasks."""

import os

from celery import Celery

from score_portal import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "score_portal.settings")

app = Celery("score_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Request ids into tasks, task metrics, and Django's LOGGING for the worker and beat.
observability.watch_celery()
