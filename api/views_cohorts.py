"""Cohorts for service providers: the placing queue, placing enrolments into a cohort, and
the classroom register, on the services of the placing and register pages."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from api import examples, serializers, views
from api.idempotency import idempotent
from api.serializers_delivery import AttendanceDaySerializer, PlaceSerializer, RegisterSerializer
from api.views import _refused, refusals
from score_portal.access import can_place, can_record_attendance, can_see_placing_queue
from training.models import Cohort
from training.selectors import awaiting_placement, enrolments_for
from training.services.attendance import (
    Register,
    classroom_day_refusal,
    record_cohort_attendance,
    register_of,
)
from training.services.placing import place_enrolments

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False
)


def register_data(register: Register) -> dict[str, Any]:
    return {
        "cohort": register.cohort.pk,
        "days": register.days,
        "begun": register.begun,
        "participants": [
            {
                "participant": row.participant.pk,
                "name": row.participant.name,
                "role": row.participant.role,
                "gender": row.participant.gender,
                "enrolment": row.enrolment.pk,
                "factory": row.enrolment.factory_id,
                "open": register.is_open(row),
                "present_on": sorted(row.days),
            }
            for row in register.rows
        ],
        "without_participants": [e.pk for e in register.without_participants],
    }


class CohortViewSet(views.CohortViewSet):
    """The cohorts list and detail (``views.CohortViewSet``) with the provider's writes."""

    def get_serializer_class(self) -> Any:
        if self.action == "place":
            return PlaceSerializer
        if self.action == "attendance":
            return AttendanceDaySerializer
        if self.action == "placing_queue":
            return serializers.EnrolmentSerializer
        return super().get_serializer_class()

    def _cohort(self) -> Cohort:
        cohort: Cohort = self.get_object()
        return cohort

    @extend_schema(
        summary="The placing queue",
        description="Enrolments waiting for a cohort that the key's provider may place (it "
        "delivers the module in the factory's country), the longest waiting first: what the "
        "placing page lists. Other keys get 404.",
        responses={200: serializers.EnrolmentSerializer(many=True)},
        examples=[examples.ENROLMENT_PAGE],
    )
    @action(detail=False, methods=["get"], url_path="placing-queue", filter_backends=[])
    def placing_queue(self, request: Request) -> Response:
        if not can_see_placing_queue(self.scope):
            raise Http404
        page = self.paginate_queryset(awaiting_placement(self.scope))
        data = serializers.EnrolmentSerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Place enrolments into the cohort",
        description="Places waiting enrolments into this cohort, all or none, with the "
        "placing page's service and refusals (the classroom has begun, the cohort is full, "
        "another module, a factory outside the cohort's country or languages without a "
        "`reason`…). The factories' managers are emailed. A provider's acting key only.",
        request=PlaceSerializer,
        responses={200: serializers.EnrolmentSerializer(many=True)},
        parameters=[IDEMPOTENCY_KEY],
        examples=[examples.PLACE_REQUEST, examples.PLACE_REFUSAL],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent
    def place(self, request: Request, pk: str) -> Response:
        cohort = self._cohort()
        if not can_place(self.scope, cohort.provider_id):
            raise PermissionDenied(
                _("Only the provider's administrators and staff place enterprises.")
            )
        serializer = PlaceSerializer(data=request.data, waiting=awaiting_placement(self.scope))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with refusals():
            placed = place_enrolments(
                enrolments=data["enrolments"],
                cohort=cohort,
                actor=request.user,
                reason=data["reason"],
            )
        enrolments = enrolments_for(self.scope).filter(pk__in=[e.pk for e in placed]).order_by("pk")
        return Response(serializers.EnrolmentSerializer(enrolments, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="The cohort's attendance register",
        description="Every participant of the enterprises placed in the cohort, and the "
        "classroom days they were present on.",
        responses={200: RegisterSerializer},
        examples=[examples.REGISTER],
    )
    @extend_schema(
        methods=["POST"],
        summary="Record attendance for a classroom day",
        description="Exactly the participants in `present` were present on `day`; the "
        "register's other days stay as they are. The register page's service and rules: "
        "only a classroom day that has begun, only the cohort's participants, only running "
        "enrolments change (the first attendance starts them). The cohort's trainer's "
        "work: an acting key of the cohort's provider (or the ILO's). Answers the register.",
        request=AttendanceDaySerializer,
        responses={200: RegisterSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[examples.ATTENDANCE_REQUEST, examples.REGISTER],
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def attendance(self, request: Request, pk: str) -> Response:
        if request.method == "POST":
            return self._record_attendance(request)
        return Response(RegisterSerializer(register_data(register_of(self._cohort()))).data)

    @idempotent
    def _record_attendance(self, request: Request) -> Response:
        cohort = self._cohort()
        if not can_record_attendance(self.scope, cohort.trainer_id, cohort.provider_id):
            raise PermissionDenied(_("Only the cohort's trainer records the classroom attendance."))
        serializer = AttendanceDaySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        day = serializer.validated_data["day"]
        refusal = classroom_day_refusal(cohort, day, today=timezone.localdate())
        if refusal:
            raise _refused(refusal, "day")
        register = register_of(cohort)
        ticks = {(row.participant.pk, d) for row in register.rows for d in row.days if d != day}
        ticks |= {(pk, day) for pk in serializer.validated_data["present"]}
        with refusals("present"):
            record_cohort_attendance(cohort=cohort, actor=request.user, ticks=ticks)
        return Response(RegisterSerializer(register_data(register_of(cohort))).data)
