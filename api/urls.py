from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import (
    views,
    views_catalogue,
    views_certificates,
    views_cohorts,
    views_imports,
    views_kpis,
)

router = SimpleRouter()
# The suppliers', enrolments', cohorts' and certificates' viewsets of views.py, each with
# its later endpoints in a file of its own (names, delivery, the PDF).
router.register("suppliers", views_catalogue.SupplierViewSet, basename="supplier")
router.register("enrolments", views_kpis.EnrolmentViewSet, basename="enrolment")
router.register("cohorts", views_cohorts.CohortViewSet, basename="cohort")
router.register("certificates", views_certificates.CertificateViewSet, basename="certificate")
router.register("partnerships", views.PartnershipViewSet, basename="partnership")
router.register("imports", views_imports.SupplierImportViewSet, basename="import")
router.register("modules", views_catalogue.ModuleViewSet, basename="module")

app_name = "api"
urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "v1/docs/",
        # The split view: the page loads its start-up script as a file (no inline script).
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    path("v1/", include(router.urls)),
]
