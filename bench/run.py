"""Run the benchmarks side by side in one process and report ratios (never timed assertions).

    python -m bench.run              # every bench/bN_<name>.py, results in bench/results.json
    python -m bench.run B1 B4        # only those
    python -m bench.run --record     # also prepend a dated section to bench/RESULTS.md
    make bench                       # --record of all

SQLite always; PostgreSQL too when TEST_DATABASE_URL is reachable. BENCH_ROUNDS sets the
rounds (medians of interleaved rounds, default 3); BENCH_QUICK=1 makes every load tiny (the
smoke test's mode: the figures mean nothing then).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Context, Result, machine, make

__all__ = ["main", "make", "modules", "run", "table"]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_JSON = BENCH_DIR / "results.json"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
_MODULE = re.compile(r"^b(\d+)_\w+\.py$")


def modules(only: list[str] | None = None) -> list[str]:
    """The bench modules, in order of their number; ``only`` as ``["B1", "B4"]``."""
    found = sorted(
        (int(m.group(1)), path.stem)
        for path in BENCH_DIR.glob("b*_*.py")
        if (m := _MODULE.match(path.name))
    )
    wanted = {name.upper().lstrip("B") for name in only or []}
    return [f"bench.{stem}" for number, stem in found if not wanted or str(number) in wanted]


async def run(ctx: Context, names: list[str]) -> tuple[list[Result], dict[str, float], list[str]]:
    """Every module's results, its seconds, and the modules that failed."""
    results: list[Result] = []
    seconds: dict[str, float] = {}
    failed: list[str] = []
    for name in names:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(name)
            got = await module.measure(ctx)
        except Exception as exc:
            traceback.print_exc()
            failed.append(name)
            bench = name.split(".")[-1].split("_")[0].upper()
            got = [Result(bench, name, None, note=f"failed: {type(exc).__name__}: {exc}")]
        seconds[name] = time.perf_counter() - start
        print(f"bench: {name} took {seconds[name]:.0f} s", file=sys.stderr, flush=True)
        results.extend(got)
    return results, seconds, failed


def _number(value: float) -> str:
    if value != value:  # NaN
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if value == int(value):
        return str(int(value))
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(results: list[Result]) -> str:
    """A markdown table of the results."""
    lines = [
        "| bench | database | measured | figures | ratio | ratio of | note |",
        "|---|---|---|---|---:|---|---|",
    ]
    for r in results:
        figures = "; ".join(f"{key} {_number(value)}" for key, value in r.values.items())
        ratio = "" if r.ratio is None else _number(r.ratio)
        cells = [r.bench, r.database or "", r.name, figures, ratio, r.ratio_of, r.note]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def machine_line(info: dict[str, Any]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    dirty = " (with uncommitted changes)" if info["dirty"] else ""
    return (
        f"{info['cpus']} CPUs, Python {info['python']}, {info['platform']}; {packages}; "
        f"commit {info['commit']}{dirty}"
    )


def record(text: str) -> None:
    """Prepend ``text`` to RESULTS.md, after its introduction, before the older sections."""
    old = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    head, sep, rest = old.partition("\n## ")
    RESULTS_MD.write_text(
        head.rstrip() + "\n\n" + text.rstrip() + "\n" + (sep + rest if sep else "")
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("only", nargs="*", help="benchmarks to run, e.g. B1 B4 (default: all)")
    parser.add_argument("--record", action="store_true", help="prepend a section to RESULTS.md")
    parser.add_argument("--output", type=Path, default=RESULTS_JSON, help="the JSON results")
    args = parser.parse_args(argv)
    names = modules(args.only)
    if not names:
        parser.error(f"no benchmark module matches {args.only}")
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ctx = await Context.from_env(Path(tmp))
        results, seconds, failed = await run(ctx, names)
    info = machine()
    settings = {"rounds": ctx.rounds, "quick": ctx.quick, "postgresql": ctx.pg_url is not None}
    args.output.write_text(
        json.dumps(
            {
                "started": started.isoformat(timespec="seconds"),
                "machine": info,
                "settings": settings,
                "seconds": seconds,
                "failed": failed,
                "results": [r.to_dict() for r in results],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    text = table(results)
    print(text)
    total = sum(seconds.values())
    print(f"\n{machine_line(info)}; {total:.0f} s in all", file=sys.stderr)
    if args.record:
        databases = "SQLite and PostgreSQL" if ctx.pg_url else "SQLite only"
        benches = ", ".join(n.split(".")[-1] for n in names)
        record(
            f"## {started:%Y-%m-%d %H:%M} UTC: `make bench` ({benches})\n\n"
            f"{databases}; medians of {ctx.rounds} interleaved rounds"
            f"{' (QUICK: the figures mean nothing)' if ctx.quick else ''}; "
            f"{total:.0f} s in all. {machine_line(info)}.\n\n{text}\n"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
