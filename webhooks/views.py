"""An organisation's webhooks, run by its administrators: subscriptions, their secret, the
delivery log, a test event and a retry. Anyone else gets 404, as for a missing page."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partners.models import Partner
from score_portal import access
from score_portal.events import KINDS
from webhooks import services
from webhooks.forms import SubscriptionForm
from webhooks.models import Delivery, Subscription

DELIVERIES_PER_PAGE = 25
SECRET_KEY = "webhook-secret-{}"


def _organisation(request: HttpRequest, org: int) -> Partner:
    """The organisation, if the person manages its webhooks; 404 otherwise."""
    if not access.can_manage_webhooks(request.scope, org):
        raise Http404
    partner = Partner.objects.visible_to(request.scope).filter(pk=org).first()
    if partner is None:
        raise Http404
    return partner


def _subscription(request: HttpRequest, org: int, pk: int) -> Subscription:
    found = (
        Subscription.objects.visible_to(request.scope)
        .filter(organisation_id=org, pk=pk)
        .select_related("organisation")
        .first()
    )
    if found is None:
        raise Http404
    return found


def _list_page(request: HttpRequest, partner: Partner, form: SubscriptionForm) -> HttpResponse:
    subscriptions = Subscription.objects.filter(organisation=partner).order_by("created_at", "pk")
    return render(
        request,
        "webhooks/subscription_list.html",
        {
            "partner": partner,
            "subscriptions": [
                (s, [KINDS[k] for k in s.events if k in KINDS]) for s in subscriptions
            ],
            "form": form,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_GET
def subscription_list(request: HttpRequest, org: int) -> HttpResponse:
    return _list_page(request, _organisation(request, org), SubscriptionForm())


@login_required
@require_http_methods(["GET", "POST"])
def subscription_create(request: HttpRequest, org: int) -> HttpResponse:
    partner = _organisation(request, org)
    if request.method == "GET":
        return redirect("webhooks:subscription_list", org=partner.pk)
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            subscription = services.create_subscription(
                organisation=partner,
                actor=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except services.WebhookError as error:
            form.add_error(error.field, str(error))
        else:
            request.session[SECRET_KEY.format(subscription.pk)] = subscription.secret
            messages.success(request, _("The subscription was added."))
            return redirect(subscription)
    return _list_page(request, partner, form)


@login_required
@require_GET
def subscription_detail(request: HttpRequest, org: int, pk: int) -> HttpResponse:
    subscription = _subscription(request, org, pk)
    deliveries = Delivery.objects.filter(subscription=subscription).order_by("-created_at", "-pk")
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "webhooks/subscription_detail.html",
        {
            "partner": subscription.organisation,
            "subscription": subscription,
            "events": [KINDS[k] for k in subscription.events if k in KINDS],
            "page": page,
            # Shown once, just after it was made.
            "secret": request.session.pop(SECRET_KEY.format(subscription.pk), ""),
        },
    )


def _act(
    request: HttpRequest, subscription: Subscription, action: Callable[[], object], done: str
) -> HttpResponse:
    try:
        action()
    except services.WebhookError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect(subscription)


@login_required
@require_POST
def subscription_test(request: HttpRequest, org: int, pk: int) -> HttpResponse:
    subscription = _subscription(request, org, pk)
    return _act(
        request,
        subscription,
        lambda: services.send_test_event(subscription=subscription, actor=request.user),
        _("A test event was queued: see it in the delivery log below."),
    )


@login_required
@require_POST
def subscription_rotate(request: HttpRequest, org: int, pk: int) -> HttpResponse:
    subscription = _subscription(request, org, pk)

    def rotate() -> None:
        services.rotate_secret(subscription=subscription, actor=request.user)
        request.session[SECRET_KEY.format(subscription.pk)] = subscription.secret

    return _act(
        request, subscription, rotate, _("A new secret was made: the old one no longer signs.")
    )


@login_required
@require_POST
def subscription_active(request: HttpRequest, org: int, pk: int) -> HttpResponse:
    subscription = _subscription(request, org, pk)
    active = request.POST.get("active") == "1"
    return _act(
        request,
        subscription,
        lambda: services.set_active(subscription=subscription, actor=request.user, active=active),
        _("The subscription is enabled.") if active else _("The subscription is disabled."),
    )


@login_required
@require_POST
def subscription_delete(request: HttpRequest, org: int, pk: int) -> HttpResponse:
    subscription = _subscription(request, org, pk)
    try:
        services.delete_subscription(subscription=subscription, actor=request.user)
    except services.WebhookError as error:
        messages.error(request, str(error))
        return redirect(subscription)
    messages.success(request, _("The subscription was deleted."))
    return redirect("webhooks:subscription_list", org=org)


@login_required
@require_POST
def delivery_retry(request: HttpRequest, org: int, pk: int, delivery: int) -> HttpResponse:
    subscription = _subscription(request, org, pk)
    found = Delivery.objects.filter(subscription=subscription, pk=delivery).first()
    if found is None:
        raise Http404
    return _act(
        request,
        subscription,
        lambda: services.retry_delivery(delivery=found, actor=request.user),
        _("The delivery was queued again."),
    )
