"""CCGbank AUTO derivations (LDC2005T13): one token and its lexical category per leaf.

A derivation line holds leaves ``(<L category POS POS word predicate-arg-category>)``; the
supertag is the leaf's category. Header lines start with ``ID=``. Records:
``{"id": derivation id, "tokens": [...], "tags": [...supertags]}``.
"""

from __future__ import annotations

import re
from pathlib import Path

from xstilts.loaders._io import check_file, fail

LEAF = re.compile(r"\(<L (\S+) (\S+) (\S+) (\S+) (\S+)>\)")

CCGBANK_HELP = (
    "CCGbank is licensed by the LDC (LDC2005T13) and cannot be downloaded here: obtain it from "
    "the LDC and point the config key data.tasks.ccg.root at the folder holding data/AUTO/"
)


def load_ccgbank_auto(path: str | Path) -> list[dict]:
    """Read one ``.auto`` file of CCGbank."""
    path = check_file(path, f"a CCGbank .auto derivation file. {CCGBANK_HELP}")
    records, current_id = [], None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("ID="):
            current_id = line.split()[0][3:]
            continue
        if not line.strip():
            continue
        leaves = LEAF.findall(line)
        if current_id is None or not leaves:
            raise fail(
                path, lineno, "an ID= header followed by a derivation with (<L ...>) leaves", line
            )
        records.append(
            {
                "id": current_id,
                "tokens": [leaf[3] for leaf in leaves],
                "tags": [leaf[0] for leaf in leaves],
            }
        )
        current_id = None
    return records
