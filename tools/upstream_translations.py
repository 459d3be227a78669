"""Build locale-upstream/: the translations upstream packages lack in the portal's languages.

django-allauth ships no Vietnamese or Bengali, Django's own Bengali and Vietnamese catalogues
are incomplete, and django-countries has no Bengali. Django merges the catalogues of
LOCALE_PATHS over the packages' own, so these fill exactly what upstream leaves in English:

- locale-upstream/translations.json: {msgid key: {language: text or [plural forms]}} for
  allauth's and Django's strings, written by translators (keys "ctx\\x04msgid" with a context);
- Bengali country names from the Unicode CLDR (Babel's locale data), for django-countries.

    pip install babel polib   # only to regenerate, not to run the portal
    python tools/upstream_translations.py && make messages

Strings the portal's own catalogue (locale/) also has keep the portal's translation (LOCALE_PATHS
order). Regenerate after upgrading allauth: new upstream strings show as untranslated in
tests/score_portal/test_translations.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "locale-upstream"
PLURALS = {"vi": "nplurals=1; plural=0;", "bn": "nplurals=2; plural=(n != 1);"}


def country_names() -> dict[str, str]:
    import os

    import django
    from babel import Locale  # type: ignore[import-not-found]
    from django.utils import translation

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "score_portal.settings")
    django.setup()
    from django_countries.data import COUNTRIES

    bengali = Locale("bn").territories
    with translation.override(None):  # the English names: the catalogue's msgids
        return {str(name): bengali[code] for code, name in COUNTRIES.items() if code in bengali}


def main() -> None:
    entries: dict[str, dict] = json.loads((OUT / "translations.json").read_text())
    countries = country_names()
    for language, plural in PLURALS.items():
        po = polib.POFile(wrapwidth=0)
        po.metadata = {
            "Project-Id-Version": "SCORE Portal (upstream gaps)",
            "Language": language,
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
            "Plural-Forms": plural,
        }
        for key, item in sorted(entries.items()):
            if language not in item["translations"]:
                continue
            context, _, msgid = key.rpartition("\x04")
            text = item["translations"][language]
            entry = polib.POEntry(msgctxt=context or None, msgid=msgid, comment=item["source"])
            if item.get("plural"):
                entry.msgid_plural = item["plural"]
                entry.msgstr_plural = dict(enumerate(text))
            else:
                entry.msgstr = text
            po.append(entry)
        if language == "bn":
            known = {entry.msgid for entry in po}
            for english, bengali in sorted(countries.items()):
                if english not in known:
                    po.append(polib.POEntry(msgid=english, msgstr=bengali, comment="CLDR"))
        target = OUT / language / "LC_MESSAGES" / "django.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(target))
        print(f"{target.relative_to(ROOT)}: {len(po)} strings")


if __name__ == "__main__":
    main()
