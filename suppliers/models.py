"""Factories (the enterprises trained), their links to brands, and supplier-list imports."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import connections, models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from score_portal import access, jobs
from score_portal.scope import MANAGED_FACTORY, Scope, tagged
from suppliers.importing import row_errors
from suppliers.importing.normalise import keys_source, match_keys, search_key

# Open Supply Hub IDs: country code, year and day of registration, six characters.
os_id_validator = RegexValidator(
    r"^[A-Z]{2}\d{7}[0-9A-Z]{6}$",
    _("An Open Supply Hub ID looks like CN2019067X1K87E: 15 letters and digits."),
)


# The Factory columns matching reads instead of normalising names again.
MATCH_FIELDS = ("match_name", "match_name_latin", "match_address", "match_source")


class FactoryQuerySet(models.QuerySet["Factory"]):
    def visible_to(self, scope: Scope) -> FactoryQuerySet:
        return self.filter(access.factory_reach(scope, self.model))

    def refresh_blank_search_keys(self, batch: int = 2000) -> int:
        """Store the search key of each factory here whose key is blank: those an import
        created or completed in SQL, which bypasses ``save()``. A batch at a time, in id
        order (a name with no letter keeps a blank key and is passed); the number stored."""
        stored, after = 0, 0
        while True:
            factories = list(
                self.filter(search_key="", pk__gt=after)
                .order_by("pk")
                .only("pk", "name", "name_latin", "search_key")[:batch]
            )
            if not factories:
                return stored
            after = factories[-1].pk
            keys = {f.pk: search_key(f.name, f.name_latin) for f in factories}
            keys = {pk: key for pk, key in keys.items() if key}
            stored += _store_search_keys(self.db, keys)


def _store_search_keys(alias: str, keys: dict[int, str]) -> int:
    """Write ``keys`` (factory id: search key). PostgreSQL in one statement over two arrays
    (``bulk_update``'s CASE over 2,000 ids took 0.4 ms a factory); elsewhere bulk_update."""
    if not keys:
        return 0
    connection = connections[alias]
    if connection.vendor != "postgresql":
        factories = [Factory(pk=pk, search_key=key) for pk, key in keys.items()]
        Factory.objects.using(alias).bulk_update(factories, ["search_key"])
        return len(factories)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Factory._meta.db_table} AS f SET search_key = v.key "
            "FROM unnest(%s::bigint[], %s::text[]) AS v(id, key) WHERE f.id = v.id",
            [list(keys), list(keys.values())],
        )
        return int(cursor.rowcount)


class Factory(models.Model):
    """An enterprise (SME) taking SCORE training: it exists once, whatever brands it supplies."""

    class Sector(models.TextChoices):
        GARMENTS = "garments", _("Garments and apparel")
        TEXTILES = "textiles", _("Textiles")
        FOOTWEAR = "footwear", _("Footwear and leather")
        ELECTRONICS = "electronics", _("Electronics")
        FOOD = "food", _("Food and beverages")
        FURNITURE = "furniture", _("Furniture and wood")
        AUTOMOTIVE = "automotive", _("Automotive parts")
        CHEMICALS = "chemicals", _("Chemicals and plastics")
        HOSPITALITY = "hospitality", _("Hospitality and tourism")
        OTHER = "other", _("Other")

    name = models.CharField(
        _("name"), max_length=300, help_text=_("In the enterprise's own script.")
    )
    name_latin = models.CharField(_("name in Latin script"), max_length=300, blank=True)
    address = models.CharField(_("address"), max_length=500)
    city = models.CharField(_("city"), max_length=120, blank=True)
    country = CountryField(_("country"))
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices, blank=True)
    product_type = models.CharField(_("product type"), max_length=200, blank=True)
    workers_total = models.PositiveIntegerField(_("workers"), null=True, blank=True)
    workers_women = models.PositiveIntegerField(_("of whom women"), null=True, blank=True)
    os_id = models.CharField(
        _("Open Supply Hub ID"), max_length=15, blank=True, validators=[os_id_validator]
    )
    registration_number = models.CharField(
        _("national registration number"), max_length=100, blank=True
    )
    parent_company = models.CharField(_("parent company"), max_length=300, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("Certificates and emails to the factory use this language."),
    )
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # What supplier-list matching compares (suppliers.importing.normalise.match_keys), kept
    # so an import need not recompute it for every factory: the name's and the Latin
    # name's words without legal form, the address key, and a hash of the texts they came
    # from. save() keeps them current; a write that bypasses it (update(), bulk_create,
    # raw SQL) leaves a hash that no longer fits, and matching then recomputes the keys.
    match_name = models.TextField(
        _("name as matched"), blank=True, default="", db_default="", editable=False
    )
    match_name_latin = models.TextField(
        _("Latin name as matched"), blank=True, default="", db_default="", editable=False
    )
    match_address = models.TextField(
        _("address as matched"), blank=True, default="", db_default="", editable=False
    )
    match_source = models.BigIntegerField(
        _("source of the match keys"), null=True, blank=True, editable=False
    )
    # What the search box looks in (``normalise.search_key``: the name and Latin name in
    # lowercase ASCII, Chinese in pinyin, each joined), kept by save() and, for the factories
    # an import writes in SQL (blank until then), by the task ``refresh_search_keys`` after
    # the import commits. PostgreSQL indexes its trigrams.
    search_key = models.TextField(
        _("search key"), blank=True, default="", db_default="", editable=False
    )

    objects = FactoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("factory")
        verbose_name_plural = _("factories")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["country", "name"]),
            # The brand's matrix pages its suppliers by factory name: walk this, stop at 50.
            models.Index(fields=["name", "id"], name="factory_name_index"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["os_id"], condition=~Q(os_id=""), name="factory_os_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(workers_women__isnull=True)
                | Q(workers_total__isnull=True)
                | Q(workers_women__lte=models.F("workers_total")),
                name="factory_women_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.refresh_match_keys() and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *MATCH_FIELDS}
        key = search_key(self.name, self.name_latin)
        if key != self.search_key:
            self.search_key = key
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "search_key"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("suppliers:factory_detail", args=[self.pk])

    def refresh_match_keys(self) -> bool:
        """Recompute the stored match keys if the name, Latin name or address changed since
        they were computed; True if they were."""
        source = keys_source(self.name, self.name_latin, self.address)
        if source == self.match_source:
            return False
        self.match_name, self.match_name_latin, self.match_address = match_keys(
            self.name, self.name_latin, self.address
        )
        self.match_source = source
        return True


class FactoryManager(models.Model):
    """Ties a person to the factory they manage: they confirm enrolments and record KPIs."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="managed_factories",
        verbose_name=_("user"),
    )
    factory = models.ForeignKey(
        Factory, on_delete=models.CASCADE, related_name="managers", verbose_name=_("factory")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("factory manager")
        verbose_name_plural = _("factory managers")
        constraints = [
            models.UniqueConstraint(fields=["user", "factory"], name="factory_manager_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.factory}"


class BrandSupplierQuerySet(models.QuerySet["BrandSupplier"]):
    def visible_to(self, scope: Scope) -> BrandSupplierQuerySet:
        return self.filter(access.supplier_link_reach(scope))

    def on_list(self) -> BrandSupplierQuerySet:
        """Links that have not ended: the suppliers the brand lists, enrols and exports."""
        return self.filter(ended_at__isnull=True)


class BrandSupplier(models.Model):
    """A factory on a brand's supplier list, with the brand's own code for it."""

    # No index of its own: brand_supplier_unique (brand, factory) serves brand lookups.
    brand = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="supplier_links",
        verbose_name=_("brand"),
        db_index=False,
    )
    factory = models.ForeignKey(
        Factory, on_delete=models.CASCADE, related_name="brand_links", verbose_name=_("factory")
    )
    supplier_code = models.CharField(_("supplier code"), max_length=100, blank=True)
    # Which import last wrote the link: provenance, as its history rows record it too, and
    # no rule of the domain. Not checked by the database (as the preview rows' references
    # are not): PostgreSQL checks a foreign key once per row, and a 100,000-row import's
    # confirm spent about 0.3 s checking that every link names the same import. Django
    # still nulls it when the import is deleted.
    source_import = models.ForeignKey(
        "SupplierImport",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
        db_constraint=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The supplier left the brand's list (a "whole list" upload without it, or the brand
    # ended it): kept, hidden from the list by default, and restorable. Enrolments stay.
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # When an import last wrote this link: the confirm's history rows select on it.
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True, editable=False)

    objects = BrandSupplierQuerySet.as_manager()
    # Every code created, changed, ended or restored: by whom, and which import (the reason).
    # Read by link (``id``) only: its brand, factory and import need no index of their own,
    # which a large import would otherwise write once per link for nothing.
    history = HistoricalRecords(
        excluded_fields=["changed_at"],
        cascade_delete_history=True,
        no_db_index=["brand", "factory", "source_import"],
    )

    class Meta:
        verbose_name = _("brand supplier")
        verbose_name_plural = _("brand suppliers")
        ordering = ["factory__name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "factory"], name="brand_supplier_unique"),
            models.UniqueConstraint(
                fields=["brand", "supplier_code"],
                condition=~Q(supplier_code=""),
                name="brand_supplier_code_unique",
            ),
        ]
        indexes = [
            # The search box and the API find a supplier code in any case (iexact):
            # without it, every search scans the brand's whole list (10 ms at 10,000).
            models.Index(F("brand"), Upper("supplier_code"), name="brand_supplier_code_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} · {self.factory}"


class SupplierImportQuerySet(models.QuerySet["SupplierImport"]):
    def visible_to(self, scope: Scope) -> SupplierImportQuerySet:
        return self.filter(access.supplier_import_reach(scope))


class SupplierImport(jobs.Job):
    """One upload of a brand's supplier list, from preview to the rows written.

    Reading the file and writing the rows are background jobs (score_portal.jobs): a worker
    (or the upload or confirm request, for a short list) claims the import for each."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        ANALYSING = "analysing", _("Reading the file")
        PREVIEWED = "previewed", _("Ready to confirm")
        CONFIRMED = "confirmed", _("Waiting to import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    # Statuses in which a worker is busy with the import: the page polls for progress.
    WORKING = (Status.UPLOADED, Status.ANALYSING, Status.CONFIRMED, Status.IMPORTING)

    brand = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="supplier_imports",
        verbose_name=_("brand"),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    file = models.FileField(_("file"), upload_to="supplier-imports/%Y/%m/")
    original_filename = models.CharField(_("file name"), max_length=255)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_new = models.PositiveIntegerField(_("new factories"), default=0)
    rows_matched = models.PositiveIntegerField(_("matched factories"), default=0)
    rows_updated = models.PositiveIntegerField(_("updated factories"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("unchanged rows"), default=0)
    rows_review = models.PositiveIntegerField(_("rows awaiting a decision"), default=0)
    rows_error = models.PositiveIntegerField(_("rows with errors"), default=0)

    class Mode(models.TextChoices):
        WHOLE = "whole", _("Our whole list: suppliers missing from the file leave the list")
        ADDITIONS = "additions", _("Additions and changes: no supplier leaves the list")

    mode = models.CharField(
        _("the file is"), max_length=10, choices=Mode.choices, default=Mode.ADDITIONS
    )
    # "Whole list": how many of the brand's suppliers the file leaves out (their links end).
    links_ending = models.PositiveIntegerField(_("suppliers leaving the list"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    # The file's own header row, so error rows download with the columns they came with.
    headers = models.JSONField(_("columns"), default=list, blank=True)
    ignored_columns = models.JSONField(_("columns ignored"), default=list, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = SupplierImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("supplier-list import")
        verbose_name_plural = _("supplier-list imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.brand})"

    def get_absolute_url(self) -> str:
        return reverse("suppliers:import_detail", args=[self.pk])

    @property
    def is_working(self) -> bool:
        return self.status in self.WORKING

    @property
    def rows_valid(self) -> int:
        return self.rows_new + self.rows_matched + self.rows_updated + self.rows_unchanged


# Read, then (once the person confirmed the preview) written. A list that killed its worker
# three times will kill the next one: given up then, the person is told (import_given_up).
# An admin retry of a failed import reads its file again: the person confirms a new preview.
jobs.register(
    SupplierImport,
    steps=(
        jobs.Step(
            waiting=(SupplierImport.Status.UPLOADED,),
            working=SupplierImport.Status.ANALYSING,
            done=SupplierImport.Status.PREVIEWED,
            task="suppliers.tasks.analyse_supplier_import",
        ),
        jobs.Step(
            waiting=(SupplierImport.Status.CONFIRMED,),
            working=SupplierImport.Status.IMPORTING,
            done=SupplierImport.Status.DONE,
            task="suppliers.tasks.write_supplier_import",
        ),
    ),
    failed=SupplierImport.Status.FAILED,
    max_attempts=3,
    on_give_up="suppliers.tasks.import_given_up",
    retry_changes={
        "confirmed_at": None,
        "confirmed_by": None,
        "error_message": "",
        "finished_at": None,
        "progress": 0,
    },
)


class RowValue(models.Func):
    """One of an import row's cleaned values (``data``) as text, with its name written into
    the SQL rather than passed as a parameter: an index on it then serves a prepared
    statement too (PostgreSQL can't match ``data ->> $1`` to an index on one name). Migration
    0008's indexes were built on it (0009 drops them)."""

    output_field = models.TextField()

    def __init__(self, name: str) -> None:
        if name not in _ROW_VALUE_NAMES:
            raise ValueError(name)
        super().__init__(F("data"), name=name)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        if connection.vendor == "postgresql":
            template = "(%(expressions)s ->> '%(name)s')"
        else:  # SQLite: JSON_EXTRACT gives a JSON string's text
            template = "JSON_EXTRACT(%(expressions)s, '$.%(name)s')"
        return super().as_sql(compiler, connection, template=template, **extra)


# The values ``RowValue`` may name (each one an identifier, safe inside the SQL).
_ROW_VALUE_NAMES = frozenset({"os_id", "supplier_code"})


class SupplierImportRow(models.Model):
    """One row of an uploaded list as the preview shows it: what it will do, or why it can't.

    Rows are written in bulk when the file is read and are the only input of the confirm
    step, so the file is parsed once and a 100,000-row list never sits in memory.
    """

    class Outcome(models.TextChoices):
        NEW = "new", _("New factory")
        MATCHED = "matched", _("Matched to an existing factory")
        UPDATED = "updated", _("Updated")
        UNCHANGED = "unchanged", _("Already on your list")
        REVIEW = "review", _("Possible match: your decision")
        ERROR = "error", _("Error")

    # Preview rows are a staging table, filled by COPY a batch at a time while the file is
    # read, so their references are not checked by the database (db_constraint=False):
    # PostgreSQL checks foreign keys one row at a time when each COPY ends, and that wait was
    # a tenth of a large import's time. Django still cascades and nulls them on delete, and
    # the confirm writes only through Factory and BrandSupplier, whose constraints the
    # database does check (a row naming a factory that has gone fails the confirm whole).
    # No index of its own: the (import, line) constraint's index serves it.
    supplier_import = models.ForeignKey(
        SupplierImport,
        on_delete=models.CASCADE,
        related_name="rows",
        verbose_name=_("import"),
        db_index=False,
        db_constraint=False,
    )
    line = models.PositiveIntegerField(_("line"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    # The row's cleaned values (column name -> text), or its raw cells for an error row.
    data = models.JSONField(_("values"), default=dict)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    row_key = models.CharField(_("match key"), max_length=40, blank=True)
    factory = models.ForeignKey(
        Factory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("factory"),
        db_constraint=False,
        db_index=False,  # a partial index (Meta): most rows name no factory yet
    )
    candidate = models.ForeignKey(
        Factory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("possible match"),
        db_constraint=False,
        db_index=False,  # a partial index (Meta): few rows have a possible match
    )
    score = models.PositiveSmallIntegerField(_("similarity"), null=True, blank=True)
    # The first line of the file this row repeats (same factory twice in one list).
    duplicate_of = models.PositiveIntegerField(_("same factory as line"), null=True, blank=True)
    # The row's match keys, as Factory stores them (a new factory takes them on confirm).
    match_name = models.TextField(_("name as matched"), blank=True, default="", db_default="")
    match_name_latin = models.TextField(
        _("Latin name as matched"), blank=True, default="", db_default=""
    )
    match_address = models.TextField(_("address as matched"), blank=True, default="", db_default="")
    # What the row changes on a factory already in the portal: field -> {"old", "new", "how"}
    # ("fill": a blank filled; "propose": a change proposed to the factory; "code": the
    # brand's supplier code; "relist": back on the list). Filled when the row is decided.
    changes = models.JSONField(_("changes"), default=dict, blank=True, db_default={})

    class Meta:
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        ordering = ["supplier_import", "line"]
        indexes = [
            models.Index(fields=["supplier_import", "outcome", "line"]),
            # What a merge or a deleted factory looks rows up by: only rows that name one
            # are indexed, so a new factory's row (most of a list) costs its COPY no entry.
            models.Index(
                fields=["factory"],
                condition=models.Q(factory__isnull=False),
                name="import_row_factory",
            ),
            models.Index(
                fields=["candidate"],
                condition=models.Q(candidate__isnull=False),
                name="import_row_candidate",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier_import", "line"], name="supplier_import_row_line_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier_import_id}:{self.line} {self.outcome}"

    @property
    def change_list(self) -> list[tuple[str, dict[str, str]]]:
        """The row's changes for the preview, each with its field's label."""
        labels = {f.name: str(f.verbose_name) for f in Factory._meta.fields}
        return [
            (name, {**change, "label": labels.get(name, name).capitalize()})
            for name, change in self.changes.items()
        ]

    @property
    def error_list(self) -> list[tuple[str, str]]:
        """(column, message) of each error, the message in the reader's language."""
        return [(e.get("column", ""), row_errors.message_of(e)) for e in self.errors]

    @property
    def error_text(self) -> str:
        return "; ".join(row_errors.text_of(e) for e in self.errors)


class FactoryChangeQuerySet(models.QuerySet["FactoryChange"]):
    def pending(self) -> FactoryChangeQuerySet:
        return self.filter(status=FactoryChange.Status.PENDING)


class FactoryChange(models.Model):
    """A brand's list says a factory's shared data differs from what the portal holds: a
    proposal, applied only when the factory's manager or the ILO accepts it (other brands
    and the factory rely on the same record). One pending proposal per factory, field and
    brand: a later upload replaces its value."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    factory = models.ForeignKey(
        Factory,
        on_delete=models.CASCADE,
        related_name="proposed_changes",
        verbose_name=_("factory"),
    )
    field = models.CharField(_("field"), max_length=30)
    old_value = models.TextField(_("value then"), blank=True)
    value = models.TextField(_("proposed value"), blank=True)
    brand = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="+", verbose_name=_("brand")
    )
    source_import = models.ForeignKey(
        SupplierImport,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("import"),
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = FactoryChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("proposed factory change")
        verbose_name_plural = _("proposed factory changes")
        ordering = ["factory", "field", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["factory", "field", "brand"],
                condition=Q(status="pending"),
                name="factory_change_pending_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.factory_id}.{self.field} → {self.value}"

    @property
    def field_label(self) -> str:
        labels = {f.name: f.verbose_name for f in Factory._meta.fields}
        return str(labels.get(self.field, self.field))


class SupplierMatchDecision(models.Model):
    """A person's answer to "is this row that factory?", applied again on the next upload."""

    brand = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("brand"),
    )
    row_key = models.CharField(_("match key"), max_length=40)
    factory = models.ForeignKey(
        Factory, on_delete=models.CASCADE, related_name="+", verbose_name=_("factory")
    )
    is_same = models.BooleanField(_("same factory"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), auto_now=True)

    class Meta:
        verbose_name = _("match decision")
        verbose_name_plural = _("match decisions")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "row_key", "factory"], name="supplier_match_decision_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.row_key} {'=' if self.is_same else '≠'} {self.factory_id}"


class FactoryAlias(models.Model):
    """A name or identifier a factory was also known by: what a merged record held (its
    name, OS ID, registration number, the brands' codes for it). Searching and matching find
    the factory by it."""

    class Kind(models.TextChoices):
        NAME = "name", _("Name")
        OS_ID = "os_id", _("Open Supply Hub ID")
        SUPPLIER_CODE = "supplier_code", _("Supplier code")
        REGISTRATION = "registration", _("National registration number")

    factory = models.ForeignKey(
        Factory, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("factory")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=500)
    # Whose supplier code it is (a code is a brand's own name for the factory).
    brand = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("brand"),
    )
    # For a name: the match keys of the name and of the address it was known at.
    match_name = models.TextField(_("name as matched"), blank=True, default="")
    match_address = models.TextField(_("address as matched"), blank=True, default="")
    merge = models.ForeignKey(
        "FactoryMerge",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="aliases",
        verbose_name=_("from the merge"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("factory alias")
        verbose_name_plural = _("factory aliases")
        ordering = ["kind", "value"]
        indexes = [models.Index(fields=["kind", "value"])]
        constraints = [
            # An OS ID names one factory, as Factory.os_id does.
            models.UniqueConstraint(
                fields=["value"], condition=Q(kind="os_id"), name="factory_alias_os_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class FactoryMerge(models.Model):
    """Two records of one factory made one: who merged which into which, when, why, and
    what moved. The merged record is gone; its address redirects here to the survivor."""

    survivor = models.ForeignKey(
        Factory,
        on_delete=models.CASCADE,
        related_name="merges",
        verbose_name=_("surviving factory"),
    )
    merged_factory_id = models.PositiveBigIntegerField(_("merged record's id"), unique=True)
    merged_name = models.CharField(_("merged record's name"), max_length=300)
    # The merged record's fields as they were, for whoever has to explain the merge later.
    merged_record = models.JSONField(_("merged record"), default=dict)
    reason = models.TextField(_("reason"))
    # [{"label": verbose name (plural), "count": n}, ...] and notes on what was decided.
    moved = models.JSONField(_("what moved"), default=list)
    notes = models.JSONField(_("notes"), default=list)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("merged by"),
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("factory merge")
        verbose_name_plural = _("factory merges")
        ordering = ["-merged_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.merged_name} → {self.survivor_id}"

    def get_absolute_url(self) -> str:
        return reverse("suppliers:merge_detail", args=[self.pk])


class DuplicateCandidate(models.Model):
    """Two factories of one country the matcher takes for one: a pair in the ILO's queue,
    until merged (the pair goes with the merged record) or dismissed ("not the same
    factory": it stays dismissed when the search runs again)."""

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        DISMISSED = "dismissed", _("Not the same factory")

    factory_a = models.ForeignKey(
        Factory, on_delete=models.CASCADE, related_name="+", verbose_name=_("factory")
    )
    factory_b = models.ForeignKey(
        Factory, on_delete=models.CASCADE, related_name="+", verbose_name=_("other factory")
    )
    country = CountryField(_("country"))
    score = models.PositiveSmallIntegerField(_("similarity"))
    how = models.CharField(_("found by"), max_length=10)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    found_at = models.DateTimeField(_("found at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        ordering = ["-score", "pk"]
        indexes = [models.Index(fields=["status", "country", "-score"])]
        constraints = [
            models.UniqueConstraint(
                fields=["factory_a", "factory_b"], name="duplicate_candidate_pair_unique"
            ),
            # Each pair once: the lower id first.
            models.CheckConstraint(
                condition=Q(factory_a__lt=F("factory_b")), name="duplicate_candidate_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.factory_a_id} ~ {self.factory_b_id} ({self.score})"


def managed_factory_scope_rows(user_id: int) -> models.QuerySet[Any]:
    """The factories the user manages as scope rows: the source ``score_portal.scope``
    builds a scope from (registered in ``apps.py``)."""
    return tagged(FactoryManager.objects.filter(user_id=user_id), "factory_id", MANAGED_FACTORY)
