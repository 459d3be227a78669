"""The REST API, version 1: thin views over the apps' selectors and services.

Every read starts from the key's scope (``visible_to(scope)`` and the pages' selectors), so
an object outside it answers 404 exactly like a missing one; every write goes through the
service the portal's page uses, with the same refusals (as field errors).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api import examples, serializers
from api.filters import (
    CertificateFilter,
    CohortFilter,
    EnrolmentFilter,
    PartnershipFilter,
    SupplierFilter,
)
from api.idempotency import idempotent
from api.throttling import VerifyRateThrottle
from partners.selectors import partnerships_with_ledger
from score_portal.access import can_manage_supplier_list, can_see_kpi_readings
from score_portal.scope import Scope, scope_of
from suppliers.models import BrandSupplier
from training.models import Certificate, Enrolment, KPIReading
from training.selectors import (
    cohorts_for,
    enrolments_for,
    enrolments_with_progress,
    progress_of,
    verifiable_certificate,
)
from training.services.enrolment import TrainingError, enrol_suppliers, withdraw_enrolment
from training.services.kpis import KPIReadingError, has_kpi_consent

ID = r"[0-9]{1,18}"  # ids only: anything else is not a route (404)
NON_FIELD = "non_field_errors"


class ScopedViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    lookup_value_regex = ID

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Times are UTC whatever the portal's or a person's time zone (ISO 8601, "Z").
        timezone.activate(datetime.UTC)
        super().initial(request, *args, **kwargs)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def scope(self) -> Scope:
        return scope_of(self.request.user)


# What the list endpoints load: the columns their serializers return.
SUPPLIER_COLUMNS = serializers.columns_of(serializers.SupplierSerializer)
ENROLMENT_COLUMNS = serializers.columns_of(serializers.EnrolmentSerializer)


def _refused(message: str, field: str | None) -> ValidationError:
    return ValidationError({field or NON_FIELD: [message]}, code="refused")


@contextmanager
def refusals(field: str | None = None) -> Iterator[None]:
    """A service's refusal as the API's 400 in the one error shape, each message beside its
    field: a KPI reading's errors field by field, any other training rule beside the field
    it names (``field`` when it names none)."""
    try:
        yield
    except KPIReadingError as error:
        raise ValidationError(
            {(NON_FIELD if f == "__all__" else f): [m] for f, m in error.errors.items()},
            code="refused",
        ) from None
    except TrainingError as error:
        raise _refused(str(error), error.field or field) from None


@extend_schema_view(
    list=extend_schema(
        summary="The supplier list",
        description="The suppliers on the key's brand's list (the ILO's keys: every list), "
        "by factory name. Suppliers that left the list only with `include_ended=true`.",
        examples=[examples.SUPPLIER_PAGE],
    ),
    retrieve=extend_schema(summary="One supplier", examples=[examples.SUPPLIER]),
)
class SupplierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.SupplierSerializer
    filterset_class = SupplierFilter
    ordering_fields = ["id", "created_at", "supplier_code", "factory__name"]
    ordering = ["factory__name", "id"]

    def get_queryset(self) -> QuerySet[BrandSupplier]:
        links = (
            BrandSupplier.objects.visible_to(self.scope)
            .select_related("factory")
            .only(*SUPPLIER_COLUMNS)
        )
        if self.action == "list" and self.request.query_params.get("include_ended") not in (
            "true",
            "True",
            "1",
        ):
            links = links.on_list()
        return links


@extend_schema_view(
    list=extend_schema(summary="Enrolments", examples=[examples.ENROLMENT_PAGE]),
    retrieve=extend_schema(summary="One enrolment", examples=[examples.ENROLMENT]),
)
class EnrolmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    serializer_class = serializers.EnrolmentSerializer
    filterset_class = EnrolmentFilter
    ordering_fields = ["id", "created_at", "status_changed_at", "status"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Enrolment]:
        if self.action == "progress":
            return enrolments_with_progress(self.scope)
        if self.action == "list":
            return (
                Enrolment.objects.visible_to(self.scope)
                .select_related("factory", "module")
                .only(*ENROLMENT_COLUMNS)
            )
        return enrolments_for(self.scope)

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return serializers.EnrolmentCreateSerializer
        if self.action == "withdraw":
            return serializers.WithdrawSerializer
        return super().get_serializer_class()

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if self.action == "create":
            kwargs["scope"] = self.scope
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        summary="Enrol a supplier",
        description="Enrols one factory of the key's brand's supplier list into a module, "
        "funded by one of the brand's partnerships, optionally in a cohort. Refused for the "
        "same reasons as on the portal's enrol page, as errors naming the field. Send an "
        "`Idempotency-Key` header to retry safely.",
        request=serializers.EnrolmentCreateSerializer,
        responses={201: serializers.EnrolmentSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False
            )
        ],
        examples=[examples.ENROL_REQUEST, examples.ENROLMENT, examples.REFUSAL],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.auth
        brand = key.organisation  # type: ignore[union-attr]
        if not can_manage_supplier_list(self.scope, brand.pk):
            raise PermissionDenied(_("Only a brand's acting keys enrol suppliers."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with refusals():
            [result] = enrol_suppliers(
                brand=brand,
                factories=[data["factory"]],
                module=data["module"],
                partnership=data["partnership"],
                cohort=data.get("cohort"),
                placement_reason=data.get("placement_reason", ""),
                actor=request.user,
            )
        if result.enrolment is None:
            raise _refused(result.refusal, result.field)
        enrolment = enrolments_for(self.scope).get(pk=result.enrolment.pk)
        return Response(serializers.EnrolmentSerializer(enrolment).data, status=201)

    @extend_schema(
        summary="Withdraw an enrolment",
        description="The funding brand withdraws; the partnership's place is freed.",
        request=serializers.WithdrawSerializer,
        responses={200: serializers.EnrolmentSerializer},
        examples=[examples.WITHDRAW_REQUEST],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request: Request, pk: str) -> Response:
        enrolment = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals("reason"):
            withdraw_enrolment(
                enrolment=enrolment, actor=request.user, reason=serializer.validated_data["reason"]
            )
        enrolment = enrolments_for(self.scope).get(pk=enrolment.pk)
        return Response(serializers.EnrolmentSerializer(enrolment).data)

    @extend_schema(
        summary="Progress of an enrolment",
        description="The cycle's steps, the consulting visits, and the participants "
        "counted by role and gender.",
        responses={200: serializers.ProgressSerializer},
        examples=[examples.PROGRESS],
    )
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: str) -> Response:
        enrolment = self.get_object()
        progress = progress_of(enrolment)
        participants = list(enrolment.participants.all())
        data = {
            "enrolment": enrolment.pk,
            "status": enrolment.status,
            "percent": progress.percent,
            "steps": [
                {"key": s.key, "label": s.label, "done": s.done, "when": s.when}
                for s in progress.steps
            ],
            "visits": [
                {"kind": v.kind, "number": v.number, "visited_on": v.visited_on}
                for v in sorted(enrolment.visits.all(), key=lambda v: (v.visited_on, v.pk))
            ],
            "participants": {
                "total": len(participants),
                "by_role": dict(Counter(p.role for p in participants)),
                "by_gender": dict(Counter(p.gender for p in participants)),
            },
        }
        return Response(serializers.ProgressSerializer(data).data)

    @extend_schema(
        summary="KPI readings of an enrolment",
        description="KPI data is the factory's: its readings answer to the funding brand only "
        "when the factory has shared them with that brand (403 otherwise); the factory's "
        "trainer's provider never sees them here.",
        responses={200: serializers.KPIReadingSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="kpi-readings", pagination_class=None)
    def kpi_readings(self, request: Request, pk: str) -> Response:
        enrolment = self.get_object()
        cohort = enrolment.cohort
        allowed = can_see_kpi_readings(
            self.scope,
            factory_id=enrolment.factory_id,
            trainer_id=cohort.trainer_id if cohort else None,
            funding_partner_id=enrolment.partnership.partner_id,
            consented=has_kpi_consent(enrolment),
        )
        if not allowed:
            raise PermissionDenied(
                _("The factory has not shared its KPI readings with your organisation.")
            )
        readings = (
            KPIReading.objects.filter(enrolment=enrolment)
            .select_related("kpi")
            .order_by("measured_on", "pk")
        )
        return Response(serializers.KPIReadingSerializer(readings, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Cohorts (service providers)"),
    retrieve=extend_schema(summary="One cohort"),
)
class CohortViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.CohortSerializer
    filterset_class = CohortFilter
    ordering_fields = ["id", "classroom_start"]
    ordering = ["classroom_start", "id"]

    def get_queryset(self) -> QuerySet[Any]:
        return cohorts_for(self.scope)


@extend_schema_view(
    list=extend_schema(summary="Certificates"),
    retrieve=extend_schema(summary="One certificate"),
)
class CertificateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.CertificateSerializer
    filterset_class = CertificateFilter
    ordering_fields = ["id", "issued_at"]
    ordering = ["-issued_at", "-id"]

    def get_queryset(self) -> QuerySet[Certificate]:
        return Certificate.objects.visible_to(self.scope).select_related(
            "enrolment__factory", "enrolment__module"
        )

    @extend_schema(
        summary="Verify a certificate (public)",
        description="Anyone may check a certificate's code, without a key (rate-limited "
        "per address): what the public verification page shows.",
        auth=[],
        responses={200: serializers.CertificateVerificationSerializer},
        examples=[examples.VERIFICATION],
    )
    @action(
        detail=False,
        methods=["get"],
        url_path=r"verify/(?P<code>[A-Za-z0-9-]{1,40})",
        permission_classes=[AllowAny],
        authentication_classes=[],
        throttle_classes=[VerifyRateThrottle],
        filter_backends=[],
        pagination_class=None,
    )
    def verify(self, request: Request, code: str) -> Response:
        certificate = verifiable_certificate(code)
        if certificate is None:
            raise NotFound(_("No certificate has this code."))
        return Response(serializers.CertificateVerificationSerializer(certificate).data)


@extend_schema_view(
    list=extend_schema(summary="Partnerships and their ledger", examples=[examples.PARTNERSHIP]),
    retrieve=extend_schema(summary="One partnership and its ledger"),
)
class PartnershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.PartnershipSerializer
    filterset_class = PartnershipFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Any]:
        return partnerships_with_ledger(self.scope)
