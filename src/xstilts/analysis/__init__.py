"""The follow-up analyses across models, languages and intermediate variants (issue 12).

Each analysis reads the models' ``scores.parquet`` (and, for throughput, each model's inference
benchmark), writes tables (Parquet, CSV, Markdown, HTML) and figures (PNG, PDF) under
``results/{study}/analysis/{name}/`` and a manifest whose inputs chain back to every run it
summarises; every table row carries the ``run_ids`` behind it.

* ``model_size``: gain over ``none`` per (model, intermediate, target) and on the benchmark
  average against parameter count; the slope of gain on log10 parameters and whether the gain at
  the largest size is below that at the smallest, with bootstrap confidence.
* ``multilingual``: translated-data variants against the English-only intermediate, per target
  and language, languages seen in intermediate training marked apart.
* ``volume``: per-language zero-shot score and gain against pretraining volume and distance from
  English: Spearman's rho and a regression of gain on log volume and distance.
* ``throughput``: benchmark average against inference throughput (Pareto front), and the
  smallest model within N points of the best.

Intervals are percentile bootstraps over seeds (paired by seed where two runs are compared) and,
where the runs left per-example predictions, evaluation examples too (``examples``; each table's
``ci_method`` says which); ``stats`` holds the statistics. Imports nothing heavy at module level.
"""

from __future__ import annotations

import math
from pathlib import Path

from xstilts import aggregate, benchmarks, registry

ANALYSES = ("model_size", "multilingual", "volume", "throughput")

# (model, intermediate, target, seed)
RunKey = tuple[str, str, str, int]


def files(name: str, study) -> list[str]:
    """The files an analysis writes, relative to its folder (the rule declares these)."""
    tables = {
        "model_size": ["model_size", "saturation"],
        "multilingual": ["multilingual"],
        "volume": ["volume", "volume_stats"],
        "throughput": ["throughput", "smallest_within"],
    }[name]
    figures = {
        "model_size": ["model_size"],
        "multilingual": ["multilingual"],
        "volume": [f"volume_{m}" for m in study.grid["models"]],
        "throughput": ["pareto"],
    }[name]
    return (
        [f"tables/{t}.{ext}" for t in tables for ext in ("parquet", "csv", "md", "html")]
        + [f"figures/{f}.{ext}" for f in figures for ext in ("png", "pdf")]
        + ["manifest.json"]
    )


def applicable(name: str, study) -> bool:
    """Whether the grid has the axis an analysis needs (and the config asks for it)."""
    if name not in study.config.get("analysis", {}).get("analyses", ANALYSES):
        return False
    grid, models = study.grid, study.grid["models"]
    inters = set(grid["intermediate"])
    if name == "model_size":
        return len(models) > 1 and registry.NONE in inters and len(inters) > 1
    if name == "multilingual":
        return any(
            registry.english_base(i) != i and registry.english_base(i) in inters for i in inters
        )
    if name == "volume":
        return registry.NONE in inters
    return len(models) > 1  # throughput: across model sizes


# --- reading the runs ---
def read_scores(paths: list[Path]) -> list[dict]:
    import pyarrow.parquet as pq

    return [r for p in paths for r in pq.read_table(p).to_pylist()]


def run_values(rows: list[dict]) -> dict[RunKey, dict]:
    """Per run, per language, its metrics on the reported split, and the run id."""
    by_run: dict[RunKey, list[dict]] = {}
    for r in rows:
        by_run.setdefault((r["model"], r["intermediate"], r["target"], r["seed"]), []).append(r)
    out = {}
    for key, rs in by_run.items():
        split = next(s for s in aggregate.REPORT_SPLITS if any(r["split"] == s for r in rs))
        langs: dict[str, dict[str, float]] = {}
        for r in rs:
            if r["split"] == split:
                langs.setdefault(r["lang"], {})[r["metric"]] = r["value"]
        out[key] = {"langs": langs, "run_id": rs[0]["run_id"], "split": split}
    return out


def lang_score(target: str, metrics: dict[str, float]) -> float:
    """One language's task score: the mean of the task's metrics (QA: (EM + F1) / 2)."""
    return sum(metrics[m] for m in registry.get(target).metrics) / len(registry.get(target).metrics)


def task_score(bench: benchmarks.Benchmark, target: str, langs: dict) -> float:
    """The target's score as the benchmark scores it (over its languages that are there)."""
    if target in bench.languages:
        return bench.task_score(target, langs, partial=True)
    return sum(lang_score(target, m) for m in langs.values()) / len(langs)


def benchmark(study) -> benchmarks.Benchmark:
    return benchmarks.get(study.config.get("benchmark", benchmarks.DEFAULT))


def average(bench: benchmarks.Benchmark, scores: dict[str, float]) -> float | None:
    """The benchmark average of task scores (the mean over the member tasks that are there)."""
    return bench.score(scores, partial=True).overall


AVERAGE = "average"  # the target name of benchmark-average rows


def common_targets(study) -> list[str]:
    """The targets every model of the grid runs: the benchmark average is taken over these, so
    it compares models on the same tasks."""
    grids = [set(study.model_grid(m)["targets"]) for m in study.grid["models"]]
    return [t for t in study.grid["targets"] if all(t in g for g in grids)]


def per_seed_scores(study, values: dict[RunKey, dict]) -> dict[RunKey, float]:
    """Task score of every run, plus the benchmark average per (model, intermediate, seed) over
    the targets every model runs (as target ``AVERAGE``)."""
    bench = benchmark(study)
    out = {k: task_score(bench, k[2], v["langs"]) for k, v in values.items()}
    common = set(common_targets(study))
    groups: dict[tuple, dict[str, float]] = {}
    for (model, inter, target, seed), s in out.items():
        if target in common:
            groups.setdefault((model, inter, seed), {})[target] = s
    for (model, inter, seed), scores in groups.items():
        avg = average(bench, scores)
        if avg is not None:
            out[(model, inter, AVERAGE, seed)] = avg
    return out


def run_ids(values: dict[RunKey, dict], model: str, inters, target: str, common) -> str:
    """The run ids behind a row (the ``common`` targets' runs for the benchmark average)."""
    ids = sorted(
        v["run_id"]
        for (m, i, t, _), v in values.items()
        if m == model and i in inters and (t == target or (target == AVERAGE and t in common))
    )
    return ";".join(ids)


def gain_draws(scores: dict, model: str, inter: str, target: str, base: str, cfg: dict):
    """Mean gain of ``inter`` over ``base`` (paired by seed), its bootstrap replicates, and
    the seeds used; None when no seed has both."""
    import numpy as np

    from xstilts import stats

    seeds = sorted(
        s
        for (m, i, t, s) in scores
        if (m, i, t) == (model, inter, target) and (model, base, target, s) in scores
    )
    if not seeds:
        return None
    diffs = np.array(
        [scores[(model, inter, target, s)] - scores[(model, base, target, s)] for s in seeds]
    )
    rng = stats.rng_for(cfg["seed"], model, inter, target, base)
    return float(diffs.mean()), stats.mean_draws(diffs, cfg["replicates"], rng), seeds


def settings(study) -> dict:
    a = study.config.get("analysis", {})
    return {
        "replicates": a.get("replicates", 1000),
        "confidence": a.get("confidence", 0.95),
        "seed": a.get("seed", 0),
    }


# --- writing ---
def write_table(records: list[dict], folder: Path, name: str, title: str, note: str) -> None:
    from xstilts import report

    (folder / "tables").mkdir(parents=True, exist_ok=True)
    report.write_table(records, folder / "tables", name, title, note)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, folder: Path, stem: str) -> None:
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(folder / "figures" / f"{stem}.{ext}", dpi=150)
    pyplot().close(fig)


def grid_shape(n: int) -> tuple[int, int]:
    cols = min(n, 4)
    return math.ceil(n / cols), cols
