"""Running the Slack side: slack-bolt's AsyncApp over Socket Mode or HTTP.

The path of one request, in Bolt's order: verify the signature and timestamp (HTTP; a
bad one is 401 and nothing runs) -> URL verification -> authorise (``auth.test`` once) ->
ignore the app's own events -> the listener below. A person's message, button or
command is parsed into an ``Inbound`` and ``core.accept``-ed (the event's key, its
effect and the replies commit together: a retried event or a repeated click has no
second effect) *before* the acknowledgement, so an event Slack was told we have is
never lost; a failure there answers an error and Slack retries the event. Then the ack
(Slack waits 3 seconds at most; a turn takes milliseconds) and ``core.deliver`` sends
the replies to the person's DM on a task of its own: one person's deliveries run one
at a time, in order; different people's concurrently. The moderators' channel goes to
its own surface (its decisions are guarded and deduplicated by their own keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.adapters.normalise import normalise_text
from bot.adapters.slack import views
from bot.adapters.slack.gate import gate
from bot.adapters.slack.images import PublishedImages
from bot.adapters.slack.moderation import SlackModerationChannel
from bot.adapters.slack.parsing import (
    PLATFORM,
    Person,
    action_key,
    choice_inbound,
    command_inbound,
    form_inbound,
    interaction_key,
    message_inbound,
)
from bot.adapters.slack.people import People
from bot.adapters.slack.rendering import CHOICE_ACTION, LINK_ACTION
from bot.adapters.slack.sender import BAD_TOKEN, SlackSender, error_code
from bot.config import Settings
from bot.core.deps import Deps
from bot.core.events import Inbound
from bot.core.service import Core
from bot.handlers import menu
from bot.handlers.pledge import total_text
from bot.handlers.story_form import form_draft, story_form
from bot.i18n import _
from storage.pledges import pledge_total

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slash commands the core answers in the person's DM (slack-manifest.yml lists them).
DM_COMMANDS = ("pledge", "stories", "facts", "updates")
MAX_BODY = 1024 * 1024  # Slack's payloads are a few kilobytes
ERROR_MAX = 300


def api_base_url(url: str) -> str:
    """slack_sdk joins ``base_url`` and the method name: it must end with a slash."""
    return url if url.endswith("/") else url + "/"


class SlackAdapter:
    """The Slack platform: DMs, slash commands, the Home tab, modals, the moderators' channel.

    Socket Mode when ``SLACK_APP_TOKEN`` is set (development, no public URL), otherwise
    HTTP at ``/slack/events`` on the app's one Starlette router, verified with
    ``SLACK_SIGNING_SECRET``.

    Args:
        settings: the bot's settings; ``slack_bot_token`` must be set.
        core: handles inbound events and reachability changes.
        deps: the database (a person's language, the pledge count) and the translator.
        request_timeout: seconds to wait for a Web API answer.

    Raises:
        ValueError: no bot token, or HTTP mode without a signing secret.
    """

    def __init__(
        self,
        settings: Settings,
        core: Core,
        deps: Deps,
        *,
        request_timeout: float = 10.0,
    ) -> None:
        if settings.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        self.settings = settings
        self.core = core
        self.deps = deps
        self.mode: Literal["socket", "http"] = "socket" if settings.slack_app_token else "http"
        secret = settings.slack_signing_secret
        signing_secret = secret.get_secret_value() if secret is not None else ""
        if self.mode == "http" and not signing_secret:
            # Without it, anyone could post forged events: refuse to serve HTTP.
            raise ValueError("SLACK_SIGNING_SECRET is required without SLACK_APP_TOKEN")
        self._request_timeout = request_timeout
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=api_base_url(settings.slack_api_url),
            timeout=int(request_timeout),
        )
        self.app = AsyncApp(
            name="together-bot",
            signing_secret=signing_secret,
            client=self.client,
            # The listeners only acknowledge and start a task: answering after them is
            # answering at once, without Bolt's 10 ms polling for the ack.
            process_before_response=True,
        )
        self.sender = SlackSender(self.client, PublishedImages(deps))
        self.people = People(self.client, deps.db, deps.translator)
        self.moderation: SlackModerationChannel | None = None
        self._http = AsyncSlackRequestHandler(self.app)
        self._socket: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.processed = 0
        self._register()

    # -- lifecycle -----------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """The events endpoint (HTTP mode only) for the app's one Starlette router."""
        if self.mode != "http":
            return []
        return [Route(EVENTS_PATH, self._endpoint, methods=["POST"])]

    @property
    def booted(self) -> bool:
        """Started, and Socket Mode (when used) connected (``/readyz``)."""
        return self._session is not None and (self._connecting is None or self._connecting.done())

    async def start(self) -> None:
        """Check the token (``auth.test``), then connect Socket Mode when configured.

        A network failure does not stop the app (Socket Mode keeps trying in the
        background); a rejected token raises.
        """
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._request_timeout)
        )
        self.client.session = self._session
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            if error_code(exc) in BAD_TOKEN:
                await self._close_session()
                raise ValueError("Slack rejected SLACK_BOT_TOKEN") from None
            log.warning("slack auth.test failed", extra={"error": error_code(exc)})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack unreachable at start", extra={"error": type(exc).__name__})
        if self.mode == "socket":
            assert self.settings.slack_app_token is not None
            self._socket = AsyncSocketModeHandler(
                self.app,
                self.settings.slack_app_token.get_secret_value(),
                web_client=self.client,
            )
            self._connecting = asyncio.create_task(self._connect(), name="slack-socket-mode")

    async def _connect(self) -> None:
        assert self._socket is not None
        delay = 1.0
        while True:
            try:
                await self._socket.connect_async()  # type: ignore[no-untyped-call]
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("slack socket mode not connected", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
            else:
                log.info("slack socket mode connected")
                return

    async def stop(self, *, drain_timeout: float = 10.0) -> None:
        """Disconnect Socket Mode, finish the work in hand, close the HTTP session."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=drain_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._close_session()

    async def drain(self) -> None:
        """Wait until the work in hand (and any it started) is done, replies sent."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)
        await self.core.drain()

    async def _close_session(self) -> None:
        if self._session is not None:
            self.client.session = None
            await self._session.close()
            self._session = None

    async def _endpoint(self, request: Request) -> Response:
        # Nothing is parsed before the signature is checked on the raw body, read up to
        # MAX_BODY as it arrives: 413, 401 or 400 before Bolt sees anything.
        secret = self.settings.slack_signing_secret
        assert secret is not None  # HTTP mode requires it (see __init__)
        checked = await gate(request, secret.get_secret_value(), max_body=MAX_BODY)
        if isinstance(checked, Response):
            return checked
        return await self._http.handle(checked)

    # -- listeners (acknowledge, then work in a task) --------------------------------------
    def _register(self) -> None:
        app = self.app
        app.event("message")(self._on_message)
        app.event("app_home_opened")(self._on_home_opened)
        for command in DM_COMMANDS:
            app.command(f"/{command}")(self._on_dm_command)
        app.command("/story")(self._on_story_command)
        app.shortcut(views.SHARE_STORY_SHORTCUT)(self._on_story_shortcut)
        app.action(re.compile(rf"^{re.escape(CHOICE_ACTION)}\.\d+$"))(self._on_choice)
        app.action(re.compile(rf"^{re.escape(LINK_ACTION)}\.\d+$"))(self._on_link)
        app.action(re.compile(rf"^({'|'.join(map(re.escape, views.HOME_COMMANDS))})$"))(
            self._on_home_command
        )
        app.action(views.HOME_STORY)(self._on_home_story)
        app.view_submission(views.STORY_MODAL)(self._on_story_submitted)
        app.view_submission(
            re.compile(rf"^({re.escape(views.REASON_MODAL)}|{re.escape(views.REDACT_MODAL)})$")
        )(self._on_moderation_modal)

    def _spawn(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after the ack; the work of one ``key`` (a person) in order."""
        task = asyncio.create_task(self._run(key, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        try:
            # Taken first thing: tasks start in creation order, so the work of one key
            # queues on its lock in arrival order.
            async with self.core.ordered(f"{PLATFORM}:{key}"):
                await work()
        except Exception:
            log.exception("slack work failed")
        finally:
            self.processed += 1

    async def _on_message(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        event_id = str(body.get("event_id") or "")
        changed = event.get("message")
        edited_by = changed.get("user") if isinstance(changed, dict) else None
        user = str(event.get("user") or edited_by or "")
        channel = str(event.get("channel") or "")
        if event.get("channel_type") != "im" or not user or not event_id or not channel:
            await ack()
            return
        person = await self.people.person(user, dm_channel=channel)
        await self._accept_then_ack(ack, message_inbound(event, event_id, person))

    async def _on_home_opened(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        event = body.get("event") or {}
        user = str(event.get("user") or "")
        if event.get("tab") != "home" or not user:
            return
        self._spawn(f"home:{user}", lambda: self.publish_home(user))

    async def _on_dm_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """``/pledge``, ``/stories``, ``/facts``, ``/updates [on|off]``: the core's command,
        answered in the DM."""
        user = str(body.get("user_id") or "")
        command = str(body.get("command") or "").removeprefix("/")
        if not user or command not in DM_COMMANDS:
            await ack()
            return
        key = interaction_key("cmd", body.get("trigger_id", ""), user)
        person = await self.people.person(user)
        args = normalise_text(str(body.get("text") or "")).strip()
        inbound = command_inbound(person, key, command, args)
        if body.get("channel_name") == "directmessage":
            await self._accept_then_ack(ack, inbound)
            return
        # Typed in a channel: say where the answer is waiting.
        with self.deps.translator.use(self.people.cached_locale(user)):
            said = _("I have sent you a direct message.")
        await self._accept_then_ack(ack, inbound, said)

    async def _on_story_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        self._open_story_modal(str(body.get("user_id") or ""), str(body.get("trigger_id") or ""))

    async def _on_story_shortcut(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        self._open_story_modal(_user(body), str(body.get("trigger_id") or ""))

    async def _on_home_story(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        self._open_story_modal(_user(body), str(body.get("trigger_id") or ""))

    async def _on_home_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """A Home tab button that runs a command in the DM (Pledge, Read stories, Facts)."""
        user, action = _user(body), _first_action(body)
        command = views.HOME_COMMANDS.get(str(action.get("action_id") or ""))
        if not user or command is None:
            await ack()
            return
        key = action_key(body, action)
        person = await self.people.person(user)
        await self._accept_then_ack(ack, command_inbound(person, key, command))

    async def _on_choice(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        user, action = _user(body), _first_action(body)
        value = str(action.get("value") or "")
        channel = _channel(body)
        if not user or not value or not channel:
            await ack()
            return
        key = action_key(body, action)
        moderation = self.moderation
        if moderation is not None and channel in moderation.channels:
            await ack()
            trigger = str(body.get("trigger_id") or "")
            self._spawn(
                f"mod:{user}", lambda: moderation.on_button(user, value, trigger, key, channel)
            )
            return
        person = await self.people.person(user, dm_channel=channel)
        await self._accept_then_ack(ack, choice_inbound(person, key, value, body))

    async def _on_link(self, ack: AsyncAck) -> None:
        await ack()  # a share link opens in the browser; nothing to do here

    async def _on_story_submitted(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        user = _user(body)
        answers = views.answers(view)
        locale = str(views.metadata(view).get("locale") or self.deps.translator.default)
        with self.deps.translator.use(locale) as active:
            _draft, problems = form_draft(answers, self.settings, active)
        if problems:
            # Shown under each field; the modal stays open and nothing is recorded.
            errors = {field: text[:ERROR_MAX] for field, text in problems.items()}
            await ack(response_action="errors", errors=errors)
            return
        if not user:
            await ack()
            return
        key = interaction_key("view", view.get("id", ""), user)
        answers_json = json.dumps(answers, ensure_ascii=False)
        person = await self.people.person(user)
        # The modal closes (the ack) only once the story is stored: never lost.
        await self._accept_then_ack(ack, form_inbound(person, key, answers_json))

    async def _on_moderation_modal(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        view = body.get("view") or {}
        user, moderation = _user(body), self.moderation
        if moderation is None or not user:
            return
        key = interaction_key("view", view.get("id", ""), user)
        self._spawn(f"mod:{user}", lambda: moderation.on_modal(user, view, key))

    # -- the work --------------------------------------------------------------------------
    async def _accept_then_ack(
        self, ack: AsyncAck, inbound: Inbound | None, said: str | None = None
    ) -> None:
        """Commit the event and its replies, then acknowledge; the core sends the replies
        in the person's order meanwhile."""
        if inbound is not None:
            await self.core.accept(inbound, self.sender)
        await ack(said) if said is not None else await ack()

    def _open_story_modal(self, user_id: str, trigger_id: str) -> None:
        if user_id and trigger_id:
            self._spawn(f"modal:{user_id}", lambda: self.open_story_modal(user_id, trigger_id))

    async def open_story_modal(self, user_id: str, trigger_id: str) -> None:
        """Open the story form (``views.open``) in the person's language."""
        locale = await self.people.locale(user_id)
        with self.deps.translator.use(locale) as active:
            view = views.modal(
                views.STORY_MODAL,
                title=_("Share your story"),
                submit=_("📨 Submit my story"),
                close=_("✕ Cancel"),
                blocks=views.form_blocks(story_form(self.settings)),
                metadata={"locale": active},
            )
        await self.client.views_open(trigger_id=trigger_id, view=view)

    async def publish_home(self, user_id: str) -> None:
        """Publish the App Home tab with the live pledge count (``views.publish``)."""
        locale = await self.people.locale(user_id)
        async with self.deps.db.transaction() as session:
            total = await pledge_total(session, self.settings.default_campaign)
        with self.deps.translator.use(locale) as active:
            view = views.home_view(
                welcome=menu.welcome_text(),
                total=total_text(total, active),
                pledge=_("🤝 Take the pledge"),
                story=_("📖 Share your story"),
                stories=_("📚 Read stories"),
                facts=_("📊 Learn the facts"),
            )
        await self.client.views_publish(user_id=user_id, view=view)


def _user(body: Mapping[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, Mapping) else ""


def _first_action(body: Mapping[str, Any]) -> dict[str, Any]:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def _channel(body: Mapping[str, Any]) -> str:
    channel = body.get("channel")
    if isinstance(channel, Mapping) and channel.get("id"):
        return str(channel["id"])
    container = body.get("container")
    return str(container.get("channel_id") or "") if isinstance(container, Mapping) else ""


__all__ = ["EVENTS_PATH", "Person", "SlackAdapter", "api_base_url"]
