"""Merge two records of one factory: everything that names the merged record moves to the
survivor, in one transaction, and the merge is recorded.

What suppliers own (brand links, managers, aliases, match decisions, import rows) is moved
here. Apps above suppliers move their own rows through a hook registered in their
``AppConfig.ready`` (``register_merge_hook``): training moves enrolments (and with them
participants, visits, KPI readings and certificates) and decides what happens to two active
enrolments of one module. Whatever else still points at the merged record (a relation added
later) is moved as it is, so nothing is ever deleted with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from partners.models import Membership, Partner
from score_portal import events
from score_portal.emails import queue_email
from score_portal.scope import forget_scope
from suppliers.importing.normalise import match_keys
from suppliers.models import (
    BrandSupplier,
    DuplicateCandidate,
    Factory,
    FactoryAlias,
    FactoryManager,
    FactoryMerge,
    SupplierImportRow,
    SupplierMatchDecision,
)

if TYPE_CHECKING:
    from score_portal.models import User

Kind = FactoryAlias.Kind

# Blank on the survivor, given on the merged record: the survivor takes the value (the same
# rule as an import: blanks are filled, nothing is overwritten).
FILLED_FIELDS = (
    "name_latin",
    "city",
    "sector",
    "product_type",
    "workers_total",
    "workers_women",
    "registration_number",
    "parent_company",
    "contact_name",
    "contact_email",
    "contact_phone",
    "os_id",
)
# The merged record's fields kept in the merge record.
RECORD_FIELDS = (
    "name",
    "address",
    "country",
    "language",
    *FILLED_FIELDS,
)


class MergeError(Exception):
    """The merge cannot be done; the message says why, for the person merging."""


class MergeChanged(MergeError):
    """What would move changed since the person saw the preview."""


@dataclass
class MergeStep:
    """What a part of the portal moves: lines of "label: count", notes on what it decided,
    blockers that refuse the merge, and the models it moved itself."""

    lines: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    models: tuple[type[models.Model], ...] = ()


# hook(merged=, survivor=, apply=, actor=) -> MergeStep. With apply=False it only says what
# it would do (the preview); with apply=True it does it, inside the merge's transaction.
MergeHook = Callable[..., MergeStep]
_HOOKS: list[MergeHook] = []


def register_merge_hook(hook: MergeHook) -> None:
    """Let an app above suppliers move its own rows of a merged factory."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


@dataclass
class MergePlan:
    survivor: Factory
    merged: Factory
    lines: list[tuple[str, int]]
    notes: list[str]
    blockers: list[str]
    filled: list[tuple[str, Any]]
    aliases: list[tuple[str, str, Partner | None]]
    brands: list[Partner]

    @property
    def fingerprint(self) -> str:
        """Changes whenever what the merge would do changes (the confirm checks it)."""
        data = [
            self.survivor.pk,
            self.merged.pk,
            self.lines,
            self.notes,
            self.blockers,
            [(name, str(value)) for name, value in self.filled],
            [(kind, value, brand.pk if brand else None) for kind, value, brand in self.aliases],
        ]
        return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()[:32]


def _label(model: type[models.Model]) -> str:
    return str(model._meta.verbose_name_plural)


def _reverse_relations() -> list[models.ForeignObjectRel]:
    """Every relation that points at a factory, hidden ones (``related_name="+"``) too."""
    return [
        rel
        for rel in Factory._meta.get_fields(include_hidden=True)
        if isinstance(rel, models.ForeignObjectRel) and not rel.many_to_many
    ]


def _own_models() -> tuple[type[models.Model], ...]:
    return (
        BrandSupplier,
        FactoryManager,
        FactoryAlias,
        FactoryMerge,
        DuplicateCandidate,
        SupplierImportRow,
        SupplierMatchDecision,
    )


def _check(survivor: Factory, merged: Factory) -> None:
    if survivor.pk == merged.pk:
        raise MergeError(_("A factory cannot be merged into itself."))
    if survivor.country != merged.country:
        raise MergeError(
            _(
                "These records are in different countries (%(a)s, %(b)s): correct the "
                "country of the wrong one first."
            )
            % {"a": survivor.country.name, "b": merged.country.name}
        )


def _filled(survivor: Factory, merged: Factory) -> list[tuple[str, Any]]:
    filled: list[tuple[str, Any]] = []
    total = survivor.workers_total
    for name in FILLED_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(merged, name)
        if mine not in ("", None) or theirs in ("", None):
            continue
        if name == "workers_total":
            total = theirs
        if name == "workers_women" and total is not None and theirs > total:
            continue  # would break "women within total"
        filled.append((name, theirs))
    return filled


def _aliases(survivor: Factory, merged: Factory) -> list[tuple[str, str, Partner | None]]:
    """The merged record's names and identifiers, kept as the survivor's aliases (what the
    survivor already holds itself needs no alias)."""
    aliases: list[tuple[str, str, Partner | None]] = []
    own_names = {survivor.name.casefold(), survivor.name_latin.casefold()}
    for name in (merged.name, merged.name_latin):
        if name and name.casefold() not in own_names:
            aliases.append((Kind.NAME, name, None))
            own_names.add(name.casefold())
    if merged.os_id and survivor.os_id:
        aliases.append((Kind.OS_ID, merged.os_id, None))
    if merged.registration_number and survivor.registration_number not in (
        "",
        merged.registration_number,
    ):
        aliases.append((Kind.REGISTRATION, merged.registration_number, None))
    for link in merged.brand_links.select_related("brand").order_by("brand__name", "pk"):
        if link.supplier_code:
            aliases.append((Kind.SUPPLIER_CODE, link.supplier_code, link.brand))
    return aliases


def _brand_links(survivor: Factory, merged: Factory, *, apply: bool) -> tuple[int, list[str]]:
    """Links of brands that listed only the merged record move; a brand that listed both
    keeps one link, the survivor's, with its code (or the merged record's code when the
    survivor's link had none); the other code stays an alias of the factory."""
    kept = {link.brand_id: link for link in survivor.brand_links.all()}
    moved, notes = 0, []
    for link in merged.brand_links.select_related("brand").order_by("brand__name", "pk"):
        own = kept.get(link.brand_id)
        if own is None:
            moved += 1
            if apply:
                BrandSupplier.objects.filter(pk=link.pk).update(factory=survivor)
            continue
        if own.supplier_code and link.supplier_code and own.supplier_code != link.supplier_code:
            notes.append(
                _(
                    "%(brand)s listed both records: its code %(kept)s is kept, %(other)s "
                    "stays searchable as an alias."
                )
                % {"brand": link.brand, "kept": own.supplier_code, "other": link.supplier_code}
            )
        elif not own.supplier_code and link.supplier_code:
            notes.append(
                _("%(brand)s listed both records: its code %(code)s now names the factory.")
                % {"brand": link.brand, "code": link.supplier_code}
            )
        else:
            notes.append(
                _("%(brand)s listed both records: one link is kept.") % {"brand": link.brand}
            )
        if apply:
            link.delete()
            if not own.supplier_code and link.supplier_code:
                BrandSupplier.objects.filter(pk=own.pk).update(supplier_code=link.supplier_code)
    return moved, notes


def _run_hooks(
    survivor: Factory, merged: Factory, *, apply: bool, actor: User | None
) -> list[MergeStep]:
    return [hook(merged=merged, survivor=survivor, apply=apply, actor=actor) for hook in _HOOKS]


def _other_relations(
    steps: list[MergeStep],
) -> list[models.ForeignObjectRel]:
    handled = set(_own_models())
    for step in steps:
        handled.update(step.models)
    return [rel for rel in _reverse_relations() if rel.related_model not in handled]


def plan_merge(*, survivor: Factory, merged: Factory) -> MergePlan:
    """What merging ``merged`` into ``survivor`` would do; changes nothing."""
    _check(survivor, merged)
    lines: list[tuple[str, int]] = []
    notes: list[str] = []
    blockers: list[str] = []
    moved_links, link_notes = _brand_links(survivor, merged, apply=False)
    lines.append((_label(BrandSupplier), moved_links))
    notes += link_notes
    survivor_managers = set(survivor.managers.values_list("user_id", flat=True))
    lines.append(
        (
            _label(FactoryManager),
            merged.managers.exclude(user_id__in=survivor_managers).count(),
        )
    )
    steps = _run_hooks(survivor, merged, apply=False, actor=None)
    for step in steps:
        lines += step.lines
        notes += step.notes
        blockers += step.blockers
    for rel in _other_relations(steps):
        count = rel.related_model._base_manager.filter(**{rel.field.name: merged}).count()  # type: ignore[union-attr]
        if count:
            lines.append((_label(rel.related_model), count))  # type: ignore[arg-type]
    brands = list(
        Partner.objects.filter(supplier_links__factory__in=[survivor, merged])
        .distinct()
        .order_by("name")
    )
    return MergePlan(
        survivor=survivor,
        merged=merged,
        lines=lines,
        notes=notes,
        blockers=blockers,
        filled=_filled(survivor, merged),
        aliases=_aliases(survivor, merged),
        brands=brands,
    )


def merge_factories(
    *,
    survivor_id: int,
    merged_id: int,
    actor: User,
    reason: str,
    fingerprint: str | None = None,
) -> FactoryMerge:
    """Merge the factory ``merged_id`` into ``survivor_id``: move every row that names it,
    keep its names and identifiers as aliases, fill the survivor's blanks, record the merge,
    tell the brands that list the factory, and delete the merged record. All or nothing.

    ``fingerprint`` is the preview's: if what would move changed since, nothing is done
    (``MergeChanged``)."""
    reason = reason.strip()
    if not reason:
        raise MergeError(_("Say why these records are one factory."))
    with transaction.atomic():
        locked = {
            f.pk: f
            for f in Factory.objects.select_for_update()
            .filter(pk__in=[survivor_id, merged_id])
            .order_by("pk")
        }
        if survivor_id not in locked or merged_id not in locked:
            raise MergeError(_("One of the two records no longer exists (merged already?)."))
        survivor, merged = locked[survivor_id], locked[merged_id]
        plan = plan_merge(survivor=survivor, merged=merged)
        if plan.blockers:
            raise MergeError(" ".join(plan.blockers))
        if fingerprint is not None and fingerprint != plan.fingerprint:
            raise MergeChanged(
                _("Something about these records changed since the preview: check it again.")
            )
        record = FactoryMerge.objects.create(
            survivor=survivor,
            merged_factory_id=merged.pk,
            merged_name=merged.name,
            merged_record={
                name: str(getattr(merged, name)) if getattr(merged, name) is not None else None
                for name in RECORD_FIELDS
            },
            reason=reason,
            merged_by=actor,
        )
        lines: list[tuple[str, int]] = []
        notes: list[str] = []
        # Aliases first: the merged record's own aliases come along, then its names and ids.
        FactoryAlias.objects.filter(factory=merged).update(factory=survivor)
        address_key = match_keys(merged.name, merged.name_latin, merged.address)[2]
        for kind, value, brand in plan.aliases:
            keys: dict[str, str] = {}
            if kind == Kind.NAME:
                keys = {"match_name": match_keys(value, "", "")[0], "match_address": address_key}
            if kind == Kind.OS_ID and FactoryAlias.objects.filter(kind=kind, value=value).exists():
                continue
            FactoryAlias.objects.create(
                factory=survivor, kind=kind, value=value, brand=brand, merge=record, **keys
            )
        moved_links, link_notes = _brand_links(survivor, merged, apply=True)
        lines.append((_label(BrandSupplier), moved_links))
        notes += link_notes
        survivor_managers = set(survivor.managers.values_list("user_id", flat=True))
        moving = list(merged.managers.exclude(user_id__in=survivor_managers).select_related("user"))
        FactoryManager.objects.filter(pk__in=[m.pk for m in moving]).update(factory=survivor)
        lines.append((_label(FactoryManager), len(moving)))
        steps = _run_hooks(survivor, merged, apply=True, actor=actor)
        for step in steps:
            lines += step.lines
            notes += step.notes
        # A pair with the merged record is settled, or will be found again with the survivor.
        DuplicateCandidate.objects.filter(
            models.Q(factory_a=merged) | models.Q(factory_b=merged)
        ).delete()
        FactoryMerge.objects.filter(survivor=merged).update(survivor=survivor)
        SupplierImportRow.objects.filter(factory_id=merged.pk).update(factory_id=survivor.pk)
        SupplierImportRow.objects.filter(candidate_id=merged.pk).update(candidate_id=survivor.pk)
        decided = SupplierMatchDecision.objects.filter(factory=survivor).values_list(
            "brand_id", "row_key"
        )
        taken = set(decided)
        for decision in SupplierMatchDecision.objects.filter(factory=merged):
            if (decision.brand_id, decision.row_key) in taken:
                decision.delete()
            else:
                SupplierMatchDecision.objects.filter(pk=decision.pk).update(factory=survivor)
        for rel in _other_relations(steps):
            manager = rel.related_model._base_manager  # type: ignore[union-attr]
            count = manager.filter(**{rel.field.name: merged}).update(**{rel.field.name: survivor})
            if count:
                lines.append((_label(rel.related_model), count))  # type: ignore[arg-type]
        # The survivor takes what it lacked; the merged record's OS ID is freed first.
        if plan.filled:
            Factory.objects.filter(pk=merged.pk).update(os_id="")
            for name, value in plan.filled:
                setattr(survivor, name, value)
        # Read by django-simple-history when it keeps the factories' history (a change
        # reason on both records' history rows); ignored without it.
        note = f"Merge {record.pk}: record {merged.pk} merged into {survivor.pk}. {reason}"
        survivor._change_reason = merged._change_reason = note[:100]  # type: ignore[attr-defined]
        survivor.save()
        merged.delete()
        record.moved = [{"label": label, "count": count} for label, count in lines]
        record.notes = notes
        record.save(update_fields=["moved", "notes"])
        _notify_brands(record, plan.brands)
        # The brands that list either record hear of it, as they are emailed.
        events.emit(
            "factory.merged",
            organisation_ids=[brand.pk for brand in plan.brands],
            object_type="factory",
            object_id=survivor.pk,
            data={
                "merge_id": record.pk,
                "survivor_id": survivor.pk,
                "merged_id": merged_id,
                "os_id": survivor.os_id,
            },
        )
    for manager in moving:
        forget_scope(manager.user)
    return record


def _notify_brands(record: FactoryMerge, brands: list[Partner]) -> None:
    """Every brand with either record on its list is told, in each person's language."""
    if not brands:
        return
    people = (
        Membership.objects.filter(
            partner__in=brands,
            role__in=[*Membership.ACTING_ROLES, Membership.Role.VIEWER],
            user__is_active=True,
        )
        .select_related("user", "partner")
        .order_by("user_id", "partner__name")
    )
    by_user: dict[int, tuple[Any, list[Partner]]] = {}
    for membership in people:
        entry = by_user.setdefault(membership.user_id, (membership.user, []))
        entry[1].append(membership.partner)
    codes = {
        link.brand_id: link.supplier_code
        for link in BrandSupplier.objects.filter(factory=record.survivor)
    }
    for user, partners in by_user.values():
        queue_email(
            to=user.email,
            template="factory_merged",
            context={
                "recipient": user,
                "merge": record,
                "factory": record.survivor,
                "brands": [(p, codes.get(p.pk, "")) for p in partners],
            },
            language=user.language or None,
            link=record.survivor.get_absolute_url(),
        )
