"""What the API returns and accepts. Times are UTC, ISO 8601 (``2026-12-06T10:00:00Z``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import is_simple_callable
from rest_framework.relations import RelatedField

from partners.models import Partnership
from partners.selectors import ledger_of
from score_portal.scope import Scope
from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow
from training.models import Certificate, Cohort, Enrolment, KPIReading, Module
from training.selectors import cohorts_open_for_enrolment


def columns_of(serializer_class: type[serializers.Serializer[Any]], prefix: str = "") -> list[str]:
    """The model columns ``serializer_class`` reads, as ``QuerySet.only()`` names (nested
    serializers' under their field's name): a list endpoint loads what it returns and no
    more, derived from the serializer so the two cannot drift apart. Not for serializers
    with method fields (they may read anything)."""
    names = []
    for name, field in serializer_class().fields.items():
        if isinstance(field, serializers.SerializerMethodField):
            raise TypeError(f"{serializer_class.__name__}.{name}: a method field")
        source = (field.source or name).replace(".", "__")
        if isinstance(field, serializers.BaseSerializer):
            names += columns_of(type(field), prefix=f"{prefix}{source}__")
        else:
            names.append(f"{prefix}{source}")
    return names


# One step of a row's representation: (key, attribute path, how to represent the value).
_Step = tuple[str, tuple[str, ...], Callable[[Any], Any]]
_plans: dict[type, list[_Step] | None] = {}


class RowsAtSpeed(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A model serializer whose rows are represented by a plan made once per class from its
    own DRF fields (the attribute each reads and the field's ``to_representation``), not by
    DRF's per-row walk over freshly built fields: a list of 100 suppliers took 4 ms of a
    13 ms request that way. Same output, field for field (a test compares the two); a class
    with a field the plan cannot follow (a method field, a relation, ``source="*"``, a list)
    keeps DRF's walk, so a subclass that adds one is served correctly, only not faster."""

    def to_representation(self, instance: Any) -> Any:
        plan = _plan_of(type(self))
        if plan is None:
            return super().to_representation(instance)
        row = {}
        for key, path, represent in plan:
            value = instance
            for name in path:
                try:
                    value = getattr(value, name)
                except ObjectDoesNotExist:
                    value = None
                if value is None:
                    break
                if is_simple_callable(value):
                    value = value()
            row[key] = None if value is None else represent(value)
        return row


def _plan_of(serializer_class: type[RowsAtSpeed]) -> list[_Step] | None:
    if serializer_class not in _plans:
        _plans[serializer_class] = _make_plan(serializer_class)
    return _plans[serializer_class]


def _make_plan(serializer_class: type[RowsAtSpeed]) -> list[_Step] | None:
    steps: list[_Step] = []
    # Fields made once, without a request: the plan's fields need none (checked below).
    for field in serializer_class()._readable_fields:
        if field.source == "*" or isinstance(
            field,
            serializers.SerializerMethodField
            | RelatedField
            | serializers.ManyRelatedField
            | serializers.ListSerializer
            | serializers.HiddenField,
        ):
            return None
        if isinstance(field, serializers.BaseSerializer) and (
            not isinstance(field, RowsAtSpeed) or _plan_of(type(field)) is None
        ):
            return None
        steps.append((field.field_name, tuple(field.source_attrs), field.to_representation))
    return steps


class FactorySerializer(RowsAtSpeed):
    class Meta:
        model = Factory
        fields = [
            "id", "name", "name_latin", "address", "city", "country", "os_id",
            "registration_number", "sector", "workers_total", "workers_women", "language",
            "updated_at",
        ]  # fmt: skip


class SupplierSerializer(RowsAtSpeed):
    """A factory on a brand's supplier list, with the brand's own code for it."""

    factory = FactorySerializer()
    brand = serializers.IntegerField(source="brand_id")

    class Meta:
        model = BrandSupplier
        fields = ["id", "brand", "supplier_code", "factory", "created_at", "ended_at"]


class ModuleSerializer(RowsAtSpeed):
    class Meta:
        model = Module
        fields = ["id", "code", "title"]


class FactoryBriefSerializer(RowsAtSpeed):
    class Meta:
        model = Factory
        fields = ["id", "name", "name_latin", "country"]


class EnrolmentSerializer(RowsAtSpeed):
    factory = FactoryBriefSerializer()
    module = ModuleSerializer()
    partnership = serializers.IntegerField(source="partnership_id")
    cohort = serializers.IntegerField(source="cohort_id", allow_null=True)

    class Meta:
        model = Enrolment
        fields = [
            "id", "factory", "module", "partnership", "cohort", "status", "created_at",
            "status_changed_at", "placed_at", "completed_at", "withdrawal_reason",
        ]  # fmt: skip


class EnrolmentCreateSerializer(serializers.Serializer[Any]):
    """Enrol one supplier of the key's brand: the same checks and refusals as the portal's
    enrol page (``training.services.enrol_suppliers``)."""

    factory = serializers.PrimaryKeyRelatedField(
        queryset=Factory.objects.none(), help_text=_("The factory's id (a supplier's factory.id).")
    )
    module = serializers.PrimaryKeyRelatedField(queryset=Module.objects.none())
    partnership = serializers.PrimaryKeyRelatedField(queryset=Partnership.objects.none())
    cohort = serializers.PrimaryKeyRelatedField(
        queryset=Cohort.objects.none(), required=False, allow_null=True
    )
    placement_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default=""
    )

    def __init__(self, *args: Any, scope: Scope | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if scope is None:
            return
        self.fields["factory"].queryset = Factory.objects.visible_to(scope)
        self.fields["module"].queryset = Module.objects.filter(is_active=True)
        self.fields["partnership"].queryset = Partnership.objects.visible_to(scope)
        self.fields["cohort"].queryset = cohorts_open_for_enrolment()


class WithdrawSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class StepSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()
    done = serializers.BooleanField()
    when = serializers.DateField(allow_null=True)


class VisitSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    number = serializers.IntegerField()
    visited_on = serializers.DateField()


class ParticipantCountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    by_role = serializers.DictField(child=serializers.IntegerField())
    by_gender = serializers.DictField(child=serializers.IntegerField())


class ProgressSerializer(serializers.Serializer[Any]):
    enrolment = serializers.IntegerField()
    status = serializers.CharField()
    percent = serializers.IntegerField()
    steps = StepSerializer(many=True)
    visits = VisitSerializer(many=True)
    participants = ParticipantCountsSerializer()


class KPIReadingSerializer(serializers.ModelSerializer[KPIReading]):
    kpi = serializers.CharField(source="kpi.code")
    kpi_name = serializers.CharField(source="kpi.name")
    unit = serializers.CharField(source="kpi.unit")

    class Meta:
        model = KPIReading
        fields = ["id", "kpi", "kpi_name", "unit", "kind", "value", "measured_on", "created_at"]


class CohortSerializer(serializers.ModelSerializer[Cohort]):
    module = ModuleSerializer()
    provider = serializers.IntegerField(source="provider_id")
    enterprises = serializers.IntegerField(read_only=True)

    class Meta:
        model = Cohort
        fields = [
            "id", "module", "provider", "venue_city", "venue_country", "language",
            "classroom_start", "classroom_end", "capacity", "enterprises", "created_at",
        ]  # fmt: skip


class CertificateSerializer(serializers.ModelSerializer[Certificate]):
    enrolment = serializers.IntegerField(source="enrolment_id")
    factory = serializers.CharField(source="enrolment.factory.name")
    module = serializers.CharField(source="enrolment.module.code")
    verification_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "id", "code", "status", "enrolment", "factory", "module", "issued_at", "revoked_at",
            "verification_url",
        ]  # fmt: skip

    def get_verification_url(self, certificate: Certificate) -> str:
        request = self.context.get("request")
        path = f"/verify/{certificate.code}/"
        return request.build_absolute_uri(path) if request is not None else path


class CertificateVerificationSerializer(serializers.ModelSerializer[Certificate]):
    """What anyone may learn from a certificate's code (as the public verification page)."""

    factory = serializers.CharField(source="enrolment.factory.name")
    module = serializers.CharField(source="enrolment.module.title")
    module_code = serializers.CharField(source="enrolment.module.code")

    class Meta:
        model = Certificate
        fields = ["code", "status", "factory", "module", "module_code", "issued_at", "revoked_at"]


class LedgerSerializer(serializers.Serializer[Any]):
    quota = serializers.IntegerField()
    funded = serializers.IntegerField()
    places_left = serializers.IntegerField()
    budget = serializers.DecimalField(max_digits=14, decimal_places=2)
    budget_committed = serializers.DecimalField(max_digits=14, decimal_places=2)
    budget_left = serializers.DecimalField(max_digits=14, decimal_places=2)
    partner_pays = serializers.DecimalField(max_digits=14, decimal_places=2)
    percent_used = serializers.IntegerField()


class PartnershipSerializer(serializers.ModelSerializer[Partnership]):
    partner = serializers.IntegerField(source="partner_id")
    partner_name = serializers.CharField(source="partner.name")
    countries = serializers.SerializerMethodField()
    ledger = serializers.SerializerMethodField()

    class Meta:
        model = Partnership
        fields = [
            "id", "partner", "partner_name", "kind", "title", "status", "countries",
            "factory_quota", "budget", "currency", "brand_share_percent", "start_date",
            "end_date", "created_at", "updated_at", "ledger",
        ]  # fmt: skip

    def get_countries(self, partnership: Partnership) -> list[str]:
        return [str(code) for code in partnership.countries]

    @extend_schema_field(LedgerSerializer)
    def get_ledger(self, partnership: Partnership) -> dict[str, Any]:
        return LedgerSerializer(ledger_of(partnership)).data  # type: ignore[return-value]


class SupplierImportSerializer(serializers.ModelSerializer[SupplierImport]):
    brand = serializers.IntegerField(source="brand_id")
    rows_valid = serializers.IntegerField(read_only=True)

    class Meta:
        model = SupplierImport
        fields = [
            "id", "brand", "status", "mode", "original_filename", "rows_total", "rows_valid",
            "rows_new", "rows_matched", "rows_updated", "rows_unchanged", "rows_review",
            "rows_error", "links_ending", "progress", "error_message", "created_at",
            "confirmed_at", "finished_at",
        ]  # fmt: skip


class SupplierImportRowSerializer(serializers.ModelSerializer[SupplierImportRow]):
    factory = serializers.IntegerField(source="factory_id", allow_null=True)
    candidate = serializers.IntegerField(source="candidate_id", allow_null=True)

    class Meta:
        model = SupplierImportRow
        fields = ["id", "line", "outcome", "data", "errors", "factory", "candidate", "score"]


class SupplierImportCreateSerializer(serializers.Serializer[Any]):
    """A supplier list: a file (multipart ``file``: CSV or XLSX, as on the upload page) or
    JSON ``rows`` (objects keyed by column: name, address, country, supplier_code, os_id…)."""

    file = serializers.FileField(required=False)
    rows = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)),
        required=False,
        max_length=100_000,
    )
    mode = serializers.ChoiceField(
        choices=SupplierImport.Mode.choices, default=SupplierImport.Mode.ADDITIONS
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if bool(data.get("file")) == bool(data.get("rows")):
            raise serializers.ValidationError(_("Send either a file or rows, one of the two."))
        return data


class DecisionSerializer(serializers.Serializer[Any]):
    same = serializers.BooleanField(
        help_text=_("True: the row is the possible match (candidate); false: a new factory.")
    )
