"""Smoke test of ``xstilts bench --quick``: it runs, prints the ratio table, writes the JSON."""

from __future__ import annotations

import argparse
import json

from xstilts import bench


def test_quick_bench_prints_and_writes_ratios(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bench.main(argparse.Namespace(quick=True))
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "benchmarks" / "bench.json").read_text())
    assert not list((tmp_path / "benchmarks").glob("*.tmp"))

    assert "project way | plain way |" in out
    rows = [r for r in report["rows"] if r["ratio"] is not None]
    assert len(rows) == 6  # training x2, start-up, span QA, tagging, retrieval
    for row in rows:
        assert row["ratio"] > 0
        line = next(line for line in out.splitlines() if line.startswith(row["measurement"]))
        assert line.rstrip().endswith("x")
