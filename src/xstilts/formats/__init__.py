"""One module per task format, shared by every task of that format.

Each trainable format module exposes ``model_kwargs(task)``, ``featurize(dataset, tokenizer, task,
max_length, train)``, ``collator(tokenizer, pad_to_multiple_of=None)``, ``selection_metric`` (a
``compute_metrics`` for checkpoint selection, or None to select on loss) and ``score(logits,
examples, features, task, lang) -> (metrics, predictions)``.
"""

from importlib import import_module


def get(fmt: str):
    """The module implementing format ``fmt`` (imported on first use: it pulls in torch)."""
    return import_module(f"xstilts.formats.{fmt}")
