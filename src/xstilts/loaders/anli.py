"""Adversarial NLI: the official "ANLIzing" annotated CSV and the ``anli_v1.0/R*/*.jsonl`` files.

Records: ``{"id": uid, "text_a": premise, "text_b": hypothesis, "label": str}``, with the
e/n/c labels spelled out as entailment/neutral/contradiction.
"""

from __future__ import annotations

from pathlib import Path

from xstilts.loaders._io import at_line, fail, iter_csv, iter_jsonl

PairRecord = dict[str, str]

ANLI_LABELS = {"e": "entailment", "n": "neutral", "c": "contradiction"}


def _label(path: Path, lineno: int, raw: str) -> str:
    if raw not in ANLI_LABELS:
        raise fail(path, lineno, f"label in {sorted(ANLI_LABELS)}", raw)
    return ANLI_LABELS[raw]


def load_anli_csv(path: str | Path) -> list[PairRecord]:
    """Read ``ANLI_analysis_r*_dev.csv`` (``context``, ``statement``, ``gold_label``, ``uid``)."""
    columns = ("context", "statement", "gold_label", "uid")
    return [
        {
            "id": r["uid"],
            "text_a": r["context"],
            "text_b": r["statement"],
            "label": _label(Path(path), lineno, r["gold_label"]),
        }
        for lineno, r in iter_csv(path, "ANLIzing CSV", columns)
    ]


def load_anli_jsonl(path: str | Path) -> list[PairRecord]:
    """Read an ANLI v1.0 JSONL file (``uid``, ``premise``, ``hypothesis``, ``label``)."""
    expected = "ANLI JSONL object with uid/premise/hypothesis/label"
    records = []
    for lineno, obj in iter_jsonl(path, expected):
        with at_line(Path(path), lineno, expected):
            records.append(
                {
                    "id": str(obj["uid"]),
                    "text_a": obj["premise"],
                    "text_b": obj["hypothesis"],
                    "label": _label(Path(path), lineno, obj["label"]),
                }
            )
    return records
