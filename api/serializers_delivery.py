"""What the delivery endpoints accept and return: placing enrolments into a cohort, the
classroom register, consulting visits and KPI readings written by a provider's key.

Each write is checked by the service the portal's page uses (``training.services``); these
serializers only read the request's shape."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from training.models import ConsultingVisit, Enrolment, ImprovementAction, KPIReading
from training.services.kpis import REASON_MAX_LENGTH

# One request places or ticks at most this many (a cohort is some twenty people).
MAX_IN_ONE_REQUEST = 500
MAX_ID = 10**18 - 1


class PlaceSerializer(serializers.Serializer[Any]):
    """Waiting enrolments to place into the cohort (those of ``cohorts/placing-queue/``)."""

    enrolments = serializers.PrimaryKeyRelatedField(
        queryset=Enrolment.objects.none(),
        many=True,
        help_text=_("Ids of enrolments waiting for a cohort that the key's provider may place."),
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text=_("Needed when a factory is outside the cohort's country or languages."),
    )

    def __init__(self, *args: Any, waiting: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if waiting is not None:
            self.fields["enrolments"].child_relation.queryset = waiting

    def validate_enrolments(self, value: list[Enrolment]) -> list[Enrolment]:
        if len(value) > MAX_IN_ONE_REQUEST:
            raise serializers.ValidationError(
                _("Place at most %(n)s enrolments at once.") % {"n": MAX_IN_ONE_REQUEST}
            )
        return value


class AttendanceDaySerializer(serializers.Serializer[Any]):
    """One classroom day of the register: exactly these participants were present."""

    day = serializers.DateField(help_text=_("A classroom day of the cohort that has begun."))
    present = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_IN_ONE_REQUEST,
        allow_empty=True,
        help_text=_("Ids of the participants present that day; the others were absent."),
    )


class RegisterRowSerializer(serializers.Serializer[Any]):
    participant = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    gender = serializers.CharField()
    enrolment = serializers.IntegerField()
    factory = serializers.IntegerField()
    open = serializers.BooleanField(
        help_text=_("False once the enrolment is completed: its ticks no longer change.")
    )
    present_on = serializers.ListField(child=serializers.DateField())


class RegisterSerializer(serializers.Serializer[Any]):
    cohort = serializers.IntegerField()
    days = serializers.ListField(child=serializers.DateField())
    begun = serializers.ListField(
        child=serializers.DateField(),
        help_text=_("The days that have begun: only these take ticks."),
    )
    participants = RegisterRowSerializer(many=True)
    without_participants = serializers.ListField(
        child=serializers.IntegerField(),
        help_text=_("Enrolments placed in the cohort that have named nobody yet."),
    )


class VisitCreateSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ConsultingVisit.Kind.choices)
    visited_on = serializers.DateField()
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    actions_reviewed = serializers.PrimaryKeyRelatedField(
        queryset=ImprovementAction.objects.none(),
        many=True,
        required=False,
        default=list,
        help_text=_("Ids of the improvement plan's actions checked during the visit."),
    )

    def __init__(self, *args: Any, enrolment: Enrolment | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if enrolment is not None:
            self.fields[
                "actions_reviewed"
            ].child_relation.queryset = enrolment.improvement_actions.all()


class VisitOutSerializer(serializers.ModelSerializer[ConsultingVisit]):
    enrolment = serializers.IntegerField(source="enrolment_id")
    trainer = serializers.IntegerField(source="trainer_id")
    actions_reviewed = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ConsultingVisit
        fields = [
            "id", "enrolment", "kind", "number", "visited_on", "trainer", "notes",
            "actions_reviewed", "created_at",
        ]  # fmt: skip


class KPIReadingCreateSerializer(serializers.Serializer[Any]):
    kpi = serializers.CharField(
        max_length=50, help_text=_("The KPI's code (one of the module's KPIs: see modules/).")
    )
    kind = serializers.ChoiceField(choices=KPIReading.Kind.choices)
    value = serializers.DecimalField(max_digits=14, decimal_places=3)
    measured_on = serializers.DateField()


class KPICorrectionSerializer(serializers.Serializer[Any]):
    value = serializers.DecimalField(max_digits=14, decimal_places=3)
    measured_on = serializers.DateField()
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class KPIDeletionSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)
