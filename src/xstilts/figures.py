"""The study's figures (matplotlib).

The aggregate job's quick look, :func:`score_matrix`, is one PNG: scores and differences from
``none``. The report's figures take its records (see ``xstilts.report``) and a path stem, and
write ``stem.png`` and ``stem.pdf``: the transfer matrix as gains over ``none``, the per-language
gains of one target, and the best intermediate task per target against ``none``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from xstilts import curves, registry

STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # embedded TrueType: editable text in the PDF
}


def _pyplot():
    import matplotlib

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, stem: Path) -> None:
    for ext in ("png", "pdf"):
        fig.savefig(Path(stem).with_name(f"{Path(stem).name}.{ext}"), dpi=200)
    _pyplot().close(fig)


def order(values, reference) -> list[str]:
    values = set(values)
    return [v for v in reference if v in values] + sorted(values - set(reference))


def _num(value) -> float:
    return math.nan if value is None else float(value)


def _cell_text(cell: dict) -> str:
    if cell["intermediate"] == registry.NONE:
        return f"{cell['mean']:.1f}\n(baseline)"
    if cell["delta_vs_none"] is None:
        return f"{cell['mean']:.1f}\n(no baseline)"
    text = f"{cell['delta_vs_none']:+.1f}"
    if cell.get("ci_low") is not None:
        text += f"\n[{cell['ci_low']:+.1f}, {cell['ci_high']:+.1f}]"
    return text


def score_matrix(cells: list[dict], path: Path, title: str) -> None:
    """Intermediate x target: the mean score, and below it the difference from ``none`` (when
    there is a baseline), each cell labelled; a PNG at ``path``."""
    import numpy as np

    plt = _pyplot()
    inters = order((c["intermediate"] for c in cells), registry.intermediate_choices())
    targets = order((c["target"] for c in cells), registry.target_tasks())
    panels = [("mean", "score (mean over seeds)", "viridis")]
    if any(c["delta_vs_none"] is not None for c in cells):
        panels.append(("delta_vs_none", "difference from none", "RdBu"))
    # one panel above the other, each as wide as its targets need and tall enough for its
    # title and the slanted target names whatever the number of rows
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(2.6 + 0.8 * len(targets), 0.4 + len(panels) * (1.6 + 0.4 * len(inters))),
        squeeze=False,
    )
    for ax, (key, label, cmap) in zip(axes[:, 0], panels, strict=True):
        grid = np.full((len(inters), len(targets)), np.nan)
        for c in cells:
            if c[key] is not None:
                grid[inters.index(c["intermediate"]), targets.index(c["target"])] = c[key]
        kwargs = {}
        if key == "delta_vs_none":
            span = np.nanmax(np.abs(grid)) or 1.0
            kwargs = {"vmin": -span, "vmax": span}
        im = ax.imshow(grid, cmap=cmap, aspect="auto", **kwargs)
        for i in range(len(inters)):
            for j in range(len(targets)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(targets)), targets, rotation=45, ha="right")
        ax.set_yticks(range(len(inters)), inters)
        ax.set_xlabel("target task")
        ax.set_ylabel("intermediate task")
        ax.set_title(label)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def transfer_heatmap(cells: list[dict], stem: Path, title: str, level: str) -> None:
    """Intermediate x target, coloured by the gain over ``none`` (diverging, centred on 0); cells
    show the gain and its bootstrap interval, the ``none`` row its score."""
    import numpy as np

    plt = _pyplot()
    inters = order((c["intermediate"] for c in cells), registry.intermediate_choices())
    targets = order((c["target"] for c in cells), registry.target_tasks())
    grid = np.full((len(inters), len(targets)), np.nan)
    for c in cells:
        grid[inters.index(c["intermediate"]), targets.index(c["target"])] = _num(c["delta_vs_none"])
    span = float(np.nanmax(np.abs(grid), initial=0.0)) or 1.0
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(2.2 + 1.25 * len(targets), 1.4 + 0.62 * len(inters)))
        cmap = plt.get_cmap("RdBu").copy()
        cmap.set_bad("0.85")
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-span, vmax=span)
        for c in cells:
            i, j = inters.index(c["intermediate"]), targets.index(c["target"])
            strong = abs(_num(c["delta_vs_none"])) > 0.6 * span
            ax.text(
                j,
                i,
                _cell_text(c),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if strong else "black",
            )
        ax.set_xticks(range(len(targets)), targets, rotation=30, ha="right")
        ax.set_yticks(range(len(inters)), inters)
        ax.set_xlabel("target task")
        ax.set_ylabel("intermediate task")
        ax.set_title(f"{title} ({level} bootstrap interval)")
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        fig.colorbar(image, ax=ax, shrink=0.85, label="difference from none (points)")
        _save(fig, stem)


def language_gains(lang_rows: list[dict], target: str, stem: Path, model: str) -> None:
    """Per language of ``target``, each intermediate's gain over ``none`` (grouped bars)."""
    import numpy as np

    plt = _pyplot()
    rows = [r for r in lang_rows if r["target"] == target and r["delta_vs_none"] is not None]
    langs = order({r["lang"] for r in rows}, registry.get(target).languages)
    inters = [
        i
        for i in order({r["intermediate"] for r in rows}, registry.intermediate_choices())
        if i != registry.NONE
    ]
    gains = {(r["intermediate"], r["lang"]): r["delta_vs_none"] for r in rows}
    width = 0.8 / max(len(inters), 1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.5 + 0.32 * max(len(langs), 4) * max(len(inters), 1), 3))
        x = np.arange(len(langs))
        for k, inter in enumerate(inters):
            heights = [gains.get((inter, lang), np.nan) for lang in langs]
            ax.bar(x + (k - (len(inters) - 1) / 2) * width, heights, width, label=inter)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(x, langs)
        ax.set_xlabel("language")
        ax.set_ylabel("gain over none (points)")
        ax.set_title(f"{model}: {target}, per-language gain over none (mean over seeds)")
        if inters:
            ax.legend(title="intermediate", frameon=False, fontsize=8)
        else:
            ax.text(
                0.5, 0.5, "no intermediate task to compare", transform=ax.transAxes, ha="center"
            )
        _save(fig, stem)


def _best(cells: list[dict], target: str) -> dict | None:
    trained = [
        c
        for c in cells
        if c["target"] == target
        and c["intermediate"] != registry.NONE
        and c["delta_vs_none"] is not None
    ]
    return max(trained, key=lambda c: c["mean"]) if trained else None


def best_vs_baseline(cells: list[dict], stem: Path, model: str, level: str) -> None:
    """Per target, the gain of its best intermediate task over ``none``, with the bootstrap
    interval as error bar."""
    import numpy as np

    plt = _pyplot()
    targets = order((c["target"] for c in cells), registry.target_tasks())
    best = {t: _best(cells, t) for t in targets}
    base = {c["target"]: c["mean"] for c in cells if c["intermediate"] == registry.NONE}
    gains = np.array([_num(b and b["delta_vs_none"]) for b in best.values()])
    low = np.array([_num(b and b.get("ci_low")) for b in best.values()])
    high = np.array([_num(b and b.get("ci_high")) for b in best.values()])
    errors = np.nan_to_num(np.clip([gains - low, high - gains], 0, None))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.5 + 0.9 * len(targets), 3.2))
        x = np.arange(len(targets))
        colours = ["#2166ac" if g >= 0 else "#b2182b" for g in np.nan_to_num(gains)]
        ax.bar(x, np.nan_to_num(gains), 0.6, yerr=errors, capsize=3, color=colours)
        for k, b in enumerate(best.values()):
            if b is not None:
                ax.annotate(
                    b["intermediate"],
                    (k, max(gains[k], 0) + errors[1][k]),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                )
        ax.axhline(0, color="black", linewidth=0.8)
        labels = [f"{t}\n(none {base[t]:.1f})" if t in base else t for t in targets]
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylabel("best intermediate - none (points)")
        ax.set_title(f"{model}: best intermediate task vs none ({level} bootstrap interval)")
        _save(fig, stem)


def training_curves(runs: list[dict], stem: Path, title: str) -> None:
    """One small panel per run (``intermediate``, ``seed``, ``records`` of its curve file): the
    training loss by step, each evaluation's metric on the right axis, the selected checkpoint
    (dashed line) and an early stop (its step, in red) marked."""
    plt = _pyplot()
    cols = min(4, max(1, len(runs)))
    rows = max(1, math.ceil(len(runs) / cols))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.0 * rows), squeeze=False)
        for ax in axes.flat[len(runs) :]:
            ax.axis("off")
        for ax, run in zip(axes.flat, runs, strict=False):
            records = run["records"]
            train = [r for r in records if "loss" in r and "event" not in r]
            ax.plot([r["step"] for r in train], [r["loss"] for r in train], color="C0", lw=1)
            ax.set_title(f"{run['intermediate']}, seed {run['seed']}", fontsize=9)
            ax.set_xlabel("step")
            ax.set_ylabel("training loss", color="C0")
            evals = curves.evaluations(records)
            metric = next(
                (k for k in ("eval_accuracy", "eval_loss") if evals and k in evals[0]), None
            )
            if metric:
                right = ax.twinx()
                right.plot([r["step"] for r in evals], [r[metric] for r in evals], "o-",
                           color="C1", ms=3, lw=0.8)  # fmt: skip
                right.set_ylabel(metric.removeprefix("eval_"), color="C1")
            end = next((r for r in records if r.get("event") == "end"), {})
            if end.get("best_step") is not None:
                ax.axvline(end["best_step"], color="black", ls="--", lw=0.8, label="selected")
            if end.get("early_stop"):
                ax.axvline(end["step"], color="red", lw=0.8, label="early stop")
            if end.get("best_step") is not None or end.get("early_stop"):
                ax.legend(frameon=False, fontsize=7, loc="upper right")
        fig.suptitle(title)
        fig.tight_layout()
        _save(fig, stem)
