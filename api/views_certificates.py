"""A certificate's PDF through the API: the file the page's download serves."""

from __future__ import annotations

import logging
from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api import views
from score_portal.access import can_download_certificate_pdf
from training import pdf
from training.models import Certificate
from training.services import certificates as certificate_services

logger = logging.getLogger(__name__)
C = Certificate.Status


class PDFRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/pdf``; the view answers the stored file
    itself (a ``FileResponse``), so this renderer never renders a body."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return b""


class NotRenderedYet(APIException):
    status_code = 409
    default_code = "not_rendered"
    wait = 60  # seconds: DRF's handler answers it as Retry-After


class CertificateViewSet(views.CertificateViewSet):
    """The certificates list and detail (``views.CertificateViewSet``) with the PDF."""

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON in the one error shape, also for a client that asked for a PDF.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        summary="A certificate's PDF",
        description="The issued certificate's PDF, as the portal's download serves it "
        "(`application/pdf`, an attachment named after the factory, module and code). While "
        "it is still being rendered: 409 (`not_rendered`) with `Retry-After`; a revoked or "
        "replaced certificate's PDF only for the ILO's keys (404 otherwise).",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            409: OpenApiResponse(description="Not rendered yet: try again after Retry-After."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[JSONRenderer, PDFRenderer],
        filter_backends=[],
        pagination_class=None,
    )
    def pdf(self, request: Request, pk: str) -> Any:
        certificate: Certificate = self.get_object()
        if certificate.status == C.PENDING and not certificate.pdf:
            raise NotRenderedYet(_("The certificate is still being rendered: try again shortly."))
        if not certificate.pdf or not can_download_certificate_pdf(
            self.scope, issued=certificate.status == C.ISSUED
        ):
            raise NotFound(_("Not found."))
        try:
            handle = certificate.pdf.open("rb")
        except OSError as error:  # the stored file is gone: recorded where the ILO sees it
            problem = (
                f"Stored file {certificate.pdf.name!r} cannot be opened: {type(error).__name__}"
            )
            logger.error("%s (requested at %s)", problem, request.path)
            certificate_services.record_missing_pdf(certificate=certificate, problem=problem)
            raise NotFound(
                _("The certificate's file is missing; the portal's administrators were told.")
            ) from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=pdf.download_name(certificate),
            content_type="application/pdf",
        )
