"""Synthetic records of a task (``xstilts.synthetic``): the demo's and the tests' data."""

from __future__ import annotations

from xstilts import synthetic
from xstilts.formats import dual_encoder
from xstilts.formats.retrieval import bucc_rows
from xstilts.splits import split_name, wanted_splits


def _synthetic(task, n: int, lang: str, seed: int) -> list[dict]:
    if task.format == "classification":
        return synthetic.classification(lang, n, seed, task.labels)
    if task.format == "tagging":
        return synthetic.tagging(lang, n, seed, task.labels or synthetic.SUPERTAGS)
    if task.format == "span_qa":
        return synthetic.span_qa(lang, n, seed)
    if task.format == "multiple_choice":
        return synthetic.multiple_choice(lang, n, seed, task.num_labels)
    if task.mined_pairs:
        return bucc_rows(synthetic.bitext(lang, n, seed))
    if task.format == "retrieval":
        return synthetic.parallel(lang, n, seed)
    raise ValueError(f"no synthetic generator for format {task.format!r} (task {task.name})")


def _synthetic_ranking(task, cfg: dict) -> dict[str, list[dict]]:
    """Retrieval queries per (split, language) and, for a target, each language's candidates.
    Mewsli-X has one gold entity per mention, LAReQA the answer in every language."""
    one = task.one_gold
    out, items = {}, {}
    for split, lang in wanted_splits(task, validation_languages=False):
        n = cfg["train_size"] if split == "train" else cfg["eval_size"]
        rows = synthetic.ranking(lang, split, n, cfg["seed"], task.languages, one)
        out[split_name(split, lang)] = rows
        if split != "train":
            items[split] = n
    if task.role == "target":
        for lang in task.languages:
            pool = synthetic.ranking_candidates(lang, items, cfg["seed"], task.languages, one)
            if pool:
                out[split_name(dual_encoder.CANDIDATES, lang)] = pool
    return out


def load_synthetic(task, spec: dict) -> dict[str, list[dict]]:
    cfg = spec["synthetic"]
    if task.format == "dual_encoder":
        return _synthetic_ranking(task, cfg)
    out = {}
    for i, (split, lang) in enumerate(wanted_splits(task, validation_languages=False)):
        n = cfg["train_size"] if split == "train" else cfg["eval_size"]
        out[split_name(split, lang)] = _synthetic(task, n, lang, cfg["seed"] * 1000 + i)
    return out
