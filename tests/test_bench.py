"""``tools/bench.py``: interleaved runs, min/median/max and padded-token limits in the table, the
demo's fixed-cost share (the full bench is ``make bench``; here a ``--quick`` smoke run)."""

from __future__ import annotations

import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import bench  # noqa: E402


def test_quick_bench_prints_and_writes_ratios(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bench.main(["--quick"])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "timings" / "bench.json").read_text())
    assert not list((tmp_path / "timings").glob("*.tmp"))

    assert "project min / median / max | plain min / median / max | ratio" in out
    assert "padded-token limit" in out
    rows = [r for r in report["rows"] if r["ratio"] is not None]
    assert len(rows) == 7  # training x2, span QA, tagging, retrieval, fixed cost x2
    for row in report["rows"]:
        low, mid, high = row["project"]
        assert 0 < low <= mid <= high
        line = next(line for line in out.splitlines() if line.startswith(row["measurement"]))
        assert f"{bench._fmt(low)} / {bench._fmt(mid)} / {bench._fmt(high)}" in line
    limits = {r["measurement"].split(" vs ")[0]: r["limit"] for r in rows if r["limit"]}
    assert set(limits) == {
        "train XNLI real tokens/s",
        "eval span QA examples/s",
        "eval tagging examples/s",
    }
    assert "no demo timings" in out  # none in this folder


def test_ways_are_interleaved():
    calls = []
    times = bench.interleaved([lambda: calls.append("a"), lambda: calls.append("b")], 3)
    assert calls == ["a", "b"] * 4  # a warm-up round, then three
    assert [len(t) for t in times] == [3, 3]
    assert bench.interleaved([lambda: 2.5], 2, warm_up=False) == [[2.5, 2.5]]


def test_demo_fixed_share_reads_snakemake_benchmarks(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for folder, name, seconds in (
        ("demo/finetune", "a", 10.0),  # the study's own jobs: timings/{study}/{rule}/
        ("tokenize", "b", 6.0),  # shared ones: timings/{rule}/
        ("demo/score", "c", 0.2),
        ("other/finetune", "d", 50.0),  # another study's
    ):
        path = tmp_path / folder / "m" / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"{seconds}\t0:00:10\t1\t1\t1\t1\t0\t0\t50\t1\n")
    share = bench.demo_fixed_share(tmp_path, "demo", heavy=4.0, light=0.5)
    # fixed: 4 + 4 (model jobs) + 0.2 (a light job, at most its own time) of 16.2 job-s
    assert "3 jobs, 16 job-s, of which fixed costs ~8 job-s (51%)" in share
    assert bench.demo_fixed_share(tmp_path / "none", "demo", 4.0, 0.5) is None
