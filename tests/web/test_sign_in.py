"""Signing in to the dashboard: one-time links, sessions, CSRF, signing out."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from bot.app import Bot
from bot.cli import add_moderator, remove_moderator
from bot.review.login_links import UnknownModeratorError, create_login_link
from storage.models import DashboardToken, ModerationItem, StoryState, utcnow
from tests.web.helpers import Dashboard, field, item_row, tell


async def test_a_login_link_signs_in_once(bot: Bot, client: httpx.AsyncClient, new_client) -> None:  # type: ignore[no-untyped-def]
    await add_moderator(bot.deps.db, "ana", "moderator", ["memory:mod-ana"])
    link = await create_login_link(bot.deps, "ana")
    assert link.startswith(f"{bot.settings.resolved_public_url}/moderation/login/")
    path = urlsplit(link).path
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, urlsafe base64

    async with bot.deps.db.transaction() as session:
        stored = (await session.execute(select(DashboardToken))).scalars().all()
    assert [(t.kind, t.moderator_id) for t in stored] == [("login", "ana")]
    assert stored[0].token_hash == hashlib.sha256(token.encode()).hexdigest()

    preview = await client.get(path)  # a link preview must not spend the link
    assert preview.status_code == 200 and "Sign in as ana" in preview.text
    assert "set-cookie" not in preview.headers
    assert preview.headers["referrer-policy"] == "same-origin"  # so the form sends its Origin

    signed_in = await client.post(path)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/moderation"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("tb_moderator=")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Path=/moderation" in cookie
    queue = await client.get("/moderation")
    assert queue.status_code == 200 and "Signed in as ana" in queue.text

    async with new_client() as other:
        again = await other.post(path)
        assert again.status_code == 403
        assert "set-cookie" not in again.headers
        assert "expired or was already used" in again.text
        assert (await other.get(path)).status_code == 403
        assert (await other.get("/moderation")).status_code == 303
    async with bot.deps.db.transaction() as session:
        kinds = sorted(t.kind for t in (await session.execute(select(DashboardToken))).scalars())
    assert kinds == ["login", "session"]


async def test_an_expired_login_link_is_refused(bot: Bot, client: httpx.AsyncClient) -> None:
    await add_moderator(bot.deps.db, "ana", "moderator", [])
    path = urlsplit(await create_login_link(bot.deps, "ana")).path
    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(DashboardToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await client.get(path)).status_code == 403
    refused = await client.post(path)
    assert refused.status_code == 403 and "set-cookie" not in refused.headers


async def test_a_made_up_link_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.post("/moderation/login/not-a-real-token-at-all-x")).status_code == 403
    assert (await client.get("/moderation/login/x")).status_code == 403


async def test_links_only_for_moderators_in_the_table(bot: Bot) -> None:
    bot.settings.moderators = {"cfg": {"role": "lead", "accounts": ["memory:cfg"]}}
    for unknown in ("nobody", "cfg"):
        with pytest.raises(UnknownModeratorError):
            await create_login_link(bot.deps, unknown)


async def test_without_a_session_pages_redirect_and_posts_are_refused(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    for path in ("/moderation", f"/moderation/items/{item_id}"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/moderation/login"
    help_page = await client.get("/moderation/login")
    assert help_page.status_code == 200 and "together-bot moderators login" in help_page.text
    posted = await client.post(
        f"/moderation/items/{item_id}", data={"action": "approve", "version": "1"}
    )
    assert posted.status_code == 401
    client.cookies.set("tb_moderator", "forged-session-token-1234567890", path="/moderation")
    assert (await client.get("/moderation")).status_code == 303
    assert (await item_row(bot, item_id)).state == StoryState.PENDING_REVIEW


async def test_an_expired_session_signs_out(bot: Bot, client: httpx.AsyncClient) -> None:
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(DashboardToken)
            .where(DashboardToken.kind == "session")  # type: ignore[arg-type]
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await client.get("/moderation")).status_code == 303


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    before = await item_row(bot, item_id)
    url = f"/moderation/items/{item_id}"
    form = {"action": "approve", "version": str(before.version)}
    missing = await client.post(url, data=form)
    assert missing.status_code == 403 and "refused for your safety" in missing.text
    wrong = await client.post(url, data={**form, "csrf": "0" * 64})
    assert wrong.status_code == 403
    cross_site = await client.post(
        url, data={**form, "csrf": browser.csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    fetched = await client.post(
        url, data={**form, "csrf": browser.csrf}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert fetched.status_code == 403
    logout = await client.post("/moderation/logout")
    assert logout.status_code == 403
    after = await item_row(bot, item_id)
    assert (after.state, after.version) == (before.state, before.version)
    assert (await client.get("/moderation")).status_code == 200  # still signed in


async def test_sign_out_ends_the_session(bot: Bot, client: httpx.AsyncClient) -> None:
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    out = await client.post("/moderation/logout", data={"csrf": browser.csrf})
    assert out.status_code == 303 and out.headers["location"] == "/moderation/login"
    assert (
        'tb_moderator=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    )
    async with bot.deps.db.transaction() as session:
        sessions = (
            await session.execute(select(DashboardToken).where(DashboardToken.kind == "session"))  # type: ignore[arg-type]
        ).all()
    assert sessions == []
    assert (await client.get("/moderation")).status_code == 303


async def test_a_removed_moderator_is_signed_out_at_once(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    page = await browser.item(item_id)
    assert await remove_moderator(bot.deps.db, "ana")
    assert (await client.get("/moderation")).status_code == 303
    answer = await client.post(
        f"/moderation/items/{item_id}",
        data={"csrf": browser.csrf, "action": "approve", "version": field(page.text, "version")},
    )
    assert answer.status_code == 401
    async with bot.deps.db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
    assert item is not None and item.state == StoryState.PENDING_REVIEW


async def test_a_link_from_another_site_loads_once_more_to_send_the_strict_cookie(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    url = f"/moderation/items/{item_id}"
    from_chat_app = await client.get(url, headers={"Sec-Fetch-Site": "cross-site"})
    assert from_chat_app.status_code == 200
    assert '<meta http-equiv="refresh" content="0">' in from_chat_app.text
    reloaded = await client.get(url, headers={"Sec-Fetch-Site": "same-origin"})
    assert reloaded.status_code == 303 and reloaded.headers["location"] == "/moderation/login"
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    page = await client.get(url, headers={"Sec-Fetch-Site": "same-origin"})
    assert page.status_code == 200 and "I left Aleppo" in page.text
