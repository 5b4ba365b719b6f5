"""Say thank you: a reader's short message to a storyteller, and the storyteller's switch.

The reader's flow (a button ``thank:<story id>`` on a story starts it): a ready phrase or
their own words (up to 300 characters), an optional first name, then a preview to send.
The message goes to a moderator first; the storyteller gets it in their own chat, with
only the name the reader chose. ``thanks:off`` / ``thanks:on`` is the storyteller's
switch (on every thank-you they receive, and in /mystories).
"""

from __future__ import annotations

from bot.core.dialog import DialogEngine, Finish, Flow, Invalid, Next, Prompt, Result, Step
from bot.core.events import Choice, InboundKind
from bot.core.turn import Turn
from bot.handlers.safety import send_helplines
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count, isolate
from bot.review.thanks import PHRASES, SWITCH_PREFIX, announce, phrase_text
from moderation.thanks import (
    TEXT_MAX,
    ThanksRefusal,
    ThanksRefused,
    check_thanks,
    name_ok,
    submit_thanks,
)

FLOW = "thanks"
PHRASE = "c:phrase:"
OWN = "c:own"
ANONYMOUS = "c:anonymous"
SEND = "c:send"


def refusal_text(refusal: ThanksRefusal) -> str:
    return {
        ThanksRefusal.NOT_PUBLISHED: _("Sorry, this story is not available any more."),
        ThanksRefusal.TURNED_OFF: _(
            "This storyteller is not receiving messages right now. "
            "Thank you for reading their story. 💛"
        ),
        ThanksRefusal.OWN_STORY: _("This is your own story. 💛"),
        ThanksRefusal.ALREADY_THANKED: _(
            "You have already sent a thank-you for this story. Thank you! 💛"
        ),
        ThanksRefusal.DAILY_LIMIT: _(
            "You have sent as many thank-you messages as we allow in one day. "
            "Please come back tomorrow. 💛"
        ),
        ThanksRefusal.STORY_BUSY: _(
            "This storyteller has many messages waiting right now. Please try again later."
        ),
    }[refusal]


async def start_thanks(turn: Turn, engine: DialogEngine, value: str) -> None:
    """``thank:<story id>``: start the flow, or say kindly why this story cannot be thanked."""
    if not value.isdigit() or len(value) > 12:
        turn.say(_("That button is no longer active."))
        return
    story_id = int(value)
    refusal = await check_thanks(
        turn.session, story_id=story_id, reader_key=turn.participant.identity_key
    )
    if refusal is not None:
        turn.say(refusal_text(refusal))
        return
    if turn.flow == FLOW:
        engine.end(turn)
    await engine.start(turn, FLOW, {"story_id": story_id})


# -- steps -----------------------------------------------------------------------------------
def message_prompt(turn: Turn) -> Prompt:
    return Prompt(
        _("What would you like to tell the storyteller? Choose a message, or write your own."),
        (
            *(Choice(f"{PHRASE}{phrase}", phrase_text(phrase)) for phrase in PHRASES),
            Choice(OWN, _("✍️ Write my own")),
        ),
    )


async def message_accept(turn: Turn) -> Result:
    inbound = turn.inbound
    if inbound.kind is InboundKind.CHOICE and inbound.choice == OWN:
        turn.draft["own"] = True
        return Next()
    if inbound.kind is InboundKind.CHOICE and (inbound.choice or "").startswith(PHRASE):
        phrase = (inbound.choice or "").removeprefix(PHRASE)
        if phrase not in PHRASES:
            return Invalid(_("Please choose a message, or write your own."))
        turn.draft.update(own=False, phrase=phrase, text=phrase_text(phrase))
        return Next(goto="sign")
    if inbound.kind is InboundKind.TEXT:  # typed at once: their own words
        turn.draft["own"] = True
        result = own_accept_text(turn)
        return Next(goto="sign") if isinstance(result, Next) else result
    return Invalid(_("Please choose a message, or write your own."))


def own_prompt(turn: Turn) -> Prompt:
    return Prompt(
        _(
            "Write your message to the storyteller, up to {limit} characters. Please do "
            "not include phone numbers, e-mail addresses or links."
        ).format(limit=format_count(TEXT_MAX, turn.locale))
    )


async def own_accept(turn: Turn) -> Result:
    return own_accept_text(turn)


def own_accept_text(turn: Turn) -> Result:
    text = (turn.inbound.text or "").strip() if turn.inbound.kind is InboundKind.TEXT else ""
    if not text:
        return Invalid(_("Please type your message."))
    if len(text) > TEXT_MAX:
        over = len(text) - TEXT_MAX
        # Their words come back to them, so shortening is not writing it all again.
        return Invalid(
            ngettext(
                "Your message is {over} character longer than the limit of {limit}. "
                "Here it is, so you can shorten it:",
                "Your message is {over} characters longer than the limit of {limit}. "
                "Here it is, so you can shorten it:",
                over,
            ).format(
                over=format_count(over, turn.locale), limit=format_count(TEXT_MAX, turn.locale)
            )
            + "\n\n"
            + text
        )
    turn.draft.update(phrase=None, text=text)
    return Next()


def sign_prompt(turn: Turn) -> Prompt:
    return Prompt(
        _(
            "Would you like to sign with your first name? Type it, or stay anonymous. "
            "The storyteller will see only this name, nothing else about you."
        ),
        (Choice(ANONYMOUS, _("🙈 Stay anonymous")),),
    )


async def sign_accept(turn: Turn) -> Result:
    inbound = turn.inbound
    if inbound.kind is InboundKind.CHOICE and inbound.choice == ANONYMOUS:
        turn.draft["signed"] = None
        return Next()
    name = (inbound.text or "").strip() if inbound.kind is InboundKind.TEXT else ""
    if not name or not name_ok(name):
        return Invalid(
            _(
                "Please type a first name of up to 40 characters, without numbers or "
                "links, or choose to stay anonymous."
            )
        )
    turn.draft["signed"] = name
    return Next()


def confirm_prompt(turn: Turn) -> Prompt:
    signed = turn.draft.get("signed")
    name = isolate(str(signed), turn.locale) if signed else _("a reader")
    preview = "“" + isolate(str(turn.draft.get("text") or ""), turn.locale) + "”\n— " + name
    return Prompt(
        _("Your message:")
        + "\n\n"
        + preview
        + "\n\n"
        + _(
            "A moderator reads every message before it reaches the storyteller. "
            "Neither of them will learn who you are."
        ),
        (Choice(SEND, _("💛 Send")),),
    )


async def confirm_accept(turn: Turn) -> Result:
    inbound = turn.inbound
    if not (inbound.kind is InboundKind.CHOICE and inbound.choice == SEND):
        return Invalid(_("Tap “Send” to send your message, or Cancel."))
    draft = turn.draft
    try:
        received = await submit_thanks(
            turn.session,
            story_id=int(draft["story_id"]),
            text=str(draft.get("text") or ""),
            phrase=draft.get("phrase") or None,
            signed=draft.get("signed") or None,
            reader_key=turn.participant.identity_key,
            locale=turn.locale,
            screener=turn.deps.screener,
        )
    except ThanksRefused as refused:
        turn.say(refusal_text(refused.refusal))
        return Finish()
    except ValueError:
        turn.say(_("Sorry, that message cannot be sent. Please start again."))
        return Finish()
    await announce(turn.session, turn.deps.settings, received.thanks_id)
    turn.wake_outbox()
    turn.say(
        _(
            "Thank you! 💛 Your message is with a moderator now. Once they have read it, "
            "it goes to the storyteller."
        )
    )
    if received.screening.crisis:
        send_helplines(turn, None)
    return Finish()


def build_thanks_flow() -> Flow:
    return Flow(
        name=FLOW,
        steps=(
            Step("message", message_prompt, message_accept),
            Step("own", own_prompt, own_accept, when=lambda turn: bool(turn.draft.get("own"))),
            Step("sign", sign_prompt, sign_accept),
            Step("confirm", confirm_prompt, confirm_accept),
        ),
    )


# -- the storyteller's switch ----------------------------------------------------------------
def switch_choice(enabled: bool) -> Choice:
    """The button that flips a storyteller's thanks (shown with their stories)."""
    if enabled:
        return Choice(f"{SWITCH_PREFIX}:off", _("🔕 Turn off thanks from readers"))
    return Choice(f"{SWITCH_PREFIX}:on", _("🔔 Turn on thanks from readers"))


async def on_switch(turn: Turn, value: str) -> None:
    """``thanks:off`` / ``thanks:on``: whether readers' messages reach the storyteller."""
    if value not in ("on", "off"):
        turn.say(_("That button is no longer active."))
        return
    enabled = value == "on"
    turn.participant.thanks_enabled = enabled
    if enabled:
        text = _(
            "Thanks from readers are on. Their messages reach you after a moderator has read them."
        )
    else:
        text = _(
            "Thanks from readers are off: no more messages will reach you. You can turn "
            "them on again at any time in /mystories."
        )
    turn.say(text, (switch_choice(enabled),))
