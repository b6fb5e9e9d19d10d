"""Sentence(-pair) classification: MNLI, QQP, XNLI, PAWS-X (and any single-sentence task).

Records: ``{"id", "text_a", "text_b", "label"}`` with ``label`` the index into ``task.labels``.
"""

from __future__ import annotations

import numpy as np

from xstilts.metrics.classification import accuracy


def model_kwargs(task) -> dict:
    return {
        "num_labels": task.num_labels,
        "id2label": dict(enumerate(task.labels)),
        "label2id": {name: i for i, name in enumerate(task.labels)},
    }


def featurize(dataset, tokenizer, task, max_length: int, train: bool):
    """Token ids (unpadded: the collator pads each batch to its own longest sequence)."""

    def encode(batch):
        second = batch["text_b"] if any(batch["text_b"]) else None
        enc = tokenizer(batch["text_a"], second, truncation=True, max_length=max_length)
        enc["labels"] = batch["label"]
        return enc

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


def collator(tokenizer, pad_to_multiple_of: int | None = None):
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)


def selection_metric(eval_pred) -> dict:
    """Validation metric used to pick the best checkpoint."""
    logits, labels = eval_pred
    return {"accuracy": accuracy(np.argmax(logits, -1).tolist(), labels.tolist())}


def predictions(logits, examples, features, task) -> list[dict]:
    """The predicted and gold label of every example of one evaluation split."""
    pred = np.argmax(logits, -1).tolist()
    return [
        {"id": i, "prediction": task.labels[p], "gold": task.labels[g]}
        for i, p, g in zip(examples["id"], pred, list(examples["label"]), strict=True)
    ]


def metrics(rows: list[dict], task, lang: str) -> dict:
    """Accuracy of saved predictions."""
    return {"accuracy": accuracy([r["prediction"] for r in rows], [r["gold"] for r in rows])}


def score(logits, examples, features, task, lang: str):
    """Metrics and per-example predictions of one evaluation split."""
    rows = predictions(logits, examples, features, task)
    return metrics(rows, task, lang), rows
