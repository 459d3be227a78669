"""Supplier-list imports through the API: send a file or JSON rows (a dry run: nothing is
written but the preview), read each row's outcome, decide on possible matches, confirm.
The upload page's services (suppliers.services) do the work, with its rules and messages."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers
from api.idempotency import idempotent
from api.views import ScopedViewSet, _refused
from score_portal.access import can_manage_supplier_list, parse_id
from suppliers import services
from suppliers.models import SupplierImport, SupplierImportRow

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False
)


def _rows_as_csv(rows: list[dict[str, str]]) -> ContentFile[bytes]:
    """JSON rows as the CSV file the upload page would receive (the columns: every key)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), restval="")
    writer.writeheader()
    writer.writerows(rows)
    return ContentFile(text.getvalue().encode("utf-8"), name="rows.csv")


@extend_schema_view(
    list=extend_schema(summary="Supplier-list imports"),
    retrieve=extend_schema(
        summary="One import: its status and counts",
        description="`previewed`: the dry run is ready (see its rows); `rows_review` rows wait "
        "for a decision; then confirm. `done` once written.",
    ),
)
class SupplierImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.SupplierImportSerializer
    ordering_fields = ["id", "created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[SupplierImport]:
        return SupplierImport.objects.visible_to(self.scope).select_related("brand")

    def _acting(self) -> SupplierImport:
        supplier_import = self.get_object()
        if not can_manage_supplier_list(self.scope, supplier_import.brand_id):
            raise PermissionDenied(_("Only a brand's acting keys import suppliers."))
        return supplier_import

    @extend_schema(
        summary="Send a supplier list (dry run)",
        description="A file (multipart: `file`, CSV or XLSX) or JSON `rows`; `mode` `whole` "
        "(suppliers missing from it leave the list on confirm) or `additions`. Nothing is "
        "written but the preview: read its rows, decide on possible matches, then confirm. "
        "A large list is read by the worker: poll the import until it is `previewed`.",
        request={
            "application/json": serializers.SupplierImportCreateSerializer,
            "multipart/form-data": serializers.SupplierImportCreateSerializer,
        },
        responses={201: serializers.SupplierImportSerializer},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        brand = request.auth.organisation  # type: ignore[union-attr]
        if not can_manage_supplier_list(self.scope, brand.pk):
            raise PermissionDenied(_("Only a brand's acting keys import suppliers."))
        sent = serializers.SupplierImportCreateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = sent.validated_data
        upload = data.get("file") or _rows_as_csv(data["rows"])
        try:
            supplier_import = services.start_import(
                brand=brand, user=request.user, upload=upload, mode=data["mode"]
            )
        except services.SupplierError as error:
            raise ValidationError({"file" if data.get("file") else "rows": [str(error)]}) from None
        return Response(serializers.SupplierImportSerializer(supplier_import).data, status=201)

    @extend_schema(
        summary="The import's rows and their outcome",
        description="Each row: `new`, `matched`, `updated`, `unchanged`, `review` (a possible "
        "match, `candidate`, with its similarity `score`: decide on it) or `error` "
        "(`errors` say why). Filter with `?outcome=`.",
        parameters=[
            OpenApiParameter("outcome", OpenApiTypes.STR, enum=SupplierImportRow.Outcome.values)
        ],
        responses={200: serializers.SupplierImportRowSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def rows(self, request: Request, pk: str) -> Response:
        supplier_import = self.get_object()
        rows = SupplierImportRow.objects.filter(supplier_import=supplier_import).order_by("line")
        outcome = request.query_params.get("outcome")
        if outcome:
            if outcome not in SupplierImportRow.Outcome.values:
                raise ValidationError({"outcome": [_("Not an outcome.")]})
            rows = rows.filter(outcome=outcome)
        page = self.paginate_queryset(rows)
        data = serializers.SupplierImportRowSerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Decide on a possible match",
        description="`same: true`: the row is the factory already in the portal (`candidate`); "
        "`false`: a new factory. Remembered for the brand's next lists; every row the answer "
        "settles changes too.",
        request=serializers.DecisionSerializer,
        responses={200: serializers.SupplierImportSerializer},
        parameters=[
            OpenApiParameter("row", OpenApiTypes.INT, OpenApiParameter.PATH),
            IDEMPOTENCY,
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"rows/(?P<row>[0-9]{1,18})/decide",
        filter_backends=[],
    )
    @idempotent
    def decide(self, request: Request, pk: str, row: str) -> Response:
        supplier_import = self._acting()
        found = SupplierImportRow.objects.filter(
            supplier_import=supplier_import, pk=parse_id(row)
        ).first()
        if found is None:
            raise NotFound(_("Not found."))
        sent = serializers.DecisionSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        try:
            services.decide_match(row=found, is_same=sent.validated_data["same"], user=request.user)
        except services.SupplierError as error:
            raise _refused(str(error), None) from None
        supplier_import.refresh_from_db()
        return Response(serializers.SupplierImportSerializer(supplier_import).data)

    @extend_schema(
        summary="Confirm the import",
        description="Writes the previewed rows (all or none); a long list is written by the "
        "worker: poll the import until `done`. Refused while rows await a decision.",
        request=None,
        responses={200: serializers.SupplierImportSerializer},
        parameters=[IDEMPOTENCY],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent
    def confirm(self, request: Request, pk: str) -> Response:
        supplier_import = self._acting()
        try:
            supplier_import = services.confirm_import(
                supplier_import=supplier_import, user=request.user
            )
        except services.SupplierError as error:
            raise _refused(str(error), None) from None
        return Response(serializers.SupplierImportSerializer(supplier_import).data)
