"""Multiple choice: HellaSwag, CosmosQA, CommonsenseQA (intermediate), XCOPA (target).

Records: ``{"id", "context", "question", "choices": [...], "label"}`` with ``label`` the index of
the right choice, -1 when unlabelled (such examples are predicted, never scored or trained on).

Every choice becomes one sequence pair, as in jiant and Hugging Face's SWAG example: the context
first, then the question and the choice (HellaSwag: ``ctx_a`` | ``ctx_b`` + ending). Without a
context (CommonsenseQA) the pair is question | choice. The head scores each pair with one logit;
the softmax over an example's choices is trained with cross-entropy.
"""

from __future__ import annotations

import numpy as np

from xstilts.metrics.classification import accuracy

IGNORE = -100  # unlabelled examples in a batch: ignored by the model's cross-entropy loss


def model_kwargs(task) -> dict:
    """Nothing: the multiple-choice head has one output per choice whatever the encoder's config."""
    return {}


def _pair(context: str, question: str, choice: str) -> tuple[str, str]:
    """The (first, second) segments encoding one choice."""
    if not context:
        return question, choice
    return context, f"{question} {choice}" if question else choice


def _encode_pairs(tokenizer, firsts: list[str], seconds: list[str], max_length: int) -> dict:
    """Encoded pairs, truncating the first segment only, or both where the second alone is too
    long for ``max_length`` (which "only_first" cannot handle)."""
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    second_lengths = map(len, tokenizer(seconds, add_special_tokens=False)["input_ids"])
    only_first = [n + specials < max_length for n in second_lengths]
    encoded: dict[str, list] = {}
    for strategy, flag in (("only_first", True), ("longest_first", False)):
        index = [i for i, f in enumerate(only_first) if f == flag]
        if not index:
            continue
        part = tokenizer(
            [firsts[i] for i in index],
            [seconds[i] for i in index],
            truncation=strategy,
            max_length=max_length,
        )
        for key, rows in part.items():
            column = encoded.setdefault(key, [None] * len(firsts))
            for i, row in zip(index, rows, strict=True):
                column[i] = row
    return encoded


def featurize(dataset, tokenizer, task, max_length: int, train: bool):
    """Per example, one unpadded sequence per choice (``input_ids`` [n_choices][len]) and
    ``labels`` (the right choice, -1 if unknown)."""

    def encode(batch):
        firsts, seconds, counts = [], [], []
        for context, question, choices, label in zip(
            batch["context"], batch["question"], batch["choices"], batch["label"], strict=True
        ):
            if not -1 <= label < len(choices):
                raise ValueError(f"label {label} out of range for {len(choices)} choices")
            for choice in choices:
                first, second = _pair(context, question, choice)
                firsts.append(first)
                seconds.append(second)
            counts.append(len(choices))
        flat = _encode_pairs(tokenizer, firsts, seconds, max_length)
        bounds = np.cumsum([0, *counts])
        enc = {
            key: [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
            for key, rows in flat.items()
        }
        enc["labels"] = batch["label"]
        return enc

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


class Collator:
    """Pads every choice of every example to the batch's longest choice: tensors [batch, choices,
    length]; unlabelled examples get label -100 (no loss)."""

    def __init__(self, tokenizer, pad_to_multiple_of: int | None = None):
        from transformers import DataCollatorForMultipleChoice

        self.pad = DataCollatorForMultipleChoice(tokenizer, pad_to_multiple_of=pad_to_multiple_of)

    def __call__(self, examples: list[dict]) -> dict:
        counts = {len(example["input_ids"]) for example in examples}
        if len(counts) > 1:
            raise ValueError(f"examples in one batch have different numbers of choices: {counts}")
        batch = self.pad(examples)
        batch["labels"][batch["labels"] < 0] = IGNORE
        return batch


def collator(tokenizer, pad_to_multiple_of: int | None = None) -> Collator:
    return Collator(tokenizer, pad_to_multiple_of)


def selection_metric(eval_pred) -> dict:
    """Validation accuracy (unlabelled examples left out), used to pick the best checkpoint."""
    logits, labels = eval_pred
    labels = np.asarray(labels)
    keep = labels >= 0
    return {"accuracy": accuracy(np.argmax(logits, -1)[keep].tolist(), labels[keep].tolist())}


def predictions(logits, examples, features, task) -> list[dict]:
    """The predicted and gold choice of every example (gold -1: unlabelled)."""
    pred = np.argmax(logits, -1).tolist()
    return [
        {"id": i, "prediction": p, "gold": g}
        for i, p, g in zip(examples["id"], pred, list(examples["label"]), strict=True)
    ]


def metrics(rows: list[dict], task, lang: str) -> dict:
    """Accuracy over the labelled examples of saved predictions (none labelled: no metric)."""
    labelled = [(r["prediction"], r["gold"]) for r in rows if r["gold"] >= 0]
    if not labelled:
        return {}
    predicted, references = zip(*labelled, strict=True)
    return {"accuracy": accuracy(predicted, references)}


def score(logits, examples, features, task, lang: str):
    """Accuracy over the labelled examples (none: no metric) and the predicted choice of each."""
    rows = predictions(logits, examples, features, task)
    return metrics(rows, task, lang), rows
