"""What running on several machines needs from the code: each kind of work on its own queue,
and stored files reached only through Django's storage API (so a bucket can hold them)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from score_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
APPS = ("score_portal", "partners", "suppliers", "training", "reporting", "webhooks")


def _queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize(
    ("task_name", "kind"),
    [
        ("score_portal.tasks.deliver_email", "emails"),
        ("score_portal.tasks.deliver_emails", "emails"),
        ("training.tasks.render_certificate", "certificates"),
        ("reporting.tasks.render_results_report", "certificates"),
        ("suppliers.tasks.analyse_supplier_import", "imports"),
        ("suppliers.tasks.write_supplier_import", "imports"),
        ("webhooks.tasks.deliver_webhook", "webhooks"),
        ("score_portal.tasks.sweep_outbox", "default"),
        ("score_portal.tasks.sweep_jobs", "default"),
        ("training.tasks.sweep_certificates", "default"),
        ("suppliers.tasks.sweep_supplier_imports", "default"),
        ("training.tasks.send_classroom_reminders", "default"),
    ],
)
def test_each_kind_of_work_goes_to_its_own_queue(task_name, kind):
    prefix = settings.CELERY_QUEUE  # "score", or the test run's own
    expected = prefix if kind == "default" else f"{prefix}.{kind}"
    assert _queue_of(task_name) == expected


def test_every_task_the_portal_defines_has_a_queue_a_worker_reads():
    celery_app.loader.import_default_modules()
    ours = [name for name in celery_app.tasks if name.startswith(tuple(f"{a}." for a in APPS))]
    assert ours
    assert {_queue_of(name) for name in ours} <= set(settings.TASK_QUEUES.values())


def _file_fields() -> set[str]:
    return {
        field.name
        for model in apps.get_models()
        if model._meta.app_label
        in {"score_portal", "partners", "suppliers", "training", "reporting"}
        for field in model._meta.get_fields()
        if isinstance(field, models.FileField)
    }


def _uses_of_local_paths(source: str) -> list[str]:
    """``<x>.<file field>.path`` and ``<storage>.path(...)``: both need files on a local disk."""
    found = []
    fields = _file_fields()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or node.attr != "path":
            continue
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if name in fields or "storage" in name:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_local_path_finder_finds_what_it_looks_for():
    assert {"supporting_document", "file", "pdf"} <= _file_fields()
    assert _uses_of_local_paths(
        "a = certificate.pdf.path\nb = default_storage.path(name)\nc = request.path\n"
    ) == ["line 1: certificate.pdf.path", "line 2: default_storage.path"]


def test_no_code_reads_a_stored_file_by_its_local_path():
    offenders = {
        str(path.relative_to(ROOT)): found
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if (found := _uses_of_local_paths(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_compose_workers_together_read_every_queue_each_once():
    """docker-compose.yml runs with the default CELERY_QUEUE ("score"): its workers' --queues
    must cover every queue the portal routes to, and no queue twice (one worker per kind)."""
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    read = [q for listed in re.findall(r"--queues=(\S+)", compose) for q in listed.split(",")]
    prefix = settings.CELERY_QUEUE
    expected = {"score" + name.removeprefix(prefix) for name in settings.TASK_QUEUES.values()}
    assert sorted(read) == sorted(expected)
