"""Mewsli-X as XTREME-R prepares it (``scripts/download_data.sh``, ``utils_preprocess.py``).

Files under ``mewslix/``: ``wikipedia_pairs-{train,dev}.jsonl`` (English Wikipedia mention-entity
pairs: training), ``wikinews_mentions/{dev,test}-{lang}.jsonl`` (WikiNews mentions in context,
per language; test entity ids blanked, their labels in ``wikinews_labels/{split}-{lang}.json``)
and ``candidate_set_entities.jsonl`` (the entities every mention is linked against).

Texts as XTREME-R's baseline (``third_party/utils_mewslix.py``): a mention is the sentence that
holds it, the mention marked with braces (braces already in the text become parentheses) and
repeated in front, ``"{mention}: {left} { {mention} } {right}"``; an entity is the sentences
of its description. Records: training pairs ``{"id", "query", "candidate", "gold"}``, queries
``{"kind": "query", ..., "gold_keys": [entity id]}``, candidates ``{"kind": "candidate", "id",
"text", "keys"}`` (see ``xstilts.read_local.split_ranking``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from xstilts.loaders._io import at_line, iter_jsonl
from xstilts.loaders.errors import DataFormatError

_BRACES = re.compile(r"\{(.*?)\}")


def _normalise(text: str) -> str:
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def mention_text(context: dict, span: dict) -> str:
    """The mention in its sentence, marked and repeated in front (``preprocess_mention``)."""
    start, end = span["start"], span["end"]
    sentence = next(
        (
            s
            for s in context["sentence_spans"]
            if s["start"] <= start < s["end"] and end <= s["end"]
        ),
        None,
    )
    if sentence is None:
        raise ValueError(f"mention {span} lies in no single sentence of its context")
    text = context["text"]
    left = _BRACES.sub(r"(\1)", text[sentence["start"] : start])
    right = _BRACES.sub(r"(\1)", text[end : sentence["end"]])
    return _normalise(f"{span['text']}: {left} {{ {span['text']} }} {right}")


def entity_text(entity: dict) -> str:
    """An entity's description sentences (``preprocess_entity_description``)."""
    description = entity["description"]
    return _normalise(
        " ".join(description[s["start"] : s["end"]] for s in entity["sentence_spans"])
    )


def _labels(path: Path) -> dict[str, str] | None:
    """Gold entity per example id from ``wikinews_labels/{split}-{lang}.json`` beside the
    mentions folder (None when there is no such file)."""
    labels = path.parent.parent / "wikinews_labels" / f"{path.stem}.json"
    if not labels.is_file():
        return None
    return {k: v[0] for k, v in json.loads(labels.read_text()).items()}


def load_mewslix(path: str | Path) -> list[dict[str, Any]]:
    """Read one Mewsli-X file, whichever of the three kinds it is (by its rows' keys)."""
    path = Path(path)
    expected = "Mewsli-X JSONL (mention-entity pairs, contextual mentions or entities)"
    labels = _labels(path)
    records: list[dict[str, Any]] = []
    for lineno, row in iter_jsonl(path, expected):
        with at_line(path, lineno, expected):
            if "contextual_mention" in row:  # a training pair
                mention = row["contextual_mention"]["mention"]
                query = mention_text(row["contextual_mention"]["context"], mention["mention_span"])
                records.append(
                    {
                        "id": mention["example_id"],
                        "query": query,
                        "candidate": entity_text(row["entity"]),
                        "gold": [],
                    }
                )
            elif "mentions" in row:  # mentions in a shared context
                for mention in row["mentions"]:
                    gold = mention["entity_id"] or (labels or {}).get(mention["example_id"])
                    if not gold:
                        raise DataFormatError(
                            f"{path}:{lineno}: mention {mention['example_id']} has no entity id "
                            f"and no label in {path.parent.parent / 'wikinews_labels'}"
                        )
                    records.append(
                        {
                            "kind": "query",
                            "id": mention["example_id"],
                            "query": mention_text(row["context"], mention["mention_span"]),
                            "candidate": "",
                            "gold_keys": [gold],
                        }
                    )
            else:  # a candidate entity
                records.append(
                    {
                        "kind": "candidate",
                        "id": row["entity_id"],
                        "text": entity_text(row),
                        "keys": [row["entity_id"]],
                    }
                )
    return records
