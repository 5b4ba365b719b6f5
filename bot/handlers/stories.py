"""/stories: published stories, one at a time, as cards; by country; shared by a link.

A card shows the story as it was published (redactions applied), credited as the
storyteller chose (never by name under 18), where they come from and live now, their
message to the people there, and the files a moderator chose to publish. Which story
comes next is :func:`storage.reading.next_story`'s rule (the reader's language first,
fair to new and little-read stories). The only trace of reading is the story's read
count and, in the reader's own conversation, the story they saw last and the one their
round began with (so the next one differs); nothing links a reader to a story anywhere
else.

Choices are ``stories:next``, ``stories:countries``, ``stories:from:<country code>``
and ``stories:share:<story id>``, and ``thank:<story id>`` (Say thank you, while the
storyteller takes thanks). ``/start s-<story id>`` (a shared link) opens one story.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import quote

from bot.core.dialog import DialogEngine
from bot.core.events import Choice, MediaKind, MediaRef, Outgoing
from bot.core.media import LOCAL
from bot.core.turn import Turn
from bot.handlers import menu
from bot.i18n import _, ngettext
from bot.i18n.formatting import babel_locale, country_name, format_count, isolate
from bot.review.delivery import credit_line
from storage import reading
from storage.reading import ReadableStory
from storage.thanks import StoryThanks, story_thanks

PREFIX = "stories"
NEXT = f"{PREFIX}:next"
COUNTRIES = f"{PREFIX}:countries"
# Kept in the reader's own conversation only: the story they saw last, and the one
# their round of reading began with (see storage.reading).
LAST_STORY = "_last_story"
ROUND_START = "_round_start"
STORY_LINK = re.compile(r"^s-([0-9]{1,12})$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
COUNTRY_BUTTONS_MAX = 24
# Where a card links the story's page on the wall instead of carrying its files: Slack
# messages carry no files. (The web chat shows a card's published files from the wall.)
_FILES_ON_THE_PAGE = frozenset({"slack"})
# Where a card carries its photos only, from the media store; its other files are on the
# story's page. WhatsApp would upload a voice note or a video whole into every reader's
# chat (and refuses one over 16 MB): the page plays it.
_PHOTOS_ONLY = frozenset({"slack", "whatsapp"})
# Where those photos are shown by their public address while they are published (Slack:
# bot/adapters/slack/images.py); elsewhere the adapter sends the file.
_PHOTOS_BY_ADDRESS = frozenset({"slack"})


def story_link(turn: Turn, story_id: int) -> str:
    """The link that opens this story in the chat (the reader's platform, else the web)."""
    return menu.start_link(turn, f"s-{story_id}")


def page_link(turn: Turn, story_id: int) -> str | None:
    """The story's page on the wall, when the bot has a public address."""
    settings = turn.deps.settings
    return f"{settings.resolved_public_url}/stories/{story_id}" if settings.public_url else None


async def read_stories(turn: Turn) -> None:
    """/stories and the menu's entry: the next story for this reader."""
    await show_next(turn)


async def show_next(turn: Turn, country: str | None = None) -> None:
    """The story after the one the reader saw last (of ``country``, when given)."""
    after = _last_story(turn)
    first = turn.draft.get(ROUND_START)
    pick = await reading.next_story(
        turn.session,
        locale=turn.locale,
        after=after,
        first=first if isinstance(first, int) else None,
        country=country,
    )
    if pick is None:
        if country is None:
            turn.say(_("No stories are published yet. Come back soon!"), (_menu(),))
        else:
            await show_countries(
                turn,
                _("There is no published story from {country} yet.").format(
                    country=country_name(country, turn.locale)
                ),
            )
        return
    if pick.round_start is None:
        turn.draft.pop(ROUND_START, None)
    else:
        turn.draft[ROUND_START] = pick.round_start
    if pick.story.story_id == after:
        turn.say(
            _("That is the only story here for now. Come back soon!"),
            (_everywhere() if country else _by_country(), _menu()),
        )
        return
    await show_story(turn, pick.story, country)


def _everywhere() -> Choice:
    return Choice(NEXT, _("📚 Stories from everywhere"))


def _by_country() -> Choice:
    return Choice(COUNTRIES, _("🌍 Stories from a country"))


def _menu() -> Choice:
    return Choice("menu:main", _("☰ Menu"))


async def show_story(turn: Turn, story: ReadableStory, country: str | None = None) -> None:
    """Show ``story``'s card and count the read (in this turn's transaction)."""
    reads = await reading.count_read(turn.session, story.story_id)
    turn.draft[LAST_STORY] = story.story_id
    thanks = await story_thanks(turn.session, story.story_id)
    card = story_card(turn, story, reads=reads, country=country, thanks=thanks)
    turn.say(card.text, card.choices)
    if card.media:
        turn.replies[-1] = dataclasses.replace(turn.replies[-1], media=card.media)


async def open_story(turn: Turn, story_id: int, engine: DialogEngine) -> None:
    """A shared link (``/start s-<id>``): that story, or the menu when it is not published."""
    story = await reading.read_story(turn.session, story_id)
    if story is None:
        menu.show_menu(
            turn,
            engine,
            _("Sorry, that story is not available. Here is what you can do:"),
        )
        return
    await show_story(turn, story)


def story_card(
    turn: Turn,
    story: ReadableStory,
    *,
    reads: int,
    country: str | None = None,
    thanks: StoryThanks | None = None,
) -> Outgoing:
    """The card of ``story`` for this reader: text, files and choices."""
    locale = turn.locale
    lines: list[str] = []
    if not reading.same_language(story.locale, locale):
        lines += [_("🌐 This story is in {language}.").format(language=_language(story, locale))]
    if story.title:
        lines += [story.title, ""]
    lines += [story.text, "", credit_line(story.credited(), locale)]
    if story.community_message:
        message = "“" + isolate(story.community_message, locale) + "”"
        if story.current_country:
            lines += [
                "",
                _("Their message to the people of {country}: {message}").format(
                    country=country_name(story.current_country, locale), message=message
                ),
            ]
        else:
            lines += [
                "",
                _("Their message to the people where they live: {message}").format(message=message),
            ]
    lines += [
        "",
        ngettext("👁 Read {count} time", "👁 Read {count} times", reads).format(
            count=format_count(reads, locale)
        ),
    ]
    if thanks is not None and thanks.received:
        lines.append(
            ngettext(
                "💛 Thanked by {count} reader", "💛 Thanked by {count} readers", thanks.received
            ).format(count=format_count(thanks.received, locale))
        )
    accepts_thanks = thanks is not None and thanks.accepted
    return Outgoing(
        text="\n".join(lines),
        choices=card_choices(turn, story, country=country, thanks=accepts_thanks),
        media=_files(turn, story),
        locale=locale,
    )


def card_choices(
    turn: Turn, story: ReadableStory, *, country: str | None, thanks: bool = False
) -> tuple[Choice, ...]:
    """What a reader can do from a card (``thanks``: its storyteller takes thanks now)."""
    choices: list[Choice] = []
    if country:
        choices += [
            Choice(
                f"{PREFIX}:from:{country}",
                _("➡️ Another story from {country}").format(
                    country=country_name(country, turn.locale)
                ),
            ),
            _everywhere(),
        ]
    else:
        choices += [Choice(NEXT, _("➡️ Another story")), _by_country()]
    choices.append(Choice(f"{PREFIX}:share:{story.story_id}", _("📣 Share this story")))
    if thanks:  # bot/handlers/thanks.py
        choices.append(Choice(f"thank:{story.story_id}", _("💛 Say thank you")))
    page = page_link(turn, story.story_id)
    if page and _files_left_to_the_page(turn.inbound.platform, story):
        choices.append(Choice("page", _("🌐 Open the story's page"), url=page))
    choices.append(_menu())
    return tuple(choices)


def _files_left_to_the_page(platform: str, story: ReadableStory) -> bool:
    """Whether the card leaves some of the story's published files to its page."""
    if platform in _FILES_ON_THE_PAGE:
        return bool(story.files)
    return platform in _PHOTOS_ONLY and any(f.kind != MediaKind.PHOTO for f in story.files)


def _files(turn: Turn, story: ReadableStory) -> tuple[MediaRef, ...]:
    """The story's published files this reader's platform can be sent: those kept in the
    media store (still there), or the platform's own file ids."""
    platform = turn.inbound.platform
    by_address = platform in _PHOTOS_BY_ADDRESS
    refs = []
    for file in story.files:
        if platform in _PHOTOS_ONLY and file.kind != MediaKind.PHOTO:
            continue
        if by_address and not file.ref.startswith(LOCAL):
            continue
        if file.ref.startswith(LOCAL):
            if turn.deps.media.path(file.ref[len(LOCAL) :]) is None:
                continue
        elif file.platform != platform:
            continue
        refs.append(MediaRef(kind=MediaKind(file.kind), ref=file.ref, mime=file.mime))
    return tuple(refs)


def _language(story: ReadableStory, locale: str) -> str:
    """The story's language, named in the reader's."""
    return str(babel_locale(story.locale).get_display_name(babel_locale(locale)) or story.locale)


async def show_countries(turn: Turn, intro: str | None = None) -> None:
    """The countries of the published stories as buttons: the last story's first."""
    counted = await reading.story_countries(turn.session)
    if not counted:
        await show_next(turn)
        return
    first: list[str] = []
    last = _last_story(turn)
    seen = await reading.read_story(turn.session, last) if last is not None else None
    if seen is not None:
        first = [c for c in (seen.origin_country, seen.current_country) if c]
    codes = list(dict.fromkeys(first + [code for code, _count in counted]))
    codes = codes[:COUNTRY_BUTTONS_MAX]
    text = _("Stories from which country? (where the storyteller comes from or lives now)")
    turn.say(
        f"{intro}\n\n{text}" if intro else text,
        [Choice(f"{PREFIX}:from:{code}", country_name(code, turn.locale)) for code in codes]
        + [_everywhere(), _menu()],
    )


async def share(turn: Turn, story_id: int) -> None:
    """Links that open this story: in the chat (the reader's platform, else the web
    chat), and its page on the wall."""
    story = await reading.read_story(turn.session, story_id)
    if story is None:
        turn.say(
            _("Sorry, that story is not available."),
            (Choice(NEXT, _("➡️ Another story")),),
        )
        return
    link = story_link(turn, story_id)
    page = page_link(turn, story_id)
    lines = [_("Share this story with this link: it opens the story in the chat."), link]
    choices: list[Choice] = []
    if turn.inbound.platform == "telegram" and link.startswith("https://t.me/"):
        choices.append(
            Choice(
                "share",
                _("📣 Share on Telegram"),
                url=f"https://t.me/share/url?url={quote(link, safe='')}",
            )
        )
    if page:
        lines += ["", _("Or share its page on the story wall:"), page]
        choices.append(Choice("page", _("🌐 Open the story's page"), url=page))
    choices.append(Choice(NEXT, _("➡️ Another story")))
    turn.say("\n".join(lines), choices)


async def on_stories_choice(turn: Turn, value: str, engine: DialogEngine) -> None:
    """A ``stories:`` button."""
    action, _sep, arg = value.partition(":")
    if action == "next":
        await show_next(turn)
    elif action == "countries":
        await show_countries(turn)
    elif action == "from" and _COUNTRY.match(arg):
        await show_next(turn, arg)
    elif action == "share" and arg.isdigit() and len(arg) <= 12:
        await share(turn, int(arg))
    else:
        menu.show_menu(turn, engine, _("That button is no longer active. Here is the menu:"))


def _last_story(turn: Turn) -> int | None:
    last = turn.draft.get(LAST_STORY)
    return last if isinstance(last, int) else None
