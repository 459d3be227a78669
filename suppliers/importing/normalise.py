"""Clean and normalise a row: values as stored, and keys for matching across spellings.

Keys are transliterated (any script to ASCII), case-folded, stripped of punctuation and of
legal suffixes ("Co., Ltd.", "San. ve Tic. A.Ş.", "有限公司", "Công ty TNHH"), so the same
factory written differently by two brands meets on one key.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache, lru_cache
from operator import itemgetter
from typing import NamedTuple

from anyascii import anyascii
from django.conf import settings
from django.utils import translation
from django_countries import countries
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from suppliers.importing import vocabulary

_NON_WORD = re.compile(r"[^a-z0-9]+")

# A word as ``tokens`` sees it: a run of ASCII letters and digits that ends where a
# lowercase letter meets an uppercase one ("DongGuan" is two), or an ampersand.
_TOKEN = re.compile(r"(?=[A-Za-z0-9])[A-Z0-9]*(?:[a-z]+[0-9][A-Z0-9]*)*[a-z]*|&")


def tokens(text: str) -> list[str]:
    """The lowercase ASCII words of ``text`` ("&" is "and"), in one pass: the text in ASCII
    (any script), split where a lowercase letter meets an uppercase one (Chinese syllables:
    "DongGuan" is "dong guan") and at everything but letters and digits."""
    words = _TOKEN.findall(text if text.isascii() else text.translate(_ASCII))
    return " ".join(words).lower().replace("&", "and").split()


# Legal forms, as token sequences after transliteration (``vocabulary``); stripped from the
# end (and the prefixes from the start) until none is left.
_LEGAL_SUFFIXES = tuple(tuple(tokens(anyascii(s))) for s in vocabulary.LEGAL_SUFFIXES)
_LEGAL_PREFIXES = tuple(tuple(tokens(anyascii(s))) for s in vocabulary.LEGAL_PREFIXES)
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


# --- Names in any script ------------------------------------------------------------------

# Scripts written without spaces between words, whose phrases ``vocabulary.UNSPACED`` lists.
_UNSPACED_SCRIPT = re.compile(r"[\u1780-\u17ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN_DIGITS = {c: n for n, c in enumerate("一二三四五六七八九", start=1)}
# "第二" (the second) and "二厂" (factory two) are numbers: "No. 2 Factory".
_HAN_NUMBER = re.compile(
    r"第([一二三四五六七八九十]{1,3})|([一二三四五六七八九十]{1,3})(?=分?[厂廠]|[号號]|车间|工厂)"
)


def _han_number(match: re.Match[str]) -> str:
    text = match.group(1) or match.group(2)
    if "十" not in text:
        value = int("".join(str(_HAN_DIGITS[c]) for c in text))
    else:
        tens, _sep, ones = text.partition("十")
        value = _HAN_DIGITS.get(tens, 1) * 10 + _HAN_DIGITS.get(ones, 0)
    return f" no {value} "


def _phrases(table: dict[str, str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(p) for p in sorted(table, key=len, reverse=True)))


_NAME_PHRASES = _phrases(vocabulary.UNSPACED)
_PLACE_TABLE = {**vocabulary.UNSPACED, **vocabulary.UNSPACED_PLACES}
_PLACE_PHRASES = _phrases(_PLACE_TABLE)


class _PinyinTable(dict[str, str]):
    """A Chinese character's Hanyu Pinyin without tone (pypinyin), remembered."""

    def __missing__(self, char: str) -> str:
        value = self[char] = lazy_pinyin(char)[0]
        return value


_PINYIN = _PinyinTable()


@cache
def _polyphonic() -> frozenset[str]:
    """Characters read two ways even without tones (长 chang/zhang, 重 chong/zhong)."""
    from pypinyin.pinyin_dict import pinyin_dict

    found = set()
    for code, readings in pinyin_dict.items():
        plain = {to_ascii(r) for r in readings.split(",")}
        if len(plain) > 1:
            found.add(chr(code))
    return frozenset(found)


@cache
def _phrase_readings() -> dict[str, tuple[str, ...]]:
    """pypinyin's phrase dictionary, toneless, for its phrases of two or three characters
    that hold a character read two ways (重庆 chong qing, 长安 chang an)."""
    from pypinyin.phrases_dict import phrases_dict

    polyphonic = _polyphonic()
    return {
        phrase: tuple(to_ascii(r[0]) for r in readings)
        for phrase, readings in phrases_dict.items()
        if len(phrase) in (2, 3) and not polyphonic.isdisjoint(phrase)
    }


@lru_cache(maxsize=65536)
def _pinyin_of_run(run: str) -> str:
    """A run of Chinese characters in toneless Hanyu Pinyin syllables: a character at a time
    (pypinyin's most common reading), a character read two ways by the phrase of two or three
    characters around it that pypinyin's phrase dictionary knows."""
    syllables = [_PINYIN[c] for c in run]
    polyphonic = _polyphonic()
    if polyphonic.isdisjoint(run):
        return " ".join(syllables)
    phrases = _phrase_readings()
    done = -1
    for i, char in enumerate(run):
        if char not in polyphonic or i <= done:
            continue
        for start, end in ((i - 2, i + 1), (i - 1, i + 2), (i - 1, i + 1), (i, i + 3), (i, i + 2)):
            if start > done and end <= len(run) and run[start:end] in phrases:
                syllables[start:end] = phrases[run[start:end]]
                done = end - 1
                break
    return " ".join(syllables)


def latin_text(text: str, *, place: bool = False) -> str:
    """``text`` in ASCII: phrases of unspaced scripts in English (``vocabulary.UNSPACED``;
    with ``place``, the administrative words of addresses too), Chinese in Hanyu Pinyin
    syllables, every other script transliterated (anyascii); apostrophes, which anyascii
    writes inside Bengali and Urdu words, dropped."""
    if text.isascii():
        return text.replace("'", "")
    if _UNSPACED_SCRIPT.search(text):
        text = _HAN_NUMBER.sub(_han_number, text)
        table = _PLACE_TABLE if place else vocabulary.UNSPACED
        text = (_PLACE_PHRASES if place else _NAME_PHRASES).sub(lambda m: table[m.group()], text)
        text = _HAN_RUN.sub(lambda m: f" {_pinyin_of_run(m.group())} ", text)
    return text.translate(_ASCII).replace("'", "")


_LETTERS_OR_DIGITS = re.compile(r"[a-z]+|[0-9]+")


_MIXED = re.compile(r"[A-Za-z][0-9]|[0-9][A-Za-z]")


def words(text: str, *, place: bool = False) -> list[str]:
    """The lowercase ASCII words of a text in any script; letters and digits apart ("No2"
    is "no 2")."""
    if place:
        return list(_place_words(text))
    latin = latin_text(text)
    found = tokens(latin)
    if _MIXED.search(latin):
        found = [part for w in found for part in _LETTERS_OR_DIGITS.findall(w)]
    return found


@lru_cache(maxsize=64)
def _place_words(text: str) -> tuple[str, ...]:
    """``words`` of an address or a city (remembered a while: a row's address is read for
    its key and for its place names)."""
    latin = latin_text(text, place=True)
    found = tokens(latin)
    if _MIXED.search(latin):
        found = [part for w in found for part in _LETTERS_OR_DIGITS.findall(w)]
    return tuple(found)


_STOP, _FILLER, _LEGAL = "", "-", "#"


@cache
def _vocabulary() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Every listed phrase by its first word, the longest first, with what it is: a kind of
    business, filler, a joining word or a legal form. A phrase of several words also counts
    written as one ("may mac", "maymac")."""
    meaning: dict[tuple[str, ...], str] = {}

    def add(phrase: str, what: str) -> None:
        key = tuple(words(phrase))
        if key:
            meaning.setdefault(key, what)
            if len(key) > 1:
                meaning.setdefault(("".join(key),), what)

    for kind, phrases in vocabulary.KINDS.items():
        for phrase in phrases:
            add(phrase, kind)
    for phrase in vocabulary.LEGAL_ANYWHERE:
        add(phrase, _LEGAL)
    for phrase in vocabulary.STOP:
        add(phrase, _STOP)
    for phrase in vocabulary.FILLER:
        add(phrase, _FILLER)
    for phrase in vocabulary.COUNTRY_WORDS:
        add(phrase, _STOP)
    # What the Chinese and Khmer phrases become ("co ltd", "import export") is known too.
    for english in vocabulary.UNSPACED.values():
        for word in english.split():
            meaning.setdefault((word,), _LEGAL)
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key, what in sorted(meaning.items(), key=lambda item: -len(item[0])):
        by_first.setdefault(key[0], []).append((key, what))
    return by_first


_ROMAN = {"ii": 2, "iii": 3, "iv": 4, "vi": 6, "vii": 7, "viii": 8, "ix": 9}
_AFTER_MARK = {
    **_ROMAN,
    "i": 1,
    "v": 5,
    "x": 10,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_NUMBER_MARKS = frozenset(vocabulary.NUMBER_MARKS)
_ORDINAL_ENDS = frozenset({"st", "nd", "rd", "th"})


class NameKey(NamedTuple):
    """What a name is matched by.

    ``full`` is its distinctive words joined (no legal form, kind of business, filler or
    joining word); ``core`` the same without a place its address names at its start or end
    (东莞华美制衣 in Dongguan: "huamei"); ``kinds`` its kinds of business ("garment",
    "textile", ...); ``weak`` when the name has no distinctive word (then ``full`` is its
    filler, or its kinds).

    A named tuple: an import makes one or two for each row and each factory of its
    countries, and a tuple is made (and sent between processes) several times faster than
    a frozen dataclass."""

    core: str
    full: str
    kinds: frozenset[str]
    weak: bool = False
    # Every word but the legal form, joined: what typos are measured on ("Tekstill").
    text: str = ""
    # Whether the name has filler ("Exports", "Industries", "Mills"): then it says what the
    # business is without a listed kind, and "Shahi Exports" is not "Shahi Knitwear".
    filler: bool = False

    def encode(self) -> str:
        """As stored on Factory.match_name: ``core|full|kind+kind|flags|text``."""
        kinds = "+".join(sorted(self.kinds))
        flags = ("w" if self.weak else "") + ("f" if self.filler else "")
        return f"{self.core}|{self.full}|{kinds}|{flags}|{self.text}"

    @classmethod
    def decode(cls, text: str) -> NameKey | None:
        parts = text.split("|")
        if len(parts) != 5:
            return None
        core, full, kinds, flags, every = parts
        return cls._make((core, full, _kinds(kinds), "w" in flags, every, "f" in flags))


@lru_cache(maxsize=256)
def _kinds(text: str) -> frozenset[str]:
    return frozenset(text.split("+")) if text else frozenset()


def name_parts(name: str, places: frozenset[str] = frozenset()) -> NameKey:
    """A name's key (``NameKey``); ``places`` are the place names of its address
    (``places_of``)."""
    found = _strip(words(name))
    vocabulary_of = _vocabulary()
    distinct: list[str] = []
    filler: list[str] = []
    kinds: set[str] = set()
    count = len(found)
    i = 0
    while i < count:
        word = found[i]
        following = found[i + 1] if i + 1 < count else ""
        if word in _NUMBER_MARKS and (following.isdigit() or following in _AFTER_MARK):
            distinct.append(str(_AFTER_MARK.get(following, following)))
            i += 2
            continue
        if word in _ORDINAL_ENDS and distinct and distinct[-1].isdigit():
            i += 1
            continue
        if word in _ROMAN and (i == count - 1 or i > 0):
            distinct.append(str(_ROMAN[word]))
            i += 1
            continue
        for phrase, what in vocabulary_of.get(word, ()):
            n = len(phrase)
            if tuple(found[i : i + n]) == phrase:
                if what == _FILLER:
                    filler.extend(phrase)
                elif what not in (_STOP, _LEGAL):
                    kinds.add(what)
                i += n
                break
        else:
            distinct.append(word)
            i += 1
    every = "".join(found)
    has_filler = bool(filler)
    if not distinct:
        text = "".join(filler) or "".join(sorted(kinds))
        return NameKey(text, text, frozenset(kinds), True, every, has_filler)
    core = distinct
    if places and len(core) > 1:
        core = _without_places(core, places)
    return NameKey("".join(core), "".join(distinct), frozenset(kinds), False, every, has_filler)


def _without_places(distinct: list[str], places: frozenset[str]) -> list[str]:
    """The words without a place name at their start, then at their end (a word is kept)."""
    for k in range(min(4, len(distinct) - 1), 0, -1):
        if "".join(distinct[:k]) in places:
            distinct = distinct[k:]
            break
    for k in range(min(4, len(distinct) - 1), 0, -1):
        if "".join(distinct[-k:]) in places:
            distinct = distinct[:-k]
            break
    return distinct


_PLACE_MARKS = frozenset(
    w for phrase in (*vocabulary.PLACE_WORDS, *vocabulary.ADDRESS_WORDS) for w in phrase.split()
)


def places_of(address: str) -> frozenset[str]:
    """The place names an address holds: its runs of words between the words of addresses
    ("road", "district", 市, 镇, numbers), and, for an address in a spaced script, each of
    its words of four letters or more."""
    found = words(address, place=True)
    places: set[str] = set()
    run: list[str] = []
    for word in (*found, "no"):
        if word in _PLACE_MARKS or word.isdigit():
            if run:
                joined = "".join(run)
                if len(joined) >= 4:
                    places.add(joined)
                run = []
        else:
            run.append(word)
    if not _UNSPACED_SCRIPT.search(address):
        places.update(w for w in found if len(w) >= 4 and w.isalpha() and w not in _PLACE_MARKS)
    return frozenset(places)


_CITY_WORDS = frozenset(w for phrase in vocabulary.PLACE_WORDS for w in phrase.split())


@lru_cache(maxsize=16384)
def city_key(city: str) -> str:
    """A city's name as compared: any script, without "City", "市", "Thành phố", ...; an
    old name as the current one (Chittagong: "chattogram")."""
    found = [w for w in words(city, place=True) if w not in _CITY_WORDS] if city else []
    key = "".join(found)
    return vocabulary.CITY_ALIASES.get(key, key)


# Similar sounds written alike, vowels (which Bengali, Hindi and Urdu transliterations often
# leave out), "h" of digraphs and "w"/"y" dropped: "Chattogram" and চট্টগ্রাম ("cttgram") are
# both "ctgrm".
_SOUNDS = str.maketrans(
    {
        "v": "b",
        "f": "p",
        "q": "k",
        "z": "s",
        "x": "ks",
        "m": "n",
        **dict.fromkeys("aeiouyhwj", None),
    }
)
_REPEATS = re.compile(r"(.)\1+")
# The repeated letter, once: a function in C (a "\1" template costs re a Python call).
_FIRST = itemgetter(1)


def skeleton(text: str) -> str:
    return _REPEATS.sub(_FIRST, text.translate(_SOUNDS))


def same_city(a: str, b: str) -> bool:
    """Two city keys naming one city (a typo or a transliteration apart)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return skeleton(a) == skeleton(b) or fuzz.ratio(a, b) >= 85


def name_words(name: str) -> list[str]:
    """A factory name's words without its legal form."""
    return _strip(words(name))


def name_key(name: str) -> str:
    return "".join(name_words(name))


def address_key(address: str) -> str:
    return "".join([_ADDRESS_TRANSLATE(w, w) for w in words(address, place=True)])


def key_of(*, country: str, name_key: str, address_key: str) -> str:
    """``row_key`` from keys already computed (the import computes each key once)."""
    raw = f"{country}|{name_key}|{address_key}"
    return hashlib.sha1(raw.encode()).hexdigest()[:32]


# Part of every stored key's source hash: change it when the rules above change, and every
# factory's stored keys count as stale (matching recomputes them; saving stores new ones;
# migration 0011 stores them anew).
KEYS_VERSION = "2"


def keys_source(name: str, name_latin: str, address: str) -> int:
    """A signed 64-bit hash of the texts a factory's stored match keys come from (and of
    ``KEYS_VERSION``). PostgreSQL computes the same number (``writing.keys_source_sql``)."""
    text = f"{KEYS_VERSION}\x1f{name}\x1f{name_latin}\x1f{address}"
    digest = hashlib.md5(text.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def match_keys(name: str, name_latin: str, address: str) -> tuple[str, str, str]:
    """What a factory stores for matching: its name's and Latin name's keys
    (``NameKey.encode``) and its address key."""
    places = places_of(address)
    return (
        name_parts(name, places).encode(),
        name_parts(name_latin, places).encode() if name_latin else "",
        address_key(address),
    )


def load_tables() -> None:
    """Build the tables keys are computed with (each once a process, on first use): before
    a helper process is forked, so that it shares them instead of building its own."""
    _vocabulary()
    _phrase_readings()
    _country_lookup()


# --- Search keys (the search box) --------------------------------------------------------


def _spelled(text: str) -> str:
    """``text`` in lowercase ASCII letters and digits, joined: Chinese as each character's
    pinyin (no phrase read as its English meaning, unlike ``latin_text``: 制衣 is "zhiyi"),
    every other script transliterated, tones and diacritics dropped."""
    if _UNSPACED_SCRIPT.search(text):
        text = _HAN_RUN.sub(lambda m: f" {_pinyin_of_run(m.group())} ", text)
    return "".join(tokens(text.replace("'", "")))


def search_key(*names: str) -> str:
    """What the search box finds a factory by: each name as ``words`` joins it (Chinese in
    pinyin with its phrases in English: 东莞华美制衣有限公司 is "dongguanhuameigarmentcoltd")
    and as spelled character by character ("dongguanhuameizhiyiyouxiangongsi"), space apart,
    each once. A query's ``search_terms`` are looked for inside it, so "Huamei", "Hua Mei",
    "Dōngguǎn Huáměi", "华美制衣" and the pinyin of the whole name all find that factory."""
    found: dict[str, None] = {}
    for name in names:
        if name:
            found["".join(words(name))] = None
            found[_spelled(name)] = None
    return " ".join(key for key in found if key)


def search_terms(query: str) -> list[str]:
    """The forms of a query the search box looks for inside ``search_key``: as ``words``
    joins it, as spelled, and without its legal form ("Özdemir Tekstil A.Ş." is found in
    "Özdemir Tekstil Sanayi ve Ticaret A.Ş."); the longest first, empty ones dropped."""
    forms = {"".join(words(query)), _spelled(query), "".join(_strip(words(query)))}
    return sorted((f for f in forms if f), key=len, reverse=True)


def identity(country: str, key: NameKey, city: str, akey: str) -> str:
    """One factory's identity in a list (what marks a row as repeating an earlier one, and
    what a remembered decision is keyed by): country, distinctive name without the row's
    city, kinds, and the city (or, without one, the address)."""
    core = without_city(key.core, city) if city else key.core
    name = f"{core}/{'+'.join(sorted(key.kinds))}"
    return key_of(country=country, name_key=name, address_key=f"@{city}" if city else akey)


def without_city(core: str, city: str) -> str:
    """A key without the city's name at its start or end (a part is kept)."""
    if len(city) >= 4 and core != city:
        if core.startswith(city):
            return core[len(city) :]
        if core.endswith(city):
            return core[: -len(city)]
    return core


def row_key(*, name: str, address: str, country: str, city: str = "") -> str:
    """``identity`` from a row's texts."""
    return identity(
        country, name_parts(name, places_of(address)), city_key(city), address_key(address)
    )


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
