"""What the wall shows of a story, as a moderator chooses it: which of its files are
published, each one's alt text, and the story's title.

No file is published until a moderator chooses it (a face or a street can identify
someone). Each choice is a guarded decision like the others (the version the form showed,
the role, a live claim) that keeps the item's state and writes one audit event: action
``present``, a reason code naming what changed, and the file's id in the note (ids only:
alt text and titles are the story's content and stay out of the log).

A story already posted to a publication channel has its posts kept true to the choice,
in the same transaction (:func:`moderation.notify.update_posts`): a photo hidden takes
the post down and posts it again without it; a new title or description edits it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import Moderator
from moderation.errors import Refusal
from moderation.notify import Shown, update_posts
from moderation.states import Action
from moderation.transitions import Decision, ItemView, check, load, refuse, transition
from storage.models import Story, StoryMedia
from storage.published import TITLE_MAX, published_media

log = logging.getLogger(__name__)

ALT_TEXT_MAX = 300  # StoryMedia.alt_text's column


class Change(enum.StrEnum):
    """What a presentation decision changed (its audit event's reason code)."""

    PUBLISH_FILE = "publish_file"
    HIDE_FILE = "hide_file"
    ALT_TEXT = "alt_text"
    TITLE = "title"


@dataclass(frozen=True, slots=True)
class FileChoice:
    """A moderator's choice for one file: published or not, and its alt text."""

    media_id: int
    publish: bool
    alt_text: str | None = None


def one_line(text: str | None, limit: int) -> str | None:
    """``text`` on one line, spaces collapsed, at most ``limit`` characters; None when
    nothing is left."""
    flat = " ".join((text or "").split())[:limit].strip()
    return flat or None


async def choose_file(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    choice: FileChoice,
) -> Decision | None:
    """Publish or hide one file of the item's story and set its alt text.

    Returns:
        The decision, or None when nothing changed (no event is written).

    Raises:
        NotAllowed: the file is not the story's, or the moderator may not choose here.
        DecisionConflict: the item changed since the form was shown, or another
            moderator holds the claim.
    """
    view = await load(session, item_id)
    await check(session, view, moderator, Action.PRESENT, version)
    media = await session.get(StoryMedia, choice.media_id)
    if media is None or media.story_id != view.story.id:
        raise refuse(Refusal.NOT_FOUND, view, moderator, Action.PRESENT)
    alt_text = one_line(choice.alt_text, ALT_TEXT_MAX)
    changes = []
    if choice.publish != media.publish:
        changes.append(Change.PUBLISH_FILE if choice.publish else Change.HIDE_FILE)
    if alt_text != media.alt_text:
        changes.append(Change.ALT_TEXT)
    if not changes:
        return None
    # The item's row first, as every decision (and erasure) locks it: then the file's.
    decision = await _present(session, view, moderator, changes, note=f"file {media.id}")
    story_id = media.story_id
    published = (await published_media(session, [story_id])).get(story_id, [])
    before = [Shown.of(row) for row in published]
    await session.execute(
        update(StoryMedia)
        .where(col(StoryMedia.id) == media.id)
        .values(publish=choice.publish, alt_text=alt_text)
        .execution_options(synchronize_session=False)
    )
    chosen = Shown(media.id, media.kind, media.ref, media.platform, alt_text)
    after = [shown for shown in before if shown.id != media.id]
    if choice.publish:
        after.append(chosen)
        order = {row.id: (row.position, row.id) for row in await _files(session, story_id)}
        after.sort(key=lambda shown: order.get(shown.id, (0, 0)))
    await update_posts(
        session,
        story_id=story_id,
        item_id=decision.item_id,
        change=f"e{decision.event_id}",
        before=before,
        after=after,
        words_changed=False,
    )
    return decision


async def set_title(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    title: str | None,
) -> Decision | None:
    """Set the story's title on the wall (None or blank: its first sentence again).

    Returns:
        The decision, or None when the title stays as it was.
    """
    view = await load(session, item_id)
    await check(session, view, moderator, Action.PRESENT, version)
    chosen = one_line(title, TITLE_MAX)
    if chosen == view.story.title:
        return None
    decision = await _present(session, view, moderator, [Change.TITLE])
    await session.execute(
        update(Story)
        .where(col(Story.id) == view.story.id)
        .values(title=chosen)
        .execution_options(synchronize_session=False)
    )
    if view.story.id is not None:
        files = (await published_media(session, [view.story.id])).get(view.story.id, [])
        shown = [Shown.of(row) for row in files]
        await update_posts(
            session,
            story_id=view.story.id,
            item_id=decision.item_id,
            change=f"e{decision.event_id}",
            before=shown,
            after=shown,
            words_changed=True,
        )
    return decision


async def _files(session: AsyncSession, story_id: int) -> list[StoryMedia]:
    """Every file of the story, published or not."""
    return list(
        (await session.execute(select(StoryMedia).where(col(StoryMedia.story_id) == story_id)))
        .scalars()
        .all()
    )


async def _present(
    session: AsyncSession,
    view: ItemView,
    moderator: Moderator,
    changes: list[Change],
    note: str | None = None,
) -> Decision:
    decision = await transition(
        session,
        view,
        actor=moderator,
        action=Action.PRESENT,
        to_state=view.state,
        values={},  # the state, and whoever holds the claim, stay
        reason_code=",".join(changes),
        note=note,
    )
    log.info(
        "presentation chosen",
        extra={
            "item_id": decision.item_id,
            "event_id": decision.event_id,
            "changes": ",".join(changes),
        },
    )
    return decision
