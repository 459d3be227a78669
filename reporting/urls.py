from django.urls import URLPattern, URLResolver, include, path

from reporting import views

app_name = "reporting"

urlpatterns: list[URLPattern | URLResolver] = [
    path("programme/", views.programme, name="programme"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("", include("reporting.urls_reports")),
]
