"""CoNLL-U files (Universal Dependencies v2.5) as POS-tagging records.

Records: ``{"id": f"{file stem}-{sentence index}", "tokens": [FORM...], "tags": [UPOS...]}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.loaders._io import fail, iter_lines

N_COLUMNS = 10


def load_conllu(path: str | Path) -> list[dict[str, Any]]:
    """Read CoNLL-U, skipping comments, multi-word ranges (``1-2``) and empty nodes (``1.1``)."""
    path = Path(path)
    records: list[dict[str, Any]] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            records.append(
                {"id": f"{path.stem}-{len(records)}", "tokens": tokens[:], "tags": tags[:]}
            )
            tokens.clear()
            tags.clear()

    for lineno, line in iter_lines(path, "CoNLL-U file"):
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != N_COLUMNS:
            raise fail(path, lineno, f"{N_COLUMNS} tab-separated CoNLL-U columns", line)
        token_id = fields[0]
        if "-" in token_id or "." in token_id:
            continue
        if not token_id.isdigit():
            raise fail(path, lineno, "an integer token ID", token_id)
        tokens.append(fields[1])
        tags.append(fields[3])
    flush()
    return records
