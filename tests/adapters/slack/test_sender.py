"""SlackSender against the fake Web API over real HTTP: sends, edits, deletes, and every
failure translated into the error the outbox reacts to."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.sender import SlackSender
from bot.core.delivery import PermanentError, RetryAfter, TransientError, Unreachable
from bot.core.events import Choice, Outgoing
from tests.fakes.slack_api import FakeSlackApi


def sender_for(api: FakeSlackApi, *, token: str | None = None, timeout: int = 5) -> SlackSender:
    return SlackSender(
        AsyncWebClient(token=token or api.token, base_url=api.base_url, timeout=timeout)
    )


async def test_send_edit_and_delete(api: FakeSlackApi) -> None:
    sender = sender_for(api)
    ts = await sender.send(
        "D1", Outgoing(text="Hello & <!here>", choices=(Choice("c:yes", "Yes"),))
    )
    post = api.calls("chat.postMessage")[0]
    assert ts == post.result["ts"] if post.result else False
    assert post.params["text"] == "Hello &amp; &lt;!here&gt;"
    assert post.params["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "Hello & <!here>",
        "emoji": True,
    }
    assert post.params["blocks"][1]["elements"][0]["value"] == "c:yes"
    assert await sender.send("D1", Outgoing(text="Edited", edit_of=ts)) == ts
    update = api.calls("chat.update")[0]
    assert (update.params["channel"], update.params["ts"], update.params["text"]) == (
        "D1",
        ts,
        "Edited",
    )
    assert await sender.send("D1", Outgoing(text="", delete_of=ts)) is None
    assert api.calls("chat.delete")[0].params["ts"] == ts


async def test_an_edit_of_a_vanished_message_posts_it_again(api: FakeSlackApi) -> None:
    api.fail("chat.update", "message_not_found")
    ts = await sender_for(api).send("C1", Outgoing(text="card", edit_of="1.0"))
    assert ts is not None and ts != "1.0"
    assert api.calls("chat.postMessage")[0].params["text"] == "card"


async def test_a_delete_of_a_vanished_message_is_done(api: FakeSlackApi) -> None:
    api.fail("chat.delete", "message_not_found")
    assert await sender_for(api).send("C1", Outgoing(text="", delete_of="1.0")) is None


async def test_rate_limit_gives_retry_after_from_the_header(api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", "ratelimited", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as raised:
        await sender_for(api).send("D1", Outgoing(text="hi"))
    assert raised.value.seconds == 7.0


@pytest.mark.parametrize(
    "error", ["channel_not_found", "is_archived", "account_inactive", "user_disabled"]
)
async def test_a_chat_that_is_gone_is_unreachable(api: FakeSlackApi, error: str) -> None:
    api.fail("chat.postMessage", error)
    with pytest.raises(Unreachable):
        await sender_for(api).send("D1", Outgoing(text="hi"))


async def test_server_errors_and_timeouts_are_transient(api: FakeSlackApi) -> None:
    sender = sender_for(api, timeout=1)
    api.fail("chat.postMessage", status=503)
    with pytest.raises(TransientError):
        await sender.send("D1", Outgoing(text="hi"))
    api.fail("chat.postMessage", "internal_error")
    with pytest.raises(TransientError):
        await sender.send("D1", Outgoing(text="hi"))
    api.delay("chat.postMessage", 2.0)
    with pytest.raises(TransientError):
        await sender.send("D1", Outgoing(text="hi"))


async def test_a_rejected_token_keeps_the_message_for_later(api: FakeSlackApi) -> None:
    with pytest.raises(TransientError):
        await sender_for(api, token="xoxb-wrong").send("D1", Outgoing(text="hi"))


async def test_a_refused_message_is_permanent(api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", "invalid_blocks")
    with pytest.raises(PermanentError):
        await sender_for(api).send("D1", Outgoing(text="hi"))
    too_long = Choice("x" * 2001, "Too long")
    with pytest.raises(PermanentError):
        await sender_for(api).send("D1", Outgoing(text="hi", choices=(too_long,)))


async def test_ephemeral_answers_are_escaped_too(api: FakeSlackApi) -> None:
    await sender_for(api).ephemeral("C1", "U1", Outgoing(text="<@U2> & co"))
    call = api.calls("chat.postEphemeral")[0]
    assert (call.params["channel"], call.params["user"]) == ("C1", "U1")
    assert call.params["text"] == "&lt;@U2&gt; &amp; co"
    api.fail("chat.postEphemeral", "user_not_in_channel")
    with pytest.raises(PermanentError):
        await sender_for(api).ephemeral("C1", "U1", Outgoing(text="hi"))
