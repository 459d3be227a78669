"""Platform-wide models: the User (email is the login), the email outbox and the inbox."""

from __future__ import annotations

import datetime
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from score_portal import jobs


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with their email address."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=10,
        blank=True,
        help_text=_("Pages and emails are written in this language."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Dates and times are shown in this time zone; blank: the portal's."),
    )

    objects = UserManager()  # type: ignore[misc, assignment]

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.email


def new_message_id() -> str:
    """A Message-ID for an outbox row, in the site's domain; every attempt to send the row
    carries it, so a receiving system can drop a second copy."""
    return make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "score-portal")


class OutboundEmail(jobs.Job):
    """One email the portal owes someone.

    Written in the same transaction as the change that causes it, then delivered by a worker
    that claims the row first, so an email is sent once even if its task runs twice
    (score_portal.jobs).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    template = models.CharField(_("template"), max_length=100)
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, default=new_message_id)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="outbound_email_sent_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"


# Delivered in batches (one task per email costs more than sending it); a failed email is
# retried five minutes later (the task's own retries come sooner) until JOB_MAX_ATTEMPTS.
jobs.register(
    OutboundEmail,
    steps=(
        jobs.Step(
            waiting=(OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED),
            working=OutboundEmail.Status.SENDING,
            done=OutboundEmail.Status.SENT,
            task="score_portal.tasks.deliver_emails",
        ),
    ),
    failed=OutboundEmail.Status.FAILED,
    retry_after=datetime.timedelta(minutes=5),
    batch=25,
    # A worker that died holding an email hands it on after two minutes, not
    # JOB_STALE_MINUTES: if the mail server had accepted it, that second send is the one
    # duplicate the portal cannot avoid, and the same Message-ID lets receivers drop it.
    # The delivery tasks stop themselves within 90 s (jobs.time_limit).
    stale=datetime.timedelta(minutes=2),
)


class StatusChange(models.Model):
    """A recorded change of status: who made it, when, and their note.

    Partnerships and enrolments keep their own history tables built on this, each adding the
    row it belongs to and its own ``from_status`` / ``to_status`` choices.
    """

    actor = models.ForeignKey(
        "score_portal.User",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{getattr(self, 'from_status', '') or '—'} → {getattr(self, 'to_status', '')}"


class Heartbeat(models.Model):
    """The last time a periodic process proved it runs (beat's heartbeat task, every
    minute): readiness says beat is late when it is old. In the database, so it outlives a
    Redis outage."""

    name = models.CharField(_("name"), max_length=50, primary_key=True)
    beat_at = models.DateTimeField(_("last beat"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name}: {self.beat_at:%Y-%m-%d %H:%M:%S}"


class Notice(models.Model):
    """One thing that happened to a person, in their in-portal inbox (score_portal.notices).

    Written by ``queue_email`` in the same transaction as the email it goes with (whether or
    not the person receives that kind by email). The title is the email's subject, rendered
    when the notice is made in each of the portal's languages (``titles``), so the inbox
    follows the reader's language of the day; the names inside it (factory, module) are as
    they were then.
    """

    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notices", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=50)
    template = models.CharField(_("email template"), max_length=100)
    titles = models.JSONField(_("titles"), default=dict)  # language code -> title
    language = models.CharField(_("language"), max_length=10)  # the recipient's, then
    link = models.CharField(_("link"), max_length=500, blank=True)  # a path on the portal
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Whether the email went out at once; notices not emailed may go into the daily digest.
    emailed = models.BooleanField(_("emailed"), default=False)
    digested_at = models.DateTimeField(_("in a digest at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notice_inbox"),
            # The header's unread count: one index-only lookup per page.
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notice_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"

    def title(self, language: str | None = None) -> str:
        """The title in ``language`` (else the one it was made in, else any)."""
        titles: dict[str, str] = self.titles or {}
        for code in (language, self.language, settings.LANGUAGE_CODE):
            if code and titles.get(code):
                return titles[code]
        return next(iter(titles.values()), self.kind)

    @property
    def display_title(self) -> str:
        """The title in the language of the page being rendered."""
        return self.title(translation.get_language())

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NoticeSettings(models.Model):
    """A person's choices: which kinds of notice also come by email, and the daily digest.
    No row: every kind by email, no digest."""

    user = models.OneToOneField(
        User,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notice_settings",
        verbose_name=_("user"),
    )
    # Kind codes (score_portal.notices) the person reads in the portal only.
    email_off = models.JSONField(_("kinds not emailed"), default=list, blank=True)
    daily_digest = models.BooleanField(_("daily digest"), default=False)
    # The person's local day of the last digest run for them: claimed by a conditional
    # update, so the digest goes out at most once a day whoever runs it.
    last_digest_on = models.DateField(_("last digest on"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice settings")
        verbose_name_plural = _("notice settings")

    def __str__(self) -> str:
        return str(self.user_id)
