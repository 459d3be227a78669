from django.urls import URLPattern, path

from reporting import views

app_name = "reporting"

urlpatterns: list[URLPattern] = [
    path("programme/", views.programme, name="programme"),
    path("portfolio/", views.portfolio, name="portfolio"),
]
