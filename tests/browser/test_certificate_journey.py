"""The trainer completes an enrolment → the factory manager downloads the certificate → an
anonymous visitor checks its number."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.test_partnership_journey import sign_in
from tests.conftest import hold_classroom
from tests.factories import held_classroom
from training.models import Certificate
from training.services import enrolment as services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def delivered(world, factory_manager, trainer):
    """Every step of the cycle done but completion, through the services, in time order (the
    classroom held 40 days ago)."""
    enrolment = world.enrolment
    today = datetime.date.today()
    held_classroom(world.cohort)
    services.confirm_enrolment(enrolment=enrolment, actor=factory_manager)
    services.name_participants(
        enrolment=enrolment,
        actor=factory_manager,
        participants=[
            {"name": "王芳", "position": "", "role": "manager", "gender": "woman"},
            {"name": "李强", "position": "", "role": "manager", "gender": "man"},
            {"name": "张丽", "position": "", "role": "worker", "gender": "woman"},
            {"name": "陈伟", "position": "", "role": "worker", "gender": "man"},
        ],
    )
    services.record_visit(
        enrolment=enrolment,
        actor=trainer,
        kind="baseline",
        visited_on=today - datetime.timedelta(days=45),
    )
    hold_classroom(enrolment, trainer)
    action = services.add_improvement_action(
        enrolment=enrolment,
        actor=factory_manager,
        description="Suggestion box",
        owner="EIT",
        due_date=today,
    )
    for days_ago in (30, 20, 10):
        services.record_visit(
            enrolment=enrolment,
            actor=trainer,
            kind="follow_up",
            visited_on=today - datetime.timedelta(days=days_ago),
            actions_reviewed=[action],
        )
    return enrolment


def test_trainer_completes_manager_downloads_anyone_verifies(
    browser, live_server, delivered, trainer, factory_manager, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"

    def session(user=None):
        page = browser.new_context(base_url=live_server.url, accept_downloads=True).new_page()
        page.set_default_timeout(20_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.problems = problems  # type: ignore[attr-defined]
        if user is not None:
            sign_in(page, user.email)
        return page

    # 1. The trainer marks the enrolment completed; the certificate is rendered after commit.
    trainer_page = session(trainer)
    trainer_page.goto(delivered.get_absolute_url())
    trainer_page.get_by_role("button", name="Mark completed").click()
    expect(trainer_page.get_by_text("Enrolment completed.")).to_be_visible()
    certificate = Certificate.objects.get(enrolment=delivered)
    assert certificate.status == Certificate.Status.ISSUED

    # 2. The factory manager finds it among their certificates and downloads the PDF.
    manager_page = session(factory_manager)
    manager_page.goto("/training/certificates/")
    expect(manager_page.get_by_role("cell", name=certificate.code)).to_be_visible()
    with manager_page.expect_download() as download_info:
        manager_page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert certificate.code in download.suggested_filename
    path = tmp_path / "downloaded.pdf"
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")

    # 3. Anyone checks the number printed under the QR code, without signing in.
    visitor = session()
    visitor.goto(f"/verify/{certificate.code}/")
    expect(visitor.get_by_role("heading", name="Valid certificate")).to_be_visible()
    expect(visitor.get_by_text(delivered.factory.name)).to_be_visible()
    expect(visitor.get_by_text("Brand A")).to_have_count(0)
    # But the certificate's file is not theirs to download.
    visitor.goto(f"/training/certificates/{certificate.pk}/pdf/")
    expect(visitor.get_by_label("Password")).to_be_visible()  # sent to sign in
    for page in (trainer_page, manager_page, visitor):
        assert page.problems == []  # type: ignore[attr-defined]
