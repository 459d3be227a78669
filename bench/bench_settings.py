"""Settings for bench/pages.py: the portal's own settings, with the bench URLconf.

The bench URLconf is the portal's urlpatterns plus one bare list view (the yardstick), so
the pages and the yardstick are served by the same gunicorn, middleware and database.
"""

from score_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

# Serve as in production: WhiteNoise indexes the static files once at start instead of
# looking each request's path up on disk (development's autorefresh). The bench fetches no
# static file; the finders stay on so nothing needs collectstatic.
WHITENOISE_AUTOREFRESH = False
