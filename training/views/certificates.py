"""Certificates: the list, downloads (one PDF, or a ZIP streamed for brands), the ILO's revoke
and reissue actions, and the public verification page."""

from __future__ import annotations

import datetime
import logging
import zipfile
from collections.abc import Iterator

from allauth.account.adapter import get_adapter as get_account_adapter
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from score_portal import ratelimit
from score_portal.access import (
    can_download_certificate_pdf,
    can_download_certificates_zip,
    can_manage_certificates,
    get_visible_or_404,
)
from score_portal.files import stored_file_response
from training import pdf
from training.models import Certificate, Module
from training.selectors import verifiable_certificate
from training.services import certificates as services

logger = logging.getLogger(__name__)
C = Certificate.Status


class CertificateFilterForm(forms.Form):
    module = forms.ModelChoiceField(
        label=gettext_lazy("Module"),
        queryset=Module.objects.all(),
        required=False,
        empty_label=gettext_lazy("All modules"),
    )
    issued_from = forms.DateField(
        label=gettext_lazy("Issued from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    issued_to = forms.DateField(
        label=gettext_lazy("Issued until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def filter(self, queryset: QuerySet[Certificate]) -> QuerySet[Certificate]:
        if not self.is_valid():
            return queryset.none()
        data = self.cleaned_data
        if data["module"]:
            queryset = queryset.filter(enrolment__module=data["module"])
        if data["issued_from"]:
            queryset = queryset.filter(issued_at__date__gte=data["issued_from"])
        if data["issued_to"]:
            queryset = queryset.filter(issued_at__date__lte=data["issued_to"])
        return queryset


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the revocation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


def _certificates(request: HttpRequest) -> QuerySet[Certificate]:
    return Certificate.objects.visible_to(request.scope).select_related(
        "enrolment__factory", "enrolment__module", "enrolment__partnership__partner"
    )


@login_required
@require_GET
def certificate_list(request: HttpRequest) -> HttpResponse:
    form = CertificateFilterForm(request.GET or None)
    issued = _certificates(request).filter(status=C.ISSUED).order_by("-issued_at", "-pk")
    if form.is_bound:
        issued = form.filter(issued)
    page = Paginator(issued, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "training/certificates/certificate_list.html",
        {
            "form": form,
            "page": page,
            # Only when the list (as filtered) has something to download.
            "can_zip": can_download_certificates_zip(request.scope) and page.paginator.count > 0,
            "query": _without_page(request),
        },
    )


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
def certificate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = get_visible_or_404(_certificates(request), request.scope, pk=pk)
    manages = can_manage_certificates(request.scope)
    moves = services.allowed_moves(certificate, request.user)
    return render(
        request,
        "training/certificates/certificate_detail.html",
        {
            "certificate": certificate,
            "verify_url": f"{settings.SITE_URL}{certificate.verify_path}",
            "manages": manages,
            "may_revoke": C.REVOKED in moves,
            "may_reissue": C.REPLACED in moves,
            "revoke_form": RevokeForm() if C.REVOKED in moves else None,
            "history": (
                Certificate.objects.filter(enrolment_id=certificate.enrolment_id).order_by(
                    "-created_at"
                )
                if manages
                else []
            ),
        },
    )


@login_required
@require_GET
def certificate_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = get_visible_or_404(_certificates(request), request.scope, pk=pk)
    if not certificate.pdf or not can_download_certificate_pdf(
        request.scope, issued=certificate.status == C.ISSUED
    ):
        raise Http404
    return stored_file_response(
        request,
        certificate.pdf,
        filename=pdf.download_name(certificate),
        content_type="application/pdf",
        on_missing=lambda problem: services.record_missing_pdf(
            certificate=certificate, problem=problem
        ),
    )


@login_required
@require_GET
def certificates_zip(request: HttpRequest) -> StreamingHttpResponse:
    if not can_download_certificates_zip(request.scope):
        raise Http404
    form = CertificateFilterForm(request.GET)
    certificates = form.filter(_certificates(request).filter(status=C.ISSUED).exclude(pdf=""))
    stamp = timezone.localdate().isoformat()
    response = StreamingHttpResponse(
        _zip_stream(certificates.order_by("pk").iterator(chunk_size=200)),
        content_type="application/zip",
    )
    response["Content-Disposition"] = f'attachment; filename="score-certificates-{stamp}.zip"'
    return response


@login_required
@require_POST
def certificate_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = get_visible_or_404(_certificates(request), request.scope, pk=pk)
    if not can_manage_certificates(request.scope):
        raise Http404
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give the reason for the revocation."))
        return redirect(certificate)
    try:
        services.revoke_certificate(
            certificate=certificate,
            actor=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        )
    except services.CertificateError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The certificate is revoked."))
    return redirect(certificate)


@login_required
@require_POST
def certificate_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = get_visible_or_404(_certificates(request), request.scope, pk=pk)
    if not can_manage_certificates(request.scope):
        raise Http404
    try:
        new = services.reissue_certificate(certificate=certificate, actor=request.user)  # type: ignore[arg-type]
    except services.CertificateError as error:
        messages.error(request, str(error))
        return redirect(certificate)
    messages.success(
        request, _("A new certificate is being issued; the old number now shows as replaced.")
    )
    return redirect(new)


# --- Public verification ------------------------------------------------------------------


@require_GET
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Anyone may check a certificate number: status and the essentials, nothing else."""
    if _over_rate_limit(request):
        return render(request, "certificates/verify_rate_limited.html", status=429)
    code = code.strip().upper()
    certificate = verifiable_certificate(code)
    if certificate is None:
        return render(request, "certificates/verify_unknown.html", {"code": code[:40]}, status=404)
    return render(request, "certificates/verify.html", {"certificate": certificate})


def _over_rate_limit(request: HttpRequest) -> bool:
    """A fixed one-minute window per client address, in the shared cache
    (``score_portal.ratelimit``: if the cache is down, checking a certificate still works).

    Not allauth's limiter, although the sign-in limits use it: its public entry point
    (``allauth.core.ratelimit.consume``, 65.x) lets every GET through, and this page is a
    GET; only its internal module can count GETs. The client's address is allauth's, so
    ``TRUSTED_PROXY_COUNT`` means the same for both."""
    verdict = ratelimit.hit(
        f"verify-page:{_client_ip(request)}", limit=settings.CERTIFICATE_VERIFY_RATE_PER_MINUTE
    )
    return not verdict.allowed


def _client_ip(request: HttpRequest) -> str:
    """The client's address as the sign-in rate limits see it (allauth's trusted-proxy
    settings), so a reverse proxy does not put every visitor in one bucket."""
    try:
        return str(get_account_adapter(request).get_client_ip(request))
    except (PermissionDenied, ImproperlyConfigured):  # no address, or a short X-Forwarded-For
        return str(request.META.get("REMOTE_ADDR", ""))


# --- ZIP streaming ------------------------------------------------------------------------


class _Chunks:
    """A write-only file for zipfile: what is written is handed out by ``take()``."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._offset = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_stream(certificates: Iterator[Certificate]) -> Iterator[bytes]:
    """One certificate in memory at a time; PDFs are already compressed, so they are stored."""
    sink = _Chunks()
    used: set[str] = set()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for certificate in certificates:
            name = pdf.download_name(certificate)
            if name in used:
                continue
            used.add(name)
            info = zipfile.ZipInfo(name, date_time=_zip_time(certificate.issued_at))
            try:
                source = certificate.pdf.open("rb")
            except OSError as error:
                problem = f"Stored file {certificate.pdf.name!r} cannot be opened: {error}"
                logger.error("Certificate %s left out of a ZIP: %s", certificate.code, problem)
                services.record_missing_pdf(certificate=certificate, problem=problem)
                continue
            with source, archive.open(info, mode="w") as target:
                while chunk := source.read(64 * 1024):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def _zip_time(moment: datetime.datetime | None) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(moment or timezone.now())
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)
