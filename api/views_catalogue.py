"""The module catalogue, and one supplier with its factory's names: names with their
language (``api.serializers_catalogue``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from api import examples, views
from api.serializers_catalogue import ModuleCatalogueSerializer, SupplierDetailSerializer
from training.models import Module


@extend_schema_view(
    list=extend_schema(
        summary="The module catalogue",
        description="Every SCORE module (inactive ones too, `is_active` false), its title "
        "and its KPIs' names and units with their language: a list of `{language, name}`, "
        "English and each portal language that translates it.",
        examples=[examples.MODULE_PAGE],
    ),
    retrieve=extend_schema(summary="One module of the catalogue", examples=[examples.MODULE]),
)
class ModuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, views.ScopedViewSet):
    serializer_class = ModuleCatalogueSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Module]:
        # The catalogue is the programme's, read by every key (as every person's menu has it).
        return Module.objects.prefetch_related("kpis").order_by("sort_order", "code")


@extend_schema_view(
    retrieve=extend_schema(
        summary="One supplier",
        description="As in the list, and the factory's `names` with their language: its "
        "own script's name tagged with the factory's language, its Latin-script name with "
        "that language's `-Latn` tag (`zh-Latn`: pinyin).",
        examples=[examples.SUPPLIER_DETAIL],
    ),
)
class SupplierViewSet(views.SupplierViewSet):
    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return SupplierDetailSerializer
        return super().get_serializer_class()
