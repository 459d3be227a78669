"""django-allauth hooks: its emails (verification, password reset) go through our outbox."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.utils import translation

from score_portal.emails import store_email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = next(
            (body for body, mime in getattr(message, "alternatives", []) if mime == "text/html"),
            "",
        )
        store_email(
            to=email,
            subject=message.subject,
            body_text=message.body if message.content_subtype != "html" else "",
            body_html=html or (message.body if message.content_subtype == "html" else ""),
            template=template_prefix,
            language=translation.get_language() or "en",
        )
