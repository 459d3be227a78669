from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from score_portal.events import register_receiver
        from webhooks.services import record_events

        # The services emit events; after their commit, they become deliveries here.
        register_receiver("webhooks", record_events)
