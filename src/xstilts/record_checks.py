"""Checks every reader applies to canonical records: a choice label within its choices, unique
evaluation ids."""

from __future__ import annotations

from xstilts.loaders import DataFormatError


def check_choice(task, row: dict, at: str) -> None:
    """A multiple-choice label indexes its choices (-1: none), or the record is an error."""
    if task.format != "multiple_choice":
        return
    n = len(row["choices"])
    if not -1 <= row["label"] < n:
        raise DataFormatError(
            f"{at}: label {row['label']} is out of range for its {n} choices (expected 0-{n - 1})"
        )


def unique_ids(task, name: str, rows: list[dict], where: str) -> None:
    """Evaluation matches predictions to examples by id: a repeated id fails here, not later."""
    if task.format != "span_qa" or name.startswith("train"):
        return
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row["id"] in seen:
            raise DataFormatError(
                f"task {task.name} {name}: question id {row['id']!r} repeated (rows "
                f"{seen[row['id']]} and {i} of {where}); expected unique ids"
            )
        seen[row["id"]] = i
