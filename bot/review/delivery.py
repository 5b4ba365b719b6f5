"""The outbox renderer for everything moderation queues, and the feed publisher.

Payloads carry ids and codes only; the text is made at send time: a notice in the
storyteller's current language, a card as it is now, a post of the approved revision.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.deps import Deps
from bot.core.events import MediaKind, MediaRef, Outgoing
from bot.core.outbox import render_message
from bot.i18n import _
from bot.i18n.formatting import country_name, isolate
from bot.review.cards import load_card, render_card, render_placeholder
from bot.review.notices import render_notice
from bot.review.service import ReviewService
from bot.review.thanks import ThanksDesk
from moderation import decisions
from moderation.errors import DecisionConflict, NotAllowed
from moderation.notify import Channel, Shown, post_photo, update_posts
from storage.models import (
    ModerationItem,
    Participant,
    Publication,
    Story,
    StoryRevision,
    StoryState,
)
from storage.outbox import DueMessage
from storage.published import published_media

log = logging.getLogger(__name__)


class FeedPublisher:
    """The public web feed: publishing *is* the state change, nothing is sent."""

    platform = "feed"

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        return None


class ReviewDelivery:
    """Renders queued payloads (``message``, ``notification``, ``card``, ``publish``,
    ``takedown``, readers' ``thanks`` and their ``thanks_card``) and records what a send
    created (a card, a channel post, a thank-you delivered)."""

    def __init__(self, deps: Deps, review: ReviewService, thanks: ThanksDesk) -> None:
        self.deps = deps
        self.review = review
        self.thanks = thanks
        # What each channel post being sent shows (by outbox row), to catch up with a
        # moderator's change made while it was on its way.
        self._posting: dict[int, _Post] = {}

    async def render(self, due: DueMessage) -> Outgoing | None:
        payload = due.payload
        if "notification" in payload:
            return await self._notice(due)
        if "card" in payload:
            return await self._card(due)
        if "publish" in payload:
            return await self._publish(due)
        if "takedown" in payload:
            return Outgoing(text="", delete_of=str(payload["takedown"]["message_id"]))
        if "repost" in payload or "post_edit" in payload:
            return await self._post_again(due)
        if "thanks" in payload or "thanks_card" in payload:
            return await self.thanks.render(payload)
        return await render_message(due)

    async def after_send(self, due: DueMessage, message_id: str | None) -> None:
        payload = due.payload
        if "thanks" in payload:  # sent, whether or not the platform names the message
            await self.thanks.delivered(payload)
            return
        if message_id is None:
            return
        if "thanks_card" in payload:  # recorded, so that a decision edits it
            await self.thanks.card_sent(due.platform, due.chat_id, payload, message_id)
            return
        if "card" in payload:
            card = payload["card"]
            item_id = int(card["item_id"])
            await self.review.register_card(item_id, due.platform, due.chat_id, message_id)
            if card.get("new") and "version" in card:
                async with self.deps.db.transaction() as session:
                    await self.review.card_registered(
                        session, item_id, due.platform, due.chat_id, int(card["version"])
                    )
                self.deps.outbox_wakeup.set()
        elif ("publish" in payload or "repost" in payload) and due.platform != "feed":
            job = payload.get("publish") or payload["repost"]
            story_id = int(job["story_id"])
            posted = self._posting.pop(due.id, None)
            current = await self._current_post(story_id, int(job["item_id"]), due.platform)
            async with self.deps.db.transaction() as session:
                await session.execute(
                    self.deps.db.insert(Publication)
                    .values(
                        story_id=story_id,
                        platform=due.platform,
                        chat_id=due.chat_id,
                        message_id=message_id,
                    )
                    .on_conflict_do_nothing()
                )
                # Taken down, withdrawn or erased while this post was on its way: the
                # take-down found no post to remove, so this one goes now.
                if await self._left_publication(session, story_id):
                    await self.review.take_down(session, story_id)
                elif posted is not None and current is not None and current != posted:
                    # A moderator changed the files or the words while it was sent.
                    await update_posts(
                        session,
                        story_id=story_id,
                        item_id=int(job["item_id"]),
                        change=f"o{due.id}",
                        before=[posted.photo] if posted.photo else [],
                        after=[current.photo] if current.photo else [],
                        words_changed=current.message.text != posted.message.text,
                        only=Channel(due.platform, due.chat_id),
                    )
            self.deps.outbox_wakeup.set()
        elif "post_edit" in payload:
            # The sender posted it anew (the old post was gone, or no longer fits in
            # place): the post to edit or take down next time is the new one.
            story_id = int(payload["post_edit"]["story_id"])
            async with self.deps.db.transaction() as session:
                await session.execute(
                    update(Publication)
                    .where(
                        col(Publication.story_id) == story_id,
                        col(Publication.platform) == due.platform,
                        col(Publication.chat_id) == due.chat_id,
                    )
                    .values(message_id=message_id)
                    .execution_options(synchronize_session=False)
                )

    async def _notice(self, due: DueMessage) -> Outgoing | None:
        data = due.payload["notification"]
        async with self.deps.db.transaction() as session:
            participant = (
                await session.get(Participant, due.participant_id) if due.participant_id else None
            )
        translator = self.deps.translator
        locale = (
            participant.locale or translator.negotiate(participant.locale_hint)
            if participant is not None
            else translator.default
        )
        story_id = int(data["story_id"])
        url = f"{self.deps.settings.resolved_public_url}/stories/{story_id}"
        with translator.use(locale) as active:
            return render_notice(str(data["kind"]), story_id, data.get("reason"), active, url)

    async def _card(self, due: DueMessage) -> Outgoing | None:
        item_id = int(due.payload["card"]["item_id"])
        edit_of = None
        if not due.payload["card"].get("new"):
            edit_of = await self.review.card_message_id(item_id, due.platform, due.chat_id)
            if edit_of is None:
                return None
        async with self.deps.db.transaction() as session:
            view = await load_card(session, item_id)
        if view is None:
            return None
        locale = self.deps.settings.moderation_locale
        with self.deps.translator.use(locale):
            if view.safety_only and not self.review.is_safety_chat(due.platform, due.chat_id):
                return render_placeholder(view, locale, edit_of=edit_of)
            files = f"{self.deps.settings.resolved_public_url}/moderation/items/{item_id}"
            return render_card(
                view, locale, platform=due.platform, edit_of=edit_of, files_url=files
            )

    async def _publish(self, due: DueMessage) -> Outgoing | None:
        job = due.payload["publish"]
        for attempt in range(2):
            try:
                async with self.deps.db.transaction() as session:
                    await decisions.mark_published(
                        session, item_id=int(job["item_id"]), revision_id=int(job["revision_id"])
                    )
                    await self.review.refresh_cards(session, int(job["item_id"]))
                break
            except DecisionConflict:
                # The same story's post to another channel (delivered concurrently, or by
                # another replica) published it a moment ago: reload and go on.
                if attempt:
                    raise
            except NotAllowed:
                log.info("publication dropped", extra={"story_id": job.get("story_id")})
                return None
        self.deps.outbox_wakeup.set()
        if due.platform == "feed":
            return Outgoing(text="")
        post = await self._post(int(job["story_id"]), int(job["revision_id"]), due.platform)
        return self._sending(due, post)

    async def _post_again(self, due: DueMessage) -> Outgoing | None:
        """A channel post after a moderator's presentation change: posted anew (its photo
        changed; the old post is taken down by the job before this one) or edited in place
        (its words changed). Nothing while the story is not published."""
        job = due.payload.get("repost") or due.payload["post_edit"]
        story_id = int(job["story_id"])
        async with self.deps.db.transaction() as session:
            item = await session.get(ModerationItem, int(job["item_id"]))
            post = await session.get(Publication, (story_id, due.platform, due.chat_id))
        if item is None or item.state != StoryState.PUBLISHED or item.revision_id is None:
            log.info("post update dropped", extra={"story_id": story_id})
            return None
        if "post_edit" in due.payload and post is None:
            return None  # taken down, or being posted again: that post will be current
        fresh = await self._post(story_id, item.revision_id, due.platform)
        if "repost" in due.payload or post is None:
            return self._sending(due, fresh)
        return dataclasses.replace(fresh.message, edit_of=post.message_id) if fresh else None

    def _sending(self, due: DueMessage, post: _Post | None) -> Outgoing | None:
        """``post``'s message, remembered until it is sent (see :meth:`after_send`)."""
        if post is None:
            return None
        self._posting[due.id] = post
        return post.message

    async def _current_post(self, story_id: int, item_id: int, platform: str) -> _Post | None:
        """The post of the story as it should be now (None once it is not published)."""
        async with self.deps.db.transaction() as session:
            item = await session.get(ModerationItem, item_id)
        if item is None or item.state != StoryState.PUBLISHED or item.revision_id is None:
            return None
        return await self._post(story_id, item.revision_id, platform)

    @staticmethod
    async def _left_publication(session: AsyncSession, story_id: int) -> bool:
        state = (
            await session.execute(
                select(col(ModerationItem.state)).where(col(ModerationItem.story_id) == story_id)
            )
        ).scalar_one_or_none()
        return state != StoryState.PUBLISHED

    async def channel_post(self, story_id: int, revision_id: int, platform: str) -> Outgoing | None:
        """The public post of a story, credited exactly as the storyteller chose, with its
        title (when a moderator set one) and its first photo a moderator chose to publish
        (a file of the media store, which the channel's sender uploads, or the platform's
        own file), described in words when the moderator wrote its alt text."""
        post = await self._post(story_id, revision_id, platform)
        return post.message if post is not None else None

    async def _post(self, story_id: int, revision_id: int, platform: str) -> _Post | None:
        async with self.deps.db.transaction() as session:
            story = await session.get(Story, story_id)
            revision = await session.get(StoryRevision, revision_id)
            chosen = (await published_media(session, [story_id])).get(story_id, [])
        photo = post_photo(chosen, platform)
        if story is None or revision is None:
            return None
        locale = story.locale
        with self.deps.translator.use(locale):
            lines = [story.title, ""] if story.title else []
            lines += [revision.text, "", credit_line(story, locale)]
            if story.community_message:
                lines += ["", "“" + story.community_message + "”"]
            if photo is not None and photo.alt_text:
                lines += ["", _("🖼 Photo: {description}").format(description=photo.alt_text)]
        media = () if photo is None else (MediaRef(MediaKind.PHOTO, photo.ref, photo.mime),)
        message = Outgoing(text="\n".join(lines), media=media, locale=locale)
        return _Post(message, Shown.of(photo) if photo is not None else None)


@dataclass(frozen=True, slots=True)
class _Post:
    """A channel post: its message, and the photo it carries."""

    message: Outgoing
    photo: Shown | None


def credit_line(story: Story, locale: str) -> str:
    """ "— Amina, from Syria, living in Japan", as the storyteller chose to be credited.

    One message pattern per shape, so each language words and punctuates the whole line
    ("— Amina، من سوريا، مكان الإقامة: اليابان"); in a right-to-left language the name, which
    may be written in Latin letters, is isolated on its own, so the line keeps the
    language's direction (it begins with the language's own words, not the name's).
    """
    if story.credit_mode == "full_name" and story.credit_name:
        name = isolate(story.credit_name, locale)
    elif story.credit_mode == "first_name" and story.credit_name:
        name = isolate(story.credit_name.split()[0], locale)
    else:
        name = _("Anonymous")
    origin = country_name(story.origin_country, locale) if story.origin_country else None
    residence = country_name(story.current_country, locale) if story.current_country else None
    if origin and residence:
        # Translators: the credit under a published story. {name} is the storyteller's
        # name or "Anonymous"; {origin} and {residence} are country names.
        line = _("{name}, from {origin}, living in {residence}")
    elif origin:
        # Translators: the credit under a published story; {origin} is a country name.
        line = _("{name}, from {origin}")
    elif residence:
        # Translators: the credit under a published story; {residence} is a country name.
        line = _("{name}, living in {residence}")
    else:
        line = "{name}"
    return "— " + line.format(name=name, origin=origin, residence=residence)
