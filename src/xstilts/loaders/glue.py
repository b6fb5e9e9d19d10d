"""English GLUE-style sentence-pair files: QQP TSV, MNLI GLUE TSV and jiant MNLI JSONL.

Records: ``{"id": str, "text_a": str, "text_b": str, "label": str}`` with the raw label string.
"""

from __future__ import annotations

from pathlib import Path

from xstilts.loaders._io import at_line, iter_jsonl, iter_tsv_with_header

PairRecord = dict[str, str]


def load_qqp_tsv(path: str | Path) -> list[PairRecord]:
    """Read GLUE QQP (header ``id qid1 qid2 question1 question2 is_duplicate``); label "0"/"1"."""
    columns = ("id", "question1", "question2", "is_duplicate")
    return [
        {
            "id": r["id"],
            "text_a": r["question1"],
            "text_b": r["question2"],
            "label": r["is_duplicate"],
        }
        for _, r in iter_tsv_with_header(path, "GLUE QQP TSV", columns)
    ]


def load_mnli_tsv(path: str | Path) -> list[PairRecord]:
    """Read GLUE MNLI (``sentence1``, ``sentence2``, ``gold_label``; id ``pairID``/``index``)."""
    columns = ("sentence1", "sentence2", "gold_label")
    records = []
    for i, (_, r) in enumerate(iter_tsv_with_header(path, "GLUE MNLI TSV", columns)):
        row_id = r.get("pairID") or r.get("index") or str(i)
        records.append(
            {
                "id": row_id,
                "text_a": r["sentence1"],
                "text_b": r["sentence2"],
                "label": r["gold_label"],
            }
        )
    return records


def load_mnli_jsonl(path: str | Path) -> list[PairRecord]:
    """Read jiant MNLI JSONL (``premise``, ``hypothesis``, ``label``); ids are row indices."""
    expected = "jiant MNLI JSONL object with premise/hypothesis/label"
    records = []
    for i, (lineno, obj) in enumerate(iter_jsonl(path, expected)):
        with at_line(Path(path), lineno, expected):
            records.append(
                {
                    "id": str(i),
                    "text_a": str(obj["premise"]),
                    "text_b": str(obj["hypothesis"]),
                    "label": str(obj["label"]),
                }
            )
    return records


def load_sst2_tsv(path: str | Path) -> list[PairRecord]:
    """Read GLUE SST-2 (header ``sentence label``): single sentences, ``text_b`` empty."""
    return [
        {"id": str(i), "text_a": r["sentence"], "text_b": "", "label": r["label"]}
        for i, (_, r) in enumerate(
            iter_tsv_with_header(path, "GLUE SST-2 TSV", ("sentence", "label"))
        )
    ]
