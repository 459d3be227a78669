"""Certificate PDFs: a pure function from a certificate to the bytes of a one-page A4 PDF.

WeasyPrint renders through a locked-down fetcher: it serves only files of the project's own
``static/`` directory, under one fixed fake origin, and refuses everything else (file://,
http(s), data:, paths that climb out of ``static/``). Fonts come from the system (Noto, CJK
and Bengali included, installed by ``make system-deps``) and are configured once per process.
"""

from __future__ import annotations

import io
import mimetypes
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import qrcode
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

if TYPE_CHECKING:
    from training.models import Certificate

STATIC_DIR = (Path(settings.BASE_DIR) / "static").resolve()
# A name that can never resolve (RFC 6761 .invalid): relative URLs in the template join onto
# it, and only URLs under it are answered, from STATIC_DIR.
STATIC_ORIGIN = "https://static.score-portal.invalid/static/"
# Images made for one document (the QR code) are handed to its fetcher under this prefix.
GENERATED_ORIGIN = "https://static.score-portal.invalid/generated/"
QR_URL = GENERATED_ORIGIN + "qr.png"
TEMPLATE = "certificates/certificate.html"
STYLESHEET = "css/certificate.css"

# One font configuration per worker process: fontconfig is read once, not per render.
FONT_CONFIG = FontConfiguration()


# Fonts are subset by WeasyPrint itself, through its public options only. WeasyPrint 70 runs
# HarfBuzz's subsetter twice per font (retain-gids, then again to drop the trailing empty
# glyphs, which HarfBuzz >= 2.5 already drops: harfbuzz/harfbuzz#1715); for Noto Sans CJK that
# second pass is ~12 ms of a Chinese certificate. Certificates are rendered in the background
# and stay within their targets without it (bench/certificates.py), so the portal no longer
# replaces that internal. The public options do not help: ``full_fonts`` skips subsetting but
# embeds whole fonts (megabytes of Noto CJK in every PDF), and ``hinting`` is already off.


class FetchRefused(ValueError):
    """The template asked for something outside the project's static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serves ``STATIC_ORIGIN/<path>`` from ``static/`` and the document's own generated images
    (``generated``, by exact URL); refuses (and records) anything else."""

    def __init__(self, generated: dict[str, bytes] | None = None) -> None:
        super().__init__(allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False)
        self.generated = generated or {}
        self.requested: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.requested.append(url)
        if url in self.generated:
            return URLFetcherResponse(
                url, body=self.generated[url], headers={"Content-Type": "image/png"}
            )
        try:
            path = static_path_for(url)
        except FetchRefused:
            self.refused.append(url)
            raise
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def static_path_for(url: str) -> Path:
    """The file of ``static/`` that ``url`` names, or FetchRefused."""
    if not url.startswith(STATIC_ORIGIN):
        raise FetchRefused(f"not a project static file: {url[:200]}")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise FetchRefused(f"query strings are not served: {url[:200]}")
    relative = unquote(parts.path).removeprefix(urlsplit(STATIC_ORIGIN).path)
    if not relative or "\x00" in relative or "\\" in relative:
        raise FetchRefused(f"not a static path: {url[:200]}")
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise FetchRefused(f"no such static file: {url[:200]}")
    return path


def render_pdf(
    html: str,
    *,
    fetcher: StaticOnlyFetcher | None = None,
    stylesheets: list[CSS] | None = None,
) -> bytes:
    """Render an HTML string to PDF bytes through the locked-down fetcher."""
    document = HTML(string=html, base_url=STATIC_ORIGIN, url_fetcher=fetcher or StaticOnlyFetcher())
    pdf: bytes = document.write_pdf(stylesheets=stylesheets, font_config=FONT_CONFIG)
    return pdf


@cache
def certificate_stylesheet() -> CSS:
    """The certificate's stylesheet, fetched from static/ and parsed once per process."""
    return CSS(
        url=STATIC_ORIGIN + STYLESHEET, url_fetcher=StaticOnlyFetcher(), font_config=FONT_CONFIG
    )


def qr_png(data: str) -> bytes:
    """A QR code as a small PNG, one pixel per module: the stylesheet scales it up crisply
    (a raster draws far faster in WeasyPrint than an SVG path of hundreds of squares)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=1,
        border=2,
        mask_pattern=0,  # a fixed mask skips trying all eight; any mask is valid
    )
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def download_name(certificate: Certificate) -> str:
    """The PDF's file name when downloaded (the page's, the ZIP's and the API's)."""
    enrolment = certificate.enrolment
    factory = _UNSAFE.sub(" ", enrolment.factory.name).strip()[:80] or "factory"
    return f"{factory} - {enrolment.module.code} - {certificate.code}.pdf"


def verify_url(certificate: Certificate) -> str:
    return f"{settings.SITE_URL}{certificate.verify_path}"


def certificate_context(certificate: Certificate) -> dict[str, Any]:
    enrolment = certificate.enrolment
    factory = enrolment.factory
    cohort = enrolment.cohort
    url = verify_url(certificate)
    return {
        "certificate": certificate,
        "enrolment": enrolment,
        "factory": factory,
        "show_latin_name": bool(factory.name_latin) and factory.name_latin != factory.name,
        "country": factory.country.name,  # type: ignore[attr-defined]
        "module": enrolment.module,
        "cohort": cohort,
        "trainer": cohort.trainer.display_name if cohort else "",
        "provider": cohort.provider.name if cohort else "",
        "funder": enrolment.partnership.partner.name,
        "visits_completed": _visits_completed(enrolment),
        "issued_on": timezone.localdate(certificate.issued_at or timezone.now()),
        "verify_url": url,
        "qr_url": QR_URL,
    }


def certificate_pdf(certificate: Certificate, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """The certificate as PDF bytes, in the factory's language; reads, never writes."""
    language = certificate.enrolment.factory.language or settings.LANGUAGE_CODE
    with translation.override(language):
        html = render_to_string(TEMPLATE, certificate_context(certificate))
    fetcher = fetcher or StaticOnlyFetcher()
    fetcher.generated[QR_URL] = qr_png(verify_url(certificate))
    return render_pdf(html, fetcher=fetcher, stylesheets=[certificate_stylesheet()])


def _visits_completed(enrolment: Any) -> int:
    visits = getattr(enrolment, "_prefetched_objects_cache", {}).get("visits")
    if visits is not None:
        return len(visits)
    count: int = enrolment.visits.count()
    return count
