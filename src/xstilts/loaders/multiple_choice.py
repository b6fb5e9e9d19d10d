"""Multiple choice: HellaSwag JSONL, CosmosQA CSV, CommonsenseQA JSONL (original or HF export),
COPA / XCOPA JSONL and Social IQa JSONL (with its labels file).

Records: ``{"id": str, "context": str, "question": str, "choices": [str, ...], "label": int}``;
``label`` indexes ``choices`` and is -1 where a (test) file has no label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.loaders._io import at_line, iter_csv, iter_jsonl, iter_lines
from xstilts.loaders.errors import DataFormatError

ChoiceRecord = dict[str, Any]


def _int_label(raw: Any, n_choices: int) -> int:
    """The label as an index of the choices (-1: none); one out of range is an error."""
    label = -1 if raw is None or raw == "" else int(raw)
    if not -1 <= label < n_choices:
        raise ValueError(
            f"label {label} is out of range for {n_choices} choices (0-{n_choices - 1})"
        )
    return label


def load_hellaswag(path: str | Path) -> list[ChoiceRecord]:
    """Read HellaSwag JSONL: context = ``ctx_a``, question = ``ctx_b`` (the ending's start).

    ``ctx`` is ``ctx_a`` and ``ctx_b`` joined by a space; ids are ``ind`` (else the row index).
    """
    expected = "HellaSwag JSONL object with ctx_a/ctx_b/endings"
    records = []
    for i, (lineno, obj) in enumerate(iter_jsonl(path, expected)):
        with at_line(Path(path), lineno, expected):
            records.append(
                {
                    "id": str(obj.get("ind", i)),
                    "context": obj["ctx_a"],
                    "question": obj["ctx_b"],
                    "choices": list(obj["endings"]),
                    "label": _int_label(obj.get("label"), len(obj["endings"])),
                }
            )
    return records


def load_cosmosqa(path: str | Path) -> list[ChoiceRecord]:
    """Read a CosmosQA CSV (``id,context,question,answer0..answer3,label``)."""
    answers = [f"answer{k}" for k in range(4)]
    expected = "CosmosQA CSV"
    records = []
    for lineno, row in iter_csv(path, expected, ["id", "context", "question", *answers]):
        with at_line(Path(path), lineno, "an integer label"):
            records.append(
                {
                    "id": row["id"],
                    "context": row["context"],
                    "question": row["question"],
                    "choices": [row[a] for a in answers],
                    "label": _int_label(row.get("label"), len(answers)),
                }
            )
    return records


def load_commonsenseqa(path: str | Path) -> list[ChoiceRecord]:
    """Read CommonsenseQA JSONL in the original (``question.stem``, ``question.choices``) or the
    HF export (``question`` string, ``choices{label,text}``) format; context is empty.
    """
    expected = "CommonsenseQA JSONL object (original or HF export format)"
    records = []
    for lineno, obj in iter_jsonl(path, expected):
        with at_line(Path(path), lineno, expected):
            if isinstance(obj["question"], dict):
                question = obj["question"]["stem"]
                choice_list = obj["question"]["choices"]
                labels = [c["label"] for c in choice_list]
                texts = [c["text"] for c in choice_list]
            else:
                question = obj["question"]
                labels = list(obj["choices"]["label"])
                texts = list(obj["choices"]["text"])
            answer = obj.get("answerKey", "")
            records.append(
                {
                    "id": str(obj["id"]),
                    "context": "",
                    "question": question,
                    "choices": texts,
                    "label": labels.index(answer) if answer else -1,
                }
            )
    return records


def copa_context(premise: str, question: str) -> str:
    """XTREME-R's first segment for COPA and XCOPA (``run_xcopa.py``); the choice is second."""
    return f"{premise} What was the {question}?"


def load_copa_jsonl(path: str | Path) -> list[ChoiceRecord]:
    """Read COPA (SuperGLUE ``train.jsonl``/``val.jsonl``) or XCOPA (``{split}.{lang}.jsonl``):
    ``premise``, ``choice1``, ``choice2``, ``question`` (cause / effect), ``label`` (0 or 1)."""
    expected = "COPA JSONL object with premise/choice1/choice2/question/label"
    records = []
    for i, (lineno, obj) in enumerate(iter_jsonl(path, expected)):
        with at_line(Path(path), lineno, expected):
            if obj["question"] not in ("cause", "effect"):
                raise ValueError(f"question {obj['question']!r} is not 'cause' or 'effect'")
            records.append(
                {
                    "id": str(obj.get("idx", i)),
                    "context": copa_context(obj["premise"], obj["question"]),
                    "question": "",
                    "choices": [obj["choice1"], obj["choice2"]],
                    "label": _int_label(obj.get("label"), 2),
                }
            )
    return records


def load_siqa_jsonl(path: str | Path) -> list[ChoiceRecord]:
    """Read Social IQa (``train.jsonl`` with ``context``, ``question``, ``answerA..C``) and its
    labels from the sibling ``train-labels.lst`` (1-based, one a line), as XTREME-R joins them:
    first segment "context question", the answer second."""
    path = Path(path)
    labels_path = path.with_name(f"{path.stem}-labels.lst")
    labels = [line for _, line in iter_lines(labels_path, "Social IQa label (1, 2 or 3)")]
    expected = "Social IQa JSONL object with context/question/answerA/answerB/answerC"
    rows = list(iter_jsonl(path, expected))
    if len(labels) != len(rows):
        raise DataFormatError(
            f"{labels_path} has {len(labels)} labels for the {len(rows)} questions of {path}"
        )
    records = []
    for i, ((lineno, obj), label) in enumerate(zip(rows, labels, strict=True)):
        with at_line(path, lineno, expected):
            if label.strip() not in ("1", "2", "3"):
                raise ValueError(f"label {label!r} (line {i + 1} of {labels_path}) is not 1-3")
            records.append(
                {
                    "id": str(i),
                    "context": f"{obj['context']} {obj['question']}",
                    "question": "",
                    "choices": [obj["answerA"], obj["answerB"], obj["answerC"]],
                    "label": int(label) - 1,
                }
            )
    return records
