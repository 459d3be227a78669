"""Results reports that the worker generates (a large partnership's PDF or XLSX): one row per
request, a background job of score_portal.jobs, listed on the Reports page for download."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from score_portal import access, jobs
from score_portal.scope import Scope


class ResultsReportQuerySet(models.QuerySet["ResultsReport"]):
    def visible_to(self, scope: Scope) -> ResultsReportQuerySet:
        return self.filter(access.results_report_reach(scope))


class ResultsReport(jobs.Job):
    """A partnership's results report over a period, in one format, rendered by a worker.

    Queued → rendering → ready; a failed attempt goes back to queued and is retried (the
    task's backoff, then the sweep) until it has used its attempts (``gave_up``)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be generated")
        RENDERING = "rendering", _("Being generated")
        READY = "ready", _("Ready")

    class Format(models.TextChoices):
        PDF = "pdf", _("PDF")
        XLSX = "xlsx", _("Excel (XLSX)")

    partnership = models.ForeignKey(
        "partners.Partnership",
        on_delete=models.CASCADE,
        related_name="results_reports",
        verbose_name=_("partnership"),
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    file = models.FileField(_("file"), upload_to="reports/%Y/", blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("ready at"), null=True, blank=True)

    objects = ResultsReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("results report")
        verbose_name_plural = _("results reports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="results_report_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "rendering", "ready"]),
                name="results_report_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partnership} · {self.period_start} – {self.period_end}"

    def get_absolute_url(self) -> str:
        return reverse("reporting:report_download", args=[self.pk])

    @property
    def gave_up(self) -> bool:
        """Every attempt failed: it waits in the admin's Background jobs page for a retry."""
        return (
            self.status == self.Status.QUEUED
            and self.attempts >= jobs.kind_of(ResultsReport).attempts_allowed
        )

    @property
    def filename(self) -> str:
        return (
            f"results-{self.partnership_id}-{self.period_start:%Y%m%d}-{self.period_end:%Y%m%d}"
            f".{self.format}"
        )


jobs.register(
    ResultsReport,
    steps=(
        jobs.Step(
            waiting=(ResultsReport.Status.QUEUED,),
            working=ResultsReport.Status.RENDERING,
            done=ResultsReport.Status.READY,
            task="reporting.tasks.render_results_report",
        ),
    ),
    failed=ResultsReport.Status.QUEUED,
)
