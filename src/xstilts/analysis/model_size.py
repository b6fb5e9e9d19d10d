"""Gain of intermediate training against model size, and whether it saturates.

``model_size``: per (model, intermediate, target), and on the benchmark average (target
``average``), the gain over ``none`` (mean over seeds, paired by seed) with its bootstrap
interval (seeds and evaluation examples resampled together where per-example predictions exist,
as the per-model report does; seeds otherwise), beside the model's parameter count.
``saturation``: per (intermediate, target), the slope of gain on log10(parameters) (points per
tenfold size) with its bootstrap interval (each model's gain replicates, as above), the gains at
the smallest and largest size, and the bootstrap confidence that the largest size's gain is
below the smallest's.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from xstilts import analysis, registry, stats
from xstilts.analysis import examples


def count_parameters(model_dir: Path) -> int:
    """Parameters in a saved model's safetensors files, from their headers (no weights read)."""
    total = 0
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{model_dir}: no *.safetensors file to count parameters from")
    for path in files:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        total += sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    return total


def parameters(study, model: str) -> float:
    """The configured count, or the count of a built model's weights."""
    n = study.parameters(model)
    if n is not None:
        return float(n)
    if study.is_built(model):
        return float(count_parameters(Path(study.model_ref(model))))
    raise ValueError(
        f"config key 'models.{model}.parameters' is not set: the model-size analysis needs the "
        "parameter count of every hub model"
    )


def build(
    study, values: dict, params: dict[str, float], example_reps: dict | None = None
) -> tuple[list[dict], list[dict]]:
    """The ``model_size`` and ``saturation`` tables; ``example_reps``: replicates over seeds and
    examples per (model, intermediate, target), from ``examples.gain_draws``."""
    import numpy as np

    cfg = analysis.settings(study)
    level = cfg["confidence"]
    scores = analysis.per_seed_scores(study, values)
    common = analysis.common_targets(study)
    example_reps = example_reps or {}
    models = sorted(study.grid["models"], key=lambda m: params[m])
    targets = [*study.grid["targets"], analysis.AVERAGE]
    inters = [i for i in study.grid["intermediate"] if i != registry.NONE]
    gains, draws = [], {}
    for model in models:
        for inter in inters:
            for target in targets:
                g = analysis.gain_draws(scores, model, inter, target, registry.NONE, cfg)
                if g is None:
                    continue
                mean, reps, seeds = g
                method = "seeds"
                per_target = [example_reps.get((model, inter, t)) for t in common]
                if (model, inter, target) in example_reps:
                    reps, method = example_reps[(model, inter, target)], "examples+seeds"
                elif (
                    target == analysis.AVERAGE and common and all(d is not None for d in per_target)
                ):
                    reps, method = np.mean(per_target, axis=0), "examples+seeds"
                low, high = stats.interval(reps, level)
                draws[(model, inter, target)] = (mean, reps)
                gains.append(
                    {
                        "model": model,
                        "parameters": params[model],
                        "intermediate": inter,
                        "target": target,
                        "gain": mean,
                        "ci_low": low,
                        "ci_high": high,
                        "ci_method": method,
                        "n_seeds": len(seeds),
                        "run_ids": analysis.run_ids(
                            values, model, (inter, registry.NONE), target, common
                        ),
                    }
                )
    saturation = []
    for inter in inters:
        for target in targets:
            have = [m for m in models if (m, inter, target) in draws]
            if len(have) < 2:
                continue
            x = np.log10([params[m] for m in have])
            y = [draws[(m, inter, target)][0] for m in have]
            reps = np.column_stack([draws[(m, inter, target)][1] for m in have])
            low, high = stats.interval(stats.slopes(x, reps), level)
            small, large = draws[(have[0], inter, target)], draws[(have[-1], inter, target)]
            below = stats.share_below(large[1], small[1])
            saturation.append(
                {
                    "intermediate": inter,
                    "target": target,
                    "n_models": len(have),
                    "slope_per_decade": stats.slope(x, y),
                    "slope_ci_low": low,
                    "slope_ci_high": high,
                    "smallest": have[0],
                    "gain_smallest": small[0],
                    "largest": have[-1],
                    "gain_largest": large[0],
                    "confidence_largest_below": below,
                    "verdict": _verdict(below, low, high, level),
                    "run_ids": ";".join(
                        analysis.run_ids(values, m, (inter, registry.NONE), target, common)
                        for m in have
                    ),
                }
            )
    return gains, saturation


def _verdict(below: float, low: float, high: float, level: float) -> str:
    if below >= level:
        return f"gain at the largest size is below the smallest ({100 * below:.0f}% of replicates)"
    if high < 0:
        return "gain shrinks with size (slope interval below 0)"
    if low > 0:
        return "gain grows with size (slope interval above 0)"
    return "no clear trend at this confidence"


def figure(gains: list[dict], folder: Path, level: float) -> None:
    plt = analysis.pyplot()
    targets = list(dict.fromkeys(g["target"] for g in gains)) or [analysis.AVERAGE]
    rows, cols = analysis.grid_shape(len(targets))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    for ax, target in zip(axes.flat, targets, strict=False):
        for inter in dict.fromkeys(g["intermediate"] for g in gains):
            pts = sorted(
                (g for g in gains if (g["target"], g["intermediate"]) == (target, inter)),
                key=lambda g: g["parameters"],
            )
            if not pts:
                continue
            x = [g["parameters"] for g in pts]
            y = [g["gain"] for g in pts]
            err = [[g["gain"] - g["ci_low"] for g in pts], [g["ci_high"] - g["gain"] for g in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=inter)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_title("benchmark average" if target == analysis.AVERAGE else target)
        ax.set_xlabel("parameters")
        ax.set_ylabel("gain over none")
    for ax in list(axes.flat)[len(targets) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Gain over none against model size ({100 * level:g}% seed-bootstrap intervals)")
    analysis.save(fig, folder, "model_size")


def write(study, rows: list[dict], params: dict[str, float], folder: Path) -> dict:
    cfg = analysis.settings(study)
    inters = [i for i in study.grid["intermediate"] if i != registry.NONE]
    draws = examples.gain_draws(study, rows, cfg, [(i, registry.NONE) for i in inters])
    draws = {(m, i, t): d for (m, i, t, _), d in draws.items()}
    gains, saturation = build(study, analysis.run_values(rows), params, draws)
    level = analysis.settings(study)["confidence"]
    common = analysis.common_targets(study)
    analysis.write_table(
        gains,
        folder,
        "model_size",
        "Gain over none against model size",
        f"Mean over seeds of the paired gain over `none`; {100 * level:g}% bootstrap "
        "interval (ci_method: seeds and evaluation examples resampled together where the runs "
        "left per-example predictions, else seeds); target `average` = the benchmark average "
        f"(its scoring) over the targets every model runs: {', '.join(common)}.",
    )
    analysis.write_table(
        saturation,
        folder,
        "saturation",
        "Saturation: gain against log10 parameters",
        "Slope of gain per tenfold parameters, with its bootstrap interval (from each model's "
        "gain replicates); confidence_largest_below = share of replicates in which the "
        "largest model's gain is below the smallest's.",
    )
    figure(gains, folder, level)
    return {"rows": len(gains), "saturation_rows": len(saturation)}
