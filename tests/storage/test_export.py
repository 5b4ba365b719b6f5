"""What a person's export holds about moderation: redactions and decisions, never who."""

from __future__ import annotations

import json

from moderation.decisions import redact, reject
from moderation.reasons import ReasonCode
from storage.db import Database
from storage.export import collect
from storage.models import Participant
from tests.moderation.test_redaction import PHONE_AT, RecordingScreen
from tests.moderation.test_support import MODERATOR, STORY_TEXT, in_tx, item_row, submit_story
from tests.moderation.test_support import item_id as _id


async def test_redactions_and_decisions_are_in_without_the_moderator(db: Database) -> None:
    item, story = await submit_story(db)
    await in_tx(
        db,
        lambda s: redact(
            s,
            item_id=_id(item),
            version=item.version,
            moderator=MODERATOR,
            screen=RecordingScreen(),
            spans=[PHONE_AT],
        ),
    )
    version = (await item_row(db, _id(item))).version
    await in_tx(
        db,
        lambda s: reject(
            s,
            item_id=_id(item),
            version=version,
            moderator=MODERATOR,
            reason=ReasonCode.PERSONAL_DATA,
            note="internal: the mod-ana note",
        ),
    )
    async with db.transaction() as session:
        person = await session.get(Participant, story.participant_id)
        assert person is not None
        data = await collect(session, person)

    exported = data.document["stories"][0]
    assert [(r["number"], r["by"]) for r in exported["revisions"]] == [
        (1, "storyteller"),
        (2, "moderator"),
    ]
    assert exported["revisions"][0]["text"] == STORY_TEXT
    last = exported["moderation"]["history"][-1]
    assert (last["action"], last["to_state"], last["by"], last["reason_code"]) == (
        "reject",
        "REJECTED",
        "moderator",
        "personal_data",
    )
    assert data.story_states == ("REJECTED",)
    assert "mod-ana" not in json.dumps(data.document)  # neither the id nor the note
