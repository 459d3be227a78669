"""The search box: factories, enrolments, cohorts, partnerships and certificates one may see,
found by one query and ranked.

Everything starts from ``Model.objects.visible_to(scope)``: a result, and a count, never
includes what the person cannot open. Factories are found by any name in any script through
the stored ``Factory.search_key`` (``suppliers.importing.normalise.search_key``: Latin
folding, Chinese in pinyin), by OS ID, national registration number, the brand's supplier
code and every alias a merge left. On PostgreSQL the trigram index answers the names
(word by word in any order, and near spellings: "Huamai") and trigram word similarity ranks
them; partnerships rank by full text (``SearchVector`` over title and partner). On SQLite the
plain fallback is substring matching on the same normalised keys, ranked by identifier, then
start of the name, then anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    TrigramWordSimilarity,
)
from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    Expression,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from partners.models import Partnership
from score_portal.scope import Scope
from suppliers.importing.normalise import search_terms
from suppliers.models import BrandSupplier, Factory, FactoryAlias
from suppliers.selectors import alias_reach
from training.models import Certificate, Cohort, Enrolment

# Shorter queries find too much to rank usefully; the page asks for more.
MIN_LENGTH = 2
MAX_LENGTH = 200
# Results shown per kind on the page of all kinds, and on a page of one kind.
PER_KIND = 10
ONE_KIND = 100

KINDS = {
    "factories": _("Factories"),
    "enrolments": _("Enrolments"),
    "cohorts": _("Cohorts"),
    "partnerships": _("Partnerships"),
    "certificates": _("Certificates"),
}

_NOT_CODE = re.compile(r"[^0-9A-Z]")


@dataclass
class Group:
    """One kind of result: how many match, and the best of them."""

    kind: str
    label: str
    count: int
    results: list[Any] = field(default_factory=list)


@dataclass
class Search:
    """What a query found, kind by kind (kinds with nothing found are left out)."""

    query: str
    groups: list[Group]
    too_short: bool = False

    @property
    def total(self) -> int:
        return sum(group.count for group in self.groups)


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class _Query:
    """A query as each kind compares it."""

    text: str  # as typed, trimmed
    terms: tuple[str, ...]  # normalised name forms (search_terms), longest first
    ident: str  # upper case, without spaces: an OS ID, a code
    words: tuple[tuple[str, ...], ...]  # each word's search_terms, for words in any order
    # The ids of the factories it names, by the asking person (``_factory_ids``).
    ids: dict[int | None, list[int]] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, text: str) -> _Query:
        text = " ".join(text.split())[:MAX_LENGTH]
        words = tuple(filter(None, (tuple(search_terms(w)) for w in text.split())))
        return cls(text, tuple(search_terms(text)), "".join(text.split()).upper(), words)

    @property
    def certificate_code(self) -> str:
        """The query as a certificate code (ABCD-EFGH-JKLM-NPQR), dashes and case aside."""
        raw = _NOT_CODE.sub("", self.ident)
        if len(raw) == 16:
            return "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        return ""


def _name_match(query: _Query) -> Q:
    """A factory's names contain the query: whole (any of its forms), or word by word in any
    order ("Garment Huamei"). Every branch is one the trigram index answers."""
    found = Q(pk__in=[])  # nothing, for a query of punctuation only
    for term in query.terms:
        found |= Q(search_key__contains=term)
    if len(query.words) > 1:
        every_word = Q()
        for forms in query.words:
            one = Q(pk__in=[])
            for term in forms:
                one |= Q(search_key__contains=term)
            every_word &= one
        found |= every_word
    return found


def _near_match(query: _Query) -> Q:
    """Near spellings (typos: pg_trgm's word similarity above its threshold, 0.6), asked only
    when no name or identifier finds a factory."""
    return Q(TrigramWordSimilar(F("search_key"), Value(query.terms[0])))


def _identified(scope: Scope, query: _Query) -> Q:
    """A factory named by an identifier: its OS ID, registration number, the brand's
    supplier code, or an alias (a merged record's name or identifier)."""
    codes = BrandSupplier.objects.visible_to(scope).filter(supplier_code__iexact=query.text)
    aliases = FactoryAlias.objects.filter(alias_reach(scope)).filter(
        Q(
            kind__in=[
                FactoryAlias.Kind.OS_ID,
                FactoryAlias.Kind.SUPPLIER_CODE,
                FactoryAlias.Kind.REGISTRATION,
            ],
            value__iexact=query.text,
        )
        | Q(kind=FactoryAlias.Kind.OS_ID, value=query.ident)
        | _alias_name(query)
    )
    return (
        Q(os_id=query.ident)
        | Q(registration_number__iexact=query.text)
        | Q(pk__in=codes.values("factory_id"))
        | Q(pk__in=aliases.values("factory_id"))
    )


def _alias_name(query: _Query) -> Q:
    """A name a merged record had: its stored match key holds the name's words joined."""
    found = Q(pk__in=[])
    for term in query.terms:
        found |= Q(kind=FactoryAlias.Kind.NAME, match_name__contains=term)
    return found


def _factory_ids(scope: Scope, query: _Query) -> list[int]:
    """The ids of the factories the query names (not yet narrowed to the scope: each kind's
    ``visible_to`` does that), read once per search: the names in a query of their own,
    which PostgreSQL answers from the trigram index, the identifiers in another. Each kind
    then filters on the ids (one array parameter, ``any_of``) instead of repeating both as
    subqueries (about 65 ms each at 10,000 factories)."""
    key = scope.user_id
    if key not in query.ids:
        every = Factory.objects.order_by()
        # The trigram index holds only the factories with a search key (a new one has its
        # key a moment after its import): the condition lets PostgreSQL use it.
        names = every.exclude(search_key="")
        named = set(names.filter(_name_match(query)).values_list("pk", flat=True))
        named.update(every.filter(_identified(scope, query)).values_list("pk", flat=True))
        if not named and query.terms and _on_postgresql():
            near = names.filter(_near_match(query)).values_list("pk", flat=True)
            with transaction.atomic(), connection.cursor() as cursor:
                # The planner prices pg_trgm's word-similarity operator so that it scans
                # the table (50 ms at 10,000 factories) instead of the trigram index (4 ms).
                cursor.execute("SET LOCAL enable_seqscan = off")
                named.update(near)
        query.ids[key] = sorted(named)
    return query.ids[key]


def _exact_identifier(scope: Scope, query: _Query) -> Q:
    """What ranks a factory first: the query is its OS ID or the brand's code for it."""
    codes = BrandSupplier.objects.visible_to(scope).filter(
        factory_id=OuterRef("pk"), supplier_code__iexact=query.text
    )
    return Q(os_id=query.ident) | Q(Exists(codes))


def factories(scope: Scope, query: _Query) -> QuerySet[Factory]:
    """Factories one may see that the query names, best first (``rank``): an identifier,
    then on PostgreSQL trigram word similarity to the query (a whole word of a name scores
    highest; a full-text rank beside it never outranked it, and cost half the query's time
    at thousands of matches), on SQLite a name that starts with the query."""
    found = Factory.objects.visible_to(scope).filter(pk__any_of=_factory_ids(scope, query))
    rank: Expression
    if _on_postgresql():
        rank = TrigramWordSimilarity(query.terms[0], "search_key") if query.terms else Value(0.0)
    else:
        starts = Q(pk__in=[])
        for term in query.terms:
            starts |= Q(search_key__startswith=term) | Q(search_key__contains=f" {term}")
        rank = Case(When(starts, then=Value(0.8)), default=Value(0.5), output_field=FloatField())
    return found.annotate(
        rank=Case(
            When(_exact_identifier(scope, query), then=Value(2.0)),
            default=rank,
            output_field=FloatField(),
        )
    ).order_by("-rank", "name", "pk")


def enrolments(scope: Scope, query: _Query) -> QuerySet[Enrolment]:
    """Enrolments one may see of the factories the query names, newest first."""
    return (
        Enrolment.objects.visible_to(scope)
        .filter(factory_id__any_of=_factory_ids(scope, query))
        .select_related("factory", "module", "partnership")
        .order_by("-created_at", "pk")
    )


def cohorts(scope: Scope, query: _Query) -> QuerySet[Cohort]:
    """Cohorts one may see by their city, module, provider or trainer, or with a factory
    the query names among their enrolments; the latest classroom first."""
    text = query.text
    enrolled = Enrolment.objects.filter(
        cohort_id=OuterRef("pk"), factory_id__any_of=_factory_ids(scope, query)
    )
    return (
        Cohort.objects.visible_to(scope)
        .filter(
            Q(venue_city__icontains=text)
            | Q(module__code__iexact=text)
            | Q(module__title__icontains=text)
            | Q(provider__name__icontains=text)
            | Q(provider__short_name__iexact=text)
            | Q(trainer__full_name__icontains=text)
            | Q(Exists(enrolled))
        )
        .select_related("module", "provider", "trainer")
        .order_by("-classroom_start", "pk")
    )


def partnerships(scope: Scope, query: _Query) -> QuerySet[Partnership]:
    """Partnerships one may see by title or partner, best first."""
    text = query.text
    found = Partnership.objects.visible_to(scope).filter(
        Q(title__icontains=text)
        | Q(partner__name__icontains=text)
        | Q(partner__short_name__iexact=text)
    )
    if _on_postgresql():
        rank = SearchRank(
            SearchVector("title", "partner__name", config="simple"),
            SearchQuery(text, search_type="websearch", config="simple"),
        )
        found = found.annotate(rank=rank).order_by("-rank", "-start_date", "pk")
    else:
        found = found.order_by("-start_date", "pk")
    return found.select_related("partner")


def certificates(scope: Scope, query: _Query) -> QuerySet[Certificate]:
    """Certificates one may see by their code (whole, or four characters or more of it),
    or of the factories the query names; newest first."""
    by_code = Q(code=query.certificate_code) if query.certificate_code else Q(pk__in=[])
    if len(query.ident) >= 4:
        by_code |= Q(code__icontains=query.ident)
    return (
        Certificate.objects.visible_to(scope)
        .filter(by_code | Q(enrolment__factory_id__any_of=_factory_ids(scope, query)))
        .select_related("enrolment__factory", "enrolment__module")
        .order_by("-created_at", "pk")
    )


_FINDERS = {
    "factories": factories,
    "enrolments": enrolments,
    "cohorts": cohorts,
    "partnerships": partnerships,
    "certificates": certificates,
}


def search(scope: Scope, text: str, kind: str = "") -> Search:
    """What ``text`` finds within ``scope``: every kind (the best ``PER_KIND`` of each), or
    one kind (the best ``ONE_KIND``). Counts are of what the person may see."""
    query = _Query.of(text)
    if len(query.text) < MIN_LENGTH:
        return Search(query=query.text, groups=[], too_short=bool(query.text))
    kinds = [kind] if kind in _FINDERS else list(_FINDERS)
    limit = ONE_KIND if kind in _FINDERS else PER_KIND
    groups = []
    for name in kinds:
        found = _FINDERS[name](scope, query)
        results = list(found[:limit])
        count = len(results) if len(results) < limit else found.count()
        if count:
            groups.append(Group(kind=name, label=str(KINDS[name]), count=count, results=results))
    return Search(query=query.text, groups=groups)
