"""Token tagging: UD-POS, PAN-X (WikiANN NER), CCG supertags.

Records: ``{"id", "tokens": [...], "tags": [...]}`` with tags as label names. The label goes on
the first sub-word of each word; the other sub-words are ignored (-100); predictions are read off
first sub-words, so every word gets exactly one predicted tag.
"""

from __future__ import annotations

import numpy as np

from xstilts.metrics.tagging import entity_f1, repair_iob2

IGNORE = -100


def model_kwargs(task) -> dict:
    return {
        "num_labels": task.num_labels,
        "id2label": dict(enumerate(task.labels)),
        "label2id": {name: i for i, name in enumerate(task.labels)},
    }


def featurize(dataset, tokenizer, task, max_length: int, train: bool):
    """Sub-word ids with labels on first sub-words (words cut by truncation are dropped)."""
    label_id = {name: i for i, name in enumerate(task.labels)}

    def encode(batch):
        enc = tokenizer(
            batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length
        )
        labels = []
        for i, tags in enumerate(batch["tags"]):
            row, previous = [], None
            for word in enc.word_ids(i):
                first = word is not None and word != previous
                # a tag unseen in training (open CCG inventory) is not a training target
                row.append(label_id.get(tags[word], IGNORE) if first else IGNORE)
                previous = word
            labels.append(row)
        enc["labels"] = labels
        return enc

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


def collator(tokenizer, pad_to_multiple_of: int | None = None):
    from transformers import DataCollatorForTokenClassification

    return DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=pad_to_multiple_of)


def _first_subword_predictions(logits, features, names) -> list[list[str]]:
    """Predicted tag names at first sub-words, one list per sentence."""
    pred_ids = np.argmax(logits, -1)
    preds = []
    for p_row, l_row in zip(pred_ids, features["labels"], strict=True):
        keep = np.asarray(l_row) != IGNORE
        preds.append([names[i] for i in p_row[: len(l_row)][keep]])
    return preds


def selection_metric(eval_pred) -> dict:
    """Validation metric used to pick the best checkpoint: micro accuracy of first sub-words."""
    logits, labels = eval_pred
    keep = labels != IGNORE
    return {"accuracy": float((np.argmax(logits, -1)[keep] == labels[keep]).mean() * 100)}


def predictions(logits, examples, features, task) -> list[dict]:
    """Predicted tags at first sub-words and gold tags, per sentence. Words lost to truncation
    are predicted "O", as XTREME's scorer sees whole sentences."""
    preds = _first_subword_predictions(logits, features, task.labels)
    golds = [list(tags) for tags in examples["tags"]]
    return [
        {"id": i, "prediction": p + ["O"] * (len(g) - len(p)), "gold": g}
        for i, p, g in zip(examples["id"], preds, golds, strict=True)
    ]


def metrics(rows: list[dict], task, lang: str) -> dict:
    """seqeval F1 over words of saved predictions in the task's ``tag_scheme`` (IOB2-repaired
    predictions for NER)."""
    if task.tag_scheme is None:
        raise ValueError(f"task {task.name!r}: the registry gives no tag_scheme to score it with")
    preds = [r["prediction"] for r in rows]
    if task.tag_scheme == "iob2":
        preds = [repair_iob2(p) for p in preds]
    return entity_f1(preds, [r["gold"] for r in rows], task.tag_scheme)


def score(logits, examples, features, task, lang: str):
    """seqeval F1 over words; per-sentence predictions."""
    rows = predictions(logits, examples, features, task)
    return metrics(rows, task, lang), rows
