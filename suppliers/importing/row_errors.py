"""What is wrong with an import row, stored as a code and its parameters and put into words
when read, in the reader's language: a Turkish colleague opening a Spanish uploader's import
reads its errors in Turkish, and so does the download of rows to fix.

A stored error is ``{"column": <the file's header>, "code": <key of MESSAGES>, "params":
{...}}``. Parameters named in ``COUNTRY_PARAMS`` hold country codes, named in the reader's
language. Rows stored before errors had codes carry their text in ``message``; it is shown
as written.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_countries import countries

MESSAGES: dict[str, Promise] = {
    "too_long": _("longer than %(limit)s characters (%(length)s)"),
    "too_long_unnamed": _("column %(number)s: longer than %(limit)s characters (%(length)s)"),
    "required": _("required, but empty"),
    "unknown_country": _("“%(value)s” is not a country we know"),
    "os_id": _("an OS ID looks like CN2019067X1K87E"),
    "not_whole_number": _("not a whole number"),
    "more_women": _("more women than workers in total"),
    "not_email": _("not an email address"),
    "code_other_country": _(
        "%(code)s is your code for “%(factory)s” (%(country)s), but this row "
        "names “%(name)s” in %(row_country)s: correct the code or the country"
    ),
    "code_other_factory": _(
        "%(code)s is your code for “%(factory)s”, but this row is “%(name)s”, "
        "another factory in the portal: correct the code, or give each its own"
    ),
    "code_clash": _("%(code)s is also given to another factory on row %(row)s"),
    "same_factory": _(
        "%(code)s: row %(row)s already names this factory (“%(factory)s”) with another "
        "code, and a factory has one code on your list"
    ),
}
COUNTRY_PARAMS = frozenset({"country", "row_country"})


def row_error(column: str | None, code: str, /, **params: Any) -> dict[str, Any]:
    """An error as stored on ``SupplierImportRow.errors``."""
    assert code in MESSAGES, code
    error: dict[str, Any] = {"column": column or "", "code": code}
    if params:
        error["params"] = params
    return error


def message_of(error: dict[str, Any]) -> str:
    """The error's message in the active language (without its column)."""
    template = MESSAGES.get(error.get("code", ""))
    if template is None:
        return str(error.get("message", ""))
    params = dict(error.get("params") or {})
    for name in COUNTRY_PARAMS & params.keys():
        params[name] = countries.name(params[name]) or params[name]
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return str(template)


def text_of(error: dict[str, Any]) -> str:
    """The error with its column, as the list of rows and the download of rows to fix show it."""
    message = message_of(error)
    return f"{error['column']}: {message}" if error.get("column") else message
