"""The WhatsApp message templates the bot needs, and which one a notice goes as.

A free-form message reaches a person only within 24 hours of their last message
(:mod:`bot.adapters.whatsapp.window`). A notice for someone outside that window goes as
an approved *template*: a short text naming what happened (a story number, a date, a
count: never a name), in the person's language, with one quick-reply button. Tapping it
is a message from them: the window opens and the full notice follows as free-form.

Each template is submitted once per language in WhatsApp Manager (or with
``POST /<WABA id>/message_templates``): ``together-bot whatsapp templates`` prints them as
that API's JSON, ``--format markdown`` as the README's table. Their words are catalog
strings (``N_`` here, translated like every other message); ``{name}`` placeholders
become WhatsApp's ``{{1}}``, ``{{2}}``… in order.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.i18n import N_, _
from bot.i18n.formatting import format_count, format_day
from bot.i18n.translator import SOURCE_LOCALE, Translator

UTILITY = "UTILITY"
MARKETING = "MARKETING"
# The bot's locales -> WhatsApp's template language codes. WhatsApp has no template
# language for Pashto, Somali, Tigrinya or Amharic: their readers get the English
# template (its button brings the notice itself, in their language).
LANGUAGE_CODES: dict[str, str] = {
    "ar": "ar",
    "bn": "bn",
    "de": "de",
    "en": "en",
    "es": "es",
    "fa": "fa",
    "fr": "fr",
    "it": "it",
    "ja": "ja",
    "pt": "pt_BR",
    "ru": "ru",
    "sw": "sw",
    "tr": "tr",
    "uk": "uk",
    "ur": "ur",
    "zh_Hans": "zh_CN",
    "zh_Hant": "zh_TW",
}
# What a tap on a template's button sends back: the main menu's choice, so that a tap
# when nothing is waiting (delivered meanwhile) still gets an answer.
TAP_PAYLOAD = "menu:main"
BODY_LIMIT = 1024  # WhatsApp's limit on a template's body
BUTTON_LIMIT = 25  # and on a quick reply's text
NAME = re.compile(r"^[a-z0-9_]{1,512}$")

OPEN = N_("Open")
CONTINUE = N_("Continue")


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """One template, in every language.

    Args:
        name: lowercase snake case, as WhatsApp Manager requires.
        category: ``UTILITY`` (about something of the person's) or ``MARKETING``.
        body: the catalog string; its ``{placeholders}`` are ``params``, in order.
        params: the placeholders' names, numbered ``{{1}}``… in this order.
        example: a sample value of each parameter (Meta reviews templates with them).
        button: the quick reply's catalog string.
    """

    name: str
    category: str
    body: str
    params: tuple[str, ...]
    example: tuple[str, ...]
    button: str

    def text(self, translator: Translator, locale: str) -> str:
        """The body in ``locale`` with WhatsApp's numbered placeholders."""
        with translator.use(locale):
            words = _(self.body)
        numbered = {name: f"{{{{{index}}}}}" for index, name in enumerate(self.params, 1)}
        return words.format(**numbered)

    def label(self, translator: Translator, locale: str) -> str:
        with translator.use(locale):
            return _(self.button)


STORY_UPDATE = TemplateSpec(
    "together_story_update",
    UTILITY,
    N_(
        "There is news about your story #{number} from the TOGETHER team. "
        "Tap the button below to read it."
    ),
    ("number",),
    ("12",),
    OPEN,
)
THANKS_RECEIVED = TemplateSpec(
    "together_thanks_received",
    UTILITY,
    N_("A reader of your story #{number} sent you a thank-you. Tap the button below to read it."),
    ("number",),
    ("12",),
    OPEN,
)
DRAFT_REMINDER = TemplateSpec(
    "together_draft_reminder",
    UTILITY,
    N_(
        "Your unfinished story is saved, just where you left it. "
        "Tap the button below whenever you feel ready."
    ),
    (),
    (),
    CONTINUE,
)
DRAFT_EXPIRY = TemplateSpec(
    "together_draft_expiry",
    UTILITY,
    N_(
        "To protect your privacy, your unfinished story will be deleted on {date}. "
        "Tap the button below to see it."
    ),
    ("date",),
    ("December 15, 2026",),
    CONTINUE,
)
MILESTONE = TemplateSpec(
    "together_milestone",
    MARKETING,
    N_(
        "People who have taken the TOGETHER pledge: {count}. Thank you for being one of "
        "them! Tap the button below for more."
    ),
    ("count",),
    ("10,000",),
    OPEN,
)
NEW_MESSAGE = TemplateSpec(
    "together_new_message",
    UTILITY,
    N_("You have a new message from the TOGETHER bot. Tap the button below to read it."),
    (),
    (),
    OPEN,
)
TEMPLATES: tuple[TemplateSpec, ...] = (
    STORY_UPDATE,
    THANKS_RECEIVED,
    DRAFT_REMINDER,
    DRAFT_EXPIRY,
    MILESTONE,
    NEW_MESSAGE,
)


def language_code(locale: str) -> str:
    """WhatsApp's code for one of the bot's locales (English for anything else)."""
    return LANGUAGE_CODES.get(locale, LANGUAGE_CODES[SOURCE_LOCALE])


def template_for(payload: Mapping[str, Any], locale: str) -> tuple[TemplateSpec, tuple[str, ...]]:
    """The template a queued notice goes as outside the window, and its parameters in
    ``locale`` (by the payload's kind: nothing identifying, a story number at most)."""
    if isinstance(data := payload.get("notification"), Mapping):
        return STORY_UPDATE, (str(int(data["story_id"])),)
    if isinstance(data := payload.get("thanks"), Mapping):
        return THANKS_RECEIVED, (str(int(data["story_id"])),)
    if isinstance(data := payload.get("milestone"), Mapping):
        return MILESTONE, (format_count(int(data["threshold"]), locale),)
    if isinstance(erase_at := payload.get("erase_at"), str):
        # The notice names the last day the draft is kept: it is erased at its end.
        day = datetime.fromisoformat(erase_at) - timedelta(days=1)
        return DRAFT_EXPIRY, (format_day(day, locale),)
    if payload.get("notice") == "draft_reminder":
        return DRAFT_REMINDER, ()
    return NEW_MESSAGE, ()


def send_components(spec: TemplateSpec, values: Iterable[str]) -> list[dict[str, Any]]:
    """The ``components`` of a template message: its body's parameters and the quick
    reply's payload (what a tap sends back)."""
    components: list[dict[str, Any]] = []
    parameters = [{"type": "text", "text": value} for value in values]
    if parameters:
        components.append({"type": "body", "parameters": parameters})
    components.append(
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": TAP_PAYLOAD}],
        }
    )
    return components


def definition(spec: TemplateSpec, translator: Translator, locale: str) -> dict[str, Any]:
    """The template in one language, as ``POST /<WABA id>/message_templates`` takes it."""
    body: dict[str, Any] = {"type": "BODY", "text": spec.text(translator, locale)}
    if spec.params:
        body["example"] = {"body_text": [list(spec.example)]}
    return {
        "name": spec.name,
        "language": language_code(locale),
        "category": spec.category,
        "parameter_format": "POSITIONAL",
        "components": [
            body,
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": spec.label(translator, locale)}],
            },
        ],
    }


def definitions(translator: Translator) -> list[dict[str, Any]]:
    """Every template in every language."""
    return [definition(spec, translator, locale) for spec in TEMPLATES for locale in LANGUAGE_CODES]


def problems(template: Mapping[str, Any]) -> list[str]:
    """What WhatsApp Manager would refuse in one template's definition."""
    found: list[str] = []
    name = str(template.get("name", ""))
    if not NAME.match(name):
        found.append(f"{name}: the name is not lowercase snake case")
    components = {c["type"]: c for c in template.get("components", [])}
    text = str(components.get("BODY", {}).get("text", ""))
    where = f"{name} ({template.get('language')})"
    if not text or len(text) > BODY_LIMIT:
        found.append(f"{where}: the body is empty or longer than {BODY_LIMIT} characters")
    numbers = [int(n) for n in re.findall(r"\{\{(\d+)\}\}", text)]
    if numbers != list(range(1, len(numbers) + 1)):
        found.append(f"{where}: the placeholders are not {{{{1}}}}, {{{{2}}}}… in order")
    if re.search(r"^\s*\{\{|\}\}[\s.!?。！？]*$", text):
        found.append(f"{where}: a placeholder starts or ends the body")
    if re.search(r"\{(?!\{)\w*\}(?!\})", text):
        found.append(f"{where}: a placeholder of the catalog is left in the body")
    example = components.get("BODY", {}).get("example", {}).get("body_text", [[]])[0]
    if len(example) != len(numbers):
        found.append(f"{where}: {len(numbers)} placeholders, {len(example)} example values")
    buttons = components.get("BUTTONS", {}).get("buttons", [])
    if len(buttons) != 1 or not 0 < len(buttons[0].get("text", "")) <= BUTTON_LIMIT:
        found.append(f"{where}: the quick reply is missing or longer than {BUTTON_LIMIT}")
    return found


def markdown(translator: Translator) -> str:
    """The README's table: every template's body and button in every language."""
    lines = [
        "| Template | Category | Language | Body | Button |",
        "|---|---|---|---|---|",
    ]
    for spec in TEMPLATES:
        for locale in LANGUAGE_CODES:
            body = spec.text(translator, locale).replace("|", "\\|").replace("\n", " ")
            label = spec.label(translator, locale).replace("|", "\\|")
            lines.append(
                f"| `{spec.name}` | {spec.category} | {language_code(locale)} | {body} | {label} |"
            )
    return "\n".join(lines)


def print_templates(fmt: str = "json") -> int:
    """``together-bot whatsapp templates``: the definitions as JSON (one per line: one
    API call each), or the README's table. Returns 1 when one would be refused."""
    translator = Translator()
    found = definitions(translator)
    if fmt == "markdown":
        print(markdown(translator))
    else:
        for template in found:
            print(json.dumps(template, ensure_ascii=False))
    refused = [problem for template in found for problem in problems(template)]
    for problem in refused:
        print(f"error: {problem}", file=sys.stderr)
    for spec, locale in untranslated(translator):
        print(
            f"note: {spec.name} ({language_code(locale)}) is not translated yet: "
            "do not submit it in that language until it is",
            file=sys.stderr,
        )
    return 1 if refused else 0


def untranslated(translator: Translator) -> list[tuple[TemplateSpec, str]]:
    """The templates whose words a locale's catalog does not translate yet."""
    missing = []
    for spec in TEMPLATES:
        for locale in LANGUAGE_CODES:
            if locale == SOURCE_LOCALE:
                continue
            with translator.use(locale):
                words = (_(spec.body), _(spec.button))
            if words[0] == spec.body:
                missing.append((spec, locale))
    return missing
