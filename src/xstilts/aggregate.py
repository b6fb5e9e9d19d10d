"""Collect every run's metrics into one long table and build the intermediate x target matrix.

``scores.parquet``: one row per (model, intermediate, target, seed, split, language, metric), each
with the ``run_id`` of the manifest it came from; its schema metadata names the benchmark that
scores it. ``transfer_matrix.csv``: one row per cell (intermediate, target) with the benchmark's
task score (mean over the benchmark's languages of the task; QA: (EM + F1) / 2) of the reported
split, mean and standard deviation over seeds, the difference from ``none``, and the run ids
behind it. A run without a result in one of the benchmark's languages is an error, unless
``partial`` (a running study): then its cell is the mean over the languages there and
``missing`` names the others. A study with its own languages of a target (``subset``) is scored
over those, and the cell names them. The PNG shows the same matrix and its difference from the
baseline.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from xstilts import benchmarks, figures, provenance, registry
from xstilts.loaders.errors import DataFormatError

COLUMNS = (
    "model",
    "intermediate",
    "target",
    "seed",
    "split",
    "lang",
    "metric",
    "value",
    "run_id",
    "n",  # examples scored (a pooled task's weights)
)
REPORT_SPLITS = ("test", "validation")  # the first present is reported


def collect(metrics_files: list[Path]) -> list[dict]:
    """The long table's rows; a metrics file without a single score is an error naming it."""
    rows = []
    for path in map(Path, metrics_files):
        m = json.loads(path.read_text())
        run_id = provenance.read_manifest(path)["run_id"]
        scored = [
            {
                "model": m["model"],
                "intermediate": m["intermediate"],
                "target": m["task"],
                "seed": int(m["seed"]),
                "split": split,
                "lang": lang,
                "metric": metric,
                "value": float(value),
                "run_id": run_id,
                "n": values.get("n"),
            }
            for split, langs in (m.get("results") or {}).items()
            for lang, values in langs.items()
            for metric, value in values.items()
            if metric != "n" and isinstance(value, int | float)
        ]
        if not scored:
            raise DataFormatError(
                f"{path}: its results hold no score (expected results.<split>.<lang>.<metric>: "
                f"a number); delete it to re-run that cell"
            )
        rows += scored
    return rows


def _benchmark(bench) -> benchmarks.Benchmark:
    return benchmarks.get(bench) if isinstance(bench, str) else bench


def read_benchmark(scores_path: Path) -> benchmarks.Benchmark:
    """The benchmark a scores table's metadata names (tables from before it was recorded:
    XTREME, the only benchmark then), over the languages the study had of each task."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(scores_path).metadata or {}
    bench = benchmarks.get(metadata.get(b"benchmark", benchmarks.DEFAULT.encode()).decode())
    return bench.over(json.loads(metadata.get(b"subset", b"{}")))


def run_scores(
    rows: list[dict], bench: str | benchmarks.Benchmark, partial: bool = False
) -> dict[tuple, dict]:
    """The benchmark's task score per (intermediate, target, seed) on the reported split, and the
    benchmark's languages the run has no result for (an error unless ``partial``)."""
    bench = _benchmark(bench)
    runs: dict[tuple, dict] = {}
    for r in rows:
        runs.setdefault((r["intermediate"], r["target"], r["seed"]), []).append(r)
    out = {}
    for key, rs in runs.items():
        split = next(s for s in REPORT_SPLITS if any(r["split"] == s for r in rs))
        per_lang: dict[str, dict[str, float]] = {}
        for r in rs:
            if r["split"] == split:
                per_lang.setdefault(r["lang"], {})[r["metric"]] = r["value"]
                if r.get("n"):
                    per_lang[r["lang"]]["n"] = r["n"]
        try:
            score = bench.task_score(key[1], per_lang, partial=partial)
        except benchmarks.BenchmarkError as e:
            raise benchmarks.BenchmarkError(
                f"run {key[0]}/{key[1]}/seed{key[2]} ({split} split): {e}"
            ) from None
        missing = [lang for lang in bench.languages_of(key[1]) if lang not in per_lang]
        out[key] = {
            "split": split,
            "score": score,
            "missing": missing,
            "run_id": rs[0]["run_id"],
        }
    return out


def matrix(
    rows: list[dict], bench: str | benchmarks.Benchmark, partial: bool = False
) -> list[dict]:
    """One row per (intermediate, target): mean and sd over seeds and the gain over ``none``;
    ``missing``: the languages some seed lacks (``partial`` only); ``subset``: the study's own
    languages of a target it has a subset of (empty: the benchmark's)."""
    cells: dict[tuple, list] = {}
    for (inter, target, seed), s in sorted(run_scores(rows, bench, partial).items()):
        cells.setdefault((inter, target), []).append((seed, s))
    out = []
    for (inter, target), runs in cells.items():
        scores = [s["score"] for _, s in runs]
        out.append(
            {
                "intermediate": inter,
                "target": target,
                "split": runs[0][1]["split"],
                "n_seeds": len(scores),
                "mean": statistics.fmean(scores),
                "sd": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                "seeds": ";".join(str(seed) for seed, _ in runs),
                "run_ids": ";".join(s["run_id"] for _, s in runs),
                "missing": " ".join(sorted({lang for _, s in runs for lang in s["missing"]})),
                "subset": " ".join(_benchmark(bench).subset.get(target, ())),
            }
        )
    baseline = {r["target"]: r["mean"] for r in out if r["intermediate"] == registry.NONE}
    for r in out:
        base = baseline.get(r["target"])
        r["delta_vs_none"] = None if base is None else r["mean"] - base
    return out


def write(
    rows: list[dict],
    cells: list[dict],
    scores_path: Path,
    csv_path: Path,
    png_path: Path,
    title: str,
    bench: str = benchmarks.DEFAULT,
) -> None:
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("model", pa.string()),
                ("intermediate", pa.string()),
                ("target", pa.string()),
                ("seed", pa.int64()),
                ("split", pa.string()),
                ("lang", pa.string()),
                ("metric", pa.string()),
                ("value", pa.float64()),
                ("run_id", pa.string()),
                ("n", pa.int64()),
            ],
            metadata={
                "benchmark": _benchmark(bench).name,
                "subset": json.dumps(_benchmark(bench).subset, sort_keys=True),
            },
        ),
    )
    pq.write_table(table, scores_path)
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(
            f,
            fieldnames=[
                "intermediate",
                "target",
                "split",
                "n_seeds",
                "mean",
                "sd",
                "delta_vs_none",
                "seeds",
                "run_ids",
                "missing",
                "subset",
            ],
        )
        w.writeheader()
        for c in cells:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in c.items()})
    figures.score_matrix(cells, png_path, title)
