"""Serving stored files (partnership documents, certificates): only through views that have
checked who asks, never from a public /media/ URL, and never a 500 when a file is gone.

A file the database names but storage no longer holds (a restore that missed the media, a
deleted object in the bucket) answers a 404-style page that says so, and is logged at ERROR,
which error reporting (Sentry) turns into an event for the ILO's administrators; the caller may
also record it on its row (a certificate's last error, say), where the admin shows it.

A kernel module: it imports no app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


def stored_file_response(
    request: HttpRequest,
    stored: FieldFile,
    *,
    filename: str,
    content_type: str,
    on_missing: Callable[[str], None] | None = None,
) -> HttpResponse:
    """The stored file as a download, or the missing-file page (404) if storage can't open it.

    ``on_missing`` is called with a sentence describing the problem, for the caller to record
    where an administrator sees it."""
    try:
        handle = stored.open("rb")
    except OSError as error:  # FileNotFoundError above all; S3's missing object raises it too
        problem = f"Stored file {stored.name!r} cannot be opened: {type(error).__name__}"
        logger.error("%s (requested at %s)", problem, request.path)
        if on_missing is not None:
            on_missing(problem)
        return render(request, "missing_file.html", status=404)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
