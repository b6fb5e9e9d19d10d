"""Sentence-pair TSVs of XNLI and PAWS-X.

Records: ``{"id": str, "text_a": str, "text_b": str, "label": str}`` with the raw label string.
"""

from __future__ import annotations

from pathlib import Path

from xstilts.loaders._io import iter_tsv, iter_tsv_with_header

PairRecord = dict[str, str]


def load_xtreme_pair_tsv(path: str | Path) -> list[PairRecord]:
    """Read an XTREME-preprocessed XNLI/PAWS-X file (``a<TAB>b<TAB>label``, no header).

    XTREME writes no id column, so ids are the 0-based row index.
    """
    rows = iter_tsv(path, "XTREME pair TSV 'text_a<TAB>text_b<TAB>label'", 3)
    return [
        {"id": str(i), "text_a": a, "text_b": b, "label": label}
        for i, (_, (a, b, label)) in enumerate(rows)
    ]


def load_pawsx_tsv(path: str | Path) -> list[PairRecord]:
    """Read an original PAWS-X ``x-final/<lang>/*.tsv`` (header: id sentence1 sentence2 label)."""
    columns = ("id", "sentence1", "sentence2", "label")
    return [
        {"id": r["id"], "text_a": r["sentence1"], "text_b": r["sentence2"], "label": r["label"]}
        for _, r in iter_tsv_with_header(path, "PAWS-X x-final TSV", columns)
    ]


def load_xnli_tsv(path: str | Path, language: str) -> list[PairRecord]:
    """Read the rows of one language from the original ``XNLI-1.0/xnli.{dev,test}.tsv``.

    Ids are ``pairID`` when that column exists, else the row index within the language.
    """
    columns = ("language", "gold_label", "sentence1", "sentence2")
    rows = [r for _, r in iter_tsv_with_header(path, "XNLI 1.0 TSV", columns)]
    selected = [r for r in rows if r["language"] == language]
    return [
        {
            "id": r.get("pairID", str(i)),
            "text_a": r["sentence1"],
            "text_b": r["sentence2"],
            "label": r["gold_label"],
        }
        for i, r in enumerate(selected)
    ]


def load_xnli_mt_tsv(path: str | Path) -> list[PairRecord]:
    """Read XNLI-MT's machine-translated MultiNLI training file (header ``premise hypo label``),
    spelling its ``contradictory`` label as MNLI's ``contradiction``."""
    columns = ("premise", "hypo", "label")
    return [
        {
            "id": str(i),
            "text_a": r["premise"],
            "text_b": r["hypo"],
            "label": "contradiction" if r["label"] == "contradictory" else r["label"],
        }
        for i, (_, r) in enumerate(iter_tsv_with_header(path, "XNLI-MT TSV", columns))
    ]
