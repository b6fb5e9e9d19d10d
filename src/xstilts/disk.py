"""Disk held by the resumable checkpoints of running training jobs (no model imports).

A training job keeps only its newest complete checkpoint, plus the best one while a selection
set picks it (target training: ``save_total_limit=1`` in :mod:`xstilts.train`). The checkpoint
being written exists beside them until it is complete and the older one is deleted, so at its
peak a job holds 2 checkpoints, 3 with selection.
"""

from __future__ import annotations


def checkpoints_at_peak(select: bool) -> int:
    """Checkpoints one training job holds at its peak (while writing a new one)."""
    return 3 if select else 2


def peak_checkpoint_bytes(checkpoint_bytes: float, concurrent_jobs: int, select: bool) -> float:
    """Peak bytes of the checkpoints of ``concurrent_jobs`` training jobs running at once."""
    return checkpoint_bytes * checkpoints_at_peak(select) * concurrent_jobs
