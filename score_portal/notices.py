"""The in-portal inbox: every email the portal sends a person is also a notice there.

- **Kinds** are a registry: each app registers its own (``register_kind``, in its
  ``AppConfig.ready``) with the email templates that belong to it, a label for the person's
  settings, whether the person may turn its email off (``email_optional``; otherwise the
  reason it always comes, shown beside the disabled choice), whether it makes a notice at all
  (invitations and security mails go to an address, not an account: email only), and to whom
  the choice is offered (``audience``, a question on the scope). A template nobody registered
  is its own kind, always emailed and noticed (``kind_for``), and
  tests/score_portal/test_notices.py fails until it is registered.
- **Writing**: ``score_portal.emails.queue_email`` calls ``record_notice`` in the email's
  transaction when the address belongs to a person, and asks ``wants_email`` first.
- **Reading**: ``inbox`` (newest first), ``unread_count`` (one query on a partial index: the
  header's badge), ``mark_read`` / ``mark_all_read``. Each person sees only their own
  notices; anyone else's answers 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from score_portal.models import Notice, NoticeSettings, User
from score_portal.scope import Scope


def _everyone(scope: Scope) -> bool:
    return True


@dataclass(frozen=True)
class NoticeKind:
    """One kind of notice: what the person's settings call it and what they may choose."""

    code: str
    label: str | Promise
    templates: tuple[str, ...] = ()
    email_optional: bool = True
    why_always: str | Promise = ""  # shown beside an always-emailed kind's disabled choice
    notice: bool = True  # False: email only (it goes to an address, or it is the digest)
    listed: bool = True  # shown on the settings page
    audience: Callable[[Scope], bool] = _everyone
    order: int = 100


_KINDS: dict[str, NoticeKind] = {}
_BY_TEMPLATE: dict[str, str] = {}


def register_kind(
    code: str,
    *,
    label: str | Promise,
    templates: Iterable[str] = (),
    email_optional: bool = True,
    why_always: str | Promise = "",
    notice: bool = True,
    listed: bool = True,
    audience: Callable[[Scope], bool] = _everyone,
    order: int = 100,
) -> NoticeKind:
    """Register a kind of notice and the email templates that make it (idempotent)."""
    if not email_optional and not why_always:
        raise ValueError(f"Kind {code!r} always emails: say why (why_always).")
    kind = NoticeKind(
        code=code,
        label=label,
        templates=tuple(templates),
        email_optional=email_optional,
        why_always=why_always,
        notice=notice,
        listed=listed,
        audience=audience,
        order=order,
    )
    for template in kind.templates:
        owner = _BY_TEMPLATE.get(template)
        if owner is not None and owner != code:
            raise ValueError(f"Email template {template!r} already belongs to kind {owner!r}.")
        _BY_TEMPLATE[template] = code
    _KINDS[code] = kind
    return kind


def kinds() -> list[NoticeKind]:
    return sorted(_KINDS.values(), key=lambda kind: (kind.order, kind.code))


def get_kind(code: str) -> NoticeKind:
    return _KINDS[code]


def label_of(code: str) -> str | Promise:
    """A kind's label ("" for a kind nobody registers any more)."""
    kind = _KINDS.get(code)
    return kind.label if kind is not None else ""


def is_registered(template: str) -> bool:
    return template in _BY_TEMPLATE


def kind_for(template: str) -> NoticeKind:
    """The kind a template belongs to; an unregistered one is its own kind, always emailed
    (a new email must never be lost to a setting nobody could see)."""
    code = _BY_TEMPLATE.get(template)
    if code is not None:
        return _KINDS[code]
    return NoticeKind(
        code=template,
        label=template,
        email_optional=False,
        why_always=_("Not yet registered as a kind of notice."),
        listed=False,
    )


def offered(scope: Scope) -> list[NoticeKind]:
    """The kinds the person's settings page lists: those that can concern them."""
    return [kind for kind in kinds() if kind.listed and kind.audience(scope)]


# --- Writing ------------------------------------------------------------------------------


def settings_of(user: User) -> NoticeSettings:
    """The person's notice settings (unsaved defaults when they never chose)."""
    try:
        return user.notice_settings
    except NoticeSettings.DoesNotExist:
        return NoticeSettings(user=user)


def wants_email(user: User | None, kind: NoticeKind) -> bool:
    """Whether an email of ``kind`` goes to ``user`` (anyone without an account: yes)."""
    if user is None or not kind.email_optional:
        return True
    return kind.code not in settings_of(user).email_off


def safe_link(link: str) -> str:
    """A path on the portal, or nothing: a notice never sends anyone elsewhere."""
    if link.startswith("/") and not link.startswith(("//", "/\\")) and len(link) <= 500:
        return link
    return ""


def titles(template: str, context: dict[str, Any], *, known: dict[str, str]) -> dict[str, str]:
    """The template's subject in every language of the portal (``known``: already rendered)."""
    rendered = dict(known)
    for code, _name in settings.LANGUAGES:
        if code not in rendered:
            with translation.override(code):
                subject = render_to_string(f"emails/{template}/subject.txt", context)
            rendered[code] = " ".join(subject.split())[:300]
    return rendered


def record_notice(
    *,
    recipient: User,
    kind: NoticeKind,
    template: str,
    context: dict[str, Any],
    language: str,
    subject: str,
    link: str,
    emailed: bool,
) -> Notice:
    """Put a notice in ``recipient``'s inbox (in the caller's transaction)."""
    return Notice.objects.create(
        recipient=recipient,
        kind=kind.code,
        template=template,
        titles=titles(template, context, known={language: subject}),
        language=language,
        link=safe_link(link),
        emailed=emailed,
    )


def save_settings(*, user: User, email_off: Iterable[str], daily_digest: bool) -> NoticeSettings:
    """Store which kinds the person reads in the portal only, and the digest choice. Kinds
    that always email are never stored as off."""
    optional = {kind.code for kind in kinds() if kind.email_optional}
    chosen = sorted(set(email_off) & optional)
    row, _created = NoticeSettings.objects.update_or_create(
        user=user, defaults={"email_off": chosen, "daily_digest": daily_digest}
    )
    return row


# --- Reading ------------------------------------------------------------------------------


def inbox(user: User, *, unread_only: bool = False) -> QuerySet[Notice]:
    """The person's notices, newest first (their own only)."""
    notices = Notice.objects.filter(recipient=user)
    if unread_only:
        notices = notices.filter(read_at__isnull=True)
    return notices.order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    return Notice.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(*, notice: Notice, read: bool = True) -> Notice:
    """Mark one notice read (or unread again)."""
    if read and notice.read_at is None:
        notice.read_at = timezone.now()
        Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=notice.read_at)
    elif not read and notice.read_at is not None:
        notice.read_at = None
        Notice.objects.filter(pk=notice.pk).update(read_at=None)
    return notice


def mark_all_read(*, user: User) -> int:
    """Mark every unread notice of ``user`` read; returns how many."""
    return Notice.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# The kernel's own kinds: neither makes a notice.
register_kind(
    "account_security",
    label=_("Sign-in and account security"),
    email_optional=False,
    why_always=_(
        "Address verification, password and two-factor emails keep your account safe: they "
        "always come by email."
    ),
    notice=False,
    order=0,
)
register_kind(
    "notice_digest",
    label=_("Daily digest"),
    templates=["notice_digest"],
    email_optional=False,
    why_always=_("The digest is an email: turn it off below."),
    notice=False,
    listed=False,
)
