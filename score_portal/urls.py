from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from score_portal import accounts, views
from score_portal.admin import background_jobs
from training.views import certificates

# The admin signs in through allauth's login view: same rate limits, same MFA.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "SCORE Portal administration"
admin.site.site_title = "SCORE Portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("health/", views.health_status, name="health"),
    path("metrics", views.metrics, name="metrics"),
    # Public: anyone checks a certificate number (rate-limited, no login).
    path("verify/<str:code>/", certificates.verify, name="verify_certificate"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/notices/", include("score_portal.notice_urls")),
    path("accounts/", include("allauth.urls")),
    # Django's language switcher, which also stores a signed-in person's choice.
    path("i18n/setlang/", accounts.set_language, name="set_language"),
    path("partners/", include("partners.urls")),
    path("suppliers/", include("suppliers.urls")),
    path("training/", include("training.urls")),
    path("results/", include("reporting.urls")),
    path("search/", include("search.urls")),
    path("api/", include("api.urls")),
    path("partners/organisations/<int:pk>/api-keys/", include("api.urls_keys")),
    path("webhooks/", include("webhooks.urls")),
    path("admin/jobs/", admin.site.admin_view(background_jobs), name="background_jobs"),
    path("admin/", admin.site.urls),
]
# No /media/ route, not even with DEBUG on: every stored file (supplier lists, partnership
# documents, certificates) is served by a view that checks who asks.
