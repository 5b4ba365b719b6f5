"""The hot path's statements beside the ORM: they see what the session holds unwritten
(as a statement run through the ORM would, by autoflush)."""

from __future__ import annotations

from storage.db import Database
from storage.models import Participant, WebChatMessage
from storage.transcripts import has_transcript


async def test_a_fast_statement_sees_rows_the_session_has_not_written_yet(db: Database) -> None:
    async with db.transaction() as session:
        person = Participant(platform="web", external_id="w1", chat_id="w1", identity_key="k")
        session.add(person)
        await session.flush()
        assert person.id is not None
        assert not await has_transcript(session, person.id)
        session.add(WebChatMessage(participant_id=person.id, sender="user", payload={}))
        assert await has_transcript(session, person.id)  # pending, yet seen
