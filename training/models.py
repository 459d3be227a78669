"""The SCORE module catalogue and everything that happens in one module cycle."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from score_portal import access, jobs
from score_portal.history import tracked
from score_portal.models import StatusChange
from score_portal.scope import TRAINED_COHORT, Scope, tagged
from training.catalogue import translated


class Module(models.Model):
    """A SCORE training module: catalogue data kept by the ILO, never an enum."""

    class Format(models.TextChoices):
        CLASSROOM_AND_VISITS = "classroom_visits", _("Classroom and consulting visits")
        ONLINE_SELF_PACED = "online", _("Self-paced online")
        COACHING = "coaching", _("On-site coaching")

    code = models.SlugField(_("code"), max_length=30, unique=True)
    number = models.PositiveSmallIntegerField(
        _("number"), null=True, blank=True, help_text=_("1–5 for the classic modules.")
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    format = models.CharField(
        _("format"), max_length=20, choices=Format.choices, default=Format.CLASSROOM_AND_VISITS
    )
    classroom_days = models.PositiveSmallIntegerField(_("classroom days"), default=2)
    followup_visits = models.PositiveSmallIntegerField(_("follow-up visits"), default=3)
    prerequisite = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("prerequisite"),
    )
    kpis: models.ManyToManyField[KPIDefinition, models.Model] = models.ManyToManyField(
        "KPIDefinition", related_name="modules", blank=True, verbose_name=_("KPIs")
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(prerequisite=models.F("pk")), name="module_not_own_prerequisite"
            ),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """The title in the active language (the catalogue's titles are translated; one an
        ILO admin wrote shows as written)."""
        return translated(self.title)


class KPIDefinition(models.Model):
    """A key performance indicator a factory may track, with its unit and the range a
    reading may take (its kind's range, narrowed by an optional minimum and maximum)."""

    class Direction(models.TextChoices):
        HIGHER_IS_BETTER = "up", _("Higher is better")
        LOWER_IS_BETTER = "down", _("Lower is better")

    class Kind(models.TextChoices):
        # Every kind is a physical quantity: none is negative.
        PERCENTAGE = "percentage", _("Percentage (0–100)")
        COUNT = "count", _("Count (a whole number, 0 or more)")
        RATE = "rate", _("Rate or quantity (0 or more)")
        MONEY = "money", _("Amount of money (0 or more)")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=50)
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.RATE)
    min_value = models.DecimalField(
        _("lowest plausible value"),
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("Optional: narrows the kind's range (never below 0)."),
    )
    max_value = models.DecimalField(
        _("highest plausible value"),
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("Optional: narrows the kind's range (a percentage never above 100)."),
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("KPI definition")
        verbose_name_plural = _("KPI definitions")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_value__isnull=True) | Q(min_value__gte=0),
                name="kpi_min_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(max_value__isnull=True)
                | Q(min_value__isnull=True)
                | Q(max_value__gte=models.F("min_value")),
                name="kpi_range_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(max_value__isnull=True) | Q(max_value__lte=100),
                name="kpi_percentage_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.display_unit})"

    @property
    def display_name(self) -> str:
        """The name in the active language (see Module.display_title)."""
        return translated(self.name)

    @property
    def display_unit(self) -> str:
        return translated(self.unit)

    @property
    def lowest(self) -> Decimal:
        """The lowest value a reading may take."""
        return max(Decimal(0), self.min_value) if self.min_value is not None else Decimal(0)

    @property
    def highest(self) -> Decimal | None:
        """The highest value a reading may take (None: no upper bound)."""
        cap = Decimal(100) if self.kind == self.Kind.PERCENTAGE else None
        if self.max_value is None:
            return cap
        return self.max_value if cap is None else min(cap, self.max_value)

    @property
    def whole_numbers(self) -> bool:
        return self.kind == self.Kind.COUNT


class TrainerCertification(models.Model):
    """The ILO's certification of a trainer for one module: only then may they deliver it."""

    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="certifications",
        verbose_name=_("trainer"),
    )
    module = models.ForeignKey(
        Module, on_delete=models.PROTECT, related_name="certifications", verbose_name=_("module")
    )
    certified_on = models.DateField(_("certified on"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    history = tracked()

    class Meta:
        verbose_name = _("trainer certification")
        verbose_name_plural = _("trainer certifications")
        ordering = ["trainer__email", "module__sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["trainer", "module"], name="certification_unique"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("certified_on")),
                name="certification_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trainer} · {self.module}"


class CohortQuerySet(models.QuerySet["Cohort"]):
    def visible_to(self, scope: Scope) -> CohortQuerySet:
        return self.filter(access.cohort_reach(scope))


class Cohort(models.Model):
    """A classroom group: usually 4–5 enterprises trained together by one trainer."""

    module = models.ForeignKey(
        Module, on_delete=models.PROTECT, related_name="cohorts", verbose_name=_("module")
    )
    provider = models.ForeignKey(
        "partners.Partner",
        on_delete=models.PROTECT,
        related_name="cohorts",
        verbose_name=_("service provider"),
    )
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="cohorts",
        verbose_name=_("trainer"),
    )
    venue_city = models.CharField(_("venue city"), max_length=120)
    venue_country = CountryField(_("venue country"))
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    classroom_start = models.DateField(_("classroom starts"))
    classroom_end = models.DateField(_("classroom ends"))
    capacity = models.PositiveSmallIntegerField(_("capacity (enterprises)"), default=5)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = CohortQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("cohort")
        verbose_name_plural = _("cohorts")
        ordering = ["-classroom_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(classroom_end__gte=models.F("classroom_start")),
                name="cohort_dates_ordered",
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="cohort_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.module} · {self.venue_city} · {self.classroom_start:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("training:cohort_detail", args=[self.pk])


class EnrolmentQuerySet(models.QuerySet["Enrolment"]):
    def visible_to(self, scope: Scope) -> EnrolmentQuerySet:
        return self.filter(access.enrolment_reach(scope, self.model))

    def funded_by(self, partner_id: int) -> EnrolmentQuerySet:
        """The enrolments ``partner_id`` funds: as the lead funder, or with a co-funding
        share in force (one row each, never a join that repeats them)."""
        return self.filter(
            Q(partnership__partner_id=partner_id)
            | Q(
                pk__in=CoFunding.objects.filter(
                    in_force=True, partnership__partner_id=partner_id
                ).values("enrolment_id")
            )
        )

    def funded_by_partnership(self, partnership_id: int) -> EnrolmentQuerySet:
        """The enrolments one partnership funds, as the lead funder or a co-funder."""
        return self.filter(
            Q(partnership_id=partnership_id)
            | Q(
                pk__in=CoFunding.objects.filter(
                    in_force=True, partnership_id=partnership_id
                ).values("enrolment_id")
            )
        )


class CoFundingQuerySet(models.QuerySet["CoFunding"]):
    def visible_to(self, scope: Scope) -> CoFundingQuerySet:
        return self.filter(access.cofunding_reach(scope))


class Enrolment(models.Model):
    """One factory taking one module, funded by one partnership (the *lead funder*: the
    brand that enrolled it), and possibly co-funded by others (``CoFunding``).

    ``lead_share`` is the lead funder's share of the enrolment's cost, 1 until a co-funding
    is agreed; the lead's share and the co-funders' shares in force always sum to exactly 1
    (``training.services.cofunding`` keeps it, under a lock on this row).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting factory confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined by the factory")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # A factory holds at most one enrolment per module in these statuses.
    ACTIVE_STATUSES = (Status.PENDING, Status.CONFIRMED, Status.IN_PROGRESS, Status.COMPLETED)

    factory = models.ForeignKey(
        "suppliers.Factory",
        on_delete=models.PROTECT,
        related_name="enrolments",
        verbose_name=_("factory"),
    )
    module = models.ForeignKey(
        Module, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("module")
    )
    partnership = models.ForeignKey(
        "partners.Partnership",
        on_delete=models.PROTECT,
        related_name="enrolments",
        verbose_name=_("funded by"),
    )
    # The lead funder's share (a fraction, 0.01 to 1): 1 unless co-funded.
    # A default in the database too: rows written by COPY or raw SQL (benches, bulk loads)
    # are wholly their partnership's, like every enrolment before co-funding.
    lead_share = models.DecimalField(
        _("lead funder's share"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        db_default=Decimal("1.00"),
    )
    cohort = models.ForeignKey(
        Cohort,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="enrolments",
        verbose_name=_("cohort"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("enrolled by"),
    )
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)
    # Placing: when the enrolment got its cohort (at enrolment, or later by the provider),
    # and why, when the cohort is outside the factory's country or language.
    placed_at = models.DateTimeField(_("placed in a cohort at"), null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("placed by"),
    )
    placement_reason = models.TextField(
        _("reason for a cohort outside the factory's country or language"), blank=True
    )
    # Claimed by the reminder task so the classroom reminder goes out once.
    classroom_reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)
    status_changed_at = models.DateTimeField(_("status changed at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # An active enrolment holds a place of its partnership's quota (declining or withdrawing
    # releases it). Stored, so that partners count places by this lookup without knowing
    # what an enrolment's statuses mean.
    holds_place = models.GeneratedField(
        expression=ExpressionWrapper(
            Q(status__in=["pending", "confirmed", "in_progress", "completed"]),
            output_field=models.BooleanField(),
        ),
        output_field=models.BooleanField(),
        db_persist=True,
        verbose_name=_("holds a place"),
    )

    objects = EnrolmentQuerySet.as_manager()
    # The stored place flag follows the status; the reminder's claim is the task's business.
    history = tracked(excluded_fields=["holds_place", "classroom_reminder_sent_at"])

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["partnership", "status"]),
            # Newest first (the default order): a brand's home shows its ten latest without
            # joining and sorting all it funds (35 ms at 20,000 enrolments, 3 ms with it).
            models.Index(fields=["created_at"], name="enrolment_created_at"),
            # The ledger's few co-funded enrolments, apart from the many funded alone.
            models.Index(
                fields=["partnership"],
                condition=Q(lead_share__lt=1),
                name="enrolment_cofunded_lead",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["factory", "module"],
                condition=Q(status__in=["pending", "confirmed", "in_progress", "completed"]),
                name="enrolment_one_active_per_module",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="enrolment_completed_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | ~Q(withdrawal_reason=""),
                name="enrolment_withdrawal_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(lead_share__gt=0, lead_share__lte=1),
                name="enrolment_lead_share_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.factory} · {self.module}"

    def get_absolute_url(self) -> str:
        return reverse("training:enrolment_detail", args=[self.pk])

    @property
    def waiting_for_cohort(self) -> bool:
        """Enrolled without a cohort ("the provider places the factory later"), not yet placed."""
        return self.cohort_id is None and self.status in (
            self.Status.PENDING,
            self.Status.CONFIRMED,
        )


class CoFunding(models.Model):
    """Another brand's share of one enrolment (README, "Co-funding").

    A brand that tries to enrol a factory another brand already funds in that module
    proposes a co-funding instead (a share, 50 % by default); the lead funder's acting
    people agree or decline it. Agreed, the share is *in force*: the co-funder's
    partnership holds that share of the factory's place and of its budget, and the lead
    funder's ``Enrolment.lead_share`` is reduced by as much (they always sum to 1). The
    co-funder may end its share later; it goes back to the lead funder.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        AGREED = "agreed", _("Agreed")
        DECLINED = "declined", _("Declined")
        ENDED = "ended", _("Ended")

    OPEN_STATUSES = (Status.PROPOSED, Status.AGREED)

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="cofundings", verbose_name=_("enrolment")
    )
    partnership = models.ForeignKey(
        "partners.Partnership",
        on_delete=models.PROTECT,
        related_name="cofundings",
        verbose_name=_("co-funded by"),
    )
    share = models.DecimalField(_("share"), max_digits=3, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    # Partners count shares by this lookup without knowing what the statuses mean.
    in_force = models.GeneratedField(
        expression=ExpressionWrapper(Q(status="agreed"), output_field=models.BooleanField()),
        output_field=models.BooleanField(),
        db_persist=True,
        verbose_name=_("in force"),
    )
    note = models.TextField(_("note"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.TextField(_("reason"), blank=True)

    objects = CoFundingQuerySet.as_manager()
    history = tracked(excluded_fields=["in_force"])

    class Meta:
        verbose_name = _("co-funding")
        verbose_name_plural = _("co-fundings")
        ordering = ["proposed_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(share__gt=0, share__lt=1), name="cofunding_share_fraction"
            ),
            models.UniqueConstraint(
                fields=["enrolment", "partnership"],
                condition=Q(status__in=["proposed", "agreed"]),
                name="cofunding_one_open_per_partnership",
            ),
            models.CheckConstraint(
                condition=~Q(status="ended") | ~Q(end_reason=""),
                name="cofunding_end_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partnership} · {self.enrolment}"

    def get_absolute_url(self) -> str:
        return reverse("training:cofunding_detail", args=[self.pk])

    @property
    def percent(self) -> int:
        return int(self.share * 100)


class EnrolmentEvent(StatusChange):
    """One change of an enrolment's status, with who and when."""

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="events", verbose_name=_("enrolment")
    )
    from_status = models.CharField(
        _("from"), max_length=12, choices=Enrolment.Status.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=12, choices=Enrolment.Status.choices)

    class Meta(StatusChange.Meta):
        verbose_name = _("enrolment event")
        verbose_name_plural = _("enrolment events")


class ImprovementAction(models.Model):
    """One action of the factory's improvement plan, written by its improvement team."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    enrolment = models.ForeignKey(
        Enrolment,
        on_delete=models.CASCADE,
        related_name="improvement_actions",
        verbose_name=_("enrolment"),
    )
    description = models.CharField(_("action"), max_length=500)
    owner = models.CharField(_("owner"), max_length=200)
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = tracked()

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return self.description


class FactoryInvitation(models.Model):
    """An invitation to a factory's contact to open an account and answer for the factory."""

    factory = models.ForeignKey(
        "suppliers.Factory",
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("factory"),
    )
    email = models.EmailField(_("email"))
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("invited at"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("factory invitation")
        verbose_name_plural = _("factory invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["factory", "email"],
                condition=Q(accepted_at__isnull=True),
                name="factory_invitation_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.factory}"


class Participant(models.Model):
    """A person the factory sends to the classroom: the ILO reports role and gender ratios."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("Manager")
        WORKER = "worker", _("Worker")

    class Gender(models.TextChoices):
        WOMAN = "woman", _("Woman")
        MAN = "man", _("Man")
        OTHER = "other", _("Other / prefers not to say")

    enrolment = models.ForeignKey(
        Enrolment,
        on_delete=models.CASCADE,
        related_name="participants",
        verbose_name=_("enrolment"),
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.CharField(_("position"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices)
    attended_classroom = models.BooleanField(_("attended the classroom"), null=True, blank=True)

    history = tracked()

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["role", "name"]

    def __str__(self) -> str:
        return self.name


class Attendance(models.Model):
    """One participant present on one classroom day: the cohort's register, a tick a row.

    ``Participant.attended_classroom`` summarises these rows (True: present on some day;
    False: the register was taken and they were absent; None: no register yet); the
    service that saves the register keeps both together.
    """

    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="attendances",
        verbose_name=_("participant"),
    )
    day = models.DateField(_("classroom day"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        ordering = ["day", "participant_id"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "day"], name="attendance_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.participant} · {self.day:%Y-%m-%d}"


class ConsultingVisit(models.Model):
    """A trainer's visit to the factory: the intake (baseline), a follow-up or the year-after."""

    class Kind(models.TextChoices):
        BASELINE = "baseline", _("Intake / baseline visit")
        FOLLOW_UP = "follow_up", _("Follow-up visit")
        YEAR_AFTER = "year_after", _("Year-after visit")

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="visits", verbose_name=_("enrolment")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    number = models.PositiveSmallIntegerField(_("number"), default=1)
    visited_on = models.DateField(_("date"))
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("trainer"),
    )
    notes = models.TextField(_("notes"), blank=True)
    actions_reviewed = models.ManyToManyField(
        ImprovementAction, related_name="reviewed_at", blank=True, verbose_name=_("actions checked")
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    history = tracked(m2m_fields=["actions_reviewed"])

    class Meta:
        verbose_name = _("consulting visit")
        verbose_name_plural = _("consulting visits")
        ordering = ["visited_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "kind", "number"], name="visit_unique_per_enrolment"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="visit_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number} · {self.enrolment}"


class KPIReading(models.Model):
    """A value of one KPI for one enrolment. KPI data belongs to the factory."""

    class Kind(models.TextChoices):
        BASELINE = "baseline", _("Baseline")
        FOLLOW_UP = "follow_up", _("Follow-up")

    enrolment = models.ForeignKey(
        Enrolment,
        on_delete=models.CASCADE,
        related_name="kpi_readings",
        verbose_name=_("enrolment"),
    )
    kpi = models.ForeignKey(
        KPIDefinition, on_delete=models.PROTECT, related_name="readings", verbose_name=_("KPI")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=3)
    measured_on = models.DateField(_("measured on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    # Every correction and deletion, with who made it and why (training/services/kpis.py).
    history = HistoricalRecords(
        # A reason may be longer than the library's default 100 characters.
        history_change_reason_field=models.TextField(null=True)
    )

    class Meta:
        verbose_name = _("KPI reading")
        verbose_name_plural = _("KPI readings")
        ordering = ["measured_on"]
        constraints = [
            # One baseline per KPI and enrolment; follow-ups are a series.
            models.UniqueConstraint(
                fields=["enrolment", "kpi"],
                condition=Q(kind="baseline"),
                name="kpi_single_baseline",
            ),
        ]
        indexes = [
            # The latest follow-up of an enrolment's KPI (the results figures' KPI change, for
            # every baseline): an index scan of one row instead of sorting the enrolment's
            # readings; halves reporting.figures.kpi_changes (bench/results.py).
            models.Index(
                fields=["enrolment", "kpi", "-measured_on", "-id"],
                condition=Q(kind="follow_up"),
                name="kpi_reading_latest_follow_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.value}"


class KPIConsent(models.Model):
    """A factory's consent that one funding brand (or initiative) sees its KPI readings: the
    readings of every enrolment that brand funds. Withdrawn by deleting the row."""

    factory = models.ForeignKey(
        "suppliers.Factory",
        on_delete=models.CASCADE,
        related_name="kpi_consents",
        verbose_name=_("factory"),
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="kpi_consents",
        verbose_name=_("funding partner"),
    )
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("given by"),
    )
    given_at = models.DateTimeField(_("given at"), auto_now_add=True)

    class Meta:
        verbose_name = _("KPI consent")
        verbose_name_plural = _("KPI consents")
        constraints = [
            models.UniqueConstraint(fields=["factory", "partner"], name="kpi_consent_unique"),
        ]
        indexes = [
            # The brand's consents as a mark of its kept KPI figures (count, sum of ids,
            # latest: reporting.rollups.consent_mark), read on each dashboard request from
            # the index alone rather than 2,500 rows of the table.
            models.Index(fields=["partner", "given_at", "id"], name="kpi_consent_mark"),
        ]

    def __str__(self) -> str:
        return f"{self.factory} → {self.partner}"


def new_certificate_code() -> str:
    """An unguessable, readable code: 16 characters from an alphabet without look-alikes."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


class CertificateQuerySet(models.QuerySet["Certificate"]):
    def visible_to(self, scope: Scope) -> CertificateQuerySet:
        """Certificates a user may download: their factory's, those their organisation funded."""
        return self.filter(access.certificate_reach(scope, self.model))


class Certificate(jobs.Job):
    """The completion certificate for one enrolment. Its code exists before the PDF does.

    Its rendering is a background job (score_portal.jobs): claimed by a worker while pending,
    retried with backoff; a person sees the attempts and the last error in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being rendered")
        ISSUED = "issued", _("Valid")
        REVOKED = "revoked", _("Revoked")
        REPLACED = "replaced", _("Replaced by a newer certificate")

    enrolment = models.ForeignKey(
        Enrolment,
        on_delete=models.PROTECT,
        related_name="certificates",
        verbose_name=_("enrolment"),
    )
    code = models.CharField(
        _("certificate number"), max_length=19, unique=True, default=new_certificate_code
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    pdf = models.FileField(_("PDF"), upload_to="certificates/%Y/", blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaces",
        verbose_name=_("replaced by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revocation_reason = models.TextField(_("reason for revocation"), blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-created_at"]
        constraints = [
            # At most one live certificate per enrolment; revoked and replaced ones stay.
            models.UniqueConstraint(
                fields=["enrolment"],
                condition=Q(status__in=["pending", "issued"]),
                name="certificate_one_live_per_enrolment",
            ),
            models.CheckConstraint(
                condition=~Q(status="issued") | Q(issued_at__isnull=False),
                name="certificate_issued_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked") | ~Q(revocation_reason=""),
                name="certificate_revocation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("training:certificate_detail", args=[self.pk])

    @property
    def verify_path(self) -> str:
        return reverse("verify_certificate", args=[self.code])


# Rendering: a pending certificate is claimed while pending (it has no status of its own for
# "being rendered": its code verifies as pending either way); a failed render stays pending
# and is retried.
jobs.register(
    Certificate,
    steps=(
        jobs.Step(
            waiting=(Certificate.Status.PENDING,),
            working=Certificate.Status.PENDING,
            done=Certificate.Status.ISSUED,
            task="training.tasks.render_certificate",
        ),
    ),
    failed=Certificate.Status.PENDING,
)


def trained_cohort_scope_rows(user_id: int) -> models.QuerySet[Any]:
    """The cohorts the user delivers as their trainer, as scope rows: the source
    ``score_portal.scope`` builds a scope from (registered in ``apps.py``)."""
    return tagged(Cohort.objects.filter(trainer_id=user_id), "pk", TRAINED_COHORT)
