from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from score_portal.uploads import UploadError
from score_portal.widgets import SafeIdsAdmin
from suppliers.models import (
    BrandSupplier,
    Factory,
    FactoryChange,
    FactoryManager,
    SupplierImport,
    SupplierMatchDecision,
)
from suppliers.resources import FactoryResource, UploadedTable


class BrandSupplierInline(SafeIdsAdmin, admin.TabularInline):
    model = BrandSupplier
    extra = 0
    autocomplete_fields = ["brand"]
    exclude = ["source_import"]


class FactoryManagerInline(SafeIdsAdmin, admin.TabularInline):
    model = FactoryManager
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Factory)
class FactoryAdmin(ImportExportModelAdmin):
    resource_classes = [FactoryResource]
    import_formats = [UploadedTable]
    list_display = ["name", "name_latin", "city", "country", "sector", "workers_total", "os_id"]
    list_filter = ["country", "sector"]
    search_fields = ["name", "name_latin", "os_id", "registration_number"]
    inlines = [BrandSupplierInline, FactoryManagerInline]

    def add_data_read_fail_error_to_form(self, form: Any, e: Exception) -> None:
        if isinstance(e, UploadError):  # the reader's message says what to fix
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)


@admin.register(SupplierImport)
class SupplierImportAdmin(admin.ModelAdmin):
    list_display = [
        "original_filename",
        "brand",
        "uploaded_by",
        "status",
        "rows_total",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["original_filename", "brand__name"]
    # The uploaded file is shown by name only: no URL serves it (there is no /media/ URL).
    exclude = ["file"]
    readonly_fields = [
        "file_name",
        "created_at",
        "finished_at",
        "claimed_at",
        "attempts",
        "last_error",
        "next_attempt_at",
    ]

    @admin.display(description=_("file"))
    def file_name(self, supplier_import: SupplierImport) -> str:
        return supplier_import.file.name


@admin.register(SupplierMatchDecision)
class SupplierMatchDecisionAdmin(admin.ModelAdmin):
    """The answers brands gave to "is this row that factory?". Deleting a wrong one makes the
    brand's next upload of that row ask again; they are not edited by hand."""

    list_display = ["factory", "brand", "is_same", "decided_by", "decided_at"]
    list_filter = ["is_same", "brand"]
    search_fields = ["factory__name", "factory__name_latin", "brand__name", "decided_by__email"]
    list_select_related = ["factory", "brand", "decided_by"]
    readonly_fields = ["brand", "row_key", "factory", "is_same", "decided_by", "decided_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(FactoryChange)
class FactoryChangeAdmin(SafeIdsAdmin, admin.ModelAdmin):
    """Brands' proposed changes to factories' shared data (decided on the factory's page)."""

    list_display = ["factory", "field", "old_value", "value", "brand", "status", "created_at"]
    list_filter = ["status", "field"]
    search_fields = ["factory__name", "value"]
    readonly_fields = [f.name for f in FactoryChange._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
