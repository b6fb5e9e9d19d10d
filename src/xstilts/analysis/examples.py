"""Bootstrap replicates over seeds and evaluation examples together, from the runs' per-example
predictions (``layout.PREDICTIONS`` of the study), with the per-model report's statistics
(``report.target_stats``, ``report.example_bootstrap``). Targets whose runs left no predictions
get none (the analyses fall back to resampling seeds)."""

from __future__ import annotations

from pathlib import Path

from xstilts import analysis, layout, registry, stats

TASK = None  # the ``lang`` of a draw of the task score (over all languages)


def _per_example(study, rows: list[dict]):
    """Per (model, target) with predictions: its runs and their aligned per-example statistics
    per language (``report.target_stats``)."""
    from xstilts import aggregate, report

    bench = analysis.benchmark(study)
    for model in study.grid["models"]:
        mine = [r for r in rows if r["model"] == model and r["target"] in bench.languages]
        if not mine:
            continue
        values = report.reported_values(mine, bench, partial=True)
        runs = aggregate.run_scores(mine, bench, partial=True)
        for (inter, target, seed), run in runs.items():
            run["predictions"] = Path(
                study.path(layout.PREDICTIONS, model=model, inter=inter, target=target, seed=seed)
            )
        for target in sorted({k[1] for k in runs}):
            target_runs = {k: v for k, v in runs.items() if k[1] == target}
            per_example = report.target_stats(target, target_runs, values)
            if per_example is not None:
                yield model, target, target_runs, per_example


def gain_draws(study, rows: list[dict], cfg: dict, pairs, per_language: bool = False) -> dict:
    """Replicates of the difference ``inter - base`` for every (inter, base) in ``pairs``:
    ``{(model, inter, target, lang): replicates}``, ``lang`` = ``TASK`` for the task score and,
    with ``per_language``, each language of the benchmark's set alone."""
    from xstilts import report

    out = {}
    for model, target, target_runs, per_example in _per_example(study, rows):
        for inter, base in pairs:
            seeds = sorted(
                s for i, _, s in target_runs if i == inter and (base, target, s) in target_runs
            )
            if not seeds:
                continue
            langs = [TASK, *(sorted(per_example) if per_language else [])]
            for lang in langs:
                chosen = sorted(per_example) if lang is TASK else [lang]
                sides = [
                    [{la: per_example[la][(i, target, s)] for la in chosen} for s in seeds]
                    for i in (base, inter)
                ]
                rng = stats.rng_for(cfg["seed"], model, inter, base, target, lang, "examples")
                out[(model, inter, target, lang)] = report.example_bootstrap(
                    registry.get(target), *sides, cfg["replicates"], rng
                )
    return out


def score_draws(study, rows: list[dict], cfg: dict) -> dict:
    """Replicates of each run set's seed-mean task score, seeds and examples resampled:
    ``{(model, inter, target): replicates}``."""
    from xstilts import report

    out = {}
    for model, target, target_runs, per_example in _per_example(study, rows):
        for inter in sorted({i for i, _, _ in target_runs}):
            seeds = sorted(s for i, _, s in target_runs if i == inter)
            runs = [{la: per_example[la][(inter, target, s)] for la in per_example} for s in seeds]
            rng = stats.rng_for(cfg["seed"], model, inter, target, "examples")
            out[(model, inter, target)] = report.example_score_draws(
                registry.get(target), runs, cfg["replicates"], rng
            )
    return out
