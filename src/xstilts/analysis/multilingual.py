"""Intermediate training on machine-translated data against English only, at the same budget.

For every translated variant in the grid (``mnli@translate-train-de``: one language;
``mnli@translate-train``: all translated languages mixed) whose English task (``mnli``) is in
the grid too: per model, target and language, the difference of the variant's score from the
English-only variant's (mean over seeds, paired by seed, with its bootstrap interval over seeds
and, where the runs left predictions, evaluation examples), and
the same on the task score (``lang`` = ``all``). ``seen`` marks the languages the variant trained
on; the summary rows ``seen`` / ``unseen`` average the per-language differences of each kind.
The budget (``multilingual.budget``) makes every variant and the English task train on the same
number of examples or steps.
"""

from __future__ import annotations

from pathlib import Path

from xstilts import analysis, registry, stats
from xstilts.analysis import examples

ALL = "all"


def variants(study) -> list[str]:
    inters = study.grid["intermediate"]
    return [
        i for i in inters if registry.english_base(i) != i and registry.english_base(i) in inters
    ]


def build(study, values: dict, example_reps: dict | None = None) -> list[dict]:
    """The table; ``example_reps``: replicates over seeds and examples per (model, variant,
    target, language or ``examples.TASK``), from ``examples.gain_draws``."""
    import numpy as np

    cfg = analysis.settings(study)
    bench = analysis.benchmark(study)
    example_reps = example_reps or {}
    out = []
    for model in study.grid["models"]:
        mgrid = study.model_grid(model)
        for variant in (v for v in variants(study) if v in mgrid["intermediate"]):
            base = registry.english_base(variant)
            seen_langs = set(registry.get(variant).languages)
            for target in mgrid["targets"]:
                per = {}  # (inter, seed) -> {lang: score, ALL: task score}
                for (m, i, t, s), v in values.items():
                    if (m, t) == (model, target) and i in (base, variant):
                        scores = {la: analysis.lang_score(t, x) for la, x in v["langs"].items()}
                        scores[ALL] = analysis.task_score(bench, t, v["langs"])
                        per[(i, s)] = scores
                seeds = sorted(s for (i, s) in per if i == variant and (base, s) in per)
                if not seeds:
                    continue
                langs = sorted(set(per[(variant, seeds[0])]) - {ALL})
                ids = analysis.run_ids(values, model, (base, variant), target, ())
                kinds: dict[str, list] = {"seen": [], "unseen": []}
                for lang in [ALL, *langs]:
                    diff = np.mean([per[(variant, s)][lang] - per[(base, s)][lang] for s in seeds])
                    key = (model, variant, target, examples.TASK if lang == ALL else lang)
                    reps, method = example_reps.get(key), "examples+seeds"
                    if reps is None:
                        diffs = [per[(variant, s)][lang] - per[(base, s)][lang] for s in seeds]
                        rng = stats.rng_for(cfg["seed"], model, variant, target, lang)
                        reps, method = stats.mean_draws(diffs, cfg["replicates"], rng), "seeds"
                    seen = None if lang == ALL else lang in seen_langs
                    if lang not in (ALL, "en"):
                        kinds["seen" if seen else "unseen"].append((diff, reps, method))
                    row = (model, variant, base, target, lang, seen, diff, reps, method)
                    out.append(_row(*row, len(seeds), ids, cfg))
                for kind, parts in kinds.items():
                    if parts:  # mean over the languages of this kind, replicate by replicate
                        diff = float(np.mean([p[0] for p in parts]))
                        reps = np.mean([p[1] for p in parts], axis=0)
                        method = "seeds" if any(p[2] == "seeds" for p in parts) else parts[0][2]
                        row = (
                            model,
                            variant,
                            base,
                            target,
                            kind,
                            kind == "seen",
                            diff,
                            reps,
                            method,
                        )
                        out.append(_row(*row, len(seeds), ids, cfg))
    return out


def _row(model, variant, base, target, lang, seen, diff, reps, method, n_seeds, ids, cfg) -> dict:
    low, high = stats.interval(reps, cfg["confidence"])
    return {
        "model": model,
        "intermediate": variant,
        "english": base,
        "target": target,
        "lang": lang,
        "seen_in_intermediate": seen,
        "difference": float(diff),
        "ci_low": low,
        "ci_high": high,
        "ci_method": method,
        "n_seeds": n_seeds,
        "run_ids": ids,
    }


def figure(rows: list[dict], folder: Path) -> None:
    plt = analysis.pyplot()
    panels = list(dict.fromkeys((r["model"], r["intermediate"], r["target"]) for r in rows))
    rows_, cols = analysis.grid_shape(max(1, len(panels)))
    fig, axes = plt.subplots(rows_, cols, figsize=(4.2 * cols, 3.0 * rows_), squeeze=False)
    for ax, (model, variant, target) in zip(axes.flat, panels, strict=False):
        pts = [
            r
            for r in rows
            if (r["model"], r["intermediate"], r["target"]) == (model, variant, target)
            and r["seen_in_intermediate"] is not None
            and r["lang"] not in ("seen", "unseen")
        ]
        x = range(len(pts))
        colors = ["C3" if r["seen_in_intermediate"] else "C0" for r in pts]
        err = [
            [r["difference"] - r["ci_low"] for r in pts],
            [r["ci_high"] - r["difference"] for r in pts],
        ]
        ax.bar(x, [r["difference"] for r in pts], color=colors, yerr=err, capsize=2)
        ax.set_xticks(list(x), [r["lang"] for r in pts], rotation=90, fontsize=7)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(
            f"{model}: {variant} - {pts[0]['english'] if pts else ''} on {target}", fontsize=8
        )
        ax.set_ylabel("difference")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("Translated intermediate data vs English only (red: languages seen in training)")
    analysis.save(fig, folder, "multilingual")


def write(study, rows: list[dict], folder: Path) -> dict:
    cfg = analysis.settings(study)
    pairs = [(v, registry.english_base(v)) for v in variants(study)]
    reps = examples.gain_draws(study, rows, cfg, pairs, per_language=True)
    rows = build(study, analysis.run_values(rows), reps)
    level = analysis.settings(study)["confidence"]
    ml = study.config.get("multilingual", {})
    budget = ml.get("budget", "none")
    analysis.write_table(
        rows,
        folder,
        "multilingual",
        "Translated intermediate data vs English only",
        f"Difference of the variant's score from the English-only intermediate's, mean over "
        f"seeds (paired), {100 * level:g}% bootstrap interval (ci_method: seeds and evaluation "
        "examples resampled together where the runs left predictions, else seeds); lang `all` = "
        f"task score; `seen`/`unseen` = mean over the languages of each kind. Budget: {budget}"
        + (f" = {ml.get(budget)}" if budget != "none" else "")
        + ".",
    )
    figure(rows, folder)
    return {"rows": len(rows)}
