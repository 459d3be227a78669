from django.contrib import admin
from django.db import models

from webhooks.models import Delivery, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["url", "organisation", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "organisation__name"]
    raw_id_fields = ["organisation", "created_by"]
    exclude = ["secret"]  # never shown again after its creation
    readonly_fields = ["created_at", "secret_rotated_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "subscription", "status", "attempts", "response_code", "created_at"]
    list_filter = ["status", "event"]
    raw_id_fields = ["subscription"]
    readonly_fields = ["event_id", "body", "created_at", "delivered_at", "claimed_at"]
