"""B2: B1's comparison on PostgreSQL (our core on a fresh schema of TEST_DATABASE_URL,
PTB again in the same run, interleaved). Skipped, with a note, without PostgreSQL."""

from __future__ import annotations

from bench.b1_dialog import dialog
from bench.common import POSTGRESQL, Context, Result


async def measure(ctx: Context) -> list[Result]:
    if ctx.pg_url is None:
        return [
            Result(
                "B2",
                "pledge flow on PostgreSQL vs bare PTB",
                POSTGRESQL,
                note="skipped: TEST_DATABASE_URL unset or unreachable",
            )
        ]
    return await dialog(ctx, POSTGRESQL, "B2")
