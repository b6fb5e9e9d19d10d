"""Sentence-classification metrics as reported by XTREME / GLUE.

``accuracy`` is the fraction of exact label matches (XNLI, PAWS-X, QQP); ``f1_binary``
is scikit-learn's default binary F1 for one positive label (QQP), returning 0 when
there are no positive predictions and no positive references. Both return percentages.
"""

from collections.abc import Sequence

Label = int | str


def _check(predictions: Sequence[Label], references: Sequence[Label]) -> None:
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length: {len(predictions)} != {len(references)}"
        )
    if not references:
        raise ValueError("cannot score an empty set of predictions")


def accuracy(predictions: Sequence[Label], references: Sequence[Label]) -> float:
    """Percentage of predictions equal to their reference."""
    _check(predictions, references)
    correct = sum(p == r for p, r in zip(predictions, references, strict=True))
    return 100.0 * correct / len(references)


def f1_binary(
    predictions: Sequence[Label], references: Sequence[Label], positive: Label = 1
) -> float:
    """F1 of the ``positive`` class, 2TP / (2TP + FP + FN), as a percentage."""
    _check(predictions, references)
    tp = fp = fn = 0
    for p, r in zip(predictions, references, strict=True):
        if p == positive and r == positive:
            tp += 1
        elif p == positive:
            fp += 1
        elif r == positive:
            fn += 1
    denominator = 2 * tp + fp + fn
    return 100.0 * 2 * tp / denominator if denominator else 0.0
