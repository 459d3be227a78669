"""Results reports and the IATI export (mounted by reporting/urls.py)."""

from django.urls import path

from reporting import views_reports

urlpatterns = [
    path(
        "partnerships/<int:pk>/report/",
        views_reports.partnership_report,
        name="partnership_report",
    ),
    path(
        "partnerships/<int:pk>/report/preview/",
        views_reports.report_preview,
        name="report_preview",
    ),
    path("reports/", views_reports.report_list, name="report_list"),
    path("reports/<int:pk>/download/", views_reports.report_download, name="report_download"),
    path("reports/iati/", views_reports.programme_iati, name="programme_iati"),
]
