"""django-allauth hooks: its emails (verification, password reset) go through our outbox, and
failed sign-ins are counted per account *and* client address."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from score_portal.emails import store_email
from score_portal.models import User


class PortalSite:
    """What allauth's templates call ``current_site``: the portal's name and address."""

    @property
    def name(self) -> str:
        return str(_("SCORE Portal"))

    @property
    def domain(self) -> str:
        return settings.SITE_URL


def _recipient_language(email: str) -> str | None:
    language = User.objects.filter(email__iexact=email).values_list("language", flat=True).first()
    return language or None


def _on_site_url(request: HttpRequest | None, value: Any) -> Any:
    """A link allauth built from the request's host, moved onto SITE_URL."""
    if request is None or not isinstance(value, str):
        return value
    here = request.build_absolute_uri("/")
    if value.startswith(here):
        return f"{settings.SITE_URL}/{value[len(here) :]}"
    return value


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's emails (verification, password reset, security notices) as the portal's
        own: in the recipient's stored language (not the requester's browser), naming the
        portal and linking to SITE_URL, never the host the request came in on."""
        request = allauth_context.request
        ctx = {
            "request": request,
            "email": email,
            "current_site": PortalSite(),
            "site_url": settings.SITE_URL,
        }
        ctx.update({key: _on_site_url(request, value) for key, value in context.items()})
        language = _recipient_language(email) or translation.get_language() or "en"
        with translation.override(language):
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
            language=language,
        )

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """The "key" of the ``login_failed`` rate limit (settings.ACCOUNT_RATE_LIMITS): the
        account together with the client's address, not the account alone. Otherwise five
        wrong passwords typed anywhere lock the owner out everywhere for five minutes; this
        way only the address that typed them is held back (and the per-address limit still
        caps guessing across accounts). A successful password reset clears the limit for the
        resetting address and account (allauth calls this with the same request).

        allauth 65 offers no public hook for this key; this is the method its adapter uses
        for it (tests/score_portal/test_sign_in_limits.py fails if that changes)."""
        account_key = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account_key}:{self.get_client_ip(request)}"
