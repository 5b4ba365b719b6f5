"""Short forms of button labels, for platforms whose buttons are narrow.

A WhatsApp reply button shows 20 characters (a list row 24); many labels are longer in
some language. Each label that can be too long has a short form here, translated like
any string (context ``short label``); the WhatsApp rendering uses it when the full
label does not fit (:func:`short_label`), and ``together-bot i18n check`` fails when a
label is too long in a locale and its short form is missing or too long as well
(:func:`bot.i18n.check.short_label_problems`).

A short form may use only the placeholders of its label (``Withdraw #{number}`` for
``Withdraw story #{number}``): the label's values are put into it.
"""

from __future__ import annotations

import contextvars
import functools
import re

from bot.i18n.translator import _, pgettext

CONTEXT = "short label"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def short_forms() -> dict[str, str]:
    """Each button label that can be too long (its msgid) -> its short form, in the
    current locale."""
    return {
        "No, keep it": pgettext("short label", "No, keep it"),
        "No, keep my data": pgettext("short label", "No, keep my data"),
        "Open the dashboard": pgettext("short label", "Open the dashboard"),
        "Withdraw story #{number}": pgettext("short label", "Withdraw #{number}"),
        "Yes, erase everything": pgettext("short label", "Yes, erase it all"),
        "✍️ Write my own": pgettext("short label", "✍️ Write my own"),
        "✏️ Add to or change the story": pgettext("short label", "✏️ Edit the story"),
        "✏️ Change how your name is shown": pgettext("short label", "✏️ Change your name"),
        "✏️ Change the countries": pgettext("short label", "✏️ Change countries"),
        "✏️ Change the film, its title or description": pgettext("short label", "✏️ Change the film"),
        "✏️ Change the message": pgettext("short label", "✏️ Change message"),
        "✏️ Change where your community is": pgettext("short label", "✏️ Change community"),
        "➡️ Another story": pgettext("short label", "➡️ Another story"),
        "➡️ Another story from {country}": pgettext("short label", "➡️ More: {country}"),
        "⬇️ Download my data (ZIP)": pgettext("short label", "⬇️ Download (ZIP)"),
        "🌍 Stories from a country": pgettext("short label", "🌍 By country"),
        "🌐 Open the story's page": pgettext("short label", "🌐 Story page"),
        "🎬 A short film": pgettext("short label", "🎬 A short film"),
        "🏡 Welcoming newcomers in my community": pgettext("short label", "🏡 Welcoming people"),
        "👧 A child's story I am sharing with them": pgettext("short label", "👧 A child's story"),
        "📄 Send me a copy of my data": pgettext("short label", "📄 Copy of my data"),
        "📊 Learn the facts": pgettext("short label", "📊 Learn the facts"),
        "📋 All questions": pgettext("short label", "📋 All questions"),
        "📖 Continue your story": pgettext("short label", "📖 Continue story"),
        "📖 Meet someone your pledge stands with": pgettext("short label", "📖 Meet someone"),
        "📖 Share your story": pgettext("short label", "📖 Share your story"),
        "📚 Read stories": pgettext("short label", "📚 Read stories"),
        "📚 Stories from everywhere": pgettext("short label", "📚 From everywhere"),
        "📣 Share on Telegram": pgettext("short label", "📣 Share on Telegram"),
        "📣 Share the pledge": pgettext("short label", "📣 Share the pledge"),
        "📣 Share this story": pgettext("short label", "📣 Share this story"),
        "📨 Send the new version": pgettext("short label", "📨 Send new version"),
        "📨 Submit my story": pgettext("short label", "📨 Submit my story"),
        "🔒 Privacy & my data": pgettext("short label", "🔒 Privacy & my data"),
        "🔔 Turn on thanks from readers": pgettext("short label", "🔔 Turn on thanks"),
        "🔕 Turn off thanks from readers": pgettext("short label", "🔕 Turn off thanks"),
        "🗑 Erase all my data": pgettext("short label", "🗑 Erase all my data"),
        "🗑 Start the story again": pgettext("short label", "🗑 Start again"),
        "🙈 Stay anonymous": pgettext("short label", "🙈 Stay anonymous"),
        "🤝 Take the pledge": pgettext("short label", "🤝 Take the pledge"),
        "🧳 My own migration story": pgettext("short label", "🧳 My own story"),
    }


@functools.cache
def english_short_forms() -> dict[str, str]:
    """The table in English: label msgid -> short form msgid."""
    # A new, empty context: the translator's context variable holds its default there,
    # the source language, whatever locale the caller has active.
    return contextvars.Context().run(short_forms)


def short_label(label: str) -> str | None:
    """The short form of ``label`` (a label as shown, in the current locale), or None
    when it has none, or none in this language (an untranslated short form is never
    put in place of a translated label)."""
    english = english_short_forms()
    for msgid, short in short_forms().items():
        full = _(msgid)
        values = _match(full, label)
        if values is None:
            continue
        if short == english[msgid] and full != msgid:
            return None  # the label is translated, its short form not yet
        try:
            return short.format(**values) if values else short
        except (KeyError, IndexError, ValueError):
            return None  # a translation whose placeholders differ: the check reports it
    return None


def _match(template: str, label: str) -> dict[str, str] | None:
    """The values of ``template``'s placeholders that make it ``label``, or None."""
    if "{" not in template:
        return {} if template == label else None
    found = _pattern(template).fullmatch(label)
    return found.groupdict() if found is not None else None


@functools.lru_cache(maxsize=512)
def _pattern(template: str) -> re.Pattern[str]:
    pieces: list[str] = []
    seen: set[str] = set()
    position = 0
    for placeholder in _PLACEHOLDER.finditer(template):
        pieces.append(re.escape(template[position : placeholder.start()]))
        name = placeholder.group(1)
        pieces.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        position = placeholder.end()
    pieces.append(re.escape(template[position:]))
    return re.compile("".join(pieces), re.DOTALL)
