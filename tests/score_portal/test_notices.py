"""Notices: every email a person receives is also in their inbox; they choose which kinds
come by email; a daily digest gathers the rest (score_portal/notices.py, digests.py)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners.models import Partnership
from partners.services import transition
from score_portal import digests, notices
from score_portal.emails import queue_email
from score_portal.models import Notice, NoticeSettings, OutboundEmail
from score_portal.scope import scope_of
from score_portal.tasks import send_notice_digests
from suppliers.services import add_factory_manager, link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory, PartnershipFactory, UserFactory
from training.services import enrol_factory

pytestmark = pytest.mark.django_db

EMAIL_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "emails"


def _enrol_new_factory(world, brand, brand_staff, *, manager=None, name="宁波海天纺织有限公司"):
    factory = FactoryFactory(name=name)
    link_supplier(brand=brand, factory=factory, supplier_code=f"A-{factory.pk}")
    if manager is not None:
        add_factory_manager(factory=factory, user=manager)
    return enrol_factory(
        factory=factory,
        module=world.enrolment.module,
        partnership=world.partnership,
        enrolled_by=brand_staff,
        cohort=world.cohort,
    )


# --- A notice with every email -----------------------------------------------------------


def test_every_email_template_belongs_to_a_registered_kind():
    """A new email (a new folder in templates/emails/) must be registered as a kind of
    notice (score_portal.notices.register_kind in its app's notices.py)."""
    templates = sorted(p.name for p in EMAIL_TEMPLATES.iterdir() if p.is_dir())
    assert [t for t in templates if not notices.is_registered(t)] == []


def test_every_kind_that_always_emails_says_why():
    for kind in notices.kinds():
        assert kind.email_optional or str(kind.why_always)


def test_an_enrolment_puts_a_notice_in_the_managers_inbox(world, brand, brand_staff):
    manager = UserFactory(email="manager@haitian.example.org", language="tr")
    enrolment = _enrol_new_factory(world, brand, brand_staff, manager=manager)
    notice = Notice.objects.get(recipient=manager)
    assert notice.kind == "enrolment_notice"
    assert notice.link == enrolment.get_absolute_url()
    assert notice.emailed is True and notice.read_at is None
    email = OutboundEmail.objects.get(to=manager.email)
    # Titled with the email's subject, in every language of the portal.
    assert notice.title("tr") == email.subject
    assert set(notice.titles) == {code for code, _name in django_settings.LANGUAGES}
    assert "宁波海天纺织有限公司" in notice.title("en")
    assert notice.title("en") != notice.title("tr")


def test_a_partnership_decision_notifies_its_people_with_a_link(
    brand, brand_staff, ilo_admin, module_1
):
    partnership = PartnershipFactory(
        partner=brand, status=Partnership.Status.SUBMITTED, modules=[module_1]
    )
    transition(partnership=partnership, actor=ilo_admin, to_status="approved", note="Fine.")
    notice = Notice.objects.get(recipient=brand_staff)
    assert notice.kind == "partnership_decided"
    assert notice.link == partnership.get_absolute_url()
    assert "Approved" in notice.title("en")


def test_the_address_is_matched_whatever_its_case(brand_staff):
    queue_email(
        to="STAFF@Brand-A.example.org",
        template="partnership_submitted",
        context={"partnership": PartnershipFactory(title="Pilot"), "recipient": brand_staff},
        link="/partners/partnerships/1/",
    )
    assert Notice.objects.filter(recipient=brand_staff).count() == 1


def test_an_address_without_an_account_gets_the_email_only(world):
    before = Notice.objects.count()
    email = queue_email(
        to="nobody@example.org",
        template="enrolment_notice",
        context={"enrolment": world.enrolment, "recipient": None},
    )
    assert email is not None
    assert Notice.objects.count() == before


def test_invitations_are_emailed_and_make_no_notice(world, brand_staff):
    """An invitation goes to an address: even one that has an account gets no notice."""
    before = Notice.objects.count()
    queue_email(
        to=brand_staff.email,
        template="factory_invitation",
        context={"enrolment": world.enrolment, "invitation": None},
    )
    assert Notice.objects.count() == before
    assert OutboundEmail.objects.filter(to=brand_staff.email, template="factory_invitation")


def test_the_notice_and_the_email_share_the_callers_transaction(world, brand_staff):
    before = (Notice.objects.count(), OutboundEmail.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(
            to=brand_staff.email,
            template="enrolment_confirmed",
            context={"enrolment": world.enrolment, "recipient": brand_staff},
        )
        raise RuntimeError("the change that caused it failed")
    assert (Notice.objects.count(), OutboundEmail.objects.count()) == before


def test_a_link_off_the_portal_is_dropped(world, brand_staff):
    for link in ("https://evil.example.org/", "//evil.example.org/", "javascript:alert(1)"):
        queue_email(
            to=brand_staff.email,
            template="enrolment_confirmed",
            context={"enrolment": world.enrolment, "recipient": brand_staff},
            link=link,
        )
    assert set(Notice.objects.filter(recipient=brand_staff).values_list("link", flat=True)) == {""}


# --- Which kinds come by email -------------------------------------------------------------


def test_a_kind_turned_off_makes_a_notice_without_the_email(world, brand, brand_staff):
    manager = UserFactory(email="manager@haitian.example.org")
    notices.save_settings(user=manager, email_off=["enrolment_notice"], daily_digest=False)
    _enrol_new_factory(world, brand, brand_staff, manager=manager)
    notice = Notice.objects.get(recipient=manager)
    assert notice.emailed is False
    assert not OutboundEmail.objects.filter(to=manager.email).exists()


def test_a_kind_that_always_emails_cannot_be_turned_off(world, brand_staff):
    saved = notices.save_settings(
        user=brand_staff,
        email_off=["factory_invitation", "account_security", "enrolment_confirmed"],
        daily_digest=False,
    )
    assert saved.email_off == ["enrolment_confirmed"]
    # Even a stored choice (written around the service) does not stop such an email.
    NoticeSettings.objects.filter(user=brand_staff).update(email_off=["factory_invitation"])
    queue_email(
        to=brand_staff.email,
        template="factory_invitation",
        context={"enrolment": world.enrolment, "invitation": None},
    )
    assert OutboundEmail.objects.filter(to=brand_staff.email, template="factory_invitation")


def test_an_unregistered_template_is_always_emailed_and_noticed(brand_staff, settings, tmp_path):
    folder = tmp_path / "emails" / "brand_new_event"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("Something new")
    (folder / "body.txt").write_text("Body")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    notices.save_settings(user=brand_staff, email_off=["brand_new_event"], daily_digest=False)
    assert queue_email(to=brand_staff.email, template="brand_new_event", context={})
    assert Notice.objects.get(recipient=brand_staff).title("es") == "Something new"


def test_the_settings_page_offers_the_persons_kinds(world, factory_manager):
    page = client_for(factory_manager).get(reverse("notices:settings")).content.decode()
    assert 'name="email_certificate_issued"' in page
    assert 'name="email_partnership_submitted"' not in page  # the ILO's, not theirs
    # Security emails: shown ticked, disabled, with the reason.
    assert 'name="email_account_security"' in page
    assert "always come by email" in page
    field = page[page.index('name="email_account_security"') - 200 :]
    assert "disabled" in field[: field.index(">", 200)]


def test_saving_the_settings(world, factory_manager):
    client = client_for(factory_manager)
    url = reverse("notices:settings")
    response = client.post(url, {"email_certificate_issued": "on", "daily_digest": "on"})
    assert response.status_code == 302
    saved = NoticeSettings.objects.get(user=factory_manager)
    assert saved.daily_digest is True
    assert "certificate_issued" not in saved.email_off
    assert "enrolment_notice" in saved.email_off  # left unticked
    page = client.get(url).content.decode()
    assert "checked" in page[page.index('name="email_certificate_issued"') :][:200]
    # A kind the page does not offer keeps the stored choice.
    NoticeSettings.objects.filter(pk=saved.pk).update(email_off=["partnership_submitted"])
    client.post(url, {"daily_digest": "on"})
    assert "partnership_submitted" in NoticeSettings.objects.get(pk=saved.pk).email_off


# --- The inbox -----------------------------------------------------------------------------


def _notice(user, title="Something happened", link="/training/enrolments/1/", **fields):
    return Notice.objects.create(
        recipient=user,
        kind="enrolment_confirmed",
        template="enrolment_confirmed",
        titles={"en": title, "es": f"ES {title}"},
        language="en",
        link=link,
        **fields,
    )


def test_the_inbox_lists_the_persons_notices_newest_first(brand_staff, other_brand_staff):
    now = timezone.now()
    _notice(brand_staff, "Older", created_at=now - datetime.timedelta(hours=2))
    _notice(brand_staff, "Newer", created_at=now)
    _notice(other_brand_staff, "Not yours")
    page = client_for(brand_staff).get(reverse("notices:inbox")).content.decode()
    assert page.index("Newer") < page.index("Older")
    assert "Not yours" not in page
    assert "2 unread notices" in page  # the header's count, as text


def test_the_inbox_speaks_the_readers_language(brand_staff):
    _notice(brand_staff, "Hello")
    brand_staff.language = "es"
    brand_staff.save()
    assert "ES Hello" in client_for(brand_staff).get(reverse("notices:inbox")).content.decode()


def test_the_unread_filter_and_pagination(brand_staff):
    for n in range(30):
        _notice(brand_staff, f"Notice {n}", read_at=timezone.now() if n % 2 else None)
    client = client_for(brand_staff)
    unread = client.get(reverse("notices:inbox"), {"show": "unread"}).content.decode()
    assert "Notice 28" in unread and "Notice 29" not in unread
    first = client.get(reverse("notices:inbox")).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(reverse("notices:inbox"), {"page": 2}).content.decode()
    assert "Notice 0</a>" not in first and "Notice 0</a>" in second


def test_opening_a_notice_marks_it_read_and_follows_its_link(brand_staff):
    notice = _notice(brand_staff)
    response = client_for(brand_staff).get(reverse("notices:open", args=[notice.pk]))
    assert response.status_code == 302
    assert response.url == "/training/enrolments/1/"
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_a_notice_without_a_link_opens_the_inbox(brand_staff):
    notice = _notice(brand_staff, link="")
    response = client_for(brand_staff).get(reverse("notices:open", args=[notice.pk]))
    assert response.url == reverse("notices:inbox")


def test_mark_read_and_unread_without_javascript(brand_staff):
    notice = _notice(brand_staff)
    client = client_for(brand_staff)
    here = reverse("notices:inbox") + "?show=unread"
    url = reverse("notices:mark_read", args=[notice.pk])
    response = client.post(url, {"next": here})
    assert response.url == here
    notice.refresh_from_db()
    assert notice.is_read
    client.post(url, {"read": "0", "next": "https://evil.example.org/"})
    notice.refresh_from_db()
    assert not notice.is_read


def test_mark_read_with_htmx_swaps_the_row_and_the_count(brand_staff):
    notice = _notice(brand_staff)
    _notice(brand_staff, "Another")
    response = client_for(brand_staff).post(
        reverse("notices:mark_read", args=[notice.pk]), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert f'id="notice-{notice.pk}"' in body and "Mark unread" in body
    assert 'hx-swap-oob="true"' in body and "1 unread notice" in body


def test_mark_all_read(brand_staff, other_brand_staff):
    for _n in range(3):
        _notice(brand_staff)
    theirs = _notice(other_brand_staff)
    response = client_for(brand_staff).post(reverse("notices:mark_all_read"))
    assert response.status_code == 302
    assert not Notice.objects.filter(recipient=brand_staff, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("name", ["notices:open", "notices:mark_read"])
def test_another_persons_notice_is_not_found(brand_staff, other_brand_staff, name):
    notice = _notice(other_brand_staff)
    client = client_for(brand_staff)
    url = reverse(name, args=[notice.pk])
    assert (client.get(url) if name == "notices:open" else client.post(url)).status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_header_count_is_one_query_and_not_the_cache(brand_staff, monkeypatch):
    """The badge reads the database once (the header works while Redis is away)."""
    _notice(brand_staff)

    def no_cache(*args, **kwargs):
        raise AssertionError("the unread count must not use the cache")

    client = client_for(brand_staff)
    client.get(reverse("home"))  # warm the scope
    monkeypatch.setattr(caches["default"], "get", no_cache)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("profile")).content.decode()
    assert "1 unread notice" in page
    assert len([q for q in queries if "score_portal_notice" in q["sql"]]) == 1


def test_anonymous_pages_have_no_count():
    page = client_for(None).get(reverse("account_login")).content.decode()
    assert "notices-link" not in page


# --- The daily digest ----------------------------------------------------------------------


@pytest.fixture
def digest_reader(world, brand, brand_staff):
    """A factory manager who reads new enrolments in the portal only, with the digest on,
    and two such notices (in Spanish: the digest is in the reader's language)."""
    manager = UserFactory(email="manager@haitian.example.org", language="es")
    notices.save_settings(user=manager, email_off=["enrolment_notice"], daily_digest=True)
    _enrol_new_factory(world, brand, brand_staff, manager=manager)
    _enrol_new_factory(world, brand, brand_staff, manager=manager, name="Çağlar Konfeksiyon")
    assert Notice.objects.filter(recipient=manager).count() == 2
    assert not OutboundEmail.objects.filter(to=manager.email).exists()
    return manager


def _morning(hours=8):
    return timezone.now().replace(hour=hours, minute=0, second=0, microsecond=0)


def test_the_digest_lists_the_notices_not_emailed_in_the_readers_language(digest_reader):
    now = _morning() + datetime.timedelta(days=1)
    assert digests.send_daily_digests(now=now) == 1
    email = OutboundEmail.objects.get(to=digest_reader.email)
    assert email.template == "notice_digest" and email.language == "es"
    waiting = Notice.objects.filter(recipient=digest_reader)
    for notice in waiting:
        assert notice.title("es") in email.body_text
        assert f"{django_settings.SITE_URL}{notice.link}" in email.body_text
    assert all(n.digested_at == now for n in waiting)
    assert not Notice.objects.filter(template="notice_digest").exists()  # no notice of it


def test_the_digest_goes_once_a_day(digest_reader):
    now = _morning() + datetime.timedelta(days=1)
    assert digests.send_daily_digests(now=now) == 1
    assert digests.send_daily_digests(now=now + datetime.timedelta(hours=3)) == 0
    # A notice arriving later that day waits for the next morning's digest.
    Notice.objects.filter(recipient=digest_reader).update(digested_at=None)
    assert digests.send_daily_digests(now=now + datetime.timedelta(hours=5)) == 0
    assert digests.send_daily_digests(now=now + datetime.timedelta(days=1)) == 1
    assert OutboundEmail.objects.filter(to=digest_reader.email).count() == 2


def test_the_task_is_safe_to_run_twice(digest_reader, monkeypatch):
    now = _morning() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: now)
    assert send_notice_digests.apply().get() == 1
    assert send_notice_digests.apply().get() == 0
    assert OutboundEmail.objects.filter(to=digest_reader.email).count() == 1


def test_the_digest_waits_for_the_readers_morning(digest_reader):
    digest_reader.time_zone = "Asia/Shanghai"  # UTC+8
    digest_reader.save()
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    at_utc = tomorrow.replace(hour=22, minute=0, second=0, microsecond=0)  # 06:00 in Shanghai
    assert digests.send_daily_digests(now=at_utc) == 0
    assert digests.send_daily_digests(now=at_utc + datetime.timedelta(hours=1)) == 1


def test_read_or_emailed_notices_stay_out_of_the_digest(digest_reader):
    Notice.objects.filter(recipient=digest_reader).update(read_at=timezone.now())
    assert digests.send_daily_digests(now=_morning() + datetime.timedelta(days=1)) == 0
    assert not OutboundEmail.objects.filter(to=digest_reader.email).exists()


def test_no_digest_without_the_choice(world, brand, brand_staff):
    manager = UserFactory(email="manager@haitian.example.org")
    notices.save_settings(user=manager, email_off=["enrolment_notice"], daily_digest=False)
    _enrol_new_factory(world, brand, brand_staff, manager=manager)
    assert digests.send_daily_digests(now=_morning() + datetime.timedelta(days=1)) == 0


def test_the_offered_kinds_follow_the_scope(world, brand_staff, ilo_admin, factory_manager):
    def codes(user):
        return {kind.code for kind in notices.offered(scope_of(user))}

    assert "partnership_submitted" in codes(ilo_admin)
    assert {"enrolment_confirmed", "supplier_import_done"} <= codes(brand_staff)
    assert "certificate_issued" in codes(factory_manager)
    assert "supplier_import_done" not in codes(factory_manager)
    assert "account_security" in codes(factory_manager)
