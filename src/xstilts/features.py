"""Tokenise a prepared task once per model; every seed and intermediate task reuses the cache.

Each split of the prepared data becomes model features; the English validation split is also
stored in training form as ``selection`` (labels the Trainer can compute a loss on), which picks
the best checkpoint. A ``length`` column feeds length-grouped batching.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from xstilts import formats
from xstilts import tokenizer as tokenizers
from xstilts.prepare import LABELS_FILE, resolve

SELECTION = "selection"


def _n_tokens(ids) -> int:
    """Tokens of one feature (multiple-choice features hold one sequence per choice)."""
    return sum(map(len, ids)) if ids and isinstance(ids[0], list) else len(ids)


def tokenize(
    model_ref: str,
    data_dir: Path,
    task_name: str,
    max_length: int,
    out_dir: Path,
) -> dict:
    import datasets

    datasets.disable_caching()  # never write cache files into inputs' folders
    task = resolve(task_name, data_dir)
    fmt = formats.get(task.format)
    tokenizer = tokenizers.load(model_ref)
    prepared = datasets.load_from_disk(str(data_dir))
    out = datasets.DatasetDict()
    for name, ds in prepared.items():
        out[name] = fmt.featurize(ds, tokenizer, task, max_length, train=name.startswith("train"))
    if "validation.en" in prepared:
        out[SELECTION] = fmt.featurize(
            prepared["validation.en"], tokenizer, task, max_length, train=True
        )
    for name in out:
        out[name] = out[name].map(
            lambda b: {"length": [_n_tokens(x) for x in b["input_ids"]]},
            batched=True,  # in this process: datasets forks a pool for any num_proc, even 1
        )
    out.save_to_disk(str(out_dir))
    if (Path(data_dir) / LABELS_FILE).is_file():  # travels with the features
        shutil.copy(Path(data_dir) / LABELS_FILE, Path(out_dir) / LABELS_FILE)
    return {
        "tokenizer": tokenizer.name_or_path,
        "max_length": max_length,
        "features": {name: len(ds) for name, ds in out.items()},
        "tokens": {name: int(sum(ds["length"])) for name, ds in out.items()},
    }
