"""No input answers 500, and no response header carries what a visitor typed.

Every URL pattern (the portal's apps, allauth's, the admin's) is read from the resolver, so a
new view is covered the day it is added. Each is requested by every persona with:

- its path parameters filled from real objects, then with hostile values wherever the
  converter lets them through (``str``, ``slug``, ``path`` and regex groups; ``int`` gets 0 and
  a number no database column holds);
- hostile values in the query parameters the views read (``?brand=``, ``?page=``, ...);
- a POST of an empty form, and of every field the page's own form shows filled with hostile
  values (the admin's add and change forms for the ILO admin; never a delete confirmation).

A status of 500 or more, an exception raised while a streamed body is produced, or a header
holding a line break or the injected header's name fails the test; each persona's failures
are listed together. One world per persona, all URLs in one loop: a few thousand requests.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from partners.models import Invitation, Membership
from partners.services import invite
from score_portal.models import Notice, OutboundEmail
from suppliers.models import SupplierImportRow
from training.models import Certificate, TrainerCertification

pytestmark = pytest.mark.django_db

HOSTILE = [
    "²",  # a Unicode digit: str.isdigit() says yes, int() says no
    "-1",
    "9" * 30,
    "\x00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "a\r\nX-Injected: 1",
    "z" * 3000,
]
INTEGERS = ["0", "9" * 30]  # all an int converter lets through
QUERY_KEYS = [
    "brand",
    "page",
    "module",
    "outcome",
    "format",
    "q",
    "show",
    "status",
    "kind",
    "country",
    "cohort",
    "partnership",
    "issued_from",
    "issued_to",
    "enrolled_from",
    "enrolled_to",
    "partner",
    "provider",
    "kpi",
    "next",
    "o",
    "p",
    "e",
    "_changelist_filters",
]
# Query values tried on every page that answers: each fills every key at once. The keys the
# apps' views read themselves (not through a form) are also tried one at a time with "²" (a
# view stopping at the first bad key would hide the next one).
RAW_QUERY_KEYS = ["brand", "page", "module", "outcome"]
# Fewer values where one piece of code reads them all: the admin's object ids, and POSTs
# (forms): a Unicode digit, an id no column holds, a NUL (PostgreSQL refuses it), a CRLF.
ADMIN_HOSTILE = ["²", "9" * 30, "a\r\nX-Injected: 1"]
POST_HOSTILE = ["²", "9" * 30, "\x00", "a\r\nX-Injected: 1"]
PERSONAS = ["anonymous", "brand_staff", "factory_manager", "trainer", "ilo_admin"]
SKIP_POST = {
    "account_logout",  # signs the persona out (checked separately: it only redirects)
}


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or "" for an unnamed pattern
    patterns: tuple[object, ...]  # the pattern of each level, outermost first

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:") or str(self.patterns[0]) == "admin/"


def _walk(entries, parents=(), namespaces=()) -> Iterator[Route]:
    for entry in entries:
        if isinstance(entry, URLResolver):
            spaces = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from _walk(entry.url_patterns, (*parents, entry.pattern), spaces)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else ""
            yield Route(name, (*parents, entry.pattern))


ROUTES = list(_walk(get_resolver().url_patterns))
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _parameters(route: Route) -> list[tuple[str, str]]:
    """(name, converter) of each path parameter; converter "regex" for a regex group."""
    found: list[tuple[str, str]] = []
    for pattern in route.patterns:
        if isinstance(pattern, RoutePattern):
            found += [
                (m["name"], m["converter"] or "str") for m in _PARAMETER.finditer(str(pattern))
            ]
        else:
            found += [(name, "regex") for name in pattern.regex.groupindex]
    return found


def _url(route: Route, values: dict[str, str]) -> str | None:
    """The URL of ``route`` with ``values`` in its parameters, or None if they don't fit."""
    if all(isinstance(p, RoutePattern) for p in route.patterns):
        parts = []
        for pattern in route.patterns:
            converters = pattern.converters

            def fill(match: re.Match[str], converters=converters) -> str:
                value = values[match["name"]]
                if not re.fullmatch(converters[match["name"]].regex, value):
                    raise ValueError(value)
                return quote(value, safe="/" if match["converter"] == "path" else "")

            try:
                parts.append(_PARAMETER.sub(fill, str(pattern)))
            except ValueError:
                return None
        return "/" + "".join(parts)
    if not route.name:
        return None
    try:
        return reverse(route.name, kwargs=values)
    except NoReverseMatch:
        return None


class World:
    """Real ids for path parameters, from the ``world`` fixture and a few more objects."""

    def __init__(
        self,
        world,
        certificate: Certificate,
        row: SupplierImportRow,
        notice: Notice,
        invitation: Invitation | None = None,
        token: str = "x",
    ) -> None:
        brand_id = world.partnership.partner_id
        trainer_id = world.cohort.trainer_id
        self.by_prefix = {
            # An organisation's people, a trainer's page, a factory's managers.
            "partners:organisation_": brand_id,
            "partners:people_": brand_id,
            "partners:member_": brand_id,
            "partners:invitation_re": brand_id,
            "api_keys:": brand_id,  # an organisation's API keys
            "training:trainer_": trainer_id,
            "training:certification_": trainer_id,
            "training:factory_managers": world.factory.pk,
            "partners:": world.partnership.pk,
            "reporting:partnership": world.partnership.pk,
            "suppliers:factory": world.factory.pk,
            "suppliers:import": world.supplier_import.pk,
            "training:cohort": world.cohort.pk,
            "training:enrolment": world.enrolment.pk,
            "training:certificate": certificate.pk,
            "notices:": notice.pk,
            # An organisation's webhooks (tests/webhooks crawls them as its administrator).
            "webhooks:": brand_id,
        }
        self.row = row
        self.certificate = certificate
        self.invitation = invitation
        self.token = token
        self.member_id = (
            Membership.objects.filter(partner_id=brand_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        ).first()
        self.certification_id = (
            TrainerCertification.objects.filter(trainer_id=trainer_id)
            .values_list("pk", flat=True)
            .first()
        )

    def value(self, route: Route, name: str, converter: str) -> str:
        if name == "row_pk":
            return str(self.row.pk)
        if name == "member_pk":
            return str(self.member_id)
        if name == "invitation_pk" and self.invitation is not None:
            return str(self.invitation.pk)
        if name == "certification_pk":
            return str(self.certification_id)
        if name == "token":
            return self.token
        if name == "action":
            return "confirm"
        if name == "code":
            return self.certificate.code
        if name == "fmt":
            return "csv"
        if name == "app_label":
            return "training"
        if route.is_admin and name in ("object_id", "id"):
            model = _admin_model(route)
            first = model.objects.order_by("pk").first() if model else None
            return str(first.pk) if first else "1"
        for prefix, pk in self.by_prefix.items():
            if route.name.startswith(prefix):
                return str(pk)
        return "1" if converter == "int" else "x"


def _admin_model(route: Route):
    """The model of an admin URL: its path is admin/<app_label>/<model_name>/..."""
    names = [str(p).strip("/") for p in route.patterns[1:3]]
    try:
        return apps.get_model(*names) if len(names) == 2 else None
    except (LookupError, ValueError):
        return None


def _concrete(route: Route, world: World) -> Iterator[str]:
    """The route with real values, then with each hostile value in each parameter."""
    parameters = _parameters(route)
    real = {name: world.value(route, name, conv) for name, conv in parameters}
    url = _url(route, real)
    if url is not None:
        yield url
    if route.is_admin and not route.name.endswith(("_change", "_password_change")):
        return  # the admin's other views find the object with the same code as "change"
    for name, converter in parameters:
        hostile = ADMIN_HOSTILE if route.is_admin else HOSTILE
        for value in INTEGERS if converter == "int" else hostile:
            hostile_url = _url(route, {**real, name: value})
            if hostile_url is not None:
                yield hostile_url


def _query_strings(*, admin: bool = False, one_key_at_a_time: bool = False) -> Iterator[str]:
    for value in ADMIN_HOSTILE if admin else HOSTILE:
        yield urlencode(dict.fromkeys(QUERY_KEYS, value))
    if one_key_at_a_time:
        for key in RAW_QUERY_KEYS:
            yield urlencode({key: "²"})


_FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def _form_fields(html: str) -> list[str]:
    return sorted(set(_FIELD.findall(html)) - {"csrfmiddlewaretoken"})


class Probe:
    def __init__(self, client: Client, user) -> None:
        self.client = client
        self.user = user
        self.failures: list[str] = []
        self.requests = 0

    def check(self, method: str, url: str, data: dict[str, str] | None = None):
        self.requests += 1
        response = getattr(self.client, method)(url, data or {})
        if response.streaming:  # the test client closes the response once it is read
            try:
                b"".join(response.streaming_content)
            except Exception as exc:  # the failure is what the test reports
                self.failures.append(f"{method.upper()} {url[:200]}: streaming {exc!r}")
        # Readiness answers 503 by design while a component is down (a test run has no beat).
        readiness = response.status_code == 503 and url.split("?")[0] == reverse("health")
        if response.status_code >= 500 and not (readiness and not response.exc_info):
            cause = response.exc_info[1] if response.exc_info else ""
            self.failures.append(f"{method.upper()} {url[:200]}: {response.status_code} {cause!r}")
        for header, value in response.items():
            # A percent-encoded "X-Injected" in a redirect's Location is harmless text.
            if "\r" in value or "\n" in value or header.lower() == "x-injected":
                self.failures.append(f"{method.upper()} {url[:200]}: header {header}: {value!r}")
        if self.user is not None and "_auth_user_id" not in self.client.session:
            self.client.force_login(self.user)  # an action signed the persona out
        return response


@pytest.fixture
def persona(request, world, ilo_admin, brand_staff, trainer):
    """The persona's user (None: anonymous), with the factory manager made on demand."""
    if request.param == "factory_manager":
        return request.getfixturevalue("factory_manager")
    return {"anonymous": None, "brand_staff": brand_staff, "trainer": trainer}.get(
        request.param, ilo_admin if request.param == "ilo_admin" else None
    )


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_no_input_answers_500_or_reaches_a_header(persona, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    certificate = Certificate.objects.create(
        enrolment=world.enrolment,
        status=Certificate.Status.ISSUED,
        issued_at=timezone.now(),
        pdf=f"certificates/{datetime.date.today().year}/gone.pdf",  # not on storage
    )
    row = SupplierImportRow.objects.create(
        supplier_import=world.supplier_import,
        line=2,
        outcome=SupplierImportRow.Outcome.REVIEW,
        data={"name": "A Mill"},
        candidate=world.factory,
        score=90,
    )
    # A notice of the persona's own (the others' answer 404, as a missing one).
    notice = Notice.objects.create(
        recipient=persona or world.enrolment.enrolled_by,
        kind="enrolment_notice",
        template="enrolment_notice",
        titles={"en": "A notice"},
        language="en",
        link=world.enrolment.get_absolute_url(),
    )
    invitation = invite(
        partner=world.partnership.partner, email="invited@example.org", role="viewer", actor=None
    )
    sent = OutboundEmail.objects.filter(to="invited@example.org").latest("pk").body_text
    token = re.search(r"/partners/invitations/([\w-]+)/", sent)
    assert token
    ids = World(world, certificate, row, notice, invitation, token.group(1))
    # Co-funding: brand B's proposal on brand A's enrolment (README, "Co-funding").
    from decimal import Decimal

    from suppliers.services import link_supplier
    from training.models import CoFunding

    link_supplier(brand=world.other_partnership.partner, factory=world.factory)
    cofunding = CoFunding.objects.create(
        enrolment=world.enrolment, partnership=world.other_partnership, share=Decimal("0.5")
    )
    ids.by_prefix = {
        "training:cofunding_propose": world.enrolment.pk,
        "training:cofunding_": cofunding.pk,
        **ids.by_prefix,
    }
    client = Client(raise_request_exception=False)
    if persona is not None:
        client.force_login(persona)
    probe = Probe(client, persona)
    is_ilo_admin = persona is not None and persona.email.startswith("admin@ilo")

    for route in ROUTES:
        if route.is_admin and not is_ilo_admin:
            # The admin turns everyone else away before reading anything: one look each.
            url = _url(route, {n: "1" for n, _c in _parameters(route)})
            if url:
                probe.check("get", url)
            continue
        urls = list(_concrete(route, ids))
        if not urls:
            continue
        real, *hostile = urls
        page = probe.check("get", real)
        for url in hostile:
            probe.check("get", url)
        # Query values reach a view that answered; one that sent the persona away (sign in,
        # not yours, wrong method) did so before reading them.
        if page.status_code == 200 and (not route.is_admin or route.name.endswith("_changelist")):
            apps_page = route.name.split(":")[0] in ("partners", "suppliers", "training")
            for query in _query_strings(admin=route.is_admin, one_key_at_a_time=apps_page):
                probe.check("get", f"{real}?{query}")
        if route.name.split(":")[-1] in SKIP_POST or (
            route.is_admin and not route.name.endswith(("_add", "_change"))
        ):
            continue
        probe.check("post", real)
        if page.status_code not in (200, 405) or route.name.endswith("_change"):
            continue  # (an admin change form is the add form's class, validated alike)
        fields = _form_fields(page.content.decode(errors="replace")) if not page.streaming else []
        for value in POST_HOSTILE:
            probe.check("post", real, dict.fromkeys(fields or QUERY_KEYS, value))

    failures = "\n".join(probe.failures)
    assert not probe.failures, f"{len(probe.failures)} of {probe.requests} failed:\n{failures}"


def test_the_walk_covers_the_apps_allauth_and_the_admin():
    names = {route.name for route in ROUTES}
    assert {
        "suppliers:export",
        "training:enrolment_act",
        "account_login",
        "account_reset_password_from_key",
        "admin:training_certificate_change",
        "verify_certificate",
    } <= names


def test_signing_out_with_hostile_values_only_redirects(brand_staff):
    client = Client(raise_request_exception=False)
    client.force_login(brand_staff)
    response = client.post(reverse("account_logout"), {"next": "a\r\nX-Injected: 1"})
    assert response.status_code == 302
    assert "X-Injected" not in str(response.headers)
