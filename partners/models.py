"""Organisations working with the ILO, their people, and their partnerships."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from score_portal import access
from score_portal.history import tracked
from score_portal.models import StatusChange
from score_portal.scope import ACTING_ROLES, FUNDING_KINDS, MemberRole, PartnerKind, Scope


class PartnerQuerySet(models.QuerySet["Partner"]):
    def visible_to(self, scope: Scope) -> PartnerQuerySet:
        return self.filter(access.partner_reach(scope))

    def funding(self) -> PartnerQuerySet:
        """Partners that fund their suppliers' training and keep supplier lists."""
        return self.filter(kind__in=Partner.FUNDING_KINDS)


class Partner(models.Model):
    """An organisation: the ILO itself, a brand, a service provider or an initiative."""

    # The vocabulary is the scope's (score_portal.scope), which reads memberships by kind.
    Kind = PartnerKind
    FUNDING_KINDS = FUNDING_KINDS

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    country = CountryField(_("headquarters country"), blank=True)
    website = models.URLField(_("website"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PartnerQuerySet.as_manager()

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]
        constraints = [
            # The programme has one owner.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind="ilo"), name="partner_single_ilo"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["ilo", "brand", "service_provider", "initiative"]),
                name="partner_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.short_name or self.name

    @property
    def is_funding(self) -> bool:
        return self.kind in self.FUNDING_KINDS

    @property
    def display_name(self) -> str:
        """Its name on the portal's pages: the ILO's in the reader's language."""
        if self.kind == self.Kind.ILO:
            return str(_("International Labour Organization"))
        return self.name


class Membership(models.Model):
    """A person's role in an organisation."""

    Role = MemberRole
    ACTING_ROLES = ACTING_ROLES

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("partner")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = tracked()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["partner__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "partner"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["admin", "staff", "viewer", "trainer"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.partner} ({self.get_role_display()})"

    def clean(self) -> None:
        if self.role == self.Role.TRAINER and self.partner.kind != Partner.Kind.SERVICE_PROVIDER:
            raise ValidationError(
                {"role": _("Only service providers have trainers.")}, code="trainer_role"
            )


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        """Neither accepted nor revoked (an expired one stays pending until resent)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """An invitation to join an organisation with a role, sent by email as a link.

    The link carries a random token; only its SHA-256 is stored (``token_hash``), so the
    table leaks no usable link. Resending draws a new token (the old link stops working),
    revoking or accepting closes it, and it expires after ``INVITATION_DAYS``. A token in a
    table rather than a signed value (``django.core.signing``): a signed link cannot be
    revoked or used once without a table anyway, and the table is the page's list of
    pending invitations.
    """

    Role = MemberRole

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("partner")
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("invited at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-sent_at"]
        constraints = [
            # One open invitation per address and organisation: inviting again resends it.
            models.UniqueConstraint(
                fields=["partner", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["admin", "staff", "viewer", "trainer"]),
                name="invitation_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.partner} ({self.get_role_display()})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and not self.is_expired


class PartnershipQuerySet(models.QuerySet["Partnership"]):
    def visible_to(self, scope: Scope) -> PartnershipQuerySet:
        return self.filter(access.partnership_reach(scope))

    def pending_review(self) -> PartnershipQuerySet:
        return self.filter(status=Partnership.Status.SUBMITTED)

    def active(self) -> PartnershipQuerySet:
        return self.filter(status=Partnership.Status.APPROVED)


currency_code_validator = RegexValidator(
    r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 currency code, such as USD or EUR.")
)


class Partnership(models.Model):
    """An agreement between the ILO and a partner; an approved one funds enrolments."""

    class Kind(models.TextChoices):
        PPP = "ppp", _("Public-private partnership")
        LICENCE = "licence", _("Licence")
        PILOT = "pilot", _("Pilot")
        INITIATIVE_MEMBERSHIP = "initiative_membership", _("Initiative membership")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    class Currency(models.TextChoices):
        USD = "USD", "USD"
        EUR = "EUR", "EUR"
        GBP = "GBP", "GBP"
        CHF = "CHF", "CHF"
        CNY = "CNY", "CNY"
        TRY = "TRY", "TRY"
        VND = "VND", "VND"
        BDT = "BDT", "BDT"
        INR = "INR", "INR"
        IDR = "IDR", "IDR"

    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        related_name="partnerships",
        verbose_name=_("partner"),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    countries = CountryField(_("countries"), multiple=True, blank=True)
    modules = models.ManyToManyField(
        "training.Module", related_name="partnerships", blank=True, verbose_name=_("modules")
    )
    factory_quota = models.PositiveIntegerField(_("factories to fund"), default=0)
    budget = models.DecimalField(
        _("budget"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        choices=Currency.choices,
        default=Currency.USD,
        validators=[currency_code_validator],
    )
    brand_share_percent = models.PositiveSmallIntegerField(
        _("partner's share of the cost (%)"),
        default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("What the partner pays; factories pay the rest."),
    )
    # Dates may be left open while the application is a draft; submitting requires them.
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    supporting_document = models.FileField(
        _("supporting document (PDF)"), upload_to="partnerships/%Y/", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PartnershipQuerySet.as_manager()
    history = tracked(m2m_fields=["modules"])

    class Meta:
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "partner"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="partnership_dates_ordered",
            ),
            models.CheckConstraint(condition=Q(budget__gte=0), name="partnership_budget_positive"),
            models.CheckConstraint(
                condition=Q(brand_share_percent__lte=100), name="partnership_share_percent"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "submitted",
                        "changes_requested",
                        "approved",
                        "rejected",
                        "suspended",
                        "closed",
                    ]
                ),
                name="partnership_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("partners:partnership_detail", args=[self.pk])

    @property
    def factories_share_percent(self) -> int:
        return 100 - self.brand_share_percent

    @property
    def is_editable(self) -> bool:
        """The applicant edits a draft, or an application sent back for changes."""
        return self.status in (self.Status.DRAFT, self.Status.CHANGES_REQUESTED)

    def is_running_on(self, day: datetime.date) -> bool:
        return (
            self.status == self.Status.APPROVED
            and self.start_date is not None
            and self.end_date is not None
            and self.start_date <= day <= self.end_date
        )


# What a move to each status means, as a whole sentence in every language (a status label
# dropped into "is now %s" does not read in most of them).
STATUS_SENTENCES = {
    Partnership.Status.DRAFT: _("The application “%(title)s” is saved as a draft."),
    Partnership.Status.SUBMITTED: _("The application “%(title)s” was submitted for review."),
    Partnership.Status.CHANGES_REQUESTED: _(
        "The ILO asked for changes to the application “%(title)s”."
    ),
    Partnership.Status.APPROVED: _("The partnership “%(title)s” was approved."),
    Partnership.Status.REJECTED: _("The application “%(title)s” was rejected."),
    Partnership.Status.SUSPENDED: _("The partnership “%(title)s” was suspended."),
    Partnership.Status.CLOSED: _("The partnership “%(title)s” was closed."),
}


def status_sentence(partnership: Partnership, status: str) -> str:
    """The sentence that says ``partnership`` moved to ``status``, in the active language."""
    title = partnership.title or str(_("Untitled application"))
    return str(STATUS_SENTENCES[Partnership.Status(status)]) % {"title": title}


class PartnershipEvent(StatusChange):
    """One change of a partnership's status: who, when, from, to, and why."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="events", verbose_name=_("partnership")
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=Partnership.Status.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=Partnership.Status.choices)

    class Meta(StatusChange.Meta):
        verbose_name = _("partnership event")
        verbose_name_plural = _("partnership events")

    @property
    def sentence(self) -> str:
        return status_sentence(self.partnership, self.to_status)


def membership_scope_rows(user_id: int) -> models.QuerySet[Membership, tuple[int, str, str]]:
    """The user's memberships of active organisations as scope rows (partner, kind, role):
    the source ``score_portal.scope`` builds a scope from (registered in ``apps.py``)."""
    return (
        Membership.objects.filter(user_id=user_id, partner__is_active=True)
        .order_by()
        .values_list("partner_id", "partner__kind", "role")
    )
