"""Score saved predictions: metrics from the per-language JSONL files a fine-tuning job wrote.

No model and no torch: a changed metric re-scores every cell from the predictions alone, without
retraining. The format module of the task turns each split's rows into its metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from xstilts import formats, provenance, registry
from xstilts.splits import parse_split


def read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def results(task, splits: dict[str, list[dict]]) -> dict[str, dict[str, dict]]:
    """``{split: {lang: {metric: value, ..., "n": rows}}}`` of predictions per split name.

    A format whose metric reads several splits of a language at once (BUCC: the dev split's
    threshold applied to the test split) scores them with its ``language_metrics``."""
    fmt = formats.get(task.format)
    by_lang: dict[str, dict[str, list[dict]]] = {}
    for name, rows in splits.items():
        split, lang = parse_split(name)
        by_lang.setdefault(lang, {})[split] = rows
    out: dict[str, dict[str, dict]] = {}
    for lang, own in by_lang.items():
        if hasattr(fmt, "language_metrics"):
            scored = fmt.language_metrics(task, lang, own)
        else:
            scored = {split: fmt.metrics(rows, task, lang) for split, rows in own.items()}
        for split, metrics in scored.items():
            out.setdefault(split, {})[lang] = {**metrics, "n": len(own[split])}
    return out


def score(predictions_dir: Path, task_name: str) -> dict:
    """The metrics of every split listed in the predictions' manifest (a missing file is an
    error, never a silently missing language)."""
    task = registry.get(task_name)
    summary = provenance.read_manifest(predictions_dir)["summary"]
    names = summary["splits"]
    if not names:
        raise ValueError(f"{predictions_dir}: its manifest lists no predicted split")
    missing = [n for n in names if not (predictions_dir / f"{n}.jsonl").is_file()]
    if missing:
        raise FileNotFoundError(f"{predictions_dir}: no predictions for {', '.join(missing)}")
    splits = {n: read(predictions_dir / f"{n}.jsonl") for n in names}
    return {
        "task": task_name,
        "format": task.format,
        "metrics": list(task.metrics),
        "results": results(task, splits),
        # how a retrieval run embedded its sentences
        **{
            key: summary[key] for key in ("layer", "pooling", "layer_and_pooling") if key in summary
        },
    }
