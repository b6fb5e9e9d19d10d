"""LAReQA: XQuAD-R files (SQuAD JSON with ``sentence_breaks``) and SQuAD v1.1 as retrieval pairs.

XTREME-R (``third_party/utils_lareqa.py``, ``processors/lareqa.py``): every sentence of every
paragraph is a candidate, its text the sentence followed by its paragraph (newlines removed); a
question's relevant candidates are the sentences that hold its answer, in every language (the
question id is shared across XQuAD-R's languages). A question whose answer starts in no sentence
is skipped, as there. SQuAD v1.1 has no sentence breaks: ``infer_sentence_breaks`` splits
paragraphs with the general rules of XTREME's ``sb_sed.py`` (its SQuAD-specific rejoins and
splits of single names and titles are not reproduced).

Records: ``{"kind": "query", "id", "query", "candidate", "gold_keys"}`` and
``{"kind": "candidate", "id", "text", "keys"}``; ``xstilts.read_local`` resolves ``gold_keys`` to
the ids of every language's candidates that carry the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xstilts.loaders._io import load_json
from xstilts.loaders.errors import DataFormatError

_SPLITS = (  # (pattern, replacement): a newline marks a break
    (r"""([.?!][)'" \u201d]*)\s(\s*[\['"(\u201c]?[A-Z0-9])""", r"\1\n\2"),
    (r"""([.?!]['"]?)((\[[a-zA-Z0-9 ?]+\])+)\s(\s*['"(]?[A-Z0-9])""", r"\1\2\n\4"),
    (r"(\[\.\.\.\]\s*)\s(\[?[A-Z])", r"\1\n\2"),
)
_JOINS = (  # abbreviations, titles and initials that end no sentence
    (
        r"\b(Mrs?|Ms|Dr|Prof|Fr|Rev|Msgr|Sta?|Lt|Gen|Col|Maj|Adm|Capt|Sgt|Rep|Gov|Sen|Pres)\.\n",
        r"\1. ",
    ),
    (
        r"\b(e\.g|i\.?e|vs?|pp?|cf|a\.k\.a|approx|app|es[pt]|tr|Jan|Aug|Oct|Nov|Dec|Mt|Ft)\.\n",
        r"\1. ",
    ),
    (r"\b([A-Z]\.)[ \n]([A-Z]\.)[ \n]([A-Z]\.)[ \n](\"?[A-Z][a-z])", r"\1 \2 \3 \4"),
    (r"\b([A-Z]\.)[ \n]([A-Z]\.)[ \n](\"?[A-Z][a-z])", r"\1 \2 \3"),
    (r"\b([A-Z]\.[A-Z]\.)\n(\"?[A-Z][a-z])", r"\1 \2"),
    (r"\b([A-Z]\.)\n(\"?[A-Z][a-z])", r"\1 \2"),
)
_RESPLITS = (  # common sentence starts after a period and a single space
    (r"""([.!?]['")]*) (The|This|That|These|It) """, r"\1\n\2 "),
    (r"(\.) (Meanwhile|However)", r"\1\n\2"),
    (r"(\.) (In|On|By|During|After|Under|Although|Yet|As |Several|According to) ", r"\1\n\2 "),
)
_REJOINS = (
    (r"\b([Aa]rt|[Nn]o|Opp?|ch|Sec|cl|Rec|Ecl|Cor|Lk|Jn|Vol)\.\n([0-9IVX]+)\b", r"\1. \2"),
    (r"\b([bdrc]|ca|fl)\.\n([A-Z0-9])", r"\1. \2"),
    (r"\b(et al)\.\n(\(?[0-9]{4}\b)", r"\1. \2"),
)


def infer_sentence_breaks(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of ``text`` (ends exclusive, stripped)."""
    marked = text.replace("\n", " ")
    for rules in (_SPLITS, _JOINS, _RESPLITS, _REJOINS):
        for pattern, replacement in rules:
            marked = re.sub(pattern, replacement, marked)
    spans, start = [], 0
    for piece in marked.split("\n"):  # substitutions keep every character but the breaks
        lead = len(piece) - len(piece.lstrip())
        stripped = piece.strip()
        spans.append((start + lead, start + lead + len(stripped)))
        start += len(piece) + 1
    return spans


def candidate_text(sentence: str, paragraph: str) -> str:
    """A candidate's text as XTREME-R encodes it: the sentence then its paragraph."""
    return (sentence + paragraph).replace("\n", "")


def _answer_sentence(context: str, breaks, answer_start: int) -> int | None:
    return next((i for i, (s, e) in enumerate(breaks) if s <= answer_start < e), None)


def load_xquad_r(path: str | Path, lang: str) -> list[dict[str, Any]]:
    """Queries and candidates of one XQuAD-R language file (``xquad-r/{lang}.json``)."""
    records: list[dict[str, Any]] = []
    n_paragraph = 0
    for article in load_json(path, "XQuAD-R JSON (SQuAD format with sentence_breaks)")["data"]:
        for paragraph in article["paragraphs"]:
            n_paragraph += 1
            context = paragraph["context"]
            if "sentence_breaks" not in paragraph:
                raise DataFormatError(
                    f"{path}: paragraph {n_paragraph} has no sentence_breaks (the hub copy "
                    "google-research-datasets/xquad_r drops them; use the LAReQA files)"
                )
            breaks = [tuple(b) for b in paragraph["sentence_breaks"]]
            ids = [f"{lang}_{n_paragraph}_{i}" for i in range(len(breaks))]
            keys: list[list[str]] = [[] for _ in breaks]
            for qa in paragraph["qas"]:
                if len(qa["answers"]) != 1:
                    raise DataFormatError(f"{path}: question {qa['id']} has not exactly 1 answer")
                pos = _answer_sentence(context, breaks, qa["answers"][0]["answer_start"])
                if pos is None:
                    continue
                keys[pos].append(qa["id"])
                s, e = breaks[pos]
                records.append(
                    {
                        "kind": "query",
                        "id": f"{qa['id']}_{lang}",
                        "query": qa["question"],
                        "candidate": candidate_text(context[s:e], context),
                        "gold_keys": [qa["id"]],
                    }
                )
            for cid, (s, e), k in zip(ids, breaks, keys, strict=True):
                text = candidate_text(context[s:e], context)
                records.append({"kind": "candidate", "id": cid, "text": text, "keys": k})
    return records


def squad_pair(qid: str, question: str, context: str, answer_start: int) -> dict | None:
    """A SQuAD question with its answer's sentence and paragraph (None: the answer starts in no
    sentence, and XTREME-R skips the question)."""
    breaks = infer_sentence_breaks(context)
    pos = _answer_sentence(context, breaks, answer_start)
    if pos is None:
        return None
    s, e = breaks[pos]
    return {
        "id": qid,
        "query": question,
        "candidate": candidate_text(context[s:e], context),
        "gold": [],
    }


def load_squad_sentences(path: str | Path) -> list[dict[str, Any]]:
    """SQuAD v1.1 as training pairs (``squad_pair``, on each question's first answer)."""
    records = []
    for article in load_json(path, "SQuAD v1.1 JSON")["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["answer_start"]
                pair = squad_pair(str(qa["id"]), qa["question"], paragraph["context"], start)
                if pair is not None:
                    records.append(pair)
    return records
