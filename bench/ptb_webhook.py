"""A bare python-telegram-bot webhook bot: the yardstick of B3.

    python -m bench.ptb_webhook --port N --token T --api http://127.0.0.1:M/bot

The same four pledge steps as ours (``/pledge``, the button, two ``/skip``) as a
``ConversationHandler`` kept in memory: nothing stored, nothing deduplicated, nothing
recovered after a crash. Its webhook is a minimal Starlette app under uvicorn calling
``application.process_update``, as PTB's documentation shows for a custom web server;
its ``Bot`` sends to the fake Bot API through ``base_url``, with the same HTTP pool size
as our adapter.
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

PATH = "/telegram"
SECRET = "bench-ptb-secret"  # noqa: S105 - a throwaway run's
CONFIRM, NAME, COUNTRY = range(3)


async def start(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None
    await update.message.reply_text(
        "The TOGETHER pledge: I stand with refugees and migrants, for respect, safety and "
        "dignity for all.",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("I take the pledge", callback_data="c:pledge")]]
        ),
    )
    return CONFIRM


async def confirm(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    # Two messages, as ours sends: the count, then the next question.
    await update.effective_chat.send_message("Your pledge is counted. Thank you!")
    await update.effective_chat.send_message(
        "Which first name shown among the supporters? /skip to stay anonymous."
    )
    return NAME


async def name(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None
    await update.message.reply_text("Where are you pledging from? /skip to leave it out.")
    return COUNTRY


async def country(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None
    await update.message.reply_text("Thank you for standing with refugees.")
    return ConversationHandler.END


def build(token: str, api: str) -> Application:  # type: ignore[type-arg]
    application = (
        Application.builder()
        .token(token)
        .base_url(api)
        .request(HTTPXRequest(connection_pool_size=64))
        .updater(None)
        .build()
    )
    with warnings.catch_warnings():
        # per_message=False with a CallbackQueryHandler: intended (one conversation a chat).
        warnings.simplefilter("ignore", PTBUserWarning)
        application.add_handler(
            ConversationHandler(
                entry_points=[CommandHandler("pledge", start)],
                states={
                    CONFIRM: [CallbackQueryHandler(confirm, pattern="^c:pledge$")],
                    NAME: [CommandHandler("skip", name)],
                    COUNTRY: [CommandHandler("skip", country)],
                },
                fallbacks=[],
            )
        )
    return application


def app(application: Application) -> Starlette:  # type: ignore[type-arg]
    async def webhook(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return PlainTextResponse("forbidden", status_code=403)
        update = Update.de_json(await request.json(), application.bot)
        await application.process_update(update)
        return PlainTextResponse("ok")

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with application:
            await application.start()
            try:
                yield
            finally:
                await application.stop()

    return Starlette(
        routes=[
            Route(PATH, webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--api", required=True)
    args = parser.parse_args()
    uvicorn.run(
        app(build(args.token, args.api)),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
