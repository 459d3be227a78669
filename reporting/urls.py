from django.urls import URLPattern, URLResolver, include, path

app_name = "reporting"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("reporting.urls_reports")),
]
