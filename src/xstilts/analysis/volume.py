"""Zero-shot score and gain per language against pretraining volume and distance from English.

The volume of a language is its CC-100 size (``facts/cc100.yaml``, millions of tokens) or, for a
model built here, the sentences of its own MLM corpus (``analysis.volume.source: corpus``); the
distance is URIEL's syntactic distance from English (``facts/uriel_distance.yaml``). Languages
absent from the pretraining data (or from URIEL) are kept in the table, flagged, and left out of
the statistics. Per (model, target, intermediate) and quantity (zero-shot score of ``none``, gain
over ``none``): Spearman's rho with volume and with distance (bootstrap over languages), and the
least-squares regression ``quantity ~ log10(volume) + distance`` with bootstrap intervals.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

from xstilts import analysis, registry, stats
from xstilts.analysis import examples


def _package_yaml(name: str) -> dict:
    import yaml

    return yaml.safe_load((resources.files("xstilts") / "facts" / name).read_text())


def cc100() -> dict:
    return _package_yaml("cc100.yaml")


def distances() -> dict[str, float]:
    return _package_yaml("uriel_distance.yaml")["distance"]


def volumes(study, model: str) -> tuple[dict[str, float], str]:
    """Pretraining volume per language present in the model's pretraining data, and its unit."""
    source = study.config.get("analysis", {}).get("volume", {}).get("source", "cc100")
    if source == "corpus":
        if not study.is_built(model):
            raise ValueError(
                f"config key 'analysis.volume.source' is corpus but model {model!r} is not built "
                "here (its corpus is unknown): use cc100"
            )
        build = study.model(model)["build"]
        default = build.get("corpus_sentences_per_language", 400)
        sizes = build.get("corpus_sentences", {})
        langs = study.languages(model)
        return {lang: float(sizes.get(lang, default)) for lang in langs}, "sentences"
    return {lang: float(v["tokens_m"]) for lang, v in cc100()["languages"].items()}, "M tokens"


def build(study, values: dict, example_reps: dict | None = None) -> tuple[list[dict], list[dict]]:
    """The per-language ``volume`` table and the ``volume_stats`` table; ``example_reps``:
    replicates of per-language gains over seeds and examples, from ``examples.gain_draws``."""
    import numpy as np

    cfg = analysis.settings(study)
    example_reps = example_reps or {}
    dist = distances()
    rows = []
    for model in study.grid["models"]:
        vol, unit = volumes(study, model)
        mgrid = study.model_grid(model)
        inters = [i for i in mgrid["intermediate"] if i != registry.NONE] or [registry.NONE]
        for target in mgrid["targets"]:
            lang_scores = _lang_scores(values, model, target)
            for lang in sorted({lang for (_, _, lang) in lang_scores} - {"en"}):
                base = [
                    v for (i, _, la), v in lang_scores.items() if (i, la) == (registry.NONE, lang)
                ]
                if not base:
                    continue
                for inter in inters:
                    g = _gain(lang_scores, inter, lang, cfg, model, target, example_reps)
                    rows.append(
                        {
                            "model": model,
                            "target": target,
                            "lang": lang,
                            "volume": vol.get(lang),
                            "volume_unit": unit,
                            "in_pretraining": lang in vol,
                            "distance": dist.get(lang),
                            "zero_shot": float(np.mean(base)),
                            "intermediate": inter,
                            "gain": None if g is None else g[0],
                            "gain_ci_low": None if g is None else g[1],
                            "gain_ci_high": None if g is None else g[2],
                            "ci_method": None if g is None else g[3],
                            "run_ids": analysis.run_ids(
                                values, model, (inter, registry.NONE), target, ()
                            ),
                        }
                    )
    return rows, _statistics(rows, cfg)


def _lang_scores(values: dict, model: str, target: str) -> dict[tuple, float]:
    """(intermediate, seed, language) -> that language's task score."""
    return {
        (i, s, lang): analysis.lang_score(target, m)
        for (mo, i, t, s), v in values.items()
        if (mo, t) == (model, target)
        for lang, m in v["langs"].items()
    }


def _gain(lang_scores: dict, inter: str, lang: str, cfg: dict, model, target, example_reps):
    """Mean paired gain of ``inter`` over ``none`` in one language, its interval and what was
    resampled (seeds and examples where ``example_reps`` has the language, else seeds)."""
    if inter == registry.NONE:
        return None
    seeds = sorted(
        s
        for (i, s, la) in lang_scores
        if (i, la) == (inter, lang) and (registry.NONE, s, la) in lang_scores
    )
    if not seeds:
        return None
    diffs = [lang_scores[(inter, s, lang)] - lang_scores[(registry.NONE, s, lang)] for s in seeds]
    reps, method = example_reps.get((model, inter, target, lang)), "examples+seeds"
    if reps is None:
        rng = stats.rng_for(cfg["seed"], model, inter, target, lang)
        reps, method = stats.mean_draws(diffs, cfg["replicates"], rng), "seeds"
    return (sum(diffs) / len(diffs), *stats.interval(reps, cfg["confidence"]), method)


def _groups(rows: list[dict]):
    """(model, target, intermediate, quantity, rows): the zero-shot score once per (model,
    target) (one row per language), the gain per intermediate."""
    for model, target in dict.fromkeys((r["model"], r["target"]) for r in rows):
        mine = [r for r in rows if (r["model"], r["target"]) == (model, target)]
        per_lang = list({r["lang"]: r for r in reversed(mine)}.values())[::-1]
        yield model, target, registry.NONE, "zero_shot", per_lang
        for inter in dict.fromkeys(r["intermediate"] for r in mine if r["gain"] is not None):
            yield model, target, inter, "gain", [r for r in mine if r["intermediate"] == inter]


def _statistics(rows: list[dict], cfg: dict) -> list[dict]:
    out = []
    level, reps = cfg["confidence"], cfg["replicates"]
    for model, target, inter, quantity, group in _groups(rows):
        pts = [r for r in group if r["in_pretraining"] and r["distance"] is not None]
        if len(pts) < 3:
            continue
        y = [r[quantity] for r in pts]
        logv = [math.log10(r["volume"]) for r in pts]
        d = [r["distance"] for r in pts]
        rng = stats.rng_for(cfg["seed"], model, target, inter, quantity)
        row = {
            "model": model,
            "target": target,
            "intermediate": inter,
            "quantity": quantity,
            "n_languages": len(pts),
            "flagged": ";".join(sorted(r["lang"] for r in group if r not in pts)),
        }
        for name, x in (("volume", logv), ("distance", d)):
            low, high = stats.interval(stats.spearman_draws(x, y, reps, rng), level)
            row |= {
                f"spearman_{name}": stats.spearman(x, y),
                f"spearman_{name}_ci_low": low,
                f"spearman_{name}_ci_high": high,
            }
        columns = {"log10_volume": logv, "distance": d}
        coef = stats.ols(y, columns)
        draws = stats.ols_draws(y, columns, reps, rng)
        for name in columns:
            low, high = stats.interval(draws[name], level)
            row |= {
                f"coef_{name}": coef[name],
                f"coef_{name}_ci_low": low,
                f"coef_{name}_ci_high": high,
            }
        row["run_ids"] = ";".join(sorted({i for r in pts for i in r["run_ids"].split(";")}))
        out.append(row)
    return out


def _labelled_scatter(ax, rows: list[dict], key: str, color: str, label=None) -> None:
    """One series of points (log volume, ``key``), each named by its language."""
    if not rows:
        return
    xs = [math.log10(r["volume"]) for r in rows]
    ys = [r[key] for r in rows]
    ax.scatter(xs, ys, color=color, label=label)
    for x, y, r in zip(xs, ys, rows, strict=True):
        ax.annotate(r["lang"], (x, y), fontsize=7)


def figure(rows: list[dict], model: str, folder: Path) -> None:
    plt = analysis.pyplot()
    mine = [r for r in rows if r["model"] == model and r["volume"] is not None]
    targets = list(dict.fromkeys(r["target"] for r in mine)) or ["(none)"]
    fig, axes = plt.subplots(2, len(targets), figsize=(3.6 * len(targets), 6.0), squeeze=False)
    for j, target in enumerate(targets):
        pts = [r for r in mine if r["target"] == target]
        zero = {r["lang"]: r for r in pts}
        ax = axes[0][j]
        _labelled_scatter(ax, list(zero.values()), "zero_shot", "C0")
        ax.set_title(f"{target}: zero-shot (none)")
        ax.set_ylabel("score")
        ax = axes[1][j]
        for k, inter in enumerate(dict.fromkeys(r["intermediate"] for r in pts)):
            sub = [r for r in pts if r["intermediate"] == inter and r["gain"] is not None]
            _labelled_scatter(ax, sub, "gain", f"C{k + 1}", label=inter)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"{target}: gain over none")
        ax.set_xlabel(f"log10 pretraining volume ({mine[0]['volume_unit'] if mine else ''})")
        ax.set_ylabel("gain")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{model}: per-language score and gain against pretraining volume")
    analysis.save(fig, folder, f"volume_{model}")


def write(study, rows: list[dict], folder: Path) -> dict:
    cfg = analysis.settings(study)
    inters = [i for i in study.grid["intermediate"] if i != registry.NONE]
    pairs = [(i, registry.NONE) for i in inters]
    reps = examples.gain_draws(study, rows, cfg, pairs, per_language=True)
    rows, table = build(study, analysis.run_values(rows), reps)
    level = analysis.settings(study)["confidence"]
    source = study.config.get("analysis", {}).get("volume", {}).get("source", "cc100")
    src = cc100()["source"] if source == "cc100" else "each built model's MLM corpus"
    analysis.write_table(
        rows,
        folder,
        "volume",
        "Per-language zero-shot score and gain against pretraining volume",
        f"Volume: {src}. Distance: {_package_yaml('uriel_distance.yaml')['source']}. "
        "in_pretraining false = absent from the pretraining data (flagged, left out of the "
        f"statistics). Gain: mean paired over seeds, {100 * level:g}% bootstrap interval "
        "(ci_method: seeds and evaluation examples, or seeds).",
    )
    analysis.write_table(
        table,
        folder,
        "volume_stats",
        "Rank correlation and regression on log volume and distance",
        f"Spearman's rho with {100 * level:g}% bootstrap intervals over languages; OLS "
        "quantity ~ log10(volume) + distance with case-bootstrap intervals. flagged: languages "
        "left out (absent from the pretraining data or from URIEL).",
    )
    for model in study.grid["models"]:
        figure(rows, model, folder)
    return {"rows": len(rows), "stats_rows": len(table)}
