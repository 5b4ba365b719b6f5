"""Every benchmark still runs: each bench/bN_<name>.py in quick mode on SQLite only, its
results well formed (figures are not checked: no timed assertions)."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest

from bench.common import Context, Result
from bench.run import modules, table

BENCHES = modules()


def test_the_benchmarks_are_found() -> None:
    assert "bench.b1_dialog" in BENCHES


@pytest.mark.parametrize("name", BENCHES)
async def test_a_benchmark_runs_and_reports_well_formed_results(name: str, tmp_path: Path) -> None:
    ctx = Context(pg_url=None, tmp=tmp_path, rounds=1, quick=True)
    results = await importlib.import_module(name).measure(ctx)

    number = name.split(".")[-1].split("_")[0].upper()  # "bench.b4_storm" -> "B4"
    assert results, f"{name} reported nothing"
    for result in results:
        assert isinstance(result, Result)
        assert result.bench == number
        assert result.name
        assert result.database in (None, "sqlite", "postgresql")
        assert all(isinstance(k, str) and k for k in result.values)
        assert all(isinstance(v, int | float) and math.isfinite(v) for v in result.values.values())
        if result.ratio is not None:
            assert math.isfinite(result.ratio) and result.ratio >= 0
            assert result.ratio_of, f"{result.name}: a ratio must say what it divides"
        assert not result.note.startswith("failed")
    assert number in table(results)
