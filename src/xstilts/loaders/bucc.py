"""BUCC 2018 bitext mining: ``<id><TAB><sentence>`` per side, ``<src-id><TAB><tgt-id>`` gold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.loaders._io import fail, iter_lines


def _read_sentences(path: Path) -> list[dict[str, str]]:
    sentences = []
    for lineno, line in iter_lines(path, "BUCC sentence file '<id><TAB><sentence>'"):
        sent_id, sep, text = line.partition("\t")
        if not sep or not sent_id:
            raise fail(path, lineno, "'<id><TAB><sentence>'", line)
        sentences.append({"id": sent_id, "text": text})
    return sentences


def load_bucc(
    source_path: str | Path, target_path: str | Path, gold_path: str | Path
) -> dict[str, Any]:
    """Read one BUCC language pair, e.g. ``zh-en.dev.{zh,en,gold}``.

    Returns ``{"source": [{"id", "text"}...], "target": [...], "gold": [(src_id, tgt_id)...]}``;
    every gold id must occur on its side.
    """
    source = _read_sentences(Path(source_path))
    target = _read_sentences(Path(target_path))
    source_ids = {s["id"] for s in source}
    target_ids = {s["id"] for s in target}
    gold_path = Path(gold_path)
    gold = []
    for lineno, line in iter_lines(gold_path, "BUCC gold file '<src-id><TAB><tgt-id>'"):
        fields = line.split("\t")
        if len(fields) != 2:
            raise fail(gold_path, lineno, "'<src-id><TAB><tgt-id>'", line)
        src_id, tgt_id = fields
        if src_id not in source_ids:
            raise fail(gold_path, lineno, f"a source id present in {source_path}", src_id)
        if tgt_id not in target_ids:
            raise fail(gold_path, lineno, f"a target id present in {target_path}", tgt_id)
        gold.append((src_id, tgt_id))
    return {"source": source, "target": target, "gold": gold}
