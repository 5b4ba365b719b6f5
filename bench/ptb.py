"""The yardstick: a bare python-telegram-bot ``ConversationHandler`` with the same four
steps as our pledge flow (``/pledge``, the button tap, two skips), in this process.

No network: the Bot's requests go to :class:`LocalBotApi`, which answers every Bot API
method at once as Telegram would (``getMe``, ``sendMessage``, ``answerCallbackQuery``).
Three ways to run it, the strictest first:

- ``bare``: the handlers build their replies (text and keyboard) and send nothing;
- ``sent``: they send them (``reply_text``, ``answer``) through the Bot to the local API;
- ``sqlite``: ``bare`` plus a naive synchronous sqlite3 write of the state every step.

Each update arrives as Telegram's JSON (a dict) and is parsed with ``Update.de_json``
inside the timed loop, as a PTB bot does with every update it receives (the issue's
baseline, ~6,000 updates/s bare); ``pre-parsed`` times only PTB's dispatch and the
conversation's state machine, its best case. (Our in-memory turns parse nothing: our
Telegram adapter's own ``Update.de_json`` is measured end to end in B3.)
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
)
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBUserWarning

App = Any  # an Application, with its six type parameters
BOT_ID = 1
PLEDGE, NAME, COUNTRY = range(3)
PLEDGE_TEXT = (
    "The TOGETHER pledge:\n\n“I stand #WithRefugees and with all migrants. I pledge to stand "
    "for respect, safety and dignity for every person — whoever they are and wherever they "
    "come from.”"
)
MODES = ("bare", "sent", "sqlite")


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Supporter"}


def _bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Together", "username": "together_bot"}


class LocalBotApi(BaseRequest):
    """Answers every Bot API call in-process, as Telegram would answer it."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.calls = 0

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.calls += 1
        endpoint = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        result: Any = True
        if endpoint == "getMe":
            result = _bot_user()
        elif endpoint == "sendMessage":
            chat_id = int(str(params["chat_id"]))
            result = {
                "message_id": next(self._ids),
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "from": _bot_user(),
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                markup = params["reply_markup"]
                result["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return 200, json.dumps({"ok": True, "result": result}).encode()


class PledgeConversation:
    """The pledge flow as a PTB ``ConversationHandler``; ``total`` counts pledges."""

    def __init__(self, mode: str, db_path: Path | None = None) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        self.total = 0
        self.db: sqlite3.Connection | None = None
        if mode == "sqlite":
            assert db_path is not None
            self.db = sqlite3.connect(db_path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS state (user_id INTEGER PRIMARY KEY, step INTEGER, "
                "data TEXT)"
            )
            self.db.commit()

    def _store(self, user_id: int, step: int, data: dict[str, Any]) -> None:
        if self.db is not None:
            self.db.execute(
                "INSERT OR REPLACE INTO state (user_id, step, data) VALUES (?, ?, ?)",
                (user_id, step, json.dumps(data)),
            )
            self.db.commit()

    async def _say(self, update: Update, text: str, markup: Any = None) -> None:
        if self.mode == "sent":
            if update.callback_query is not None:
                await update.callback_query.answer()
            await update.effective_message.reply_text(text, reply_markup=markup)  # type: ignore[union-attr]

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("🤝 I take the pledge", callback_data="c:pledge")]]
        )
        context.user_data["campaign"] = "together"  # type: ignore[index]
        self._store(update.effective_user.id, PLEDGE, context.user_data)  # type: ignore[union-attr, arg-type]
        await self._say(update, PLEDGE_TEXT, markup)
        return PLEDGE

    async def take(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        self.total += 1
        self._store(update.effective_user.id, NAME, context.user_data)  # type: ignore[union-attr, arg-type]
        await self._say(
            update,
            "Thank you! Your pledge is counted.\nWould you like your first name shown among "
            "the supporters? Type it, or skip.",
        )
        return NAME

    async def skip_name(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        self._store(update.effective_user.id, COUNTRY, context.user_data)  # type: ignore[union-attr, arg-type]
        await self._say(update, "Where are you pledging from?")
        return COUNTRY

    async def skip_country(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        self._store(update.effective_user.id, -1, context.user_data)  # type: ignore[union-attr, arg-type]
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("📣 Share the pledge", url="https://t.me/together_bot")]]
        )
        await self._say(
            update,
            "Thank you for standing with refugees and migrants! 💛\n"
            f"{self.total:,} people have taken the pledge.\nShare the pledge so more people join:",
            markup,
        )
        return ConversationHandler.END

    def handler(self) -> ConversationHandler[Any]:
        with warnings.catch_warnings():
            # per_message=False with a CallbackQueryHandler: intended (per user and chat).
            warnings.simplefilter("ignore", PTBUserWarning)
            return ConversationHandler(
                entry_points=[CommandHandler("pledge", self.start)],
                states={
                    PLEDGE: [CallbackQueryHandler(self.take, pattern="^c:pledge$")],
                    NAME: [CommandHandler("skip", self.skip_name)],
                    COUNTRY: [CommandHandler("skip", self.skip_country)],
                },
                fallbacks=[],
            )

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


async def application(conversation: PledgeConversation) -> App:
    """An initialised Application with no updater and no network."""
    app = (
        ApplicationBuilder()
        .token(f"{BOT_ID}:bench")
        .request(LocalBotApi())
        .get_updates_request(LocalBotApi())
        .updater(None)
        .build()
    )
    app.add_handler(conversation.handler())
    await app.initialize()
    return app


_update_ids = itertools.count(1)


def _command(user_id: int, command: str) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_update_ids),
            "date": 0,
            "chat": {"id": user_id, "type": "private"},
            "from": _user(user_id),
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def _tap(user_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": _user(user_id),
            "chat_instance": str(user_id),
            "data": data,
            "message": {
                "message_id": next(_update_ids),
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": _bot_user(),
                "text": PLEDGE_TEXT,
            },
        },
    }


def pledge_json(user_id: int) -> list[dict[str, Any]]:
    """The four updates of one person's pledge, as Telegram sends them."""
    return [
        _command(user_id, "/pledge"),
        _tap(user_id, "c:pledge"),
        _command(user_id, "/skip"),
        _command(user_id, "/skip"),
    ]


def pledge_updates(app: App, user_id: int) -> Iterator[Update]:
    """The four updates of one person's pledge, parsed."""
    for data in pledge_json(user_id):
        update = Update.de_json(data, app.bot)
        assert update is not None
        yield update
