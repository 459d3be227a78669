"""An organisation's API keys: its administrators create (the key shown once) and revoke
them. Anyone else gets 404, as for a missing organisation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api import services
from api.forms import APIKeyForm
from api.selectors import key_managed_organisation, keys_of
from partners.models import Partner

SHOW_ONCE = "api_key_created"


def _organisation(request: HttpRequest, pk: int) -> Partner:
    organisation = key_managed_organisation(request.scope, pk)
    if organisation is None:
        raise Http404
    return organisation


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_list(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = _organisation(request, pk)
    form = APIKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.create_key(
                organisation=organisation,
                name=form.cleaned_data["name"],
                access=form.cleaned_data["access"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except services.APIKeyError as error:
            form.add_error(None, str(error))
        else:
            # Shown once, on the page the redirect opens (a reload then neither creates a
            # second key nor shows this one again): kept in the session until then only.
            request.session[SHOW_ONCE] = {"prefix": created.prefix, "secret": secret}
            return redirect(reverse("api_keys:list", args=[organisation.pk]))
    shown = request.session.pop(SHOW_ONCE, None) if request.method == "GET" else None
    keys = list(keys_of(organisation))
    created = next((k for k in keys if shown and k.prefix == shown["prefix"]), None)
    secret = shown["secret"] if created is not None else None
    return render(
        request,
        "api/key_list.html",
        {
            "partner": organisation,
            "keys": keys,
            "form": form,
            "created": created,
            "secret": secret,
            "docs_url": reverse("api:docs"),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def key_revoke(request: HttpRequest, pk: int, prefix: str) -> HttpResponse:
    organisation = _organisation(request, pk)
    key = keys_of(organisation).filter(prefix=prefix).first()
    if key is None:
        raise Http404
    if key.revoked:
        messages.info(request, _("The key “%(name)s” was already revoked.") % {"name": key.name})
    else:
        services.revoke_key(key=key, actor=request.user)  # type: ignore[arg-type]
        messages.success(
            request,
            _("The key “%(name)s” is revoked: requests made with it are refused.")
            % {"name": key.name},
        )
    return redirect(reverse("api_keys:list", args=[organisation.pk]))
