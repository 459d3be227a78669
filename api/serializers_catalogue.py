"""Names with their language (issue 20, point 4): the catalogue's translated titles and a
factory's names in its scripts, always as a list of ``{"language", "name"}``.

- A catalogue text (a module's title, a KPI's name and unit) is stored in English and
  translated by the portal's catalogue: the list holds ``en`` and each portal language that
  has a translation of it (a title an ILO admin wrote has only ``en``).
- A factory's ``name`` is in its own script, tagged with the factory's language; its
  ``name_latin``, when different, with that language's Latin-script tag (BCP 47:
  ``zh-Latn`` for pinyin).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import FactorySerializer, SupplierSerializer
from suppliers.models import BrandSupplier, Factory
from training.catalogue import translated
from training.models import KPIDefinition, Module

SOURCE_LANGUAGE = "en"


class NameSerializer(serializers.Serializer[Any]):
    language = serializers.CharField(help_text=_("A language tag (BCP 47): en, zh-hans, zh-Latn…"))
    name = serializers.CharField()


def catalogue_names(text: str) -> list[dict[str, str]]:
    """``text`` in English and in each portal language that translates it."""
    if not text:
        return []
    names = [{"language": SOURCE_LANGUAGE, "name": text}]
    for code, _label in settings.LANGUAGES:
        if code == SOURCE_LANGUAGE:
            continue
        with translation.override(code):
            shown = translated(text)
        if shown != text:
            names.append({"language": code, "name": shown})
    return names


def factory_names(factory: Factory) -> list[dict[str, str]]:
    names = [{"language": factory.language, "name": factory.name}]
    if factory.name_latin and factory.name_latin != factory.name:
        primary = factory.language.split("-")[0]
        names.append({"language": f"{primary}-Latn", "name": factory.name_latin})
    return names


class KPIDefinitionSerializer(serializers.ModelSerializer[KPIDefinition]):
    names = serializers.SerializerMethodField()
    units = serializers.SerializerMethodField()

    class Meta:
        model = KPIDefinition
        fields = ["id", "code", "name", "names", "unit", "units"]

    @extend_schema_field(NameSerializer(many=True))
    def get_names(self, kpi: KPIDefinition) -> list[dict[str, str]]:
        return catalogue_names(kpi.name)

    @extend_schema_field(NameSerializer(many=True))
    def get_units(self, kpi: KPIDefinition) -> list[dict[str, str]]:
        return catalogue_names(kpi.unit)


class ModuleCatalogueSerializer(serializers.ModelSerializer[Module]):
    """A module of the SCORE catalogue, its title in every language that has it."""

    titles = serializers.SerializerMethodField()
    prerequisite = serializers.IntegerField(source="prerequisite_id", allow_null=True)
    kpis = KPIDefinitionSerializer(many=True)

    class Meta:
        model = Module
        fields = [
            "id", "code", "number", "title", "titles", "format", "classroom_days",
            "followup_visits", "prerequisite", "is_active", "kpis",
        ]  # fmt: skip

    @extend_schema_field(NameSerializer(many=True))
    def get_titles(self, module: Module) -> list[dict[str, str]]:
        return catalogue_names(module.title)


class FactoryWithNamesSerializer(FactorySerializer):
    names = serializers.SerializerMethodField()

    class Meta(FactorySerializer.Meta):
        fields = [*FactorySerializer.Meta.fields, "names"]

    @extend_schema_field(NameSerializer(many=True))
    def get_names(self, factory: Factory) -> list[dict[str, str]]:
        return factory_names(factory)


class SupplierDetailSerializer(SupplierSerializer):
    """One supplier: as in the list, and the factory's names with their language."""

    factory = FactoryWithNamesSerializer()

    class Meta(SupplierSerializer.Meta):
        model = BrandSupplier
