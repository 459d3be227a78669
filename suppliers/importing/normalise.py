"""Clean and normalise a row: values as stored, and keys for matching across spellings.

Keys are transliterated (any script to ASCII), case-folded, stripped of punctuation and of
legal suffixes ("Co., Ltd.", "San. ve Tic. A.Ş.", "有限公司", "Công ty TNHH"), so the same
factory written differently by two brands meets on one key.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache, lru_cache

from anyascii import anyascii
from django.conf import settings
from django.utils import translation
from django_countries import countries

_NON_WORD = re.compile(r"[^a-z0-9]+")

# Legal forms, as token sequences after transliteration; stripped from the end (and the
# Vietnamese ones from the start) until none is left.
_LEGAL_SUFFIXES = tuple(
    tuple(s.split())
    for s in (
        "you xian ze ren gong si",
        "you xian gong si",
        "gu fen you xian gong si",
        "gong si",
        "co ltd",
        "co limited",
        "company limited",
        "company ltd",
        "co inc",
        "pvt ltd",
        "private limited",
        "san ve tic ltd sti",
        "san ve tic a s",
        "san tic ltd sti",
        "san tic a s",
        "ltd sti",
        "a s",
        "jsc",
        "jsco",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "plc",
        "gmbh",
        "corp",
        "corporation",
        "company",
        "co",
        "sa",
        "sas",
        "srl",
        "spa",
        "bv",
        "pt",
        "tbk",
        "sdn bhd",
        "bhd",
        "pte",
        "pty",
        "ltda",
        "sl",
    )
)
_LEGAL_PREFIXES = tuple(
    tuple(s.split())
    for s in ("cong ty tnhh mtv", "cong ty tnhh", "cong ty co phan", "cong ty", "pt", "cv")
)
_ADDRESS_WORDS = {
    "rd": "road",
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "dist": "district",
    "cd": "caddesi",
    "cad": "caddesi",
    "sk": "sokak",
    "sok": "sokak",
    "mah": "mahallesi",
    "no": "",
    "nr": "",
}


# Legal forms by the word they end (suffixes) or start (prefixes) with, in the order of the
# lists above: the first listed wins when several fit, as a plain scan of a list would
# decide. Most names end and start in a word no legal form has: one dict lookup each.
_SUFFIXES_BY_END: dict[str, list[tuple[str, ...]]] = {}
for _suffix in _LEGAL_SUFFIXES:
    _SUFFIXES_BY_END.setdefault(_suffix[-1], []).append(_suffix)
_PREFIXES_BY_START: dict[str, list[tuple[str, ...]]] = {}
for _prefix in _LEGAL_PREFIXES:
    _PREFIXES_BY_START.setdefault(_prefix[0], []).append(_prefix)
_ADDRESS_TRANSLATE = _ADDRESS_WORDS.get


class _AsciiTable(dict[int, str]):
    """anyascii one character at a time, remembered: ``str.translate`` then does the work in
    C (anyascii maps each code point on its own, so the result is the same)."""

    def __missing__(self, code: int) -> str:
        value = self[code] = anyascii(chr(code))
        return value


_ASCII = _AsciiTable()


def to_ascii(text: str) -> str:
    return text if text.isascii() else text.translate(_ASCII)


# A word as ``tokens`` sees it: a run of ASCII letters and digits that ends where a
# lowercase letter meets an uppercase one ("DongGuan" is two), or an ampersand.
_TOKEN = re.compile(r"(?=[A-Za-z0-9])[A-Z0-9]*(?:[a-z]+[0-9][A-Z0-9]*)*[a-z]*|&")


def tokens(text: str) -> list[str]:
    """The lowercase ASCII words of ``text`` ("&" is "and"), in one pass: the text in ASCII
    (any script), split where a lowercase letter meets an uppercase one (Chinese syllables:
    "DongGuan" is "dong guan") and at everything but letters and digits."""
    words = _TOKEN.findall(text if text.isascii() else text.translate(_ASCII))
    return " ".join(words).lower().replace("&", "and").split()


def _suffix_fit(words: list[str]) -> int:
    """The length of the first-listed legal form at the end of ``words``; 0 if none. A name
    never loses its last word."""
    count = len(words)
    for suffix in _SUFFIXES_BY_END.get(words[-1], ()):
        n = len(suffix)
        if count > n and (n == 1 or tuple(words[-n:]) == suffix):
            return n
    return 0


def _prefix_fit(words: list[str]) -> int:
    """The same for a legal form at the start of ``words``."""
    count = len(words)
    for prefix in _PREFIXES_BY_START.get(words[0], ()):
        n = len(prefix)
        if count > n and (n == 1 or tuple(words[:n]) == prefix):
            return n
    return 0


def _strip(words: list[str]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        n = _suffix_fit(words)
        if n:
            del words[-n:]
            changed = True
        n = _prefix_fit(words)
        if n:
            del words[:n]
            changed = True
    return words


def name_words(name: str) -> list[str]:
    """A factory name's words without its legal form."""
    return _strip(tokens(name))


def name_key(name: str) -> str:
    return "".join(name_words(name))


def address_key(address: str) -> str:
    return "".join([_ADDRESS_TRANSLATE(w, w) for w in tokens(address)])


def key_of(*, country: str, name_key: str, address_key: str) -> str:
    """``row_key`` from keys already computed (the import computes each key once)."""
    raw = f"{country}|{name_key}|{address_key}"
    return hashlib.sha1(raw.encode()).hexdigest()[:32]


# Part of every stored key's source hash: change it when the rules above change, and every
# factory's stored keys count as stale (matching recomputes them; saving stores new ones).
KEYS_VERSION = "1"


def keys_source(name: str, name_latin: str, address: str) -> int:
    """A signed 64-bit hash of the texts a factory's stored match keys come from (and of
    ``KEYS_VERSION``). PostgreSQL computes the same number (``writing.keys_source_sql``)."""
    text = f"{KEYS_VERSION}\x1f{name}\x1f{name_latin}\x1f{address}"
    digest = hashlib.md5(text.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def match_keys(name: str, name_latin: str, address: str) -> tuple[str, str, str]:
    """What a factory stores for matching: its name's and Latin name's words (legal form
    stripped, joined by spaces: no word holds one) and its address key."""
    return (
        " ".join(name_words(name)),
        " ".join(name_words(name_latin)) if name_latin else "",
        address_key(address),
    )


def row_key(*, name: str, address: str, country: str) -> str:
    """One factory's identity in a list: what a remembered decision is keyed by."""
    return key_of(country=country, name_key=name_key(name), address_key=address_key(address))


# --- Countries ----------------------------------------------------------------------------

_COUNTRY_ALIASES = {
    "turkiye": "TR",
    "turkey": "TR",
    "republic of turkiye": "TR",
    "viet nam": "VN",
    "vietnam": "VN",
    "china": "CN",
    "china mainland": "CN",
    "mainland china": "CN",
    "prc": "CN",
    "pr china": "CN",
    "p r china": "CN",
    "peoples republic of china": "CN",
    "china peoples republic of": "CN",
    "hong kong sar": "HK",
    "hong kong china": "HK",
    "macau": "MO",
    "taiwan": "TW",
    "chinese taipei": "TW",
    "korea": "KR",
    "south korea": "KR",
    "korea republic of": "KR",
    "republic of korea": "KR",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "usa": "US",
    "us": "US",
    "united states of america": "US",
    "bosnia": "BA",
    "bosnia herzegovina": "BA",
    "laos": "LA",
    "russia": "RU",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "cote divoire": "CI",
    "burma": "MM",
    "swaziland": "SZ",
    "macedonia": "MK",
}


def _country_key(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", to_ascii(text).lower().replace("'", "")).split())


@cache
def _country_lookup() -> dict[str, str]:
    """Codes, English names, aliases, then the names in each of the portal's languages
    ("Çin", "Trung Quốc", "中国"); a spelling two countries share keeps its first meaning.
    Built under fixed languages: the lookup is cached for the process, and was once built in
    whatever language the first request or task that needed it had active."""
    lookup: dict[str, str] = {}
    with translation.override("en"):
        for code, name in countries:
            lookup[_country_key(code)] = code
            lookup[_country_key(countries.alpha3(code))] = code
            lookup[_country_key(str(name))] = code
    for alias, code in _COUNTRY_ALIASES.items():
        lookup[_country_key(alias)] = code
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for code, name in countries:
                lookup.setdefault(_country_key(str(name)), code)
    lookup.pop("", None)
    return lookup


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 for a code (alpha-2 or -3) or a name in common spellings."""
    key = _country_key(text)
    if not key:
        return None
    lookup = _country_lookup()
    if key in lookup:
        return lookup[key]
    if "," in text:  # "Korea, Republic of" / "Iran, Islamic Republic of"
        head, _sep, tail = text.partition(",")
        return lookup.get(_country_key(f"{tail} {head}")) or lookup.get(_country_key(head))
    return None
