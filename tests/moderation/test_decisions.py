from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation import decisions
from moderation.actors import Storyteller
from moderation.audit import verify_chain
from moderation.decisions import approve, mark_published, needs_changes, reject, withdraw
from moderation.errors import DecisionConflict, NotAllowed, Refusal
from moderation.flags import ScreeningResult
from moderation.intake import receive_story
from moderation.reasons import ReasonCode
from moderation.revisions import content_hash
from moderation.states import Action
from moderation.transitions import load, transition
from storage.db import Database
from storage.models import (
    ModerationEvent,
    ModerationItem,
    OutboxMessage,
    Story,
    StoryRevision,
    StoryState,
)
from tests.moderation.test_support import (
    CRISIS,
    LEAD,
    MODERATOR,
    MODERATOR_2,
    SAFETY,
    events_of,
    force_state,
    in_tx,
    item_row,
    outbox_keys,
    race,
    submit_story,
)
from tests.moderation.test_support import (
    item_id as _id,
)

# --- races --------------------------------------------------------------------------


@pytest.mark.parametrize("round_", range(3))
async def test_double_approve_one_event_one_publication(db: Database, round_: int) -> None:
    item, story = await submit_story(db)
    item_id, version = _id(item), item.version

    results = await race(
        db,
        lambda s: approve(s, item_id=item_id, version=version, moderator=MODERATOR),
        lambda s: approve(s, item_id=item_id, version=version, moderator=MODERATOR_2),
    )

    wins = [r for r in results if isinstance(r, decisions.Decision)]
    losses = [r for r in results if isinstance(r, DecisionConflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    loss, win = losses[0], wins[0]
    approvals = [e for e in await events_of(db, item_id) if e.to_state == "APPROVED"]
    assert len(approvals) == 1
    assert approvals[0].actor == loss.decided_by  # "already approved by X at 12:03"
    assert (loss.state, loss.version, loss.decided_role) == (
        StoryState.APPROVED,
        win.version,
        "moderator",
    )
    assert loss.decided_at is not None and loss.decided_at.tzinfo is not None
    publications = [k for k in await outbox_keys(db) if k.startswith("publish:")]
    assert publications == [f"publish:{story.id}:{item.revision_id}:feed/public"]


async def test_approve_against_reject_only_one_wins(db: Database) -> None:
    item, story = await submit_story(db)
    item_id, version = _id(item), item.version

    results = await race(
        db,
        lambda s: approve(s, item_id=item_id, version=version, moderator=MODERATOR),
        lambda s: reject(
            s, item_id=item_id, version=version, moderator=MODERATOR_2, reason=ReasonCode.SPAM
        ),
    )

    winner = next(r for r in results if isinstance(r, decisions.Decision))
    assert sum(isinstance(r, DecisionConflict) for r in results) == 1
    final = await item_row(db, item_id)
    assert final.state == winner.to_state
    changes = [e for e in await events_of(db, item_id) if e.from_state == "PENDING_REVIEW"]
    assert [e.to_state for e in changes] == [winner.to_state.value]
    keys = await outbox_keys(db)
    if winner.to_state is StoryState.APPROVED:
        assert not any(":rejected" in k for k in keys)
        assert any(k.startswith("publish:") for k in keys)
    else:
        assert not any(k.startswith("publish:") for k in keys)
        assert f"notify:{story.id}:{winner.version}:rejected" in keys


async def test_the_update_itself_guards_a_version_changed_after_loading(db: Database) -> None:
    item, _ = await submit_story(db)

    async def sneaky(session: AsyncSession) -> None:
        view = await load(session, _id(item))
        await session.execute(
            update(ModerationItem)
            .where(col(ModerationItem.id) == _id(item))
            .values(version=col(ModerationItem.version) + 1)
        )
        await transition(
            session, view, actor=MODERATOR, action=Action.APPROVE, to_state=StoryState.APPROVED
        )

    with pytest.raises(DecisionConflict):
        await in_tx(db, sneaky)
    assert [e.to_state for e in await events_of(db, _id(item))] == ["RECEIVED", "PENDING_REVIEW"]


# --- refusals -----------------------------------------------------------------------


async def test_stale_version_is_a_conflict_naming_the_decider(db: Database) -> None:
    item, _ = await submit_story(db)
    await in_tx(
        db,
        lambda s: needs_changes(
            s, item_id=_id(item), version=item.version, moderator=MODERATOR, reason="surname"
        ),
    )
    with pytest.raises(DecisionConflict) as caught:
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=LEAD)
        )
    assert (caught.value.state, caught.value.decided_by) == (StoryState.NEEDS_CHANGES, "mod-ana")


async def test_forged_item_id_is_refused(db: Database) -> None:
    await submit_story(db)
    with pytest.raises(NotAllowed) as caught:
        await in_tx(db, lambda s: approve(s, item_id=9999, version=2, moderator=MODERATOR))
    assert caught.value.refusal is Refusal.NOT_FOUND


async def test_wrong_action_for_the_state_is_refused(db: Database) -> None:
    item, story = await submit_story(db)
    decision = await in_tx(
        db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=MODERATOR)
    )
    assert story.participant_id is not None
    teller = Storyteller(story.participant_id)
    for call in (
        lambda s: approve(s, item_id=_id(item), version=decision.version, moderator=LEAD),
        lambda s: decisions.escalate(
            s, item_id=_id(item), version=decision.version, moderator=LEAD
        ),
        lambda s: decisions.appeal(s, item_id=_id(item), storyteller=teller),
    ):
        with pytest.raises(NotAllowed) as caught:
            await in_tx(db, call)
        assert caught.value.refusal is Refusal.INVALID_TRANSITION
    assert len(await events_of(db, _id(item))) == 3


async def test_nobody_moderates_their_own_story(db: Database) -> None:
    item, _ = await submit_story(db, identity_key="ana-key")  # MODERATOR's own identity
    with pytest.raises(NotAllowed) as caught:
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=MODERATOR)
        )
    assert caught.value.refusal is Refusal.SELF_MODERATION


async def test_safety_items_only_by_safety_moderators_and_leads(db: Database) -> None:
    item, _ = await submit_story(db, screening=CRISIS)
    with pytest.raises(NotAllowed) as caught:
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=MODERATOR)
        )
    assert caught.value.refusal is Refusal.ROLE
    decision = await in_tx(
        db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=SAFETY)
    )
    assert decision.to_state is StoryState.APPROVED


async def test_a_storyteller_cannot_act_on_someone_elses_story(db: Database) -> None:
    item, story = await submit_story(db)
    assert story.participant_id is not None
    stranger = Storyteller(story.participant_id + 1000)
    with pytest.raises(NotAllowed) as caught:
        await in_tx(db, lambda s: withdraw(s, item_id=_id(item), storyteller=stranger))
    assert caught.value.refusal is Refusal.NOT_OWNER


# --- notices, publication -----------------------------------------------------------


async def test_rejection_notifies_the_storyteller_with_the_reason_code(db: Database) -> None:
    item, story = await submit_story(db)
    decision = await in_tx(
        db,
        lambda s: reject(
            s,
            item_id=_id(item),
            version=item.version,
            moderator=MODERATOR,
            reason=ReasonCode.OFF_TOPIC,
        ),
    )
    async with db.transaction() as session:
        row = (
            await session.scalars(
                select(OutboxMessage).where(
                    col(OutboxMessage.dedupe_key)
                    == f"notify:{story.id}:{decision.version}:rejected"
                )
            )
        ).one()
    assert row.payload == {
        "notification": {"kind": "rejected", "story_id": story.id, "reason": "off_topic"}
    }
    assert row.participant_id == story.participant_id and row.platform == "telegram"
    last = (await events_of(db, _id(item)))[-1]
    assert (last.actor, last.role, last.action, last.reason_code) == (
        "mod-ana",
        "moderator",
        "reject",
        "off_topic",
    )


async def test_publication_is_bound_to_the_approved_revision(db: Database) -> None:
    item, story = await submit_story(db)
    assert item.revision_id is not None
    revision_id = item.revision_id
    await in_tx(
        db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=MODERATOR)
    )
    approval = (await events_of(db, _id(item)))[-1]
    async with db.transaction() as session:
        revision = await session.get(StoryRevision, revision_id)
        assert revision is not None and approval.revision_hash == revision.content_hash

    # Text changed behind the approval's back: publication is refused.
    async with db.transaction() as session:
        await session.execute(
            update(StoryRevision)
            .where(col(StoryRevision.id) == revision_id)
            .values(text="something else")
        )
    with pytest.raises(NotAllowed) as caught:
        await in_tx(db, lambda s: mark_published(s, item_id=_id(item), revision_id=revision_id))
    assert caught.value.refusal is Refusal.APPROVAL_MISMATCH

    async with db.transaction() as session:
        await session.execute(
            update(StoryRevision)
            .where(col(StoryRevision.id) == revision_id)
            .values(text=revision.text)
        )
    published = await in_tx(
        db, lambda s: mark_published(s, item_id=_id(item), revision_id=revision_id)
    )
    assert published is not None and published.to_state is StoryState.PUBLISHED
    again = await in_tx(db, lambda s: mark_published(s, item_id=_id(item), revision_id=revision_id))
    assert again is None  # a second channel's job
    assert f"notify:{story.id}:{published.version}:published" in await outbox_keys(db)


async def test_withdrawal_cancels_pending_publication(db: Database) -> None:
    item, story = await submit_story(db)
    assert story.participant_id is not None
    await in_tx(
        db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=MODERATOR)
    )
    teller = Storyteller(story.participant_id)
    await in_tx(db, lambda s: withdraw(s, item_id=_id(item), storyteller=teller))
    async with db.transaction() as session:
        publication = (
            await session.scalars(
                select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith("publish:"))
            )
        ).one()
    assert publication.status == "cancelled"  # not a failure
    with pytest.raises(NotAllowed):
        await in_tx(
            db,
            lambda s: mark_published(s, item_id=_id(item), revision_id=item.revision_id or 0),
        )


# --- appeal, resubmission, unpublish ------------------------------------------------


async def test_one_appeal_then_a_lead_may_reopen(db: Database) -> None:
    item, story = await submit_story(db)
    assert story.participant_id is not None
    teller = Storyteller(story.participant_id)
    rejected = await in_tx(
        db,
        lambda s: reject(
            s, item_id=_id(item), version=item.version, moderator=MODERATOR, reason=ReasonCode.SPAM
        ),
    )
    appealed = await in_tx(db, lambda s: decisions.appeal(s, item_id=_id(item), storyteller=teller))
    assert appealed.to_state is StoryState.PENDING_REVIEW
    again = await in_tx(
        db,
        lambda s: reject(
            s,
            item_id=_id(item),
            version=appealed.version,
            moderator=MODERATOR_2,
            reason=ReasonCode.SPAM,
        ),
    )
    with pytest.raises(NotAllowed) as caught:
        await in_tx(db, lambda s: decisions.appeal(s, item_id=_id(item), storyteller=teller))
    assert caught.value.refusal is Refusal.APPEAL_USED
    with pytest.raises(NotAllowed):
        await in_tx(
            db,
            lambda s: decisions.reopen(
                s, item_id=_id(item), version=again.version, lead=MODERATOR, note="x"
            ),
        )
    reopened = await in_tx(
        db,
        lambda s: decisions.reopen(
            s, item_id=_id(item), version=again.version, lead=LEAD, note="second look"
        ),
    )
    assert reopened.to_state is StoryState.PENDING_REVIEW and rejected.version < reopened.version


async def test_an_appealed_safety_story_goes_back_to_the_safety_queue(db: Database) -> None:
    item, story = await submit_story(db, screening=CRISIS)
    assert story.participant_id is not None
    await in_tx(
        db,
        lambda s: reject(
            s, item_id=_id(item), version=item.version, moderator=SAFETY, reason=ReasonCode.UNSAFE
        ),
    )
    teller = Storyteller(story.participant_id)
    appealed = await in_tx(db, lambda s: decisions.appeal(s, item_id=_id(item), storyteller=teller))
    assert appealed.to_state is StoryState.SAFETY_REVIEW


async def test_a_new_revision_after_needs_changes_is_received_and_screened(db: Database) -> None:
    item, story = await submit_story(db)
    asked = await in_tx(
        db,
        lambda s: needs_changes(
            s,
            item_id=_id(item),
            version=item.version,
            moderator=MODERATOR,
            reason="Please leave out your phone number.",
            reason_code=ReasonCode.PERSONAL_DATA,
        ),
    )
    keys = await outbox_keys(db)
    assert f"notify:{story.id}:{asked.version}:needs_changes" in keys

    async with db.transaction() as session:
        fresh = await session.get(Story, story.id)
        assert fresh is not None and fresh.id is not None
        text = "I left Aleppo in 2015 and walked to Izmir."
        revision = StoryRevision(
            story_id=fresh.id,
            number=2,
            text=text,
            content_hash=content_hash(text),
            author="storyteller",
        )
        session.add(revision)
        await session.flush()
        again = await receive_story(
            session, story=fresh, revision=revision, screening=ScreeningResult()
        )
    assert (again.state, again.revision_id, again.flags) == ("PENDING_REVIEW", revision.id, [])
    assert [(e.from_state, e.to_state) for e in (await events_of(db, _id(item)))[-2:]] == [
        ("NEEDS_CHANGES", "RECEIVED"),
        ("RECEIVED", "PENDING_REVIEW"),
    ]


async def test_intake_of_an_item_in_review_is_refused(db: Database) -> None:
    item, story = await submit_story(db)
    with pytest.raises(NotAllowed) as caught:
        async with db.transaction() as session:
            fresh = await session.get(Story, story.id)
            revision = await session.get(StoryRevision, item.revision_id)
            assert fresh is not None and revision is not None
            await receive_story(session, story=fresh, revision=revision, screening=CRISIS)
    assert caught.value.refusal is Refusal.INVALID_TRANSITION


async def test_unpublish_by_a_safety_moderator(db: Database) -> None:
    item, story = await submit_story(db)
    version = await force_state(db, _id(item), StoryState.PUBLISHED)
    with pytest.raises(NotAllowed):
        await in_tx(
            db,
            lambda s: decisions.unpublish(
                s,
                item_id=_id(item),
                version=version,
                moderator=MODERATOR,
                reason=ReasonCode.PERSONAL_DATA,
            ),
        )
    done = await in_tx(
        db,
        lambda s: decisions.unpublish(
            s,
            item_id=_id(item),
            version=version,
            moderator=SAFETY,
            reason=ReasonCode.PERSONAL_DATA,
        ),
    )
    assert done.to_state is StoryState.UNPUBLISHED
    assert f"notify:{story.id}:{done.version}:unpublished" in await outbox_keys(db)


async def test_every_state_change_wrote_one_chained_event(db: Database) -> None:
    item, _ = await submit_story(db)
    d1 = await in_tx(
        db,
        lambda s: decisions.escalate(
            s, item_id=_id(item), version=item.version, moderator=MODERATOR
        ),
    )
    await in_tx(db, lambda s: approve(s, item_id=_id(item), version=d1.version, moderator=LEAD))
    events = await events_of(db, _id(item))
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "RECEIVED"),
        ("RECEIVED", "PENDING_REVIEW"),
        ("PENDING_REVIEW", "SAFETY_REVIEW"),
        ("SAFETY_REVIEW", "APPROVED"),
    ]
    async with db.transaction() as session:
        assert await verify_chain(session)
        count = len((await session.scalars(select(ModerationEvent))).all())
    assert count == 4
