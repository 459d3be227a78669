"""End to end through Redis: a request queues work, a separate worker process does it."""

import re
import uuid

import pytest
from django.urls import reverse

from score_portal.models import OutboundEmail
from score_portal.tasks import deliver_email, sweep_jobs
from tests.conftest import client_for, send_to_queue, wait_for, worker_running

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _outbox_files(worker) -> set:
    return set(worker.outbox_dir.iterdir())


def test_password_reset_email_is_sent_by_the_live_worker(live_worker, brand_staff):
    before = _outbox_files(live_worker)
    response = client_for(None).post(
        reverse("account_reset_password"), {"email": brand_staff.email}
    )
    assert response.status_code == 302
    email = OutboundEmail.objects.get(to=brand_staff.email)

    def sent():
        email.refresh_from_db()
        return email.status == OutboundEmail.Status.SENT

    assert wait_for(sent), f"still {email.status} after 30 s"
    assert email.sent_at is not None
    files = _outbox_files(live_worker) - before
    assert len(files) == 1
    content = files.pop().read_text()
    assert f"To: {brand_staff.email}" in content
    assert "/accounts/password/reset/key/" in content


def test_the_same_email_queued_twice_is_sent_once(live_worker, brand_staff):
    before = _outbox_files(live_worker)
    client_for(None).post(reverse("account_reset_password"), {"email": brand_staff.email})
    email = OutboundEmail.objects.get(to=brand_staff.email)
    deliver_email.delay(email.pk)  # a duplicate delivery, as after a redelivered message

    def sent():
        email.refresh_from_db()
        return email.status == OutboundEmail.Status.SENT

    assert wait_for(sent)
    # Give the duplicate time to run too, then count what actually went out.
    wait_for(lambda: False, timeout=2)
    assert len(_outbox_files(live_worker) - before) == 1
    email.refresh_from_db()
    assert email.attempts == 1


@pytest.mark.parametrize(("quota", "children"), [("1", 3), ("0", 1)])
def test_a_prefork_worker_replaces_its_child_after_its_quota_of_tasks(tmp_path, quota, children):
    """WORKER_MAX_TASKS_PER_CHILD keeps a worker's memory flat (certificate rendering caches
    fonts): with a quota of one task, three tasks run in three successive children; 0 turns
    it off. (Named CELERY_..., `celery worker` read it as its own option and stopped on 0.)"""
    queue = f"score-recycle-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "worker.log"
    with worker_running(path, queue=queue, pool="prefork", WORKER_MAX_TASKS_PER_CHILD=quota):
        for _ in range(3):
            send_to_queue(sweep_jobs, queue)
        assert wait_for(lambda: path.read_text().count(" succeeded in ") == 3, timeout=60), (
            path.read_text()[-3000:]
        )
    ran_in = re.findall(r"/(ForkPoolWorker-\d+)\].* succeeded in ", path.read_text())
    assert len(ran_in) == 3 and len(set(ran_in)) == children, ran_in
