"""What a provider's key records on an enrolment, as the cohort's trainer does on the
enrolment page: consulting visits, and KPI readings (record, correct or delete with a
reason), on ``training.services`` with the same refusals.

Who may: the cohort's provider's acting keys (``access.can_deliver``: a provider's key speaks
for its trainers). A factory has no organisation and therefore no API key: its managers
record readings on the page (README, API).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from api import examples, serializers, views
from api.idempotency import idempotent
from api.serializers_delivery import (
    KPICorrectionSerializer,
    KPIDeletionSerializer,
    KPIReadingCreateSerializer,
    VisitCreateSerializer,
    VisitOutSerializer,
)
from api.views import _refused, refusals
from api.views_cohorts import IDEMPOTENCY_KEY
from score_portal.access import can_correct_kpi, can_deliver, parse_id
from training.models import Enrolment, KPIDefinition, KPIReading
from training.services import kpis as kpi_services
from training.services.enrolment import record_visit

READING = r"kpi-readings/(?P<reading>[0-9]{1,18})"


class EnrolmentViewSet(views.EnrolmentViewSet):
    """The enrolment endpoints (``views.EnrolmentViewSet``) with the trainer's writes."""

    def get_serializer_class(self) -> Any:
        classes = {
            "visits": VisitCreateSerializer,
            "kpi_readings": KPIReadingCreateSerializer,
            "correct_kpi_reading": KPICorrectionSerializer,
            "delete_kpi_reading": KPIDeletionSerializer,
        }
        return classes.get(self.action) or super().get_serializer_class()

    def _enrolment(self) -> Enrolment:
        enrolment: Enrolment = self.get_object()
        return enrolment

    def _may_edit_readings(self, enrolment: Enrolment) -> None:
        cohort = enrolment.cohort
        if not can_correct_kpi(
            self.scope,
            factory_id=enrolment.factory_id,
            trainer_id=cohort.trainer_id if cohort else None,
            provider_id=cohort.provider_id if cohort else None,
        ):
            raise PermissionDenied(_("Only the factory and its trainer record KPI readings."))

    def _reading(self, enrolment: Enrolment, reading: str) -> KPIReading:
        reading_id = parse_id(reading)
        found = (
            None
            if reading_id is None
            else enrolment.kpi_readings.select_related("kpi").filter(pk=reading_id).first()
        )
        if found is None:
            raise Http404
        return found

    @extend_schema(
        summary="Log a consulting visit",
        description="The baseline visit or the next follow-up (or the year-after visit), "
        "with the enrolment page's service and refusals (the baseline first, follow-ups "
        "after the classroom, nothing in the future…); the factory's managers are told. "
        "The cohort's trainer's work: an acting key of the cohort's provider, the visit "
        "recorded in the trainer's name.",
        request=VisitCreateSerializer,
        responses={201: VisitOutSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[examples.VISIT_REQUEST, examples.VISIT],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent
    def visits(self, request: Request, pk: str) -> Response:
        enrolment = self._enrolment()
        cohort = enrolment.cohort
        if cohort is None or not can_deliver(self.scope, cohort.trainer_id, cohort.provider_id):
            raise PermissionDenied(_("Only the cohort's trainer records the delivery."))
        serializer = VisitCreateSerializer(data=request.data, enrolment=enrolment)
        serializer.is_valid(raise_exception=True)
        with refusals():
            visit = record_visit(
                enrolment=enrolment, actor=request.user, **serializer.validated_data
            )
        return Response(VisitOutSerializer(visit).data, status=201)

    @extend_schema(
        methods=["GET"],
        summary="KPI readings of an enrolment",
        description="KPI data is the factory's: its readings answer to the funding brand "
        "only when the factory has shared them with that brand (403 otherwise). A service "
        "provider's keys never read them: its acting keys record, correct and delete "
        "readings for the cohort's trainer, and each write answers the reading it sent.",
        responses={200: serializers.KPIReadingSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a KPI reading",
        description="One baseline per KPI, then follow-ups: the enrolment page's service and "
        "refusals, each beside its field (a percentage outside 0–100, a date in the future "
        "or outside the cycle, a second baseline…). The cohort's provider's acting keys.",
        request=KPIReadingCreateSerializer,
        responses={201: serializers.KPIReadingSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[examples.KPI_READING_REQUEST, examples.KPI_READING, examples.KPI_REFUSAL],
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="kpi-readings",
        pagination_class=None,
        filter_backends=[],
    )
    def kpi_readings(self, request: Request, pk: str) -> Response:
        if request.method == "POST":
            return self._record_reading(request)
        return super().kpi_readings(request, pk)

    @idempotent
    def _record_reading(self, request: Request) -> Response:
        enrolment = self._enrolment()
        self._may_edit_readings(enrolment)
        serializer = KPIReadingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        kpi = KPIDefinition.objects.filter(code=data["kpi"]).first()
        if kpi is None:
            raise _refused(_("Unknown KPI."), "kpi")
        with refusals():
            reading = kpi_services.record_kpi_reading(
                enrolment=enrolment,
                actor=request.user,
                kpi=kpi,
                kind=data["kind"],
                value=data["value"],
                measured_on=data["measured_on"],
            )
        return Response(serializers.KPIReadingSerializer(reading).data, status=201)

    @extend_schema(
        summary="Correct a KPI reading",
        description="A new value or date, with the reason (kept in the reading's history "
        "with who corrected it): the enrolment page's service and refusals.",
        request=KPICorrectionSerializer,
        responses={200: serializers.KPIReadingSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[examples.KPI_CORRECTION_REQUEST, examples.KPI_READING],
    )
    @action(detail=True, methods=["post"], url_path=rf"{READING}/correct", filter_backends=[])
    @idempotent
    def correct_kpi_reading(self, request: Request, pk: str, reading: str) -> Response:
        enrolment = self._enrolment()
        self._may_edit_readings(enrolment)
        found = self._reading(enrolment, reading)
        serializer = KPICorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals():
            corrected = kpi_services.correct_kpi_reading(
                reading=found, actor=request.user, **serializer.validated_data
            )
        return Response(serializers.KPIReadingSerializer(corrected).data)

    @extend_schema(
        summary="Delete a KPI reading",
        description="With the reason (the history keeps the reading, who deleted it and "
        "why). A baseline goes only once its follow-ups are gone. Answers 204.",
        request=KPIDeletionSerializer,
        responses={204: None},
        parameters=[IDEMPOTENCY_KEY],
        examples=[examples.KPI_DELETION_REQUEST],
    )
    @action(detail=True, methods=["post"], url_path=rf"{READING}/delete", filter_backends=[])
    @idempotent
    def delete_kpi_reading(self, request: Request, pk: str, reading: str) -> Response:
        enrolment = self._enrolment()
        self._may_edit_readings(enrolment)
        found = self._reading(enrolment, reading)
        serializer = KPIDeletionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals():
            kpi_services.delete_kpi_reading(
                reading=found, actor=request.user, reason=serializer.validated_data["reason"]
            )
        return Response(status=204)
