"""Every page type, as every persona, in every language: no text the portal, allauth or
Django would have translated is left in English.

A page's text nodes are compared with the English messages of the portal's catalogue,
allauth's and Django's: a text node that *is* such a message is English left on a page in
another language (an untranslated message, or a translated one rendered in the wrong
language), unless that language's catalogue keeps it as it is on purpose ("SCORE", "CSV").
The pages are found by following each persona's links from home, as a person would.
"""

from __future__ import annotations

import gettext
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path

import allauth
import django
import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

from score_portal import demo
from score_portal.models import User
from tests.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
OTHER_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
NOT_PAGES = ("/static/", "/admin/", "/accounts/logout/", "/i18n/")
ANONYMOUS_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]


def _messages(path: Path) -> dict[str, str]:
    """msgid → msgstr of a compiled catalogue (plural forms by their singular)."""
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    messages: dict[str, str] = {}
    for key, value in catalogue.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid and "\x04" not in msgid:
            messages.setdefault(msgid, value)
    return messages


def _english() -> set[str]:
    """Every English message the pages could show: the portal's, allauth's, Django's."""
    sources = [
        ROOT / "locale" / "es" / "LC_MESSAGES" / "django.mo",
        Path(allauth.__file__).parent / "locale" / "es" / "LC_MESSAGES" / "django.mo",
        Path(django.__file__).parent / "conf" / "locale" / "es" / "LC_MESSAGES" / "django.mo",
        Path(django.__file__).parent
        / "contrib"
        / "auth"
        / "locale"
        / "es"
        / "LC_MESSAGES"
        / "django.mo",
    ]
    words = set()
    for source in sources:
        words |= {m.strip() for m in _messages(source) if re.search(r"[A-Za-z]{2}", m)}
    return words


def _kept_as_is(language: str) -> set[str]:
    """Messages a language's catalogues keep in English on purpose (msgstr == msgid)."""
    folder = language.replace("zh-hans", "zh_Hans")
    kept = set()
    for base in (ROOT / "locale", ROOT / "locale-upstream"):
        messages = _messages(base / folder / "LC_MESSAGES" / "django.mo")
        kept |= {m.strip() for m, text in messages.items() if m.strip() == text.strip()}
    return kept


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Text(HTMLParser):
    """The text a person reads: text nodes, and the attributes read out or shown."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._open: list[bool] = []

    def handle_starttag(self, tag, attrs):
        # Text in another language on purpose (the switcher's language names carry their
        # own `lang`) is skipped, as are scripts and styles.
        skips = tag in ("script", "style") or (tag != "html" and "lang" in dict(attrs))
        if tag not in VOID:
            self._open.append(skips)
            self._skip += skips
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "alt") and value:
                self.texts.append(value.strip())
            if tag == "a" and name == "href" and value:
                self.links.append(value)

    def handle_endtag(self, tag):
        if tag not in VOID and self._open:
            self._skip -= self._open.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def _page_type(path: str) -> str | None:
    if not path.startswith("/") or path.startswith(NOT_PAGES):
        return None
    try:
        return resolve(path.split("?")[0]).view_name
    except Resolver404:
        return None


def _pages(client, start: list[str]):
    """(page type, path, html) of each page type reached from `start`, once each."""
    seen: set[str] = set()
    queue = deque(start)
    while queue:
        path = queue.popleft()
        kind = _page_type(path)
        if kind is None or kind in seen:
            continue
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        seen.add(kind)
        parser = _Text()
        parser.feed(response.content.decode())
        yield kind, path, parser.texts
        queue.extend(parser.links)


@pytest.fixture
def demo_world(catalogue):
    return demo.load_demo_world(password=PASSWORD)


PERSONAS = [
    None,
    demo.ILO_ADMIN_EMAIL,
    demo.BRAND_EMAIL,
    demo.COORDINATOR_EMAIL,
    demo.TRAINER_EMAIL,
    demo.HUAMEI_MANAGER_EMAIL,
]


@pytest.mark.parametrize("email", PERSONAS, ids=lambda e: e or "anonymous")
def test_no_english_is_left_on_any_page(demo_world, email):
    english = _english()
    left: dict[str, set[str]] = {}
    for language in OTHER_LANGUAGES:
        user = User.objects.get(email=email) if email else None
        if user is not None:
            User.objects.filter(pk=user.pk).update(language=language)
            user.refresh_from_db()
        client = client_for(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        kept = _kept_as_is(language)
        start = ["/", *ANONYMOUS_PAGES] if user is None else ["/"]
        pages = 0
        for kind, path, texts in _pages(client, start):
            pages += 1
            found = {t for t in texts if t in english and t not in kept}
            if found:
                left[f"{language} {kind} {path}"] = found
        assert pages >= 3
    assert left == {}, "\n".join(f"{page}: {sorted(texts)}" for page, texts in left.items())
