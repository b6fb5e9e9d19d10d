"""Prepare a task's data: from the hub, original files, or the synthetic generator, to Arrow.

Every task becomes a ``datasets.DatasetDict`` whose splits are named ``{split}.{lang}``
(``xstilts.splits``) and whose rows follow the task format's canonical record (see
``xstilts.formats``). The same prepared data serves every model and seed. Hub data are read from
the mirror (``xstilts.read_hub``), never from the network. Nothing is silently left out: a split
the task needs and does not get is an error naming what is missing and where it was looked for,
unless the registry declares the gap (``Task.gaps``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from xstilts import registry
from xstilts.loaders import DataFormatError
from xstilts.read_hub import load_hub
from xstilts.read_local import load_local
from xstilts.read_synthetic import load_synthetic
from xstilts.registry import restrict
from xstilts.splits import declared_gaps, split_name, wanted_splits

READERS = {"synthetic": load_synthetic, "local": load_local}  # the hub reader also counts drops


def _encode_labels(task, rows: list[dict], where: str) -> list[dict]:
    if task.format != "classification":
        return rows
    index = {name: i for i, name in enumerate(task.labels)}
    out = []
    for row in rows:
        if row["label"] not in index:
            raise DataFormatError(
                f"{where}: row {row['id']!r} has label {row['label']!r}; "
                f"task {task.name} expects one of {list(task.labels)}"
            )
        out.append({**row, "label": index[row["label"]]})
    return out


LABELS_FILE = "labels.json"


def resolve(task_name: str, folder: Path):
    """The task, with its label inventory read from prepared data when the registry has none
    (CCG supertags are whatever the training data holds)."""
    task = registry.get(task_name)
    labels = Path(folder) / LABELS_FILE
    if task.labels or not labels.is_file():
        return task
    return dataclasses.replace(task, labels=tuple(json.loads(labels.read_text())))


def _tag_inventory(rows: dict[str, list[dict]]) -> list[str]:
    tags = {
        t
        for name, split in rows.items()
        if name.startswith("train")
        for r in split
        for t in r["tags"]
    }
    return sorted(tags)


def prepare(task_name: str, spec: dict, out_dir: Path) -> dict:
    """Load ``task_name`` from ``spec['source']`` and save it to ``out_dir``; returns a summary.
    ``spec['languages']`` (the config's benchmark's set) replaces the registry's languages."""
    import datasets

    task = restrict(registry.get(task_name), spec.get("languages"), spec["source"] == "local")
    dropped: dict[str, int] = {}
    if spec["source"] == "hub":
        rows = load_hub(task, spec, dropped)
    else:
        rows = READERS[spec["source"]](task, spec)
    cap = spec.get("max_eval_examples")
    dd = datasets.DatasetDict()
    for name, split_rows in rows.items():
        if cap and not name.startswith("train"):
            split_rows = split_rows[:cap]
        dd[name] = datasets.Dataset.from_list(
            _encode_labels(task, split_rows, f"task {task_name} split {name}")
        )
    dd.save_to_disk(str(out_dir))
    if task.format == "tagging" and not task.labels:
        (Path(out_dir) / LABELS_FILE).write_text(json.dumps(_tag_inventory(rows)))
    return {
        "task": task_name,
        "source": spec["source"],
        "rows": {name: len(ds) for name, ds in dd.items()},
        "fingerprints": {name: ds._fingerprint for name, ds in dd.items()},
        "splits_missing": sorted(
            {split_name(*s) for s in wanted_splits(task, spec["source"] != "synthetic")} - set(dd)
        ),
        "splits_declared_absent": declared_gaps(task),
        "unlabelled_rows_dropped": dropped,
        "languages": list(task.languages),
    }
