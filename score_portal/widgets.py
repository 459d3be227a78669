"""Form widgets and fields the apps share, and the admin classes that use them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib.admin import widgets as admin_widgets
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Field
from django.http import Http404, HttpResponseNotAllowed
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from simple_history.admin import SimpleHistoryAdmin

from score_portal.access import parse_id


def _attrs_html(attrs: dict[str, Any]) -> str:
    """What django/forms/widgets/attrs.html writes, in Python."""
    return "".join(
        format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
        for name, value in attrs.items()
        if value is not False
    )


class CountrySelect(forms.Select):
    """The country ``<select>``: Django's HTML, without a template include per option.

    Django renders each of the ~250 ``<option>``s through its own template and django-countries
    sorts the names in the reader's language on every render: 10–20 ms per page that shows a
    country filter. The escaped options are kept per language and first choice (the empty
    one a filter adds, or none): the country list is fixed for the life of the process, so
    use this widget for the whole list only. Each render only marks the chosen one.
    """

    _options: ClassVar[dict[tuple[str, str], list[tuple[str, str]]]] = {}

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        first = next(iter(self.choices), None)  # cheap: the whole list is sorted on demand
        key = (get_language() or "", str(first[1]) if first else "")
        options = self._options.get(key)
        if options is None:
            options = [(escape(str(v)), escape(str(label))) for v, label in self.choices]
            self._options[key] = options
        chosen = {"" if v is None else str(v) for v in self.format_value(value)}
        parts = [
            format_html('<select name="{}"', name),
            _attrs_html(self.build_attrs(self.attrs, attrs)),
            ">",
        ]
        for option_value, label in options:
            selected = " selected" if option_value in chosen else ""
            parts.append(f'\n  <option value="{option_value}"{selected}>{label}</option>\n')
        parts.append("\n</select>")
        return mark_safe("".join(parts))


# --- Ids typed by a visitor -----------------------------------------------------------------
# Django hands a submitted id to the database as it is in two places: a multiple choice's
# "__in" lookup, and the admin's autocomplete widget re-rendering a refused form. "²" then
# raises ValueError and "9" * 30 an OverflowError on SQLite: a 500 instead of "not a valid
# choice". These check the value first; what no id column could hold is no choice at all.

_BIGINT = 2**63


def _usable_id(field: Field[Any, Any], value: object) -> bool:
    """Whether ``value`` can be looked up in ``field`` (a primary key, usually)."""
    try:
        python = field.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    return not isinstance(python, int) or -_BIGINT <= python < _BIGINT


class ModelMultipleIdsField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField that refuses a value no id can be before querying it."""

    def _check_values(self, value: Iterable[Any]) -> Any:
        if not isinstance(value, str | bytes):
            key = self.to_field_name or self.queryset.model._meta.pk.name
            field = self.queryset.model._meta.get_field(key)
            for item in value:
                if not _usable_id(field, item):
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": item},
                    )
        return super()._check_values(value)


class _UsableIdsOnly:
    """The admin's autocomplete widgets, showing again only the chosen values that are ids."""

    field: Any

    def optgroups(self, name: str, value: list[str], attr: Any = None) -> Any:
        remote = self.field.remote_field
        opts = remote.model._meta
        target = opts.get_field(getattr(remote, "field_name", None) or opts.pk.name)
        usable = [v for v in value if _usable_id(target, v)]
        return super().optgroups(name, usable, attr)  # type: ignore[misc]


class AutocompleteSelect(_UsableIdsOnly, admin_widgets.AutocompleteSelect):
    pass


class AutocompleteSelectMultiple(_UsableIdsOnly, admin_widgets.AutocompleteSelectMultiple):
    pass


class SafeIdsAdmin:
    """For a ModelAdmin or inline with ``autocomplete_fields`` or many-to-many fields: a chosen
    value that is no id is refused with the field's error, and the form shown again, not a
    500."""

    admin_site: Any

    def formfield_for_foreignkey(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = AutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", ModelMultipleIdsField)
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = AutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class HistoryAdmin(SimpleHistoryAdmin):
    """The admin's History button for a model with a history (score_portal.history), read
    only: an old version is shown, never saved back (that write would bypass the services'
    rules; SIMPLE_HISTORY_REVERT_DISABLED only hides the button), and an id that is no id is
    not found, not a 500."""

    def history_view(self, request: Any, object_id: str, extra_context: Any = None) -> Any:
        if parse_id(unquote(object_id)) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: Any, object_id: str, version_id: str, extra_context: Any = None
    ) -> Any:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        if parse_id(unquote(object_id)) is None or parse_id(version_id) is None:
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)
