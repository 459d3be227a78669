"""The organisation's API keys page (portal, signed in), beside its people page."""

from django.urls import path

from api import views_keys

app_name = "api_keys"
urlpatterns = [
    path("", views_keys.key_list, name="list"),
    path("<slug:prefix>/revoke/", views_keys.key_revoke, name="revoke"),
]
