"""Every language is complete, and the compiled catalogues say what the .po files say."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
LANGUAGES = [
    code.replace("zh-hans", "zh_Hans") for code, _name in settings.LANGUAGES if code != "en"
]
# The portal's catalogue, and what it adds where upstream packages have no translation.
CATALOGUES = [
    (folder, language)
    for folder in (LOCALE, ROOT / "locale-upstream")
    for language in LANGUAGES
    if (folder / language / "LC_MESSAGES" / "django.po").exists()
]

pytestmark = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext (msgfmt)")


@pytest.mark.parametrize(("folder", "language"), CATALOGUES)
def test_no_message_is_left_untranslated_or_fuzzy(folder, language):
    po = folder / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    statistics = result.stderr.strip()
    assert "translated messages" in statistics
    assert "fuzzy" not in statistics, statistics
    assert "untranslated" not in statistics, statistics


@pytest.mark.parametrize(("base", "language"), CATALOGUES)
def test_the_compiled_catalogue_is_up_to_date(base, language, tmp_path):
    folder = base / language / "LC_MESSAGES"
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(folder / "django.po")], check=True)
    with fresh.open("rb") as new, (folder / "django.mo").open("rb") as committed:
        expected = gettext.GNUTranslations(new)._catalog  # type: ignore[attr-defined]
        shipped = gettext.GNUTranslations(committed)._catalog  # type: ignore[attr-defined]
    assert shipped == expected, "run `make messages` and commit the .mo files"
