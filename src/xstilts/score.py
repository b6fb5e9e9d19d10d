"""Score saved predictions: metrics from the per-language JSONL files a fine-tuning job wrote.

No model and no torch: a changed metric re-scores every cell from the predictions alone, without
retraining. The format module of the task turns each split's rows into its metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from xstilts import data, formats, provenance, registry


def read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def results(task, splits: dict[str, list[dict]]) -> dict[str, dict[str, dict]]:
    """``{split: {lang: {metric: value, ..., "n": examples}}}`` of predictions per split name."""
    fmt = formats.get(task.format)
    out: dict[str, dict[str, dict]] = {}
    for name, rows in splits.items():
        split, lang = data.parse_split(name)
        out.setdefault(split, {})[lang] = {**fmt.metrics(rows, task, lang), "n": len(rows)}
    return out


def score(predictions_dir: Path, task_name: str) -> dict:
    """The metrics of every split listed in the predictions' manifest (a missing file is an
    error, never a silently missing language)."""
    task = registry.get(task_name)
    names = provenance.read_manifest(predictions_dir)["summary"]["splits"]
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
    }
