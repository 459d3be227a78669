"""Writes about factories and brands' supplier lists, and supplier-list imports."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partners.models import Partner
from score_portal import events, jobs
from score_portal.access import can_decide_factory_change, can_manage_supplier_list
from score_portal.emails import queue_email
from score_portal.scope import forget_scope, scope_of
from score_portal.transitions import Transitions
from suppliers.importing import ImportFileError
from suppliers.importing.analysis import analyse_table
from suppliers.importing.changes import settle_stored
from suppliers.importing.columns import map_headers
from suppliers.importing.parsing import CSV_EXTENSIONS, XLSX_EXTENSIONS, open_table
from suppliers.importing.writing import (
    PreviewWriter,
    mark_same_factory,
    needs_statistics,
    write_rows,
)
from suppliers.models import (
    BrandSupplier,
    Factory,
    FactoryChange,
    FactoryManager,
    SupplierImport,
    SupplierImportRow,
    SupplierMatchDecision,
)

if TYPE_CHECKING:
    from score_portal.models import User

logger = logging.getLogger(__name__)
Status = SupplierImport.Status
Outcome = SupplierImportRow.Outcome


class SupplierError(Exception):
    """A rule about suppliers was broken; the message is for the person who tried."""


# --- An import's lifecycle: every allowed move, and who makes it ---------------------------
# The worker's moves are the job's steps (``jobs.register`` in suppliers/models.py: read,
# then write; a failed attempt; a dead worker's row handed back), kept equal to this table
# by a test; the brand's is ``confirm_import``; the ILO's is the admin's retry of a failed
# import (it reads the file again). Pages ask ``allowed_moves`` which buttons to show.
BRAND, WORKER, ILO = "brand", "worker", "ilo"
TRANSITIONS = Transitions(
    {
        (Status.UPLOADED, Status.ANALYSING): WORKER,
        (Status.ANALYSING, Status.PREVIEWED): WORKER,
        (Status.ANALYSING, Status.FAILED): WORKER,
        (Status.ANALYSING, Status.UPLOADED): WORKER,
        (Status.PREVIEWED, Status.CONFIRMED): BRAND,
        (Status.CONFIRMED, Status.IMPORTING): WORKER,
        (Status.IMPORTING, Status.DONE): WORKER,
        (Status.IMPORTING, Status.FAILED): WORKER,
        (Status.IMPORTING, Status.CONFIRMED): WORKER,
        (Status.FAILED, Status.UPLOADED): ILO,
    }
)


def allowed_moves(supplier_import: SupplierImport, user: User) -> list[str]:
    """The statuses ``user`` may move ``supplier_import`` to now (the brand's confirm)."""
    return TRANSITIONS.allowed_moves(
        supplier_import.status,
        lambda who: (
            who == BRAND and can_manage_supplier_list(scope_of(user), supplier_import.brand_id)
        ),
    )


def awaits_decisions(supplier_import: SupplierImport) -> bool:
    """Match decisions are taken while the brand may still confirm the preview."""
    return TRANSITIONS.allows(supplier_import.status, Status.CONFIRMED)


def link_supplier(*, brand: Partner, factory: Factory, supplier_code: str = "") -> BrandSupplier:
    """Put ``factory`` on ``brand``'s supplier list with the brand's own code for it."""
    if not brand.is_funding:
        raise SupplierError(f"{brand} is not a brand or initiative, so it keeps no supplier list.")
    supplier_code = supplier_code.strip()
    try:
        with transaction.atomic():
            link, _created = BrandSupplier.objects.update_or_create(
                brand=brand, factory=factory, defaults={"supplier_code": supplier_code}
            )
    except IntegrityError:
        raise SupplierError(
            f"Supplier code {supplier_code!r} is already used for another factory on "
            f"{brand}'s list."
        ) from None
    return link


def add_factory_manager(*, factory: Factory, user: User) -> FactoryManager:
    """Let ``user`` answer for ``factory``: confirm enrolments, name participants, record KPIs."""
    manager, _created = FactoryManager.objects.get_or_create(factory=factory, user=user)
    forget_scope(user)
    return manager


# --- Supplier-list imports ----------------------------------------------------------------


def start_import(
    *,
    brand: Partner,
    user: User | None,
    upload: UploadedFile,
    encoding: str = "",
    mode: str = SupplierImport.Mode.ADDITIONS,
) -> SupplierImport:
    """Store an uploaded list and read it into a preview: at once for a small file, by the
    worker for a large one (the import page then shows progress). Writes no factory.
    ``mode``: the brand's whole list (suppliers it leaves out leave the list on confirm),
    or additions and changes (no supplier leaves)."""
    if mode not in SupplierImport.Mode.values:
        raise SupplierError(_("Say whether the file is your whole list or additions."))
    if user is not None and not can_manage_supplier_list(scope_of(user), brand.pk):
        raise SupplierError(_("You may not import suppliers for %(brand)s.") % {"brand": brand})
    filename = (upload.name or "suppliers.csv").rsplit("/", 1)[-1][:255]
    if not filename.lower().endswith(CSV_EXTENSIONS + XLSX_EXTENSIONS):
        raise SupplierError(_("Upload a .csv, .txt or .xlsx file."))
    limit = settings.SUPPLIER_IMPORT_MAX_BYTES
    if (upload.size or 0) > limit:
        raise SupplierError(
            _("The file is larger than %(limit)s MB. Split the list into smaller files.")
            % {"limit": round(limit / (1024 * 1024), 1)}
        )
    if not upload.size:
        raise SupplierError(_("The file is empty."))
    supplier_import = SupplierImport.objects.create(
        brand=brand,
        uploaded_by=user,
        file=upload,
        original_filename=filename,
        encoding=encoding,
        mode=mode,
    )
    if upload.size <= settings.SUPPLIER_IMPORT_INLINE_BYTES:
        analyse_import(import_id=supplier_import.pk)
        supplier_import.refresh_from_db()
    else:
        # Safe in the database either way: if the broker is down, the sweep queues it later.
        jobs.queue_after_commit(SupplierImport, supplier_import.pk, working=Status.ANALYSING)
    return supplier_import


def _claim(import_id: int, *, to: str) -> jobs.Claim | None:
    """Take the import for this worker, to read it (``to`` ANALYSING) or write it
    (IMPORTING); None if another worker has it (so a task run twice does the work once)."""
    return jobs.claim(SupplierImport, import_id, working=to, changes={"progress": 0})


def analyse_import(*, import_id: int, notify: bool = False) -> bool:
    """Read the stored file into preview rows. Safe to run twice: the import is claimed
    first, and only an uploaded one can be. Returns False if there was nothing to do."""
    held = _claim(import_id, to=Status.ANALYSING)
    if held is None:
        return False
    supplier_import = SupplierImport.objects.select_related("uploaded_by", "brand").get(
        pk=import_id
    )
    try:
        _read_into_preview(supplier_import, held=held, notify=notify)
    except ClaimLost:
        # The sweep gave the import to another worker (this one outlived its time limit).
        logger.warning("Supplier import %s was taken over while reading", import_id)
        return False
    return True


def _read_into_preview(supplier_import: SupplierImport, *, held: jobs.Claim, notify: bool) -> None:
    import_id = supplier_import.pk
    SupplierImportRow.objects.filter(supplier_import=supplier_import).delete()

    def progress(fraction: float) -> None:
        SupplierImport.objects.filter(pk=import_id).update(progress=min(99, int(fraction * 100)))

    error = failure = ""
    try:
        with supplier_import.file.open("rb") as stream:
            table = open_table(
                stream,
                filename=supplier_import.original_filename,
                encoding=supplier_import.encoding,
            )
            SupplierImport.objects.filter(pk=import_id).update(
                encoding=table.encoding,
                headers=table.headers,
                ignored_columns=map_headers(table.headers)[1],
            )
            analyse_table(
                table,
                brand_id=supplier_import.brand_id,
                writer=PreviewWriter(supplier_import),
                progress=progress,
                # A long list is prepared by a helper process on the other core.
                parallel=supplier_import.file.size > settings.SUPPLIER_IMPORT_PARALLEL_BYTES,
            )
    except ImportFileError as exc:
        error = str(exc)
    except SoftTimeLimitExceeded as exc:
        error, failure = _too_long_message(), jobs.error_text(exc)
    except Exception as exc:
        logger.exception("Supplier import %s could not be read", import_id)
        error = _("The file could not be read. Check that it is a CSV or XLSX supplier list.")
        failure = jobs.error_text(exc)
    if error:
        # Finished first: a worker that lost its claim must not delete its successor's rows.
        _finish(
            supplier_import, held, status=Status.FAILED, error=error, failure=failure, notify=notify
        )
        SupplierImportRow.objects.filter(supplier_import=supplier_import).delete()
        return
    supplier_import.refresh_from_db()
    count_rows(supplier_import)
    _finish(supplier_import, held, status=Status.PREVIEWED, notify=notify)


def count_rows(supplier_import: SupplierImport) -> SupplierImport:
    """Store how many rows each outcome has (what the preview and history show)."""
    counts = dict(
        SupplierImportRow.objects.filter(supplier_import=supplier_import)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    supplier_import.rows_new = counts.get(Outcome.NEW, 0)
    supplier_import.rows_matched = counts.get(Outcome.MATCHED, 0)
    supplier_import.rows_updated = counts.get(Outcome.UPDATED, 0)
    supplier_import.rows_unchanged = counts.get(Outcome.UNCHANGED, 0)
    supplier_import.rows_review = counts.get(Outcome.REVIEW, 0)
    supplier_import.rows_error = counts.get(Outcome.ERROR, 0)
    supplier_import.rows_total = sum(counts.values())
    supplier_import.links_ending = (
        ending_links(supplier_import).count()
        if supplier_import.mode == SupplierImport.Mode.WHOLE
        else 0
    )
    supplier_import.save(
        update_fields=[
            "links_ending",
            "rows_new",
            "rows_matched",
            "rows_updated",
            "rows_unchanged",
            "rows_review",
            "rows_error",
            "rows_total",
        ]
    )
    return supplier_import


# The sweep handed this import to another worker while this one was still at it.
ClaimLost = jobs.ClaimLost


def _finish(
    supplier_import: SupplierImport,
    held: jobs.Claim,
    *,
    status: str,
    error: str = "",
    failure: str = "",
    notify: bool,
) -> None:
    """Record how reading or writing ended (``error`` for the person, ``failure`` for the
    admin when the fault is not the file's), only if this worker's claim still holds (it
    raises ClaimLost otherwise, which rolls a write back), and tell the person."""
    changes: dict[str, object] = {"error_message": error, "progress": 100, "last_error": failure}
    if status in (Status.DONE, Status.FAILED):
        changes["finished_at"] = timezone.now()
    jobs.finish(SupplierImport, supplier_import.pk, held, status=status, **changes)
    changes["status"] = status
    _tell(supplier_import, changes, notify=notify)
    if status in (Status.DONE, Status.FAILED):
        _announce_finished(supplier_import)


def _announce_finished(supplier_import: SupplierImport) -> None:
    """``import.finished`` for the brand whose list it is (score_portal.events)."""
    events.emit(
        "import.finished",
        organisation_ids=[supplier_import.brand_id],
        object_type="supplier_import",
        object_id=supplier_import.pk,
        data={
            "status": supplier_import.status,
            "rows_total": supplier_import.rows_total,
            "rows_valid": supplier_import.rows_valid,
            "original_filename": supplier_import.original_filename,
        },
    )


def _tell(supplier_import: SupplierImport, changes: dict[str, object], *, notify: bool) -> None:
    for field, value in changes.items():
        setattr(supplier_import, field, value)
    user = supplier_import.confirmed_by or supplier_import.uploaded_by
    if notify and user is not None and user.email:
        queue_email(
            to=user.email,
            template="supplier_import_done",
            context={"supplier_import": supplier_import, "recipient": user},
            language=user.language or settings.LANGUAGE_CODE,
            link=supplier_import.get_absolute_url(),
        )


def ending_links(supplier_import: SupplierImport) -> QuerySet[BrandSupplier]:
    """The brand's suppliers a "whole list" file leaves out: on confirm their links end.
    What ``writing._end_missing`` ends, read the same way (a supplier whose code is on an
    error row stays)."""
    rows = SupplierImportRow.objects.filter(supplier_import=supplier_import)
    return (
        BrandSupplier.objects.filter(brand_id=supplier_import.brand_id, ended_at__isnull=True)
        .exclude(
            Exists(rows.filter(factory_id=OuterRef("factory_id")).exclude(outcome=Outcome.ERROR))
        )
        .exclude(
            ~Q(supplier_code="")
            & Exists(
                rows.filter(outcome=Outcome.ERROR)
                .annotate(code=KT("data__supplier_code"))
                .filter(code=OuterRef("supplier_code"))
            )
        )
        .select_related("factory")
        .order_by("factory__name", "pk")
    )


def _resettle(supplier_import: SupplierImport, rows: list[SupplierImportRow]) -> None:
    """After decisions: the rows' changes and outcomes, repeats of one factory, counts."""
    for start in range(0, len(rows), 2000):
        settle_stored(rows[start : start + 2000], supplier_import.brand_id)
    mapping = map_headers(supplier_import.headers)[0]
    column = next(
        (supplier_import.headers[i] for i, f in mapping.items() if f == "supplier_code"), ""
    )
    mark_same_factory(supplier_import.pk, column)
    count_rows(supplier_import)


def decide_match(
    *, row: SupplierImportRow, is_same: bool, user: User | None
) -> list[SupplierImportRow]:
    """Record whether a possible match is the same factory; remembered for the brand's next
    uploads. Every waiting row of the import the answer settles (the same name, address and
    possible match) becomes a match (or a new factory), with the rows repeating them, and
    the counts follow. Returns the rows changed."""
    supplier_import = row.supplier_import
    if not awaits_decisions(supplier_import):
        raise SupplierError(_("This import is no longer waiting for decisions."))
    if row.candidate_id is None or row.outcome != Outcome.REVIEW:
        raise SupplierError(_("This row has no possible match to decide on."))
    with transaction.atomic():
        SupplierMatchDecision.objects.update_or_create(
            brand_id=supplier_import.brand_id,
            row_key=row.row_key,
            factory_id=row.candidate_id,
            defaults={"is_same": is_same, "decided_by": user},
        )
        settled = SupplierImportRow.objects.filter(
            supplier_import=supplier_import,
            outcome=Outcome.REVIEW,
            row_key=row.row_key,
            candidate_id=row.candidate_id,
        )
        return _apply_decisions(supplier_import, settled, is_same=is_same)


def _apply_decisions(
    supplier_import: SupplierImport, settled: QuerySet[SupplierImportRow], *, is_same: bool
) -> list[SupplierImportRow]:
    lines = list(settled.values_list("line", flat=True))
    if is_same:
        settled.update(factory=F("candidate"), outcome=Outcome.MATCHED)
    else:
        settled.update(factory=None, outcome=Outcome.NEW, changes={})
    rows = [
        row
        for start in range(0, len(lines), 2000)
        for row in SupplierImportRow.objects.filter(
            supplier_import=supplier_import, line__in=lines[start : start + 2000]
        )
    ]
    # Their repeats in the file follow them (the same factory).
    for start in range(0, len(lines), 500):
        part = lines[start : start + 500]
        SupplierImportRow.objects.filter(
            supplier_import=supplier_import, duplicate_of__in=part
        ).update(
            factory=Subquery(
                SupplierImportRow.objects.filter(
                    supplier_import=supplier_import, line=OuterRef("duplicate_of")
                ).values("factory_id")[:1]
            )
        )
    _resettle(supplier_import, rows if is_same else [])
    return rows


def decide_all_matches(
    *,
    supplier_import: SupplierImport,
    is_same: bool,
    user: User | None,
    min_score: int | None = None,
) -> int:
    """Accept or reject every possible match still waiting in the import (or, with
    ``min_score``, accept those at least that alike and leave the others waiting): what
    ``decide_match`` does row by row, in one transaction and a few statements. A row whose
    possible match has been deleted meanwhile becomes a new factory. Returns the rows
    decided."""
    if not awaits_decisions(supplier_import):
        raise SupplierError(_("This import is no longer waiting for decisions."))
    if min_score is not None and not 0 <= min_score <= 100:
        raise SupplierError(_("Give a similarity between 0 and 100."))
    brand_id = supplier_import.brand_id
    waiting = SupplierImportRow.objects.filter(
        supplier_import=supplier_import, outcome=Outcome.REVIEW
    )
    if min_score is not None:
        waiting = waiting.filter(score__gte=min_score, candidate__isnull=False)
    with transaction.atomic():
        total = waiting.count()
        decided = waiting.filter(candidate__isnull=False)
        SupplierMatchDecision.objects.bulk_create(
            [
                SupplierMatchDecision(
                    brand_id=brand_id,
                    row_key=row_key,
                    factory_id=candidate_id,
                    is_same=is_same,
                    decided_by=user,
                )
                for row_key, candidate_id in decided.values_list("row_key", "candidate_id")
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["brand", "row_key", "factory"],
            update_fields=["is_same", "decided_by", "decided_at"],
        )
        # Rows whose possible match is gone: new factories.
        waiting.filter(candidate__isnull=True).update(factory=None, outcome=Outcome.NEW)
        _apply_decisions(supplier_import, decided, is_same=is_same)
    return total


def confirm_import(*, supplier_import: SupplierImport, user: User | None) -> SupplierImport:
    """Write the previewed rows: in this request for a short list, by the worker for a long
    one. Either way all valid rows are written in one transaction, or none."""
    if user is not None and not can_manage_supplier_list(scope_of(user), supplier_import.brand_id):
        raise SupplierError(
            _("You may not import suppliers for %(brand)s.") % {"brand": supplier_import.brand}
        )
    if supplier_import.rows_review:
        raise SupplierError(
            ngettext(
                "%(count)s row may be a factory already in the portal: decide on it first.",
                "%(count)s rows may be factories already in the portal: decide on each first.",
                supplier_import.rows_review,
            )
            % {"count": supplier_import.rows_review}
        )
    # Claimed by a conditional update from every status the table lets the brand confirm.
    claimed = SupplierImport.objects.filter(
        pk=supplier_import.pk, status__in=TRANSITIONS.sources(Status.CONFIRMED)
    ).update(
        status=Status.CONFIRMED,
        confirmed_by=user,
        confirmed_at=timezone.now(),
        # Writing is a job of its own: its attempts start again, and the sweep steps in if
        # its task has not come within a minute.
        attempts=0,
        claimed_at=None,
        next_attempt_at=jobs.soon(),
    )
    if not claimed:
        raise SupplierError(_("This import has already been confirmed."))
    if supplier_import.rows_valid <= settings.SUPPLIER_IMPORT_INLINE_ROWS:
        write_import(import_id=supplier_import.pk)
    else:
        jobs.queue_after_commit(SupplierImport, supplier_import.pk, working=Status.IMPORTING)
    supplier_import.refresh_from_db()
    return supplier_import


def progress_key(import_id: int) -> str:
    return f"supplier-import-progress:{import_id}"


def write_import(*, import_id: int, notify: bool | None = None) -> bool:
    """Write a confirmed import in one transaction; on any failure nothing is written and
    the import says why. Safe to run twice (claimed first). Emails the person when done."""
    held = _claim(import_id, to=Status.IMPORTING)
    if held is None:
        return False
    supplier_import = SupplierImport.objects.select_related(
        "brand", "uploaded_by", "confirmed_by"
    ).get(pk=import_id)
    if notify is None:
        notify = supplier_import.rows_valid > settings.SUPPLIER_IMPORT_INLINE_ROWS

    def progress(fraction: float) -> None:
        # Inside the transaction the row is invisible to others: report through the cache.
        cache.set(progress_key(import_id), min(99, int(fraction * 100)), 3600)

    try:
        with transaction.atomic():
            started = timezone.now()
            write_rows(supplier_import, progress=progress)
            # The factories the import created (search key blank) or completed in SQL: their
            # search keys are stored by a task after the commit (``refresh_search_keys``), not
            # in this transaction, which a 100,000-row list would hold for seconds more.
            matched = SupplierImportRow.objects.filter(
                supplier_import=supplier_import, factory_id__isnull=False
            )
            Factory.objects.filter(
                pk__in=matched.values("factory_id"), updated_at__gte=started
            ).exclude(search_key="").update(search_key="")
            transaction.on_commit(lambda: jobs.publish("suppliers.tasks.refresh_search_keys"))
            # So are the planner's statistics of a large import (the import is done without
            # them; the pages that list its suppliers are quick again once they are in).
            rows = supplier_import.rows_valid
            if needs_statistics(rows):
                transaction.on_commit(
                    lambda: jobs.publish("suppliers.tasks.refresh_statistics", rows)
                )
            _finish(supplier_import, held, status=Status.DONE, notify=notify)
    except ClaimLost:
        # Rolled back: the worker the sweep handed the import to writes it (once).
        logger.warning("Supplier import %s was taken over while writing", import_id)
        return False
    except Exception as exc:
        logger.exception("Supplier import %s failed while writing", import_id)
        failure = jobs.error_text(exc)
        if isinstance(exc, SoftTimeLimitExceeded):
            error = _too_long_message()
        elif isinstance(exc, IntegrityError):
            failure = ""  # the person's to solve, not an admin's
            error = _(
                "The supplier list changed while this import was waiting (a supplier code or "
                "OS ID is now taken). Nothing was written; upload the file again."
            )
        else:
            error = _("The import failed and nothing was written. Try again later.")
        supplier_import.refresh_from_db()
        try:
            _finish(
                supplier_import,
                held,
                status=Status.FAILED,
                error=error,
                failure=failure,
                notify=notify,
            )
        except ClaimLost:
            return False
    finally:
        cache.delete(progress_key(import_id))
    return True


# --- Recovery: imports a dead worker or a broker outage left behind ------------------------
# The sweep (score_portal.jobs) hands an import whose worker died back to be read or written
# again (a write died with its transaction, so nothing of it is in the database), and queues
# the ones that never reached a worker. After three deaths it gives the import up, and this
# tells the person.


def _too_long_message() -> str:
    return _(
        "The worker took too long with this list and stopped. Nothing was written; split "
        "the list into smaller files and upload them one by one."
    )


def import_given_up(*, import_id: int) -> bool:
    """The sweep gave the import up after its worker died on it every time: say so on the
    import, drop its half-read preview and email the person. Once (the first call records
    the message; a later one finds it there)."""
    supplier_import = SupplierImport.objects.select_related("uploaded_by", "confirmed_by").get(
        pk=import_id
    )
    error = _(
        "The worker stopped %(count)s times while handling this list. Nothing was "
        "written; upload the file again, or split it into smaller files."
    ) % {"count": supplier_import.attempts}
    changes: dict[str, object] = {
        "error_message": error,
        "progress": 100,
        "finished_at": timezone.now(),
    }
    told = SupplierImport.objects.filter(
        pk=import_id, status=Status.FAILED, error_message="", claimed_at__isnull=True
    ).update(**changes)
    if not told:
        return False
    SupplierImportRow.objects.filter(supplier_import=supplier_import).delete()
    _tell(supplier_import, changes, notify=True)
    _announce_finished(supplier_import)
    return True


# --- Links that end and come back; proposed changes to shared factory data ---------------


def _link_for(user: User | None, link: BrandSupplier) -> None:
    if user is not None and not can_manage_supplier_list(scope_of(user), link.brand_id):
        raise SupplierError(
            _("You may not change %(brand)s's supplier list.") % {"brand": link.brand}
        )


def end_link(*, link: BrandSupplier, user: User | None) -> BrandSupplier:
    """The supplier leaves the brand's list (kept, dated, restorable; enrolments stay)."""
    _link_for(user, link)
    if link.ended_at is None:
        link.ended_at = timezone.now()
        link._change_reason = "ended"  # type: ignore[attr-defined]
        link.save(update_fields=["ended_at"])
    return link


def restore_link(*, link: BrandSupplier, user: User | None) -> BrandSupplier:
    """A supplier that left the brand's list is on it again, with its code."""
    _link_for(user, link)
    if link.ended_at is not None:
        link.ended_at = None
        link._change_reason = "restored"  # type: ignore[attr-defined]
        link.save(update_fields=["ended_at"])
    return link


def can_decide_change(user: User, change: FactoryChange) -> bool:
    """The factory's managers and ILO admins and staff decide on proposed changes."""
    return can_decide_factory_change(scope_of(user), change.factory_id)


def decide_change(*, change: FactoryChange, accept: bool, user: User) -> FactoryChange:
    """Accept (the factory's record takes the value) or reject a brand's proposed change."""
    if not can_decide_change(user, change):
        raise SupplierError(_("Only the factory's managers and the ILO decide on its data."))
    with transaction.atomic():
        change = FactoryChange.objects.select_for_update().get(pk=change.pk)
        if change.status != FactoryChange.Status.PENDING:
            raise SupplierError(_("This change has already been decided."))
        if accept:
            factory = Factory.objects.select_for_update().get(pk=change.factory_id)
            value: object = change.value
            if change.field in ("workers_total", "workers_women"):
                value = int(change.value)
            setattr(factory, change.field, value)
            if (
                factory.workers_total is not None
                and factory.workers_women is not None
                and factory.workers_women > factory.workers_total
            ):
                raise SupplierError(
                    _(
                        "%(women)s women is more than the %(total)s workers the factory has: "
                        "change the number of workers first."
                    )
                    % {"women": factory.workers_women, "total": factory.workers_total}
                )
            factory.save()
        change.status = FactoryChange.Status.ACCEPTED if accept else FactoryChange.Status.REJECTED
        change.decided_by = user
        change.decided_at = timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
    return change
