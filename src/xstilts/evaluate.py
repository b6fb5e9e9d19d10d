"""Zero-shot predictions of a fine-tuned target model in every language of its task.

Each evaluation split (``validation.xx``, ``test.xx``) is predicted in batches of similar length
(sorted, dynamically padded) and written per language; ``xstilts.score`` scores the files.
Retrieval tasks are predicted and scored straight from an encoder.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from xstilts import device, formats, registry, score
from xstilts.formats import dual_encoder
from xstilts.prepare import resolve
from xstilts.splits import parse_split, split_name

log = logging.getLogger(__name__)


PAD = -100.0  # fills the sequence axis of outputs from shorter batches


def predict(model, feats, collator, batch_size: int, *, sort: bool = True):
    """The model's outputs on every feature, in the features' order: one array (a tuple of two
    for span QA's start and end logits).

    Batches are cut from the features sorted by length (``sort``), so each is padded only to its
    own longest member. Outputs with a sequence axis are padded with ``PAD`` to a common length.
    A plain inference loop: no ``Trainer`` set-up (its imports, its output folder) per job.
    """
    import inspect

    import torch

    accepted = inspect.signature(model.forward).parameters
    inputs = feats.select_columns([c for c in feats.column_names if c in accepted])
    n = len(inputs)
    if n == 0:
        raise ValueError("no features to predict")
    order = np.argsort(-np.asarray(feats["length"]), kind="stable") if sort else np.arange(n)
    place = device.select()
    model = place.model(model).eval()
    chunks: list[list[np.ndarray]] = []
    with torch.inference_mode(), place.autocast():
        for first in range(0, n, batch_size):
            rows = inputs[order[first : first + batch_size]]
            batch = collator(
                [dict(zip(rows, v, strict=True)) for v in zip(*rows.values(), strict=True)]
            )
            out = model(**place.batch(dict(batch)))
            chunks.append([v.float().cpu().numpy() for k, v in out.items() if k != "loss"])
    inverse = np.empty_like(order)
    inverse[order] = np.arange(n)
    outputs = tuple(_concat_padded([c[i] for c in chunks])[inverse] for i in range(len(chunks[0])))
    return outputs if len(outputs) > 1 else outputs[0]


def _concat_padded(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate along the first axis, padding the second (if any) with ``PAD``."""
    if arrays[0].ndim == 1:
        return np.concatenate(arrays)
    width = max(a.shape[1] for a in arrays)
    rest = [(0, 0)] * (arrays[0].ndim - 2)
    padded = [
        np.pad(a, [(0, 0), (0, width - a.shape[1]), *rest], constant_values=PAD) for a in arrays
    ]
    return np.concatenate(padded)


def evaluation_splits(names) -> list[str]:
    return [n for n in names if parse_split(n)[0] in ("validation", "test")]


def predict_splits(
    *,
    model_dir: Path,
    task_name: str,
    data_dir: Path,
    cache_dir: Path,
    predictions_dir: Path,
    batch_size: int = 64,
) -> dict:
    """Predict every evaluation split; write its predictions (``{split}.{lang}.jsonl``); return
    the split names and their metrics scored here (``xstilts score`` recomputes them from the
    files alone)."""
    import datasets

    datasets.disable_caching()  # never write cache files into inputs' folders
    from xstilts import tokenizer as tokenizers
    from xstilts.models import load_model

    task = resolve(task_name, data_dir)
    fmt = formats.get(task.format)
    tokenizer = tokenizers.load(str(model_dir))
    model = load_model(str(model_dir), task)
    collator = fmt.collator(tokenizer, device.select().pad_multiple)
    prepared = datasets.load_from_disk(str(data_dir))
    feats = datasets.load_from_disk(str(cache_dir))
    predictions_dir.mkdir(parents=True, exist_ok=True)
    if task.format == "dual_encoder":  # every split ranked against one candidate pool
        splits = predict_pooled(model, tokenizer, task, prepared, feats, batch_size)
    else:
        splits = {}
        for name in evaluation_splits(prepared):
            logits = predict(model, feats[name], collator, batch_size)
            splits[name] = fmt.predictions(logits, prepared[name], feats[name], task)
    if not splits:
        raise ValueError(f"{task_name}: {data_dir} has no evaluation split to predict")
    for name, rows in splits.items():
        if len(rows) != len(prepared[name]):
            raise ValueError(f"{task_name} {name}: predicted {len(rows)} examples")
        score.write(predictions_dir / f"{name}.jsonl", rows)
    results = score.results(task, splits)
    for split, langs in results.items():
        for lang, metrics in langs.items():
            log.info("%s %s.%s: %s", task_name, split, lang, metrics)
    return {"splits": list(splits), "scored_in_job": results}


def predict_retrieval(
    *,
    encoder: str,
    task_name: str,
    cache_dir: Path,
    predictions_dir: Path,
    layer: int | None = None,
    pooling: str | None = None,
    batch_size: int = 64,
) -> dict:
    """Retrieve every language of Tatoeba or BUCC (tokenised once: ``cache_dir``, the model's
    cache of the task) straight from an encoder; write the rows
    (``{split}.{lang}.jsonl``: Tatoeba's retrieved indices, BUCC's mined candidates) that
    ``xstilts score`` scores; return the split names, the metrics scored here from the same rows
    (for the log), the layer and the pooling."""
    import datasets

    datasets.disable_caching()  # never write cache files into inputs' folders

    from xstilts.formats import retrieval

    task = registry.get(task_name)
    model, tokenizer = retrieval.load_encoder(encoder)
    depth = model.config.num_hidden_layers
    layer, pooling, why = retrieval.choose(encoder, layer, pooling, depth)
    log.info("%s: layer %d of %d, %s pooling: %s", encoder, layer, depth, pooling, why)
    opts = {"pooling": pooling, "batch_size": batch_size}
    prepared = datasets.load_from_disk(str(cache_dir))
    predictions_dir.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[dict]] = {}
    for lang in task.languages:
        dev, test = (prepared.get(split_name(s, lang)) for s in ("validation", "test"))
        if task.mined_pairs and (dev is None or test is None):
            missing = "validation (sample) split" if dev is None else "test split"
            raise ValueError(
                f"{task_name} {lang}: no {missing} in {cache_dir}. {task.gold}".strip()
            )
        if dev is None and test is None:
            raise ValueError(f"{task_name} {lang}: no evaluation split in {cache_dir}")
        for split, rows in (("validation", dev), ("test", test)):
            if rows is None:
                continue
            if task.mined_pairs:
                predicted = retrieval.predict_bucc(
                    model, tokenizer, retrieval.bucc_corpus(rows), layer, **opts
                )
            else:
                predicted = retrieval.predict_tatoeba(model, tokenizer, list(rows), layer, **opts)
            name = split_name(split, lang)
            splits[name] = predicted
            score.write(predictions_dir / f"{name}.jsonl", predicted)
    results = score.results(task, splits)
    for split, langs in results.items():
        for lang, metrics in langs.items():
            log.info("%s %s.%s: %s", task_name, split, lang, metrics)
    return {
        "splits": list(splits),
        "scored_in_job": results,
        "layer": layer,
        "pooling": pooling,
        "faiss": retrieval.faiss_build(),
        "layer_and_pooling": why,
    }


def predict_pooled(model, tokenizer, task, prepared, feats, batch_size) -> dict[str, list[dict]]:
    """Every evaluation split ranked against the pooled candidates of every language: per split
    name, each query's top candidates."""
    pad = dual_encoder.collator(tokenizer, device.select().pad_multiple)
    pool = sorted(n for n in prepared if parse_split(n)[0] == dual_encoder.CANDIDATES)
    if not pool:
        raise ValueError(
            f"task {task.name}: the prepared data has no {dual_encoder.CANDIDATES}.* split"
        )
    ids, vectors, seen = [], [], set()
    for name in pool:
        keep = [i for i, c in enumerate(prepared[name]["id"]) if c not in seen]
        seen.update(prepared[name]["id"])
        ids += [prepared[name]["id"][i] for i in keep]
        vectors.append(predict(model, feats[name], pad, batch_size)[keep])
    candidates = np.concatenate(vectors)
    out: dict[str, list[dict]] = {}
    for split in ("validation", "test"):
        names = [n for n in prepared if parse_split(n)[0] == split]
        if not names:
            continue
        queries = {parse_split(n)[1]: list(prepared[n]) for n in names}
        vecs = {parse_split(n)[1]: predict(model, feats[n], pad, batch_size) for n in names}
        _, predictions = dual_encoder.score_rankings(queries, vecs, ids, candidates)
        for lang, rows in predictions.items():
            out[split_name(split, lang)] = rows
    return out
