"""Report of one model's study: tables, bootstrap confidence intervals, figures, reproduction.

Written to ``results/{study}/{model}/report/``: ``tables/`` (each table as Parquet for machines,
CSV, Markdown and HTML for people) and ``figures/`` (PNG and PDF, see ``xstilts.figures``).

* ``transfer_matrix``: per (intermediate, target) the XTREME task score's mean and standard
  deviation over seeds, the difference from ``none`` and its bootstrap confidence interval.
* ``xtreme_scores``: per intermediate, the task, group and overall scores of the study's
  benchmark (``xstilts.benchmarks``; named in ``scores.parquet``): a group or overall score over
  an incomplete set of tasks is left empty and ``missing`` names what it lacks (``partial``: the
  mean over the tasks there, marked partial).
* ``per_language`` (Parquet, long) and ``per_language_{target}`` (rows intermediate, columns
  language): per-language scores, mean over seeds.
* ``reproduction``: the run's test scores beside the published XLM-R Large and X-STILTs numbers
  (``xstilts/facts/published.yaml``, on XTREME): only the tasks scored over the same languages,
  and the groups when the study's benchmark is the published one.

Confidence intervals are percentile bootstraps of mean-over-seeds(intermediate) minus
mean-over-seeds(``none``). Every replicate resamples the seeds (one draw for both sides, paired by
seed) and, where every run has per-example predictions, each language's evaluation examples (one
draw for every run, paired by example id), then recomputes the task score from per-example
statistics: correctness (classification, Tatoeba), average precision (LAReQA, Mewsli-X), exact
match and F1 (span QA; MLQA with its language-aware normalisation), and correct / predicted /
gold chunk counts per sentence (tagging, seqeval's chunker) or per mined pair (BUCC; the gold
pairs no run mined count as misses for all).
Where predictions are missing it resamples the per-seed task scores only.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from xstilts import aggregate, benchmarks, curves, layout, registry, stats
from xstilts.figures import order
from xstilts.provenance import Job, staged

log = logging.getLogger(__name__)

TABLES = ("transfer_matrix", "xtreme_scores", "reproduction")
TABLE_FORMATS = ("parquet", "csv", "md", "html")
FIGURES = ("transfer_matrix", "best_vs_baseline")
TABLE_CSS = (
    "body{font:13px sans-serif;margin:1em}table{border-collapse:collapse}"
    "th,td{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}"
    "th{background:#f3f3f3}h1{font-size:15px}"
)
CHUNK = 100  # bootstrap replicates drawn at once (bounds memory on large test sets)

RunKey = tuple[str, str, int]  # (intermediate, target, seed)


def files(targets: list[str]) -> list[str]:
    """Every file the report writes, relative to its folder (the rule declares these)."""
    names = [*TABLES, *(f"per_language_{t}" for t in targets)]
    tables = [f"tables/{n}.{ext}" for n in names for ext in TABLE_FORMATS]
    stems = [*FIGURES, *(f"gains_{t}" for t in targets)]
    stems += [f"curves_{t}" for t in targets if registry.trains(t)]
    plots = [f"figures/{s}.{ext}" for s in stems for ext in ("png", "pdf")]
    return [*tables, "tables/per_language.parquet", *plots, layout.MANIFEST]


def published() -> dict:
    """The published numbers shipped with the package, with their source."""
    from importlib import resources

    import yaml

    return yaml.safe_load((resources.files("xstilts") / "facts" / "published.yaml").read_text())


# --- per-example statistics ---
def _is_ratio(task: registry.Task) -> bool:
    """Whether the task's metric is an F1 over chunks or pairs rather than a mean over examples."""
    return task.format == "tagging" or task.mined_pairs


def _chunk_counts(prediction: list[str], gold: list[str], scheme: str) -> tuple[int, int, int]:
    """(correct, predicted, gold) chunks of one sentence, read as the task's metric reads them
    (its ``tag_scheme``; IOB2-repaired predictions for NER)."""
    from xstilts.metrics.tagging import get_entities, repair_iob2

    if scheme == "iob2":
        prediction = repair_iob2(prediction)
    p, g = set(get_entities(prediction, scheme)), set(get_entities(gold, scheme))
    return len(p & g), len(p), len(g)


def example_stats(task: registry.Task, lang: str, rows: list[dict]) -> dict[str, tuple]:
    """Per example id, the statistics whose sums give the language's metrics (``lang_metrics``)."""
    if task.format == "tagging":
        scheme = task.tag_scheme
        return {str(r["id"]): _chunk_counts(r["prediction"], r["gold"], scheme) for r in rows}
    if task.format == "span_qa":
        from xstilts.metrics import qa

        def score(qid, prediction, gold):
            if task.normalise_by_language:
                return qa.mlqa_scores({qid: prediction}, {qid: gold}, lang)
            return qa.squad_scores({qid: prediction}, {qid: gold})

        scores = {str(r["id"]): score(r["id"], r["prediction"], r["gold"]) for r in rows}
        return {qid: tuple(s[m] for m in task.metrics) for qid, s in scores.items()}
    if task.format == "dual_encoder":  # each query's AP@20: their mean is the language's mAP@20
        return {str(r["id"]): (100.0 * r["ap"],) for r in rows}
    return {str(r["id"]): (100.0 * (r["prediction"] == r["gold"]),) for r in rows}


def lang_metrics(task: registry.Task, sums, n: int) -> dict:
    """A language's metrics (percentages) from summed example statistics (last axis)."""
    import numpy as np

    if _is_ratio(task):
        correct, denominator = sums[..., 0], sums[..., 1] + sums[..., 2]
        f1 = np.divide(
            200.0 * correct,
            denominator,
            out=np.zeros_like(correct, dtype=float),
            where=denominator > 0,
        )
        return {"f1": f1}
    return {metric: sums[..., i] / n for i, metric in enumerate(task.metrics)}


def task_score(task: registry.Task, per_language: dict[str, dict]):
    """``Benchmark.task_score`` over arrays of replicates: mean over metrics of language means
    (a pooled task's weighted by each language's ``n``)."""
    import numpy as np

    weights = [m["n"] for m in per_language.values()] if task.pooled else None
    return np.mean(
        [
            np.average([m[metric] for m in per_language.values()], axis=0, weights=weights)
            for metric in task.metrics
        ],
        axis=0,
    )


def _aligned(task: registry.Task, per_run: dict[RunKey, dict[str, tuple]]) -> dict:
    """Stack each run's statistics over the example ids every run has: (n, k) arrays."""
    import numpy as np

    ids = sorted(set.intersection(*(set(s) for s in per_run.values())))
    if any(len(s) != len(ids) for s in per_run.values()):
        log.warning("%s: runs scored different examples; using the %d shared", task.name, len(ids))
    return {key: np.array([s[i] for i in ids], dtype=float) for key, s in per_run.items()}


def _bucc_aligned(per_run: dict[RunKey, list[dict]], thresholds: dict[RunKey, float]) -> dict:
    """Per run, (correct, predicted, gold) per pair over every predicted or gold pair.

    A run's rows list its mined candidates (kept where the score reaches the run's threshold)
    and the gold pairs it did not mine (no score), so every run sees the whole gold set.
    """
    import numpy as np

    gold = {
        (r["source_id"], r["target_id"]) for rows in per_run.values() for r in rows if r["gold"]
    }
    predicted = {
        key: {
            (r["source_id"], r["target_id"])
            for r in rows
            if r["score"] is not None and r["score"] >= thresholds[key]
        }
        for key, rows in per_run.items()
    }
    units = sorted(set().union(*predicted.values()) | gold)
    return {
        key: np.array([(u in p and u in gold, u in p, u in gold) for u in units], float)
        for key, p in predicted.items()
    }


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def target_stats(target: str, runs: dict[RunKey, dict], values: dict) -> dict[str, dict] | None:
    """Per language, per run, aligned example statistics; None if a prediction file is missing."""
    task = registry.get(target)
    keys = [k for k in runs if k[1] == target]
    langs = sorted({lang for k in keys for lang in values[k]})
    out = {}
    for lang in langs:
        paths = {k: runs[k]["predictions"] / f"{runs[k]['split']}.{lang}.jsonl" for k in keys}
        if not all(p.is_file() for p in paths.values()):
            return None
        rows = {k: _read_jsonl(p) for k, p in paths.items()}
        if task.mined_pairs:
            thresholds = {k: values[k][lang]["threshold"] for k in keys}
            out[lang] = _bucc_aligned(rows, thresholds)
        else:
            out[lang] = _aligned(task, {k: example_stats(task, lang, r) for k, r in rows.items()})
    return out


# --- bootstrap ---
def _side_draws(task, sides: dict[str, list[dict]], replicates: int, rng) -> dict:
    """Per side, replicates of its seed-mean task score, every side resampled alike.

    Each side holds, per seed (paired by position across sides), per language, an (n, k) array
    of example statistics aligned by example id. Seeds and examples are resampled jointly.
    """
    import numpy as np

    n_seeds = len(next(iter(sides.values())))
    first = next(iter(sides.values()))[0]
    out: dict[str, list] = {side: [] for side in sides}
    for start in range(0, replicates, CHUNK):
        size = min(CHUNK, replicates - start)
        seed_counts = stats.counts(rng, n_seeds, size)
        scores = {side: [{} for _ in runs] for side, runs in sides.items()}
        for lang in sorted(first):
            n = len(first[lang])
            counts = stats.counts(rng, n, size)
            for side, runs in sides.items():
                for s, run in enumerate(runs):
                    scores[side][s][lang] = {**lang_metrics(task, counts @ run[lang], n), "n": n}
        for side, per_seed in scores.items():
            stacked = np.stack([task_score(task, r) for r in per_seed], 1)
            out[side].append((seed_counts * stacked).sum(1) / n_seeds)
    return {side: np.concatenate(draws) for side, draws in out.items()}


def example_bootstrap(task, base: list[dict], other: list[dict], replicates: int, rng):
    """Replicates of the seed-mean task score difference ``other - base`` (seeds paired by
    position; see :func:`_side_draws`)."""
    draws = _side_draws(task, {"base": base, "other": other}, replicates, rng)
    return draws["other"] - draws["base"]


def example_score_draws(task, runs: list[dict], replicates: int, rng):
    """Replicates of one set of runs' seed-mean task score (see :func:`_side_draws`)."""
    return _side_draws(task, {"runs": runs}, replicates, rng)["runs"]


def seed_bootstrap(base: list[float], other: list[float], replicates: int, rng):
    """Replicates of the mean difference of per-seed task scores, paired by seed."""
    import numpy as np

    diff = np.asarray(other, dtype=float) - np.asarray(base, dtype=float)
    return stats.counts(rng, len(diff), replicates) @ diff / len(diff)


def _gain_draws(task, lang_stats, runs, base: list[RunKey], other: list[RunKey], replicates, rng):
    """Bootstrap replicates of the gain of ``other`` over ``base`` (runs paired by position), and
    what was resampled: examples and seeds where ``lang_stats`` (from ``target_stats``) exist."""
    if lang_stats is None:
        scores = [[runs[k]["score"] for k in keys] for keys in (base, other)]
        return seed_bootstrap(*scores, replicates, rng), "seeds"
    per_seed = [
        [{lang: lang_stats[lang][k] for lang in lang_stats} for k in keys] for keys in (base, other)
    ]
    return example_bootstrap(task, *per_seed, replicates, rng), "examples+seeds"


def confidence_intervals(
    runs: dict[RunKey, dict], values: dict, replicates: int, seed: int, confidence: float
) -> dict[tuple[str, str], dict]:
    """Per (intermediate, target) other than ``none``: the interval of the gain over ``none``."""
    out = {}
    for target in sorted({k[1] for k in runs}):
        task, lang_stats = registry.get(target), target_stats(target, runs, values)
        for inter in sorted({k[0] for k in runs if k[1] == target} - {registry.NONE}):
            seeds = sorted(s for i, t, s in runs if (i, t) == (inter, target))
            seeds = [s for s in seeds if (registry.NONE, target, s) in runs]
            if not seeds:
                continue
            base = [(registry.NONE, target, s) for s in seeds]
            other = [(inter, target, s) for s in seeds]
            rng = stats.rng_for(seed, inter, target)
            draws, method = _gain_draws(task, lang_stats, runs, base, other, replicates, rng)
            low, high = stats.interval(draws, confidence)
            out[(inter, target)] = {"ci_low": low, "ci_high": high, "ci_method": method}
    return out


# --- tables ---
def reported_values(
    rows: list[dict], bench: benchmarks.Benchmark, partial: bool = False
) -> dict[RunKey, dict[str, dict[str, float]]]:
    """Per run, per language of the benchmark, its metrics on the reported split (as
    ``aggregate`` picks it; a language missing is an error unless ``partial``)."""
    runs = aggregate.run_scores(rows, bench, partial)
    out: dict[RunKey, dict] = {}
    for r in rows:
        key = (r["intermediate"], r["target"], r["seed"])
        if r["split"] == runs[key]["split"] and r["lang"] in bench.languages_of(r["target"]):
            out.setdefault(key, {}).setdefault(r["lang"], {})[r["metric"]] = r["value"]
    return out


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def per_language(values: dict) -> list[dict]:
    """Per (intermediate, target, language): the language's score (its task metrics' mean; QA:
    (EM + F1) / 2), mean and sd over seeds, and the difference of means from ``none``."""
    scores: dict[tuple, list[float]] = {}
    for (inter, target, _), langs in sorted(values.items()):
        for lang, metrics in langs.items():
            score = statistics.fmean(metrics[m] for m in registry.get(target).metrics)
            scores.setdefault((inter, target, lang), []).append(score)
    out = [
        {
            "intermediate": i,
            "target": t,
            "lang": lang,
            "n_seeds": len(v),
            "mean": statistics.fmean(v),
            "sd": _sd(v),
        }
        for (i, t, lang), v in scores.items()
    ]
    base = {(r["target"], r["lang"]): r["mean"] for r in out if r["intermediate"] == registry.NONE}
    for r in out:
        b = base.get((r["target"], r["lang"]))
        r["delta_vs_none"] = None if b is None else r["mean"] - b
    return out


def language_table(lang_rows: list[dict], target: str, bench: benchmarks.Benchmark) -> list[dict]:
    """Rows intermediate, columns the target's languages (benchmark order) and their average."""
    rows = [r for r in lang_rows if r["target"] == target]
    langs = order({r["lang"] for r in rows}, bench.languages_of(target))
    out = []
    for inter in ordered_intermediates({r["intermediate"] for r in rows}):
        by_lang = {r["lang"]: r["mean"] for r in rows if r["intermediate"] == inter}
        cols = {lang: by_lang.get(lang) for lang in langs}
        out.append({"intermediate": inter, **cols, "avg": statistics.fmean(by_lang.values())})
    return out


def ordered_intermediates(names) -> list[str]:
    return order(set(names), registry.intermediate_choices())


def ordered_targets(names) -> list[str]:
    return order(set(names), registry.target_tasks())


def xtreme_table(
    cells: list[dict], bench: benchmarks.Benchmark, partial: bool = False
) -> list[dict]:
    """Per intermediate: the benchmark's task scores (mean over seeds), group and overall scores
    (empty where a task is missing, unless ``partial``), and what each aggregate lacks."""
    targets = [t for t in bench.tasks if any(c["target"] == t for c in cells)]
    out = []
    for inter in ordered_intermediates(c["intermediate"] for c in cells):
        tasks = {c["target"]: c["mean"] for c in cells if c["intermediate"] == inter}
        flagged = tuple(c["target"] for c in cells if c["intermediate"] == inter and c["missing"])
        scores = bench.score(tasks, partial=partial, partial_tasks=flagged)
        row = scores.row()
        out.append(
            {
                "intermediate": inter,
                **{t: row.get(t) for t in targets},
                **{g: row.get(g) for g in bench.groups},
                "overall": row["overall"],
                "missing": row["missing"],
            }
        )
    return out


def _metric_means(values: dict) -> dict[tuple[str, str, str], float]:
    """Per (intermediate, target, metric): mean over seeds of the metric's language mean."""
    per_seed: dict[tuple, list[float]] = {}
    for (inter, target, _), langs in values.items():
        for metric in {m for ms in langs.values() for m in ms}:
            mean = statistics.fmean(ms[metric] for ms in langs.values() if metric in ms)
            per_seed.setdefault((inter, target, metric), []).append(mean)
    return {k: statistics.fmean(v) for k, v in per_seed.items()}


def _best(scores: dict[str, float]) -> tuple[str | None, float | None]:
    """The intermediate (not ``none``) with the highest score."""
    trained = {i: s for i, s in scores.items() if i != registry.NONE}
    if not trained:
        return None, None
    best = max(trained, key=trained.get)
    return best, trained[best]


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _comparison(model, target, metric, none, best_name, best, pub) -> dict:
    return {
        "model": model,
        "target": target,
        "metric": metric,
        "this run (none)": none,
        "published XLM-R Large": pub["xlmr_large"],
        "diff (none)": _diff(none, pub["xlmr_large"]),
        "this run (best intermediate)": best,
        "best intermediate": best_name,
        "published X-STILTs": pub["xstilts"],
        "diff (best)": _diff(best, pub["xstilts"]),
    }


def _group_scores(
    cells: list[dict], groups: list[str], bench: benchmarks.Benchmark
) -> dict[str, dict[str, float]]:
    """For ``none`` and for the best intermediate of each task: the benchmark's scores of the
    groups whose tasks are all present, and their "average" (as the leaderboard) when all of
    ``groups`` are."""
    by_task: dict[str, dict[str, float]] = {}
    for c in cells:
        if not c["missing"]:
            by_task.setdefault(c["target"], {})[c["intermediate"]] = c["mean"]
    picks = {"none": lambda s: s.get(registry.NONE), "best": lambda s: _best(s)[1]}
    out = {}
    for side, pick in picks.items():
        chosen = {t: pick(s) for t, s in by_task.items() if pick(s) is not None}
        scores = {g: v for g, v in bench.score(chosen).groups.items() if g in groups}
        if scores and len(scores) == len([g for g in groups if g in bench.groups]):
            scores["average"] = statistics.fmean(scores.values())
        out[side] = scores
    return out


def comparable(pub: dict, bench: benchmarks.Benchmark) -> tuple[list[str], bool]:
    """The published tasks scored over the same languages in ``bench`` as in the published
    benchmark, and whether its groups are comparable (the same benchmark)."""
    published_on = benchmarks.get(pub["benchmark"])
    tasks = [t for t in pub["tasks"] if bench.languages_of(t) == published_on.task_languages(t)]
    return tasks, bench.name == published_on.name


def reproduction(
    model: str, values: dict, cells: list[dict], pub: dict, bench: benchmarks.Benchmark
) -> list[dict]:
    """This run's scores beside the published ones: per task (its published metric) and per
    group (task scores; "best" takes the best intermediate of each task), where comparable."""
    means = _metric_means(values)
    tasks, same_benchmark = comparable(pub, bench)
    out = []
    for target in tasks:
        p = pub["tasks"][target]
        scores = {i: v for (i, t, m), v in means.items() if t == target and m == p["metric"]}
        none, (best_name, best) = scores.get(registry.NONE), _best(scores)
        out.append(_comparison(model, target, p["metric"], none, best_name, best, p))
    if not same_benchmark:
        return out
    groups = _group_scores(cells, list(pub["groups"]), bench)
    for g, p in pub["groups"].items():
        none, best = groups["none"].get(g), groups["best"].get(g)
        out.append(_comparison(model, f"group: {g}", "XTREME score", none, None, best, p))
    return out


MATRIX_COLUMNS = (
    "intermediate",
    "target",
    "split",
    "n_seeds",
    "mean",
    "sd",
    "delta_vs_none",
    "ci_low",
    "ci_high",
    "ci_method",
    "seeds",
    "run_ids",
    "missing",
    "subset",
)


@dataclass
class Report:
    """The tables of one model's report (lists of records)."""

    model: str
    cells: list[dict]
    per_language: list[dict]
    xtreme: list[dict]
    reproduction: list[dict]
    confidence: float
    benchmark: benchmarks.Benchmark = benchmarks.XTREME
    partial: bool = False
    curves: dict[str, list[dict]] = field(default_factory=dict)  # target -> runs' curve records


def training_curves(runs: dict[RunKey, dict]) -> dict[str, list[dict]]:
    """Each trained target's runs with the records of their fine-tuning curve file."""
    out: dict[str, list[dict]] = {}
    for (inter, target, seed), run in sorted(runs.items()):
        if registry.trains(target):
            path = Path(run["predictions"]) / curves.FILE
            if not path.is_file():
                raise FileNotFoundError(f"{path}: the fine-tuning job left no curve file")
            records = curves.read(path)
            out.setdefault(target, []).append(
                {"intermediate": inter, "seed": seed, "records": records}
            )
    for runs_of in out.values():
        inters = ordered_intermediates(r["intermediate"] for r in runs_of)
        runs_of.sort(key=lambda r: (inters.index(r["intermediate"]), r["seed"]))
    return {t: out[t] for t in ordered_targets(out)}


def _prediction_dirs(metrics: list[Path]) -> dict[RunKey, Path]:
    """Each run's predictions folder (beside its metrics.json), by run."""
    out = {}
    for path in map(Path, metrics):
        m = json.loads(path.read_text())
        out[(m["intermediate"], m["task"], int(m["seed"]))] = path.parent / "predictions"
    return out


def build(
    model: str,
    scores: Path,
    metrics: list[Path],
    replicates: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    partial: bool = False,
) -> Report:
    """Every table of the report from the scores table and the runs' metrics.json files, scored
    by the benchmark the scores table names (``partial``: runs may lack languages)."""
    import pyarrow.parquet as pq

    bench = aggregate.read_benchmark(scores)
    rows = pq.read_table(scores).to_pylist()
    values = reported_values(rows, bench, partial)
    runs = aggregate.run_scores(rows, bench, partial)
    for key, folder in _prediction_dirs(metrics).items():
        if key in runs:
            runs[key]["predictions"] = folder
    missing = [k for k, r in runs.items() if "predictions" not in r]
    if missing:
        raise ValueError(f"runs in {scores} without a metrics.json given: {missing[:3]}")
    cells = aggregate.matrix(rows, bench, partial)
    cis = confidence_intervals(runs, values, replicates, seed, confidence)
    targets = ordered_targets(c["target"] for c in cells)
    inters = ordered_intermediates(c["intermediate"] for c in cells)
    cells = [
        {col: c.get(col) for col in MATRIX_COLUMNS} | cis.get((c["intermediate"], c["target"]), {})
        for c in sorted(
            cells, key=lambda c: (targets.index(c["target"]), inters.index(c["intermediate"]))
        )
    ]
    return Report(
        model=model,
        cells=cells,
        per_language=per_language(values),
        xtreme=xtreme_table(cells, bench, partial),
        reproduction=reproduction(model, values, cells, published(), bench),
        confidence=confidence,
        benchmark=bench,
        partial=partial,
        curves=training_curves(runs),
    )


# --- writing ---
def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def gap_note(target: str) -> str:
    """The splits the registry declares absent for ``target``: shown under its tables."""
    return " ".join(
        f"Declared absent: {gap.split} for {', '.join(gap.languages) or 'every language'} "
        f"({gap.reason})."
        for gap in registry.get(target).gaps
    )


def markdown(records: list[dict], title: str, note: str = "") -> str:
    """A Markdown table with a heading (floats with two decimals)."""
    columns = list(records[0]) if records else []
    lines = [f"# {title}", ""] + ([note, ""] if note else [])
    lines += ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(r[c]) for c in columns) + " |" for r in records]
    return "\n".join(lines) + "\n"


def html(records: list[dict], title: str, note: str = "") -> str:
    """A standalone HTML page with the table (what Snakemake's report shows; it offers CSV files
    as downloads only)."""
    from html import escape

    import pandas as pd

    table = pd.DataFrame.from_records(records).to_html(
        index=False, na_rep="", float_format=lambda v: f"{v:.2f}", border=0
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{TABLE_CSS}</style></head>\n<body><h1>{escape(title)}</h1>"
        f"<p>{escape(note)}</p>\n{table}\n</body></html>\n"
    )


def write_table(records: list[dict], folder: Path, name: str, title: str, note: str = "") -> None:
    """``name`` as Parquet (full precision), CSV, Markdown and HTML (two decimals)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(records)
    frame.to_parquet(folder / f"{name}.parquet", index=False)
    frame.to_csv(folder / f"{name}.csv", index=False, float_format="%.2f")
    (folder / f"{name}.md").write_text(markdown(records, title, note))
    (folder / f"{name}.html").write_text(html(records, title, note))


def write(report: Report, folder: Path) -> None:
    """Write every table and figure of ``report`` below ``folder``."""
    import pandas as pd

    from xstilts import figures

    tables, figs = folder / "tables", folder / "figures"
    tables.mkdir(parents=True, exist_ok=True)
    figs.mkdir(parents=True, exist_ok=True)
    model, level = report.model, f"{100 * report.confidence:g}%"
    bench = report.benchmark
    subset = bench.subset_text()
    write_table(
        report.cells,
        tables,
        "transfer_matrix",
        f"Transfer matrix: {model}" + (f" (SUBSET of languages: {subset})" if subset else ""),
        f"Task score mean and sd over seeds; gain over `none` with its {level} bootstrap "
        "interval (ci_method: what was resampled)."
        + (
            " `subset`: the study's own languages of a target, its score's mean over them."
            if subset
            else ""
        ),
    )
    outside = [
        t for t in ordered_targets(c["target"] for c in report.cells) if t not in bench.tasks
    ]
    write_table(
        report.xtreme,
        tables,
        "xtreme_scores",
        f"{bench.name} scores per intermediate: {model}" + (" (PARTIAL)" if report.partial else ""),
        f"{bench.description}. A group or overall score is reported only when all its tasks are "
        "(`missing` names what it lacks; a task over a subset of its languages counts in none)"
        + ("; partial: means over the tasks and languages there." if report.partial else ".")
        + (
            f" Targets outside {bench.name} (in no group): {', '.join(outside)}." if outside else ""
        ),
    )
    pub = published()
    tasks, same = comparable(pub, bench)
    left_out = [t for t in pub["tasks"] if t not in tasks] + ([] if same else ["the groups"])
    src = pub["source"]
    write_table(
        report.reproduction,
        tables,
        "reproduction",
        f"Reproduction: {model} vs published XLM-R Large and X-STILTs",
        f"This run is model `{model}`, scored on {bench.name}. Published ({pub['benchmark']}): "
        f"{src['paper']} (arXiv {src['arxiv']}), {src['table']}. {src['note']}"
        + (
            f" Not comparable on {bench.name} (other languages or groups): {', '.join(left_out)}."
            if left_out
            else ""
        ),
    )
    pd.DataFrame.from_records(report.per_language).to_parquet(tables / "per_language.parquet")
    for target in ordered_targets(r["target"] for r in report.per_language):
        write_table(
            language_table(report.per_language, target, bench),
            tables,
            f"per_language_{target}",
            f"{target} per language: {model}",
            gap_note(target),
        )
    figures.transfer_heatmap(
        report.cells, figs / "transfer_matrix", f"{model}: gain over none", level
    )
    figures.best_vs_baseline(report.cells, figs / "best_vs_baseline", model, level)
    for target in ordered_targets(r["target"] for r in report.per_language):
        figures.language_gains(report.per_language, target, figs / f"gains_{target}", model)
    for target, runs in report.curves.items():
        title = f"{model}: {target} fine-tuning, per intermediate task and seed"
        figures.training_curves(runs, figs / f"curves_{target}", title)


# --- command line ---
def register(subparsers) -> None:
    """Add the ``report`` subcommand (provenance options are added with the others)."""
    p = subparsers.add_parser("report", help="tables, bootstrap intervals, figures of one model")
    p.add_argument("--model", required=True)
    p.add_argument("--scores", required=True, help="the model's scores.parquet")
    p.add_argument("--metrics", nargs="+", required=True, help="every metrics.json of the model")
    p.add_argument("--out", required=True, help="report folder (results/{study}/{model}/report)")
    p.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates")
    p.add_argument("--bootstrap-seed", type=int, default=0)
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--partial", action="store_true", help="look at runs that lack languages")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> None:
    params = {
        "model": args.model,
        "replicates": args.replicates,
        "bootstrap_seed": args.bootstrap_seed,
        "confidence": args.confidence,
        "partial": args.partial,
    }
    job = Job(
        args.rule or args.command, args.wildcards, params, [args.scores, *args.metrics], args.log
    )
    report = build(
        args.model,
        Path(args.scores),
        args.metrics,
        args.replicates,
        args.bootstrap_seed,
        args.confidence,
        args.partial,
    )
    with staged(args.out) as tmp:
        write(report, tmp)
        job.finish(
            {args.out: tmp}, tmp / layout.MANIFEST, {"summary": {"cells": len(report.cells)}}
        )
