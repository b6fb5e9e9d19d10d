"""PAN-X / WikiANN NER files: the original ``panx_dataset`` token files and the mmner CSV export.

Records: ``{"id": str, "tokens": [...], "tags": [...]}`` with the ``xx:`` language prefix
removed from every token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.loaders._io import fail, iter_csv, iter_lines

NerRecord = dict[str, Any]


def _strip_prefix(path: Path, lineno: int, word: str) -> str:
    lang, sep, token = word.partition(":")
    if not sep or not lang:
        raise fail(path, lineno, "a token with a language prefix like 'af:word'", word)
    return token


def load_panx_tokens(path: str | Path) -> list[NerRecord]:
    """Read an original ``panx_dataset`` file (``lang:token<TAB>tag``, blank line after sentences).

    Ids are the 0-based sentence index.
    """
    path = Path(path)
    records: list[NerRecord] = []
    tokens: list[str] = []
    tags: list[str] = []
    for lineno, line in iter_lines(path, "PAN-X token file 'lang:token<TAB>tag'"):
        if not line.strip():
            if tokens:
                records.append({"id": str(len(records)), "tokens": tokens, "tags": tags})
                tokens, tags = [], []
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise fail(path, lineno, "'lang:token<TAB>tag'", line)
        tokens.append(_strip_prefix(path, lineno, fields[0]))
        tags.append(fields[1])
    if tokens:
        records.append({"id": str(len(records)), "tokens": tokens, "tags": tags})
    return records


def load_panx_csv(path: str | Path) -> list[NerRecord]:
    """Read the mmner ``truth.csv`` export (``sent_idx,word_idx,word,word_id,truth``).

    Rows are grouped by ``sent_idx`` (the record id); ``word_idx`` must count up from 0.
    """
    path = Path(path)
    columns = ("sent_idx", "word_idx", "word", "truth")
    records: list[NerRecord] = []
    for lineno, row in iter_csv(path, "PAN-X truth.csv", columns):
        if not records or records[-1]["id"] != row["sent_idx"]:
            records.append({"id": row["sent_idx"], "tokens": [], "tags": []})
        current = records[-1]
        if row["word_idx"] != str(len(current["tokens"])):
            raise fail(path, lineno, f"word_idx {len(current['tokens'])}", row["word_idx"])
        current["tokens"].append(_strip_prefix(path, lineno, row["word"]))
        current["tags"].append(row["truth"])
    return records
