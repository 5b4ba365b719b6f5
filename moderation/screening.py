"""Automatic screening of story text: flags with character offsets, never the matched text.

Every detector reads a *folded* copy of the text (case, zero-width characters, native
digits, accents, Arabic and Persian letter variants made uniform) that remembers, for
each of its characters, where it came from; flags therefore point into the original
text even where folding changed its length. Profanity is matched on a looser fold that
also undoes look-alike letters and leetspeak.

What each detector yields (``Flag.detail`` in brackets):

- phone numbers (``phone_number`` from libphonenumber, ``phone_pattern`` for a number
  written with a trunk or international prefix), e-mails (``email``), links (``url``,
  ``domain``, ``handle``), document numbers (``id_number``, ``unhcr_case``, ``iban``,
  ``digit_run``, ``keyword_number``), coordinates (``decimal``, ``dms``): HOLD;
- crisis language in every supported locale, whatever the story's locale
  (``self_harm``, ``trafficking``, ``detention``, ``violence``, ``danger``): SAFETY;
- minors: ``not_adult`` (the whole text), ``self_reported_age``,
  ``self_reported_minor``: SAFETY;
- profanity (``lexicon:<locale>``): ANNOTATE only, since storytellers quote the abuse
  they suffered;
- spam (``repeated_line``, ``too_many_links``): HOLD;
- a detector that raises (``detector_failed:<name>``), a screening that overruns its
  time (``timeout``) or breaks otherwise (``internal_error``): SCREENING_UNAVAILABLE,
  HOLD, with an empty span at 0. Screening fails closed.

The phrase lists live in ``moderation/lexicon/<locale>.json``; their syntax is described
in ``moderation/lexicon/README.md``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import traceback
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import phonenumbers

from moderation.flags import Flag, FlagAction, FlagKind, ScreeningResult

__all__ = [
    "CRISIS_CATEGORIES",
    "DEFAULT_LEXICONS_DIR",
    "SUPPORTED_LOCALES",
    "Detector",
    "Finding",
    "LexiconError",
    "Screener",
    "ScreeningInput",
]

log = logging.getLogger(__name__)

SUPPORTED_LOCALES: Final[tuple[str, ...]] = (
    *("en", "ja", "ar", "es", "fr", "ru", "zh_Hans", "uk", "fa", "tr"),
    *("ps", "ur", "bn", "so", "ti", "am", "sw", "de", "it", "pt", "zh_Hant"),
)
CRISIS_CATEGORIES: Final[tuple[str, ...]] = (
    "self_harm",
    "trafficking",
    "detention",
    "violence",
    "danger",
)
DEFAULT_LEXICONS_DIR: Final[Path] = Path(__file__).with_name("lexicon")


# --- Public types for detectors ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScreeningInput:
    """What one screening reads: the text and what the caller knows about its author."""

    text: str
    locale: str
    is_adult: bool = True
    region_hint: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's finding; the screener numbers findings into flags."""

    kind: FlagKind
    action: FlagAction
    start: int
    end: int
    detail: str


Detector = Callable[[ScreeningInput], Iterable[Finding]]
"""An extra detector: called in the screening's worker thread, guarded like the others."""


class LexiconError(ValueError):
    """A lexicon file is missing or malformed (raised when a Screener is built)."""


# --- Folding: one normal form for text and phrase lists, with an offset map --------------

# Applied after NFKC and case folding. Every entry maps one character to at most one.
_FOLD_TABLE: Final[Mapping[int, str]] = MappingProxyType(
    {
        **{0x0660 + d: str(d) for d in range(10)},  # Arabic-Indic digits
        **{0x06F0 + d: str(d) for d in range(10)},  # Extended Arabic-Indic (Persian, Urdu)
        **{0x0966 + d: str(d) for d in range(10)},  # Devanagari digits
        **{0x09E6 + d: str(d) for d in range(10)},  # Bengali digits
        ord("\u066b"): ".",  # Arabic decimal separator
        ord("\u066c"): ",",  # Arabic thousands separator
        ord("\u060c"): ",",  # Arabic comma
        ord("\u061b"): ";",  # Arabic semicolon
        ord("\u06d4"): ".",  # Urdu full stop
        ord("\u1361"): " ",  # Ethiopic wordspace, written between words
        ord("\u1362"): ".",  # Ethiopic full stop
        ord("\u1363"): ",",  # Ethiopic comma
        ord("\u1364"): ";",  # Ethiopic semicolon
        ord("\u0964"): ".",  # danda (Bengali, Devanagari full stop)
        **{ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u02bc\u02b9\u2032\u0060"},
        **{ord(c): '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"},
        **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
        ord("\u0640"): "",  # Arabic tatweel (letter stretching)
        ord("\u0649"): "\u064a",  # alef maksura -> yeh
        ord("\u06cc"): "\u064a",  # Persian yeh -> Arabic yeh
        ord("\u06a9"): "\u0643",  # Persian kaf -> Arabic kaf
        # Urdu and Pashto letters typed either way on Arabic and Persian keyboards:
        ord("\u06c1"): "\u0647",  # Urdu heh goal -> heh
        ord("\u06be"): "\u0647",  # Urdu heh doachashmee (aspiration) -> heh
        ord("\u06c3"): "\u0647",  # Urdu teh marbuta goal -> heh
        ord("\u06d2"): "\u064a",  # Urdu yeh barree -> yeh
        ord("\u06d3"): "\u064a",  # yeh barree with hamza -> yeh
        ord("\u06d0"): "\u064a",  # Pashto yeh -> yeh
        ord("\u06cd"): "\u064a",  # Pashto yeh with tail -> yeh
        ord("\u06ab"): "\u06af",  # Pashto gaf -> gaf
        ord("\u0629"): "\u0647",  # teh marbuta -> heh
        ord("\u06d5"): "\u0647",  # ae -> heh
        ord("\u0671"): "\u0627",  # alef wasla -> alef
        ord("\u0131"): "i",  # Turkish dotless i: people type either
    }
)
# Characters NFKC would take apart: the masculine ordinal typed for a degree sign would
# become "o", the acute accent typed for an apostrophe a space.
_BEFORE_NFKC: Final[Mapping[str, str]] = MappingProxyType({"\u00ba": "\u00b0", "\u00b4": "'"})
# Kana voicing marks are meaningful (か vs が); every other combining mark is dropped.
_KEPT_MARKS: Final[frozenset[str]] = frozenset("\u3099\u309a")


def _fold_char(ch: str) -> str:
    if ch < "\x80":
        return "'" if ch == "`" else ch.lower()
    if unicodedata.category(ch) == "Cf":  # zero-width and bidi controls, soft hyphen
        return ""
    folded = unicodedata.normalize("NFKC", _BEFORE_NFKC.get(ch, ch)).casefold()
    stripped = "".join(
        c
        for c in unicodedata.normalize("NFD", folded)
        if c in _KEPT_MARKS or unicodedata.category(c) != "Mn"
    )
    return stripped.translate(_FOLD_TABLE)


@dataclass(frozen=True, slots=True)
class _Folded:
    """A folded text; ``starts[i]``/``ends[i]`` locate its i-th character in the original."""

    text: str
    starts: list[int]
    ends: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span ``[start, end)`` (not empty)."""
        return self.starts[start], self.ends[end - 1]


def _fold(text: str) -> _Folded:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    memo: dict[str, str] = {}
    for index, ch in enumerate(text):
        folded = memo.get(ch)
        if folded is None:
            folded = memo[ch] = _fold_char(ch)
        if not folded:
            if ends:  # a dropped mark or zero-width char belongs to what it follows
                ends[-1] = index + 1
            continue
        for out in folded:
            chars.append(out)
            starts.append(index)
            ends.append(index + 1)
    return _Folded("".join(chars), starts, ends)


_EDGE_PUNCTUATION: Final[frozenset[str]] = frozenset(".,;:!?\"'()[]{}<>«»…-")
_LEET: Final[Mapping[str, str]] = MappingProxyType(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"}
    | {"@": "a", "$": "s", "!": "i", "|": "l", "€": "e"}
)
_LEET_CYRILLIC: Final[Mapping[str, str]] = MappingProxyType(
    dict(_LEET) | {"3": "з", "4": "ч", "6": "б"}
)
# Letters that look like Latin ones (lower case, as folding leaves them).
_HOMOGLYPHS: Final[Mapping[str, str]] = MappingProxyType(
    dict(
        zip(
            "авекмнорстухіјѕһԁӏαβεικνορτυχɡ",
            "abekmhopctyxijshdlabeikvoptuxg",
            strict=True,
        )
    )
)


def _loosen(base: _Folded) -> _Folded:
    """The profanity fold: leetspeak inside words, look-alike letters."""
    chars = list(base.text)
    for token in re.finditer(r"\S+", base.text):
        start, end = token.span()
        while start < end and chars[start] in _EDGE_PUNCTUATION:
            start += 1
        while end > start and chars[end - 1] in _EDGE_PUNCTUATION:
            end -= 1
        core = chars[start:end]
        if not any(c.isalpha() for c in core):
            continue  # "455" is a price, not "ass"
        table = _LEET_CYRILLIC if any("\u0400" <= c <= "\u04ff" for c in core) else _LEET
        for index in range(start, end):
            chars[index] = table.get(chars[index], chars[index])
    loose = "".join(_HOMOGLYPHS.get(c, c) for c in chars)
    return _Folded(loose, base.starts, base.ends)


def _fold_base(text: str) -> str:
    return _fold(text).text


@lru_cache(maxsize=65536)
def _base_tokens(text: str) -> tuple[str, ...]:
    """A phrase's literal text as patterns over folded text, one a character."""
    return tuple(re.escape(c) for c in _fold(text).text)


@lru_cache(maxsize=65536)
def _loose_tokens(text: str) -> tuple[str, ...]:
    """...over the profanity fold, where any letter may repeat: "fuuuck" is "fuck".

    Repeats are matched, not collapsed, so "nigger" never reads as "Niger".
    """
    return tuple(re.escape(c) + "+" for c in _loosen(_fold(text)).text)


def _base_literal(text: str) -> str:
    return "".join(_base_tokens(text))


# --- Lexicons: per-locale phrase lists compiled to patterns ------------------------------

_GROUP = re.compile(r"\(([^()]*)\)")
_AGE_SLOT = "{age}"


def _expand(phrase: str, where: str) -> list[str]:
    """``"(i am|i'm) in danger"`` -> ``["i am in danger", "i'm in danger"]``."""
    pieces = _GROUP.split(phrase)
    options = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(pieces)]
    phrases: list[str] = []
    for combo in itertools.product(*options):
        expanded = " ".join("".join(combo).split())
        if any(c in expanded for c in "()|"):
            raise LexiconError(f"{where}: unbalanced or nested group in {phrase!r}")
        if expanded:
            phrases.append(expanded)
    if not phrases:
        raise LexiconError(f"{where}: empty phrase")
    return phrases


Tokens = Callable[[str], tuple[str, ...]]


def _phrase_regex(phrase: str, literal: Tokens, age: str | None, where: str) -> str:
    return "".join(_phrase_tokens(phrase, literal, age, where))


def _phrase_tokens(phrase: str, literal: Tokens, age: str | None, where: str) -> tuple[str, ...]:
    """A phrase as a sequence of patterns (a character, a space, an age…), which
    :func:`_trie` shares between phrases that begin alike."""
    words: list[list[str]] = []
    for raw_word in phrase.split(" "):
        wildcard = raw_word.endswith("*")
        word = raw_word[:-1] if wildcard else raw_word
        if "*" in word:
            raise LexiconError(f"{where}: '*' only ends a word, in {phrase!r}")
        parts: list[str] = []
        has_text = False
        for part in re.split(r"(\{age\}|\u200c)", word):
            if part == _AGE_SLOT:
                if age is None:
                    raise LexiconError(f"{where}: {{age}} is only for age phrases")
                parts.append(age)
            elif part == "\u200c":  # Persian half-space: written joined, spaced or not
                parts.append(r"\s?")
            elif part:
                if "{" in part or "}" in part:
                    raise LexiconError(f"{where}: unknown placeholder in {phrase!r}")
                pattern = literal(part)
                has_text = has_text or bool(pattern)
                parts.extend(pattern)
        if not has_text and _AGE_SLOT not in word:
            raise LexiconError(f"{where}: a word of {phrase!r} folds to nothing")
        words.append(parts + ([r"\w*"] if wildcard else []))
    return tuple(
        itertools.chain.from_iterable(
            ([r"\s+"] if index else []) + word for index, word in enumerate(words)
        )
    )


def _entry_regexes(
    entries: object, literal: Tokens, age: str | None, where: str
) -> list[tuple[int, tuple[str, ...]]]:
    """(phrase length, its patterns) for each phrase of a list.

    Each entry is a phrase, or ``{"phrase": ..., "not_followed_by": [...]}``.
    """
    if not isinstance(entries, list) or not entries:
        raise LexiconError(f"{where}: expected a non-empty list")
    regexes: list[tuple[int, tuple[str, ...]]] = []
    for entry in entries:
        guard = ""
        if isinstance(entry, dict):
            phrase = entry.get("phrase")
            followers = entry.get("not_followed_by", [])
            if not isinstance(phrase, str) or not _is_str_list(followers):
                raise LexiconError(f"{where}: malformed entry {entry!r}")
            alternatives = [
                _phrase_regex(p, literal, None, where)
                for follower in followers
                for p in _expand(follower, where)
            ]
            guard = rf"(?!\s*(?:{'|'.join(alternatives)}))" if alternatives else ""
        elif isinstance(entry, str):
            phrase = entry
        else:
            raise LexiconError(f"{where}: malformed entry {entry!r}")
        regexes.extend(
            (len(p), _phrase_tokens(p, literal, age, where) + ((guard,) if guard else ()))
            for p in _expand(phrase, where)
        )
    return regexes


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _trie(phrases: Iterable[tuple[str, ...]]) -> str:
    """One pattern for many phrases, those that begin alike sharing their beginning:
    "(i am|i'm) (in danger|not safe)" is tried as "i(?: am|'m) (?:in danger|not safe)",
    not as four phrases from every character of a story. At each branch the phrases
    given first (the longest) are tried first, and a phrase that ends where a longer one
    goes on is tried last, so the longest phrase still wins."""
    root: dict[str, dict[str, Any]] = {}
    end = ""  # no pattern is empty: the key of a phrase that ends at a node
    for tokens in phrases:
        node = root
        for token in tokens:
            node = node.setdefault(token, {})
        node[end] = {}

    def pattern(node: dict[str, dict[str, Any]]) -> str:
        branches = [token + pattern(child) for token, child in node.items() if token != end]
        if end in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return pattern(root)


@dataclass(frozen=True, slots=True)
class _Shape:
    """How phrases of one locale sit in text: word boundaries, attached prefixes."""

    boundaries: bool
    proclitics: tuple[str, ...]

    def compile(self, regexes: Iterable[tuple[int, tuple[str, ...]]]) -> re.Pattern[str]:
        # Longest phrase first: "i am 15 years old" rather than "i am 15".
        ordered = sorted(set(regexes), key=lambda item: (-item[0], item[1]))
        body = _trie([tokens for _, tokens in ordered])
        if not self.boundaries:
            return re.compile(f"(?:{body})")
        prefix = ""
        if self.proclitics:
            prefix = "(?:" + "|".join(_base_literal(p) for p in self.proclitics) + ")?"
        return re.compile(rf"(?<!\w){prefix}(?:{body})(?!\w)")


@dataclass(frozen=True, slots=True)
class _Lexicon:
    locale: str
    phone_regions: tuple[str, ...]
    crisis: tuple[tuple[str, re.Pattern[str]], ...]
    ages: re.Pattern[str]
    number_words: Mapping[str, int]
    minor_statements: re.Pattern[str]
    profanity: re.Pattern[str]
    document_keywords: re.Pattern[str]

    def age_value(self, matched: str) -> int | None:
        if matched.isascii() and matched.isdigit():
            return int(matched)
        return self.number_words.get(" ".join(matched.split()))


def _load_lexicon(path: Path, locale: str) -> _Lexicon:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise LexiconError(f"{path.name}: cannot read ({type(exc).__name__})") from exc
    return _compile_lexicon(text, locale, path.name)


@lru_cache(maxsize=64)
def _compile_lexicon(text: str, locale: str, where: str) -> _Lexicon:
    """A lexicon's patterns, compiled once a process for the same text (a large list
    takes a second; every Screener of a process, a test's too, shares them)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LexiconError(f"{where}: cannot read ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or data.get("locale") != locale:
        raise LexiconError(f'{where}: expected an object with "locale": {locale!r}')

    boundaries = data.get("word_boundaries", True)
    proclitics = data.get("proclitics", [])
    regions = data.get("phone_regions", [])
    if not isinstance(boundaries, bool) or not _is_str_list(proclitics):
        raise LexiconError(f"{where}: word_boundaries must be a bool, proclitics a list")
    if not _is_str_list(regions) or not set(regions) <= phonenumbers.SUPPORTED_REGIONS:
        raise LexiconError(f"{where}: phone_regions must be known region codes")
    shape = _Shape(boundaries, tuple(proclitics))

    crisis = data.get("crisis")
    if not isinstance(crisis, dict) or set(crisis) != set(CRISIS_CATEGORIES):
        raise LexiconError(f"{where}: crisis needs exactly {', '.join(CRISIS_CATEGORIES)}")
    crisis_patterns = tuple(
        (category, shape.compile(_entry_regexes(crisis[category], _base_tokens, None, where)))
        for category in CRISIS_CATEGORIES
    )

    age = data.get("age")
    if not isinstance(age, dict):
        raise LexiconError(f"{where}: missing age section")
    words = age.get("number_words", {})
    if not isinstance(words, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and 0 < v < 100 for k, v in words.items()
    ):
        raise LexiconError(f"{where}: number_words maps words to ages 1-99")
    number_words = {" ".join(_fold_base(k).split()): v for k, v in words.items()}
    word_regexes = [_phrase_regex(w, _base_tokens, None, where) for w in words]
    age_regex = "(?<![0-9])(" + "|".join(["[0-9]{1,2}", *word_regexes]) + ")(?![0-9])"

    return _Lexicon(
        locale=locale,
        phone_regions=tuple(regions),
        crisis=crisis_patterns,
        ages=shape.compile(
            _entry_regexes(age.get("self_reported"), _base_tokens, age_regex, where)
        ),
        number_words=MappingProxyType(number_words),
        minor_statements=shape.compile(
            _entry_regexes(age.get("minor_statements"), _base_tokens, None, where)
        ),
        profanity=shape.compile(_entry_regexes(data.get("profanity"), _loose_tokens, None, where)),
        document_keywords=shape.compile(
            _entry_regexes(data.get("document_keywords"), _base_tokens, None, where)
        ),
    )


def _load_lexicons(directory: Path) -> Mapping[str, _Lexicon]:
    return MappingProxyType(
        {
            locale: _load_lexicon(directory / f"{locale}.json", locale)
            for locale in SUPPORTED_LOCALES
        }
    )


def _resolve_locale(locale: str) -> str | None:
    """``"zh-Hans"``, ``"zh"``, ``"es-MX"`` -> a supported locale, or None."""
    candidate = locale.replace("-", "_")
    if candidate in SUPPORTED_LOCALES:
        return candidate
    language = candidate.split("_", 1)[0].lower()
    if language == "zh":
        traditional = "Hant" in candidate or candidate[3:] in ("TW", "HK", "MO")
        return "zh_Hant" if traditional and "zh_Hant" in SUPPORTED_LOCALES else "zh_Hans"
    return language if language in SUPPORTED_LOCALES else None


# --- Patterns for personal data -----------------------------------------------------------
# All of them run on the folded text: lower case, ASCII digits.

_PHONE_CANDIDATE = re.compile(r"\d(?:[\s().-]{0,3}\d){6,}")
_PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[ .()-]{0,2}\d){7,16}(?!\w)")
_DATE_LIKE = re.compile(r"\(?\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?!\d)")
# "12 500 000" (toman, lira, pounds) reads as a valid number in some regions.
_AMOUNT_LIKE = re.compile(r"[1-9][0-9]?(?:[ .,][0-9]{3}){2,}")
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+(?:@|\s?[(\[]at[)\]]\s?)"
    r"(?:[\w-]+(?:\.|\s?[(\[]dot[)\]]\s?))+[^\W\d_]{2,}(?![\w-])"
)
_URL = re.compile(r"(?<![\w.-])(?:(?:https?|ftp)://|www\.)[^\s<>\"']+")
_DOMAIN = re.compile(
    r"(?<![\w.@/-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+)([a-z]{2,12})"
    r"(/[^\s<>\"']*)?(?![\w@-])"
)
_HANDLE = re.compile(r"(?<![\w@.])@[a-z][a-z0-9_]{4,31}(?![\w@.])")
_URL_TRAILER = ".,;:!?)]}'\"»›」』"
# Top-level domains worth recognising without "http" or "www." in front...
_TLDS: Final[frozenset[str]] = frozenset(
    (  # noqa: SIM905 (a word list reads best as text)
        "com net org info io biz xyz online site app gov edu int ly gl gg cc fm tv tk ml ru ua by "
        "kz tr ir af pk sy iq eg jo lb sa ae qa kw om ye ma dz tn sd er et so ke ng gh sn cd uk "
        "fr eu nl ch pl gr cn jp kr bd mx br cl pe ar co ve de es it at in be me to us is no do "
        "se ca la ai"
    ).split()
)
# ...of which these are also words in a supported language ("home.at", "arrivé.et"):
# recognised only with a path or a subdomain.
_AMBIGUOUS_TLDS: Final[frozenset[str]] = frozenset(
    "me to us at it in be is no so do de es se ca la ai ar co ma by et sa ve ir".split()  # noqa: SIM905
)
# Passports, ID and residence cards: letters, then 6-9 digits (N01234567, AB12345678CD).
_ID_NUMBER = re.compile(
    r"(?<![a-z0-9а-яєіґ])(?:[a-zа-яєіґ]{1,2}[0-9]{6,9}(?:[a-z]{1,2})?|[a-z] [0-9]{6,9})"
    r"(?![a-z0-9а-яєіґ])"
)
_UNHCR_CASE = re.compile(r"(?<![0-9])[0-9]{3}-(?:[0-9]{2}[a-z][0-9]{5}|[0-9]{8})(?![0-9a-z])")
_IBAN = re.compile(
    r"(?<![a-z0-9])[a-z]{2}[0-9]{2}(?: ?[a-z0-9]{4}){3,7}(?: ?[a-z0-9]{1,4})?(?![a-z0-9])"
)
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{9,}(?![0-9])")
_ID_TOKEN = re.compile(r"(?<![a-z0-9])[a-z0-9][a-z0-9/-]{4,24}(?![a-z0-9])")
_KEYWORD_WINDOW = 30
_DECIMAL_PAIR = re.compile(
    r"(?<![\d.])[-+]?(\d{1,2})\.\d{4,}°?\s*[,; ]\s*[-+]?(\d{1,3})\.\d{4,}°?(?![\d.])"
)
_DMS_ONE = r"\d{1,3}\s?°\s?\d{1,2}(?:[.,]\d+)?\s?'\s?(?:\d{1,2}(?:[.,]\d+)?\s?(?:\"|'')\s?)?[nsew]"
_DMS = re.compile(rf"(?<!\d){_DMS_ONE}(?:\s*,?\s*{_DMS_ONE})?(?![a-z])")
_HEMISPHERE_PAIR = re.compile(
    r"(?<![\d.])\d{1,2}\.\d{3,}\s?°?\s?[ns]\s*,?\s*\d{1,3}\.\d{3,}\s?°?\s?[ew](?![a-z])"
)
_SPAM_REPEATS = 3
_SPAM_LINKS = 3

_PERSONAL_KINDS: Final[frozenset[FlagKind]] = frozenset(
    {
        FlagKind.EMAIL,
        FlagKind.LINK,
        FlagKind.COORDINATES,
        FlagKind.DOCUMENT,
        FlagKind.PHONE,
        FlagKind.ADDRESS,
    }
)


# Which of two personal-data flags on the same span says it better: the most specific.
_PERSONAL_RANK: Final[Mapping[str, int]] = MappingProxyType(
    {
        "email": 0,
        "url": 1,
        "domain": 1,
        "handle": 1,
        "decimal": 2,
        "dms": 2,
        "unhcr_case": 3,
        "iban": 3,
        "id_number": 4,
        "keyword_number": 5,
        "phone_number": 6,
        "phone_pattern": 7,
        "digit_run": 8,
    }
)


def _personal_rank(finding: Finding) -> int:
    return _PERSONAL_RANK.get(finding.detail, len(_PERSONAL_RANK))


# --- One screening ------------------------------------------------------------------------


class _Scan:
    """The detectors' view of one text; derived forms are computed once, on demand."""

    def __init__(
        self, source: ScreeningInput, lexicons: Sequence[_Lexicon], regions: Sequence[str]
    ) -> None:
        self.source = source
        self.lexicons = lexicons  # the story's locale first: its detail wins a tie
        self.regions = regions

    @cached_property
    def base(self) -> _Folded:
        return _fold(self.source.text)

    @cached_property
    def loose(self) -> _Folded:
        return _loosen(self.base)

    def _hold(self, kind: FlagKind, start: int, end: int, detail: str) -> Finding:
        return Finding(kind, FlagAction.HOLD, *self.base.span(start, end), detail)

    def phones(self) -> Iterator[Finding]:
        text = self.base.text
        if not _PHONE_CANDIDATE.search(text):
            return
        searches: list[tuple[str | None, int]] = [(None, phonenumbers.Leniency.POSSIBLE)]
        searches += [(region, phonenumbers.Leniency.VALID) for region in self.regions]
        for region, leniency in searches:
            for number in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
                start, end = int(number.start), int(number.end)
                if not (
                    _DATE_LIKE.fullmatch(text, start, end)
                    or _AMOUNT_LIKE.fullmatch(text, start, end)
                ):
                    yield self._hold(FlagKind.PHONE, start, end, "phone_number")
        for match in _PHONE_PATTERN.finditer(text):
            raw = match.group()
            digits = sum(c.isdigit() for c in raw)
            prefixed = raw.lstrip("(").startswith(("+", "0"))
            if prefixed and 9 <= digits <= 15 and not _DATE_LIKE.match(raw):
                yield self._hold(FlagKind.PHONE, *match.span(), "phone_pattern")

    def emails(self) -> Iterator[Finding]:
        for match in _EMAIL.finditer(self.base.text):
            yield self._hold(FlagKind.EMAIL, *match.span(), "email")

    @cached_property
    def link_spans(self) -> list[tuple[int, int, str]]:
        """Links in the folded text, without overlaps; ``handle`` spans are not links."""
        text = self.base.text
        spans: list[tuple[int, int, str]] = []

        def free(start: int, end: int) -> bool:
            return all(end <= s or start >= e for s, e, _ in spans)

        for match in _URL.finditer(text):
            start, end = match.start(), match.end()
            while end > start and text[end - 1] in _URL_TRAILER:
                end -= 1
            spans.append((start, end, "url"))
        for match in _DOMAIN.finditer(text):
            labels, tld, path = match.group(1), match.group(2), match.group(3)
            if tld not in _TLDS:
                continue
            if tld in _AMBIGUOUS_TLDS and not path and labels.count(".") < 2:
                continue
            start, end = match.start(), match.end()
            while end > start and text[end - 1] in _URL_TRAILER:
                end -= 1
            if free(start, end):
                spans.append((start, end, "domain"))
        for match in _HANDLE.finditer(text):
            if free(*match.span()):
                spans.append((*match.span(), "handle"))
        return spans

    def links(self) -> Iterator[Finding]:
        for start, end, detail in self.link_spans:
            yield self._hold(FlagKind.LINK, start, end, detail)

    def documents(self) -> Iterator[Finding]:
        text = self.base.text
        for pattern, detail in (
            (_ID_NUMBER, "id_number"),
            (_UNHCR_CASE, "unhcr_case"),
            (_IBAN, "iban"),
            (_DIGIT_RUN, "digit_run"),
        ):
            for match in pattern.finditer(text):
                if detail != "iban" or sum(c.isdigit() for c in match.group()) >= 10:
                    yield self._hold(FlagKind.DOCUMENT, *match.span(), detail)
        for lexicon in self.lexicons:
            for keyword in lexicon.document_keywords.finditer(text):
                window_end = min(len(text), keyword.end() + _KEYWORD_WINDOW)
                for token in _ID_TOKEN.finditer(text, keyword.end(), window_end):
                    digits = sum(c.isdigit() for c in token.group())
                    if digits >= 6 or (digits >= 5 and digits < len(token.group())):
                        yield self._hold(FlagKind.DOCUMENT, *token.span(), "keyword_number")
                        break

    def coordinates(self) -> Iterator[Finding]:
        text = self.base.text
        for match in _DECIMAL_PAIR.finditer(text):
            if int(match.group(1)) <= 90 and int(match.group(2)) <= 180:
                yield self._hold(FlagKind.COORDINATES, *match.span(), "decimal")
        for match in _HEMISPHERE_PAIR.finditer(text):
            yield self._hold(FlagKind.COORDINATES, *match.span(), "decimal")
        for match in _DMS.finditer(text):
            yield self._hold(FlagKind.COORDINATES, *match.span(), "dms")

    def crisis(self) -> Iterator[Finding]:
        for lexicon in self.lexicons:
            for category, pattern in lexicon.crisis:
                for match in pattern.finditer(self.base.text):
                    start, end = self.base.span(*match.span())
                    yield Finding(FlagKind.CRISIS, FlagAction.SAFETY, start, end, category)

    def minor_age(self) -> Iterator[Finding]:
        text = self.base.text
        for lexicon in self.lexicons:
            for match in lexicon.ages.finditer(text):
                said = next((g for g in match.groups() if g is not None), "")
                age = lexicon.age_value(said)
                if age is not None and 0 < age < 18:
                    start, end = self.base.span(*match.span())
                    yield Finding(
                        FlagKind.MINOR, FlagAction.SAFETY, start, end, "self_reported_age"
                    )
            for match in lexicon.minor_statements.finditer(text):
                start, end = self.base.span(*match.span())
                yield Finding(FlagKind.MINOR, FlagAction.SAFETY, start, end, "self_reported_minor")

    def profanity(self) -> Iterator[Finding]:
        for lexicon in self.lexicons:
            for match in lexicon.profanity.finditer(self.loose.text):
                start, end = self.loose.span(*match.span())
                detail = f"lexicon:{lexicon.locale}"
                yield Finding(FlagKind.PROFANITY, FlagAction.ANNOTATE, start, end, detail)

    def spam(self) -> Iterator[Finding]:
        text = self.source.text
        seen: dict[str, list[tuple[int, int]]] = {}
        position = 0
        for line in text.splitlines(keepends=True):
            key = " ".join(_fold_base(line).split())
            if any(c.isalnum() for c in key):
                start = position + len(line) - len(line.lstrip())
                seen.setdefault(key, []).append((start, start + len(line.strip())))
            position += len(line)
        for places in seen.values():
            if len(places) >= _SPAM_REPEATS:
                yield Finding(
                    FlagKind.SPAM, FlagAction.HOLD, places[0][0], places[-1][1], "repeated_line"
                )
        links = [(s, e) for s, e, detail in self.link_spans if detail != "handle"]
        if len(links) > _SPAM_LINKS:
            start, end = self.base.span(links[0][0], links[-1][1])
            yield Finding(FlagKind.SPAM, FlagAction.HOLD, start, end, "too_many_links")


_BUILTIN_DETECTORS: Final[tuple[tuple[str, Callable[[_Scan], Iterable[Finding]]], ...]] = (
    ("phone", _Scan.phones),
    ("email", _Scan.emails),
    ("link", _Scan.links),
    ("document", _Scan.documents),
    ("coordinates", _Scan.coordinates),
    ("crisis", _Scan.crisis),
    ("minor_age", _Scan.minor_age),
    ("profanity", _Scan.profanity),
    ("spam", _Scan.spam),
)


def _resolve(findings: Sequence[Finding]) -> list[Finding]:
    """One flag per thing found.

    Personal data: a span inside another (an e-mail's domain, a phone number in a link,
    a digit run that is a phone number) is dropped. Other kinds: the same span is kept
    once (the first, i.e. from the story's own locale), and overlapping spans with the
    same detail are merged.
    """
    unique = list(dict.fromkeys(findings))
    personal = sorted(
        (f for f in unique if f.kind in _PERSONAL_KINDS),
        key=lambda f: (f.start, -f.end, _personal_rank(f)),
    )
    kept: list[Finding] = []
    reach = -1
    for finding in personal:
        if finding.end > reach:
            kept.append(finding)
            reach = finding.end

    first_by_span: dict[tuple[FlagKind, int, int], Finding] = {}
    for finding in unique:
        if finding.kind not in _PERSONAL_KINDS:
            first_by_span.setdefault((finding.kind, finding.start, finding.end), finding)
    groups: dict[tuple[FlagKind, str], list[Finding]] = {}
    for finding in first_by_span.values():
        groups.setdefault((finding.kind, finding.detail), []).append(finding)
    for (kind, _detail), group in groups.items():
        if kind is FlagKind.SCREENING_UNAVAILABLE:
            kept.extend(group)
            continue
        group.sort(key=lambda f: (f.start, f.end))
        current = group[0]
        for finding in group[1:]:
            if finding.start < current.end:
                current = replace(current, end=max(current.end, finding.end))
            else:
                kept.append(current)
                current = finding
        kept.append(current)
    return kept


def _unavailable(detail: str) -> Finding:
    # An empty span: it says nothing about where, and hides no other highlight.
    return Finding(FlagKind.SCREENING_UNAVAILABLE, FlagAction.HOLD, 0, 0, detail)


def _where(exc: BaseException) -> str:
    """Where an exception was raised: file, line and function only, never its message."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


@dataclass(frozen=True, slots=True)
class _Job:
    source: ScreeningInput
    lexicons: tuple[_Lexicon, ...]
    regions: tuple[str, ...]
    detectors: tuple[tuple[str, Callable[[_Scan], Iterable[Finding]]], ...]


def _run(job: _Job) -> list[Finding]:
    """Every detector over the text, each guarded; runs in a worker thread."""
    scan = _Scan(job.source, job.lexicons, job.regions)
    length = len(job.source.text)
    findings: list[Finding] = []
    for name, detector in job.detectors:
        try:
            found = list(detector(scan))
            for finding in found:
                if not 0 <= finding.start <= finding.end <= length:
                    raise ValueError("finding outside the text")
        except Exception as exc:
            log.error(
                "screening detector %s failed: %s at %s", name, type(exc).__name__, _where(exc)
            )
            findings.append(_unavailable(f"detector_failed:{name}"))
            continue
        findings.extend(found)
    return _resolve(findings)


class Screener:
    """Screens story text for personal data, crisis language, minors, profanity and spam.

    Build one per application (the lexicons are read and compiled here) and share it;
    ``screen`` is safe to call concurrently.

    Args:
        timeout: seconds one screening may take; past that it is held as
            ``screening_unavailable``.
        default_region: the ISO 3166 region most phone numbers are written for
            (e.g. ``"DE"``), tried with every text.
        lexicons_dir: where ``<locale>.json`` phrase lists live (tests may point
            elsewhere); the package's own by default.
        extra_detectors: more detectors, run and guarded like the built-in ones.

    Raises:
        LexiconError: a lexicon file is missing or malformed.
    """

    def __init__(
        self,
        *,
        timeout: float = 2.0,
        default_region: str | None = None,
        lexicons_dir: Path | None = None,
        extra_detectors: Sequence[Detector] = (),
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._timeout = timeout
        self._default_region = _region(default_region)
        self._lexicons = _load_lexicons(lexicons_dir or DEFAULT_LEXICONS_DIR)
        self._detectors = _BUILTIN_DETECTORS + tuple(
            (getattr(d, "__name__", type(d).__name__), _adapt(d)) for d in extra_detectors
        )

    async def screen(
        self,
        text: str,
        *,
        locale: str,
        is_adult: bool = True,
        region_hint: str | None = None,
    ) -> ScreeningResult:
        """Screen ``text``; flags' offsets index into it.

        Args:
            text: the text to screen, exactly as it will be shown to moderators.
            locale: the story's locale; every locale's crisis, age and profanity lists are
                applied anyway, this one first.
            is_adult: False flags the whole text for the safety queue.
            region_hint: the ISO 3166 region the storyteller lives in, if known (phone
                numbers are read as written there); anything else is ignored.

        Returns:
            The flags. Never raises for a detector's failure or a timeout: those give a
            ``screening_unavailable`` HOLD flag.
        """
        job = self._job(ScreeningInput(text, locale, is_adult, region_hint))
        try:
            findings = await asyncio.wait_for(asyncio.to_thread(_run, job), self._timeout)
        except TimeoutError:
            # The worker thread cannot be stopped; its late result is dropped.
            log.warning("screening timed out after %.2fs (%d chars)", self._timeout, len(text))
            findings = [_unavailable("timeout")]
        except Exception as exc:
            log.error("screening failed: %s at %s", type(exc).__name__, _where(exc))
            findings = [_unavailable("internal_error")]
        if not is_adult:
            findings.append(Finding(FlagKind.MINOR, FlagAction.SAFETY, 0, len(text), "not_adult"))
        return _result(findings)

    def _job(self, source: ScreeningInput) -> _Job:
        locale = _resolve_locale(source.locale)
        ordered = tuple(
            sorted(self._lexicons.values(), key=lambda lexicon: lexicon.locale != locale)
        )
        regions = [_region(source.region_hint), self._default_region]
        if locale is not None:
            regions.extend(self._lexicons[locale].phone_regions)
        unique_regions = tuple(dict.fromkeys(r for r in regions if r is not None))
        return _Job(source, ordered, unique_regions, self._detectors)


def _adapt(detector: Detector) -> Callable[[_Scan], Iterable[Finding]]:
    def run(scan: _Scan) -> Iterable[Finding]:
        return detector(scan.source)

    return run


def _region(code: str | None) -> str | None:
    """An ISO 3166 region libphonenumber knows, or None (a country name, "", junk)."""
    if not code:
        return None
    upper = code.strip().upper()
    return upper if upper in phonenumbers.SUPPORTED_REGIONS else None


def _result(findings: Sequence[Finding]) -> ScreeningResult:
    ordered = sorted(findings, key=lambda f: (f.start, f.end, f.kind.value, f.detail))
    return ScreeningResult(
        flags=tuple(
            Flag(
                id=f"{f.kind.value}:{index}",
                kind=f.kind,
                action=f.action,
                start=f.start,
                end=f.end,
                detail=f.detail,
            )
            for index, f in enumerate(ordered)
        )
    )
