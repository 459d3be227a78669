"""The inbox's addresses (/accounts/notices/...), namespace ``notices``."""

from django.urls import path

from score_portal import inbox

app_name = "notices"

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("read-all/", inbox.mark_all_read, name="mark_all_read"),
    path("settings/", inbox.notice_settings, name="settings"),
    path("<int:pk>/", inbox.open_notice, name="open"),
    path("<int:pk>/read/", inbox.mark_read, name="mark_read"),
]
