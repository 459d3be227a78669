from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import views, views_imports

router = SimpleRouter()
router.register("suppliers", views.SupplierViewSet, basename="supplier")
router.register("enrolments", views.EnrolmentViewSet, basename="enrolment")
router.register("cohorts", views.CohortViewSet, basename="cohort")
router.register("certificates", views.CertificateViewSet, basename="certificate")
router.register("partnerships", views.PartnershipViewSet, basename="partnership")
router.register("imports", views_imports.SupplierImportViewSet, basename="import")

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
