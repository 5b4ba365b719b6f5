"""The dashboard's pages and forms, end to end: from a story told in chat to the wall."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from bot.adapters.memory import MemorySender
from bot.app import Bot
from bot.web.dashboard import Piece, flagged_pieces
from moderation.flags import Flag, FlagAction, FlagKind
from storage.models import ModerationItem, Story, StoryState, utcnow
from tests.web.helpers import STORY, Dashboard, deliver, item_row, parse_rss, publish, tell


async def test_a_moderator_approves_and_the_story_is_published_everywhere(
    bot: Bot, client: httpx.AsyncClient, memory_sender: MemorySender
) -> None:
    item_id = await tell(bot, "amina", credit="first name", name="Amina Haddad")
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    queue = await client.get("/moderation")
    assert f'href="/moderation/items/{item_id}"' in queue.text
    assert "I left Aleppo in 2015" in queue.text  # the excerpt
    approved = await browser.act(item_id, "approve")
    assert approved.status_code == 200
    assert "is approved and will be published" in approved.text
    assert "Approved" in approved.text
    await deliver(bot)

    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.state == StoryState.PUBLISHED
    notices = [m.text for m in memory_sender.sent["amina"]]
    assert any("is published" in text for text in notices)

    wall = await client.get("/stories")
    assert wall.status_code == 200
    assert "I left Aleppo in 2015" in wall.text and "Today I study nursing" in wall.text
    assert "— Amina, from Syria, living in Japan" in wall.text
    assert "Haddad" not in wall.text  # first name only, as chosen
    assert "Thank you for welcoming us." in wall.text
    one = await client.get(f"/stories/{story.id}")
    assert one.status_code == 200 and "I left Aleppo" in one.text and "Haddad" not in one.text

    feed = (await client.get("/stories.json")).json()
    [entry] = feed["stories"]
    assert entry["id"] == story.id and entry["text"] == STORY
    assert entry["credit"] == "— Amina, from Syria, living in Japan"
    assert entry["countries"] == {"origin": "SY", "residence": "JP"}
    assert entry["community_message"] == "Thank you for welcoming us."
    assert entry["locale"] == "en" and entry["published_at"]
    assert entry["url"] == f"{bot.settings.resolved_public_url}/stories/{story.id}"
    assert "Haddad" not in json.dumps(feed)

    rss = await client.get("/stories.rss")
    assert rss.headers["content-type"] == "application/rss+xml; charset=utf-8"
    channel = parse_rss(rss.content).find("channel")
    assert channel is not None
    [item] = channel.findall("item")
    assert item.findtext("link") == entry["url"]
    description = item.findtext("description") or ""
    assert "I left Aleppo" in description and "— Amina, from Syria" in description
    assert "Haddad" not in rss.text


async def test_an_anonymous_story_shows_no_name(bot: Bot, client: httpx.AsyncClient) -> None:
    item_id = await tell(bot, "amina", credit="Anonymous", display_name="Amina Haddad")
    await publish(bot, item_id)
    for path in ("/stories", "/stories.json", "/stories.rss"):
        body = (await client.get(path)).text
        assert "Anonymous, from Syria, living in Japan" in body, path
        assert "Amina" not in body and "Haddad" not in body, path


async def test_a_stale_form_shows_who_decided_and_the_fresh_item(
    bot: Bot, client: httpx.AsyncClient, new_client
) -> None:  # type: ignore[no-untyped-def]
    item_id = await tell(bot, "amina")
    ana = Dashboard(client)
    await ana.sign_in(bot, "ana")
    version = (await item_row(bot, item_id)).version
    async with new_client() as other:
        ben = Dashboard(other)
        await ben.sign_in(bot, "ben")
        assert (await ben.act(item_id, "approve", version=version)).status_code == 200
    stale = await ana.act(item_id, "reject", version=version, reason="off_topic")
    assert stale.status_code == 409
    assert "was already handled by ben at" in stale.text
    fresh = await item_row(bot, item_id)
    assert fresh.state == StoryState.APPROVED
    assert f'name="version" value="{version}"' not in stale.text
    assert 'class="badge state-APPROVED"' in stale.text


async def test_refusals_show_the_facades_message(bot: Bot, client: httpx.AsyncClient) -> None:
    item_id = await tell(bot, "amina")
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    no_reason = await browser.act(item_id, "reject")
    assert no_reason.status_code == 409 and "needs more information" in no_reason.text
    bad = await browser.act(item_id, "approve", version=1, reason="<script>")
    assert bad.status_code == 400
    unknown = await browser.act(item_id, "nuke")
    assert unknown.status_code == 400
    missing = await client.get("/moderation/items/99999")
    assert missing.status_code == 404
    assert (await item_row(bot, item_id)).state == StoryState.PENDING_REVIEW


async def test_claim_release_changes_and_escalate(bot: Bot, client: httpx.AsyncClient) -> None:
    item_id = await tell(bot, "amina")
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    claimed = await browser.act(item_id, "claim")
    assert claimed.status_code == 200 and "You are reviewing story" in claimed.text
    assert 'value="release"' in claimed.text and 'value="claim"' not in claimed.text
    released = await browser.act(item_id, "release")
    assert "is back in the queue" in released.text
    escalated = await browser.act(item_id, "escalate")
    assert "sent to the safety team" in escalated.text
    item = await item_row(bot, item_id)
    assert item.state == StoryState.SAFETY_REVIEW
    # A plain moderator has no action on the safety queue, nor sight of it.
    assert "with the safety team" in escalated.text and "Aleppo" not in escalated.text

    other = await tell(bot, "omar")
    changes = await browser.act(other, "changes", text="Please remove\r\nthe street name.")
    assert "asked for a change" in changes.text
    assert (await item_row(bot, other)).state == StoryState.NEEDS_CHANGES


async def test_the_take_down_form_removes_the_story_from_the_wall_and_feeds(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    assert "I left Aleppo" in (await client.get("/stories")).text

    plain = Dashboard(client)
    await plain.sign_in(bot, "ana")
    assert 'value="unpublish"' not in (await plain.item(item_id)).text  # not their role

    lead = Dashboard(client)
    await lead.sign_in(bot, "lea", role="lead")
    page = await lead.item(item_id)
    assert 'value="unpublish"' in page.text
    taken = await lead.act(item_id, "unpublish", reason="personal_data")
    assert taken.status_code == 200 and "is taken down" in taken.text
    await deliver(bot)

    assert (await item_row(bot, item_id)).state == StoryState.UNPUBLISHED
    assert "I left Aleppo" not in (await client.get("/stories")).text
    assert (await client.get(f"/stories/{story_id}")).status_code == 404
    assert (await client.get("/stories.json")).json()["stories"] == []
    assert "<item>" not in (await client.get("/stories.rss")).text


async def test_a_script_in_a_story_is_escaped_everywhere(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    text = '<script>alert("story")</script> We crossed the sea & <b>survived</b>.'
    name = "<img src=x onerror=alert(1)>"
    item_id = await tell(
        bot, "amina", text=text, credit="My full name", name=name, message="<i>hi</i>"
    )
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    pages = [
        (await client.get("/moderation")).text,
        (await client.get("/moderation?q=script")).text,
        (await browser.item(item_id)).text,
    ]
    await browser.act(item_id, "approve")
    await deliver(bot)
    story_id = (await item_row(bot, item_id)).story_id
    pages += [
        (await client.get("/stories")).text,
        (await client.get(f"/stories/{story_id}")).text,
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "<b>survived" not in html and "<i>hi" not in html
    assert "&lt;script&gt;alert(&#34;story&#34;)&lt;/script&gt;" in pages[2]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[-1]

    rss = (await client.get("/stories.rss")).text
    assert "<script>" not in rss and "&lt;script&gt;" not in rss  # escaped twice
    description = parse_rss(rss).findtext("channel/item/description") or ""
    assert "&lt;script&gt;alert" in description and "<script>" not in description
    assert "&lt;img src=x onerror=alert(1)&gt;" in description

    feed = await client.get("/stories.json")
    assert feed.headers["content-type"] == "application/json"
    assert feed.json()["stories"][0]["text"] == text  # data, for the site to escape


async def test_the_redacted_text_is_published_never_the_original(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    page = (await browser.item(item_id)).text
    assert "\nI left Aleppo in 2015" in page  # the redaction box is prefilled
    redacted = STORY.replace("Aleppo", "[…]").replace("Osaka", "[…]")
    answer = await browser.act(item_id, "redact", text=redacted.replace("\n", "\r\n"))
    assert answer.status_code == 200 and "redacted version" in answer.text
    assert "Original (never published)" in answer.text
    assert "I left Aleppo in 2015" in answer.text and "I left […] in 2015" in answer.text

    assert (await browser.act(item_id, "approve")).status_code == 200
    await deliver(bot)
    story_id = (await item_row(bot, item_id)).story_id
    for path in ("/stories", f"/stories/{story_id}", "/stories.json", "/stories.rss"):
        body = (await client.get(path)).text
        assert "I left […] in 2015" in body or "I left [\\u2026] in 2015" in body, path
        assert "Aleppo" not in body and "Osaka" not in body, path


async def test_rss_escapes_credit_names(bot: Bot, client: httpx.AsyncClient) -> None:
    name = '<b onmouseover="x()">Amina</b> & "co"'
    item_id = await tell(bot, "amina", credit="My full name", name=name)
    await publish(bot, item_id)
    rss = await client.get("/stories.rss")
    assert "<b " not in rss.text and "&lt;b " not in rss.text
    root = parse_rss(rss.content)  # well-formed XML
    description = root.findtext("channel/item/description") or ""
    assert (
        "&lt;b onmouseover=&quot;x()&quot;&gt;Amina&lt;/b&gt; &amp; &quot;co&quot;" in description
    )
    title = root.findtext("channel/item/title") or ""
    assert "Amina" not in title


async def test_flagged_spans_are_highlighted_and_escaped(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    text = "Call me on <+81 90 1234 5678> or mail a@b.jp please"
    item_id = await tell(bot, "amina", text=text, message="Reach me: a@b.jp")
    phone = text.index("+81")
    mail = text.index("a@b.jp")
    in_message = len(text) + 1 + len("Reach me: ")
    flags = [
        Flag("f1", FlagKind.PHONE, FlagAction.HOLD, phone, phone + 16),
        Flag("f2", FlagKind.EMAIL, FlagAction.HOLD, mail, mail + 6),
        Flag("f3", FlagKind.EMAIL, FlagAction.HOLD, in_message, in_message + 6),
    ]
    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(ModerationItem)
            .where(ModerationItem.id == item_id)  # type: ignore[arg-type]
            .values(flags=[f.to_json() for f in flags])
        )
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    page = (await browser.item(item_id)).text
    assert (
        'Call me on &lt;<mark class="flag flag-phone" title="phone">+81 90 1234 5678</mark>&gt; or mail '
        '<mark class="flag flag-email" title="email">a@b.jp</mark> please'
    ) in page
    assert 'Reach me: <mark class="flag flag-email" title="email">a@b.jp</mark>' in page


def test_flagged_pieces_split_at_the_offsets() -> None:
    def flag(start: int, end: int, kind: FlagKind = FlagKind.PHONE) -> Flag:
        return Flag("x", kind, FlagAction.HOLD, start, end)

    assert flagged_pieces("abcdef", ()) == [Piece("abcdef")]
    assert flagged_pieces("", ()) == [Piece("")]
    assert flagged_pieces("abcdef", (flag(1, 3), flag(2, 5), flag(4, 99), flag(5, 6))) == [
        Piece("a"),
        Piece("bc", "phone"),
        Piece("de"),
        Piece("f", "phone"),
    ]
    assert flagged_pieces("abc", (flag(0, 3, FlagKind.EMAIL),)) == [Piece("abc", "email")]
    assert flagged_pieces("xyz", (flag(5, 7),), offset=4) == [
        Piece("x"),
        Piece("yz", "phone"),
    ]


async def test_queue_tabs_language_filter_and_search(bot: Bot, client: httpx.AsyncClient) -> None:
    first = await tell(bot, "amina")
    second = await tell(bot, "kenji", text="We came to Japan by ship, 100% hopeful.")
    third = await tell(bot, "omar", text="My family waited at the border for weeks.")
    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(ModerationItem)
            .where(ModerationItem.id == second)  # type: ignore[arg-type]
            .values(locale="ja", created_at=utcnow() - timedelta(hours=3))
        )
        await session.execute(
            update(ModerationItem)
            .where(ModerationItem.id == third)  # type: ignore[arg-type]
            .values(state=StoryState.SAFETY_REVIEW.value, priority=100)
        )
    browser = Dashboard(client)
    await browser.sign_in(bot, "lea", role="lead")

    def listed(html: str) -> set[int]:
        return {i for i in (first, second, third) if f'href="/moderation/items/{i}"' in html}

    default = (await client.get("/moderation")).text
    assert listed(default) == {third}  # safety review comes first
    assert default.index("Safety review") < default.index("Waiting for review")
    pending = (await client.get("/moderation?state=PENDING_REVIEW")).text
    assert listed(pending) == {first, second}
    assert "3 hours ago" in pending
    japanese = (await client.get("/moderation?state=PENDING_REVIEW&lang=ja")).text
    assert listed(japanese) == {second}
    assert '<option value="ja" selected>Japanese</option>' in japanese
    story_id = (await item_row(bot, first)).story_id
    assert listed((await client.get(f"/moderation?q=%23{story_id}")).text) == {first}
    assert listed((await client.get("/moderation?q=BORDER")).text) == {third}
    assert listed((await client.get("/moderation?q=100%25")).text) == {second}
    assert listed((await client.get("/moderation?q=%25")).text) == {second}  # a literal %
    assert listed((await client.get("/moderation?q=nobody+wrote+this")).text) == set()
    assert (await client.get("/moderation?state=nonsense&lang=%3Cx%3E&page=-3")).status_code == 200


async def test_leads_see_the_audit_chain_and_everyone_the_timeline(
    bot: Bot, client: httpx.AsyncClient, new_client
) -> None:  # type: ignore[no-untyped-def]
    item_id = await tell(bot, "amina")
    plain = Dashboard(client)
    await plain.sign_in(bot, "ana")
    assert "audit chain" not in (await client.get("/moderation")).text
    await plain.act(item_id, "reject", reason="off_topic")
    timeline = (await plain.item(item_id)).text
    assert "Timeline" in timeline
    assert 'ana <span class="role">(moderator)</span>' in timeline
    assert "Waiting for review → Rejected" in timeline
    assert "Off topic" in timeline
    async with new_client() as other:
        lead = Dashboard(other)
        await lead.sign_in(bot, "lea", role="lead")
        queue = (await other.get("/moderation")).text
        assert "The audit chain is intact" in queue
        reopened = await lead.act(item_id, "reopen", text="Reviewed again with the team.")
        assert reopened.status_code == 200 and "back in review" in reopened.text
        assert "Reviewed again with the team." in reopened.text
