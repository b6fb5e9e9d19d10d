"""The digest of the code that scores a target's predictions: the ``score`` rule's parameter, so a
changed metric re-scores every cell and never re-runs the fine-tuning."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from xstilts import registry

PACKAGE = Path(__file__).resolve().parent


@functools.cache  # once per target while Snakemake plans every score job
def digest(target: str) -> str:
    """sha256 of ``score.py``, the target's format module and every metric module."""
    fmt = registry.get(target).format
    files = [
        PACKAGE / "score.py",
        PACKAGE / "formats" / f"{fmt}.py",
        *sorted(PACKAGE.glob("metrics/*.py")),
    ]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
