from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_countries import countries

from partners.models import Partner
from partners.selectors import chosen_brand
from score_portal.access import (
    can_act_for_partner,
    can_correct_kpi,
    can_deliver,
    can_manage_factory,
    can_see_kpi_detail,
    can_see_kpi_readings,
    get_visible_or_404,
    places_anywhere,
)
from suppliers.exports import csv_lines, neutralise
from suppliers.filters import FactoryFilter
from suppliers.models import BrandSupplier, Factory
from training import forms
from training.filters import EnrolmentFilter
from training.impact import kpi_impact, min_factories
from training.models import Certificate, CoFunding, Enrolment
from training.selectors import (
    MATRIX_SUPPLIER_FIELDS,
    MatrixCell,
    MatrixRow,
    enrolment_history,
    enrolments_for,
    enrolments_with_progress,
    kpi_history,
    matrix_modules,
    matrix_rows,
    progress_of,
    waiting_time,
)
from training.services import enrolment as services
from training.services import kpis as kpi_services


@login_required
@require_GET
def enrolment_list(request: HttpRequest) -> HttpResponse:
    """Enrolments the person sees, filtered (the programme dashboards link here with the
    filters of the figure a person clicked)."""
    enrolment_filter = EnrolmentFilter(
        request.GET, queryset=enrolments_for(request.scope), scope=request.scope
    )
    page = Paginator(enrolment_filter.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "training/enrolment_list.html",
        {"page": page, "filter": enrolment_filter, "query": query.urlencode()},
    )


@login_required
@require_GET
def enrolment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = get_visible_or_404(enrolments_with_progress(request.scope), request.scope, pk=pk)
    return _render_detail(request, enrolment)


def render_enrolment_page(
    request: HttpRequest,
    enrolment: Enrolment,
    *,
    kpi_form: forms.KPIReadingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The enrolment's page; ``kpi_form`` a bound form sent back with its errors (400)."""
    sent = {"kpi_form": kpi_form} if kpi_form is not None else None
    return _render_detail(request, enrolment, sent, status=status)


def _render_detail(
    request: HttpRequest,
    enrolment: Enrolment,
    sent: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The enrolment page; ``sent``: a form as the person sent it (context name → bound
    form with its errors), shown instead of a fresh one so nothing typed is lost."""
    scope = request.scope
    cohort = enrolment.cohort
    is_factory = can_manage_factory(scope, enrolment.factory_id)
    is_trainer = cohort is not None and can_deliver(scope, cohort.trainer_id)
    running = enrolment.status in (Enrolment.Status.CONFIRMED, Enrolment.Status.IN_PROGRESS)
    # Which buttons show is the lifecycle's to say (services.TRANSITIONS), never a status
    # compared here or in the template.
    moves = services.allowed_moves(enrolment, request.user)
    trainer_id = cohort.trainer_id if cohort else None
    consented = kpi_services.has_kpi_consent(enrolment)
    shows_kpis = can_see_kpi_readings(
        scope,
        factory_id=enrolment.factory_id,
        trainer_id=trainer_id,
        funding_partner_id=enrolment.partnership.partner_id,
        consented=consented,
    )
    shows_kpi_history = can_see_kpi_detail(
        scope, factory_id=enrolment.factory_id, trainer_id=trainer_id
    )
    may_correct = can_correct_kpi(scope, factory_id=enrolment.factory_id, trainer_id=trainer_id)
    participants = list(enrolment.participants.all())
    context: dict[str, Any] = {
        "enrolment": enrolment,
        "progress": progress_of(enrolment),
        "participants": participants,
        "participant_advice": services.participant_advice(participants),
        "visits": sorted(enrolment.visits.all(), key=lambda v: (v.visited_on, v.pk)),
        "actions": list(enrolment.improvement_actions.all()),
        "kpi_readings": sorted(
            enrolment.kpi_readings.all(),
            key=lambda r: (r.kpi.display_name, r.kind != "baseline", r.measured_on, r.pk),
        )
        if shows_kpis
        else None,
        "kpi_history": kpi_history(enrolment) if shows_kpi_history else None,
        "may_correct_kpis": may_correct,
        "funds_enrolment": enrolment.partnership.partner_id in scope.funding_ids,
        "events": enrolment.events.select_related("actor"),
        "history": enrolment_history(enrolment),
        "is_factory": is_factory,
        "is_trainer": is_trainer,
        "running": running,
        "may_confirm": Enrolment.Status.CONFIRMED in moves,
        "may_decline": Enrolment.Status.DECLINED in moves,
        "may_complete": Enrolment.Status.COMPLETED in moves,
        "may_withdraw": Enrolment.Status.WITHDRAWN in moves,
        "completion_refusals": (
            services.completion_refusals(enrolment) if Enrolment.Status.COMPLETED in moves else []
        ),
        # The issued certificate, for the people who may download it (not the trainer).
        "certificate": Certificate.objects.visible_to(scope)
        .filter(enrolment=enrolment, status=Certificate.Status.ISSUED)
        .first(),
    }
    if Enrolment.Status.DECLINED in moves:
        context["decline_form"] = forms.DeclineForm()
    if is_factory and running:
        initial = [
            {"name": p.name, "position": p.position, "role": p.role, "gender": p.gender}
            for p in participants
        ] or [{"role": "manager"}, {"role": "manager"}, {"role": "worker"}, {"role": "worker"}]
        context["participant_formset"] = forms.ParticipantFormSet(initial=initial)
    if is_factory:
        context["consent_form"] = forms.ConsentForm(initial={"shared": consented})
    if may_correct and running:
        context["kpi_form"] = forms.KPIReadingForm(enrolment=enrolment)
        context["action_form"] = forms.ImprovementActionForm()
    if is_trainer and running:
        context["visit_form"] = forms.VisitForm(enrolment=enrolment)
    if context["may_withdraw"]:
        context["withdraw_form"] = forms.WithdrawForm()
    for name, form in (sent or {}).items():
        if name in context:
            context[name] = form
        else:  # a form this person is not offered: its refusal still says why
            for error in _errors_of(form):
                messages.error(request, error)
    # Co-funding (README, "Co-funding"): the shares in force, and the proposals the reader
    # may see (the lead funder's and the proposer's people).
    # Whoever sees the enrolment sees who funds it (as "Funded by"); proposals, declined
    # and ended shares only their parties.
    context["cofunders"] = list(
        enrolment.cofundings.filter(in_force=True).select_related("partnership__partner")
    )
    visible = list(
        CoFunding.objects.visible_to(scope)
        .filter(enrolment=enrolment)
        .select_related("partnership__partner")
    )
    context["cofundings"] = [c for c in visible if not c.in_force]
    context["cofunding_ids"] = {c.pk for c in visible}
    context["cofunded"] = enrolment.lead_share < 1
    context["lead_percent"] = int(enrolment.lead_share * 100)
    # How long a factory waited for its cohort (or has waited so far).
    context["waited"] = waiting_time(enrolment) is not None
    context["may_place"] = enrolment.waiting_for_cohort and places_anywhere(scope)
    return render(request, "training/enrolment_detail.html", context, status=status)


def _errors_of(form: Any) -> list[str]:
    """Every error of a form or formset, as text."""
    if hasattr(form, "non_form_errors"):  # a formset
        errors = [str(e) for e in form.non_form_errors()]
        return errors + [str(e) for f in form.forms for e in _errors_of(f)]
    return [str(e) for errors in form.errors.values() for e in errors]


# Each action on an enrolment: the form that reads the request, the service that acts, and
# what to tell the person. Views stay thin; the services decide who may do what.
def _confirm(request: HttpRequest, e: Enrolment) -> str:
    services.confirm_enrolment(enrolment=e, actor=request.user)
    return _("Enrolment confirmed. Now name your participants.")


def _decline(request: HttpRequest, e: Enrolment) -> str:
    form = _valid(forms.DeclineForm(request.POST))
    with _beside(form):
        services.decline_enrolment(
            enrolment=e, actor=request.user, reason=form.cleaned_data["reason"]
        )
    return _("Enrolment declined.")


def _participants(request: HttpRequest, e: Enrolment) -> str:
    formset = forms.ParticipantFormSet(request.POST)
    if not formset.is_valid():
        raise FormRejected("participant_formset", formset)
    rows = [f.cleaned_data for f in formset if f.cleaned_data]
    try:
        services.name_participants(enrolment=e, actor=request.user, participants=rows)
    except services.TrainingError as error:
        formset._non_form_errors = formset.error_class(  # shown above the rows
            [*formset.non_form_errors(), str(error)], renderer=formset.renderer
        )
        raise FormRejected("participant_formset", formset) from None
    return _("Participants saved.")


def _consent(request: HttpRequest, e: Enrolment) -> str:
    form = _valid(forms.ConsentForm(request.POST))
    if kpi_services.set_kpi_consent(
        enrolment=e, actor=request.user, shared=form.cleaned_data["shared"]
    ):
        return _("%(brand)s now sees your KPI readings.") % {"brand": e.partnership.partner}
    return _("%(brand)s no longer sees your KPI readings.") % {"brand": e.partnership.partner}


def _visit(request: HttpRequest, e: Enrolment) -> str:
    form = _valid(forms.VisitForm(request.POST, enrolment=e))
    with _beside(form):
        services.record_visit(enrolment=e, actor=request.user, **form.cleaned_data)
    return _("Visit recorded.")


def _add_action(request: HttpRequest, e: Enrolment) -> str:
    form = _valid(forms.ImprovementActionForm(request.POST))
    with _beside(form):
        services.add_improvement_action(enrolment=e, actor=request.user, **form.cleaned_data)
    return _("Action added to the improvement plan.")


def _action_status(request: HttpRequest, e: Enrolment) -> str:
    form = _valid(forms.ActionStatusForm(request.POST, enrolment=e))
    services.update_action_status(
        action=form.cleaned_data["action"], actor=request.user, status=form.cleaned_data["status"]
    )
    return _("Improvement plan updated.")


def _complete(request: HttpRequest, e: Enrolment) -> str:
    services.complete_enrolment(enrolment=e, actor=request.user)
    return _("Enrolment completed. The certificate is on its way.")


def _withdraw(request: HttpRequest, e: Enrolment) -> str:
    form = _valid(forms.WithdrawForm(request.POST))
    with _beside(form):
        services.withdraw_enrolment(
            enrolment=e, actor=request.user, reason=form.cleaned_data["reason"]
        )
    return _("Enrolment withdrawn; the partnership's place is free again.")


ACTIONS: dict[str, Callable[[HttpRequest, Enrolment], str]] = {
    "confirm": _confirm,
    "decline": _decline,
    "participants": _participants,
    "consent": _consent,
    "visit": _visit,
    "add-action": _add_action,
    "action-status": _action_status,
    "complete": _complete,
    "withdraw": _withdraw,
}


class FormRejected(Exception):
    """A form of the enrolment page came back with errors: the page is shown again with
    the form as sent (``context_name`` is its name in the page's context)."""

    def __init__(self, context_name: str, form: Any) -> None:
        super().__init__(context_name)
        self.context_name = context_name
        self.form = form


# The enrolment page's forms by prefix, and their names in its context.
FORM_CONTEXT_NAMES = {
    "decline": "decline_form",
    "withdraw": "withdraw_form",
    "consent": "consent_form",
    "visit": "visit_form",
    "kpi": "kpi_form",
    "action": "action_form",
}


@contextmanager
def _beside(form: Any) -> Iterator[None]:
    """A service's refusal goes beside the field it names (or above the form), and the page
    comes back with the form as sent."""
    try:
        yield
    except services.TrainingError as error:
        name = FORM_CONTEXT_NAMES.get(form.prefix or "")
        if name is None:
            raise
        form.add_error(error.field if error.field in form.fields else None, str(error))
        raise FormRejected(name, form) from None


def _valid(form: Any) -> Any:
    """A valid form, or FormRejected: the page comes back with each error beside its field
    (a form the page does not show as such, a TrainingError naming each field)."""
    if form.is_valid():
        return form
    name = FORM_CONTEXT_NAMES.get(form.prefix or "")
    if name is not None:
        raise FormRejected(name, form)
    problems = []
    for field_name, errors in form.errors.items():
        field = form.fields.get(field_name)
        text = " ".join(errors)
        problems.append(f"{field.label}: {text}" if field is not None else text)
    raise services.TrainingError(" ".join(problems))


@login_required
@require_POST
def enrolment_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    enrolment = get_visible_or_404(enrolments_for(request.scope), request.scope, pk=pk)
    try:
        messages.success(request, handler(request, enrolment))
    except services.TrainingError as error:
        messages.error(request, str(error))
    except FormRejected as rejected:
        shown = get_visible_or_404(enrolments_with_progress(request.scope), request.scope, pk=pk)
        return _render_detail(request, shown, {rejected.context_name: rejected.form}, status=400)
    return redirect(enrolment)


# --- Brand staff: enrol suppliers, follow the matrix --------------------------------------


def _acting_brand(request: HttpRequest) -> Partner:
    """The brand the person enrols for (``?brand=`` when they act for several)."""
    wanted = request.GET.get("brand") or request.POST.get("brand")
    brand = chosen_brand(request.scope, wanted, acting=True)
    if brand is None:
        raise PermissionDenied(_("Only a brand's administrators and staff enrol suppliers."))
    return brand


ENROL_PICKER_ROWS = 500  # suppliers the enrol page lists to tick; the filter narrows them


@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    brand = _acting_brand(request)
    factory_filter = FactoryFilter(
        request.GET,
        queryset=Factory.objects.filter(brand_links__brand=brand, brand_links__ended_at=None),
    )
    suppliers = _filtered_links(request, brand)
    form = forms.EnrolForm(
        request.POST or None,
        request.FILES or None,
        brand=brand,
        # Opened with ?module= (without JavaScript, the module links), its cohorts are listed.
        initial={"module": request.GET.get("module", "")},
    )
    if request.method == "POST" and form.is_valid():
        results = services.enrol_suppliers(
            brand=brand,
            factories=form.cleaned_data["chosen"],
            module=form.cleaned_data["module"],
            partnership=form.cleaned_data["partnership"],
            cohort=form.cleaned_data["cohort"],
            placement_reason=form.cleaned_data["placement_reason"],
            actor=request.user,
        )
        return render(
            request,
            "training/enrol_results.html",
            {
                "brand": brand,
                "results": results,
                "module": form.cleaned_data["module"],
                "enrolled": sum(r.enrolled for r in results),
            },
        )
    shown = list(suppliers[:ENROL_PICKER_ROWS])
    return render(
        request,
        "training/enrol.html",
        {
            "brand": brand,
            "form": form,
            "filter": factory_filter,
            "suppliers": shown,
            # Every ticked supplier ticked again when the form comes back (QueryDict's
            # attribute access would give only the last).
            "ticked": set(request.POST.getlist("factories")),
            # A list longer than the picker says so: nobody should think it ends there.
            "suppliers_total": (
                suppliers.count() if len(shown) == ENROL_PICKER_ROWS else len(shown)
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def enrol_cohorts(request: HttpRequest) -> HttpResponse:
    """The enrol form's cohort choice for the module in ``?module=``, to swap in place when
    the module changes (no module, or one not offered: no cohort to choose)."""
    brand = _acting_brand(request)
    form = forms.EnrolForm(initial={"module": request.GET.get("module", "")}, brand=brand)
    return HttpResponse(str(form["cohort"]))


@login_required
@require_GET
def matrix(request: HttpRequest) -> HttpResponse:
    """Suppliers × modules: every cell the status of the enrolment, linking to it."""
    brand = _acting_brand_for_reading(request)
    factory_filter = _factory_filter(request, brand)
    # Counted on the supplier list alone; only the page's rows are read, as plain values.
    page = Paginator(_filtered_links(request, brand, factory_filter), 50).get_page(
        request.GET.get("page")
    )
    modules = matrix_modules(request.scope)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "training/matrix.html",
        {
            "brand": brand,
            "can_enrol": can_act_for_partner(request.scope, brand.pk),
            "filter": factory_filter,
            "modules": modules,
            "page": page,
            "rows": _rows_html(
                matrix_rows(
                    request.scope,
                    list(page.object_list.values_list(*MATRIX_SUPPLIER_FIELDS)),
                    modules,
                )
            ),
            "query": query,
        },
    )


@login_required
@require_GET
def impact(request: HttpRequest) -> HttpResponse:
    """The brand's KPI figures across its suppliers: one value per factory, shared and
    unshared factories apart, at least K factories behind each (training/impact.py).

    Its own page, off the matrix, because it reads every reading the brand funded.
    """
    brand = _acting_brand_for_reading(request)
    return render(
        request,
        "training/impact.html",
        {"brand": brand, "kpis": kpi_impact(brand_id=brand.pk), "k": min_factories()},
    )


MATRIX_CSV_CHUNK = 500  # suppliers read, and their enrolments looked up, at a time


@login_required
@require_GET
def matrix_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The whole matrix as CSV, streamed in chunks so a large list costs little memory."""
    brand = _acting_brand_for_reading(request)
    links = _filtered_links(request, brand).values_list(*MATRIX_SUPPLIER_FIELDS)
    modules = matrix_modules(request.scope)

    def rows() -> Iterator[list[str]]:
        # Chunks of one pass over the list, not pages: an OFFSET page re-reads every row
        # before it (100,000 suppliers took 29 s).
        links_read = links.iterator(chunk_size=MATRIX_CSV_CHUNK)
        while chunk := list(itertools.islice(links_read, MATRIX_CSV_CHUNK)):
            for row in matrix_rows(request.scope, chunk, modules):
                yield [
                    neutralise(row.supplier.supplier_code),
                    neutralise(row.supplier.factory_name),
                    row.supplier.country,
                ] + [cell.get_status_display() if cell else "" for cell in row.cells]

    headers = [_("Supplier code"), _("Factory"), _("Country")] + [m.code for m in modules]
    response = StreamingHttpResponse(
        csv_lines(rows(), headers), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="score-matrix-{brand.pk}.csv"'
    return response


def _rows_html(rows: list[MatrixRow]) -> SafeString:
    """The matrix's rows as HTML, written here rather than in the template.

    50 suppliers × 13 modules are 650 cells: through the template engine (a loop, an ``if``,
    a status label looked up through the model's choices each time, a translated country
    name per row) they cost more than everything else on the page. A cell's HTML is built and
    escaped once per status and page, in two parts; only the enrolment's id, an integer, goes
    between them per cell.
    Names, codes and countries are escaped per row.
    """
    # Enrolment.get_absolute_url, reversed once for the page instead of once per cell.
    marker = 987654321
    before, after = reverse("training:enrolment_detail", args=[marker]).split(str(marker))

    def badge(status: str, label: str) -> tuple[str, str]:
        """A cell's HTML before and after the enrolment's id, escaped once."""
        return (
            f'<td><a class="badge badge-{escape(status)}" href="{escape(before)}',
            f'{escape(after)}">{escape(label)}</a></td>',
        )

    cell_html = {status: badge(status, label) for status, label in Enrolment.Status.choices}
    empty = f'<td><span class="muted">{chr(0x2014)}</span></td>'
    country_names: dict[str, str] = {}

    def country_name(code: str) -> str:
        if code not in country_names:
            country_names[code] = escape(countries.name(code) or code)
        return country_names[code]

    def cell(cell: MatrixCell | None) -> str:
        if cell is None:
            return empty
        parts = cell_html.get(cell.status)
        if parts is None:  # a status without a label (none today): shown by its code
            parts = cell_html[cell.status] = badge(cell.status, cell.status)
        return f"{parts[0]}{int(cell.pk)}{parts[1]}"

    return mark_safe(
        "\n".join(
            f'<tr><th scope="row">{escape(row.supplier.factory_name)}<br><small>'
            f"{escape(row.supplier.supplier_code)} · {country_name(row.supplier.country)}"
            f"</small></th>{''.join(cell(c) for c in row.cells)}</tr>"
            for row in rows
        )
    )


def _acting_brand_for_reading(request: HttpRequest) -> Partner:
    """The brand whose progress the person reads (``?brand=`` when they read several)."""
    brand = chosen_brand(request.scope, request.GET.get("brand"), acting=False)
    if brand is None:
        raise Http404
    return brand


def _factory_filter(request: HttpRequest, brand: Partner) -> FactoryFilter:
    return FactoryFilter(
        request.GET,
        queryset=Factory.objects.filter(brand_links__brand=brand, brand_links__ended_at=None),
    )


def _filtered_links(
    request: HttpRequest, brand: Partner, factory_filter: FactoryFilter | None = None
) -> QuerySet[BrandSupplier]:
    """The brand's supplier-list rows, narrowed by the supplier-list filters (search, country).

    Without a filter in the request there is no factory subquery at all: the rows are the
    brand's links in name order (``suppliers_factory (name, id)`` lets PostgreSQL walk the
    names and stop at a page), and the paginator counts them on the brand's own index.
    """
    links = (
        BrandSupplier.objects.on_list()
        .filter(brand=brand)
        .select_related("factory")
        .order_by("factory__name", "pk")
    )
    if not any(request.GET.get(name) for name in FactoryFilter.base_filters):
        return links
    if factory_filter is None:
        factory_filter = _factory_filter(request, brand)
    return links.filter(factory__in=factory_filter.qs)
