"""The translator: compiled catalogs per locale and a per-event context variable."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE_LOCALE = "en"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "ckb"})


@dataclass(frozen=True, slots=True)
class _Active:
    locale: str
    catalog: gettext.NullTranslations


# The default is immutable in effect: NullTranslations holds no per-user state.
_active: ContextVar[_Active] = ContextVar(
    "together_bot_locale",
    default=_Active(SOURCE_LOCALE, NullTranslations()),  # noqa: B039
)


def _(message: str) -> str:
    """Translate ``message`` into the current event's locale."""
    return _active.get().catalog.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with the current locale's CLDR plural rules."""
    return _active.get().catalog.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return _active.get().catalog.pgettext(context, message)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


def current_locale() -> str:
    return _active.get().locale


def is_rtl(locale: str) -> bool:
    return locale.split("_")[0].split("-")[0] in RTL_LANGUAGES


class Translator:
    """Loads the compiled catalogs once and negotiates locales against them.

    Args:
        locales_dir: where ``<lang>/LC_MESSAGES/messages.mo`` live.
        default: the locale used when nothing matches.
    """

    def __init__(self, locales_dir: Path = LOCALES_DIR, default: str = SOURCE_LOCALE) -> None:
        self.default = default
        self._catalogs: dict[str, gettext.NullTranslations] = {SOURCE_LOCALE: NullTranslations()}
        for mo in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
            locale = mo.parent.parent.name
            with mo.open("rb") as fp:
                self._catalogs[locale] = Translations(fp, domain=DOMAIN)
        self.locales: tuple[str, ...] = (
            SOURCE_LOCALE,
            *sorted(k for k in self._catalogs if k != SOURCE_LOCALE),
        )

    def supports(self, locale: str | None) -> bool:
        return locale in self._catalogs

    def catalog(self, locale: str) -> gettext.NullTranslations:
        return self._catalogs.get(locale, self._catalogs[SOURCE_LOCALE])

    def negotiate(self, hint: str | None) -> str:
        """Map a platform hint to a supported locale, or the default.

        ``hint`` is a Telegram ``language_code``, a Slack locale or a browser's
        Accept-Language header: ``pt-BR`` becomes ``pt``, ``zh-CN`` and a bare ``zh``
        become ``zh_Hans`` and ``zh-TW``/``zh-HK`` ``zh_Hant`` (Babel fills in the likely
        script), ``ar-EG`` becomes ``ar``, ``fa-AF`` and Dari's ``prs`` ``fa``; an
        unsupported language falls back to the default.
        """
        for tag in _parse_accept_language(hint or ""):
            for candidate in _candidates(tag):
                if candidate in self._catalogs:
                    return candidate
        return self.default

    def activate(self, locale: str) -> Token[_Active]:
        """Make ``locale`` current for this task until :meth:`deactivate` (per event)."""
        chosen = locale if locale in self._catalogs else self.default
        return _active.set(_Active(chosen, self.catalog(chosen)))

    @staticmethod
    def deactivate(token: Token[_Active]) -> None:
        _active.reset(token)

    @contextmanager
    def use(self, locale: str) -> Iterator[str]:
        """Make ``locale`` the current one for the code inside the block."""
        chosen = locale if locale in self._catalogs else self.default
        token = _active.set(_Active(chosen, self.catalog(chosen)))
        try:
            yield chosen
        finally:
            _active.reset(token)


# Languages read in another's catalog: Dari (Afghanistan; Windows and some phones say
# ``prs-AF``) is written Persian, as ``fa-AF`` is.
_SAME_WRITTEN_LANGUAGE = {"prs": "fa"}


def _candidates(tag: str) -> list[str]:
    """``zh-TW`` -> ``zh_Hant_TW, zh_Hant, zh_TW, zh``: most to least specific.

    A tag without a script gets its likely one (CLDR): a bare ``zh`` is ``zh_Hans``.
    """
    language = tag.replace("-", "_").split("_")[0].lower()
    if language in _SAME_WRITTEN_LANGUAGE:
        return [_SAME_WRITTEN_LANGUAGE[language]]
    try:
        parsed = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return [language]
    language, script, territory = parsed.language, parsed.script, parsed.territory
    if not script and not territory:
        likely = str(get_global("likely_subtags").get(language, "")).split("_")
        script = likely[1] if len(likely) == 3 else None
    out = []
    if script and territory:
        out.append(f"{language}_{script}_{territory}")
    if script:
        out.append(f"{language}_{script}")
    if territory:
        out.append(f"{language}_{territory}")
    out.append(language)
    return out


def _parse_accept_language(header: str) -> list[str]:
    """``"fr-CH, fr;q=0.9, en;q=0.8"`` -> ``["fr-CH", "fr", "en"]`` by quality."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        tag = tag.strip()
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _q, _i, tag in sorted(weighted)]
