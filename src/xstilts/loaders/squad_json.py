"""SQuAD-style JSON: SQuAD v1.1/v2.0, XQuAD, MLQA and TyDiQA-GoldP.

Records: ``{"id", "title", "context", "question", "answers": {"text": [...],
"answer_start": [...]}}``; unanswerable SQuAD v2.0 questions get empty answer lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.loaders._io import load_json
from xstilts.loaders.errors import DataFormatError

QARecord = dict[str, Any]


def _answers(path: Path, qa: dict[str, Any], context: str) -> dict[str, list[Any]]:
    texts: list[str] = []
    starts: list[int] = []
    if qa.get("is_impossible", False):
        return {"text": texts, "answer_start": starts}
    for answer in qa["answers"]:
        text, start = answer["text"], int(answer["answer_start"])
        found = context[start : start + len(text)]
        if found != text:
            raise DataFormatError(
                f"{path}: question {qa['id']}: answer_start {start} does not point at the answer"
                f" text: expected {text!r}, found {found!r} in the context"
            )
        texts.append(text)
        starts.append(start)
    return {"text": texts, "answer_start": starts}


def load_squad_json(path: str | Path) -> list[QARecord]:
    """Read a SQuAD-format file into one record per question, checking every answer offset."""
    path = Path(path)
    data = load_json(path, "SQuAD-style JSON with a top-level 'data' list")
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DataFormatError(f"{path}: expected a JSON object with a 'data' list")
    records = []
    for a_idx, article in enumerate(data["data"]):
        try:
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                records.extend(
                    {
                        "id": str(qa["id"]),
                        "title": article.get("title", ""),
                        "context": context,
                        "question": qa["question"],
                        "answers": _answers(path, qa, context),
                    }
                    for qa in paragraph["qas"]
                )
        except DataFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(
                f"{path}: article {a_idx}: expected SQuAD fields paragraphs/context/qas/id/"
                f"question/answers, found {type(exc).__name__}: {exc}"
            ) from exc
    return records
