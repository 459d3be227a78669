"""A person's own settings: their language and time zone follow them, not the browser.

- Signed in, pages are in the person's stored language (``User.language``) and times in their
  time zone (``User.time_zone``); without one, the browser's language (Django's
  LocaleMiddleware: the switcher's cookie, then Accept-Language) and the portal's time zone.
- The language switcher stores the choice on the person when signed in, so pages and emails
  agree; anonymous visitors keep the cookie only.
- The profile page edits name, language and time zone and links to allauth's pages for email
  addresses, password and two-factor authentication.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from score_portal.models import User


def language_code(value: str) -> str | None:
    """One of the portal's languages (``LANGUAGES``), or None."""
    codes = {code for code, _name in settings.LANGUAGES}
    return value if value in codes else None


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(
        zone
        for zone in zoneinfo.available_timezones()
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/"))
    )
    return [
        ("", _("The portal's time zone (UTC)")),
        ("UTC", "UTC"),
        *((zone, zone.replace("_", " ")) for zone in zones),
    ]


class PersonalSettingsMiddleware:
    """After authentication: the signed-in person's language and time zone apply."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            code = language_code(user.language)
            if code:
                translation.activate(code)
                request.LANGUAGE_CODE = code
            if user.time_zone:
                try:
                    timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
            else:
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's switcher (cookie, safe ``next``), which also stores a signed-in person's choice:
    the language of their pages everywhere and of every email they receive."""
    response = django_set_language(request)
    code = language_code(request.POST.get("language", ""))
    if code and request.user.is_authenticated:
        User.objects.filter(pk=request.user.pk).update(language=code)
    return response


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "language", "time_zone"]
        help_texts = {
            "full_name": _("Shown to your colleagues and on certificates you sign off."),
            "language": _("The portal's pages and every email you receive are in this language."),
            "time_zone": _("Dates and times on the portal's pages are shown in this time zone."),
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["language"] = forms.ChoiceField(
            label=_("Language"),
            choices=[("", _("The browser's language")), *settings.LANGUAGES],
            required=False,
            help_text=self._meta.help_texts["language"],  # type: ignore[index]
        )
        self.fields["time_zone"] = forms.ChoiceField(
            label=_("Time zone"),
            choices=time_zone_choices(),
            required=False,
            help_text=self._meta.help_texts["time_zone"],  # type: ignore[index]
        )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        code = language_code(user.language)
        response = redirect("profile")
        if code:
            translation.activate(code)
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                code,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
        messages.success(request, _("Your profile is saved."))
        return response
    return render(request, "account/profile.html", {"form": form})
