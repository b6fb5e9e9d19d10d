"""Zero-shot evaluation of a fine-tuned target model in every language of its task.

Each evaluation split (``validation.xx``, ``test.xx``) is predicted in batches of similar length
(sorted, dynamically padded), scored by the format module, and written per language.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np

from xstilts import data, formats, registry

log = logging.getLogger(__name__)


def predict_sorted(trainer, feats):
    """``trainer.predict`` over features sorted by length, returned in the original order."""
    order = np.argsort(-np.asarray(feats["length"]), kind="stable")
    out = trainer.predict(feats.select(order)).predictions
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    if isinstance(out, tuple):
        return tuple(o[inverse] for o in out)
    return out[inverse]


def evaluation_trainer(model, tokenizer, fmt, batch_size: int):
    import torch
    from transformers import Trainer, TrainingArguments

    cuda = torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="xstilts-eval-"),
        per_device_eval_batch_size=batch_size,
        use_cpu=not cuda,
        bf16_full_eval=cuda and torch.cuda.is_bf16_supported(),
        report_to=[],
        disable_tqdm=True,
    )
    return Trainer(
        model=model, args=args, processing_class=tokenizer, data_collator=fmt.collator(tokenizer)
    )


def evaluation_splits(names) -> list[str]:
    return [n for n in names if data.parse_split(n)[0] in ("validation", "test")]


def _write_predictions(folder: Path, name: str, rows: list[dict]) -> None:
    with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def evaluate(
    *,
    model_dir: Path,
    task_name: str,
    data_dir: Path,
    cache_dir: Path,
    predictions_dir: Path,
    batch_size: int = 64,
) -> dict:
    """Score every evaluation split; write predictions per split and language; return metrics."""
    import datasets

    datasets.disable_caching()  # never write cache files into inputs' folders
    from transformers import AutoTokenizer

    from xstilts.train import load_model

    task = data.resolve(task_name, data_dir)
    fmt = formats.get(task.format)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    trainer = evaluation_trainer(load_model(str(model_dir), task), tokenizer, fmt, batch_size)
    prepared = datasets.load_from_disk(str(data_dir))
    feats = datasets.load_from_disk(str(cache_dir))
    results: dict[str, dict[str, dict]] = {}
    predictions_dir.mkdir(parents=True, exist_ok=True)
    for name in evaluation_splits(prepared):
        split, lang = data.parse_split(name)
        logits = predict_sorted(trainer, feats[name])
        metrics, predictions = fmt.score(logits, prepared[name], feats[name], task, lang)
        results.setdefault(split, {})[lang] = {**metrics, "n": len(prepared[name])}
        log.info("%s %s: %s", task_name, name, metrics)
        _write_predictions(predictions_dir, name, predictions)
    return {
        "task": task_name,
        "format": task.format,
        "metrics": list(task.metrics),
        "results": results,
    }


def evaluate_retrieval(
    *,
    encoder: str,
    task_name: str,
    data_dir: Path,
    predictions_dir: Path,
    layer: int | None = None,
    pooling: str = "mean",
    batch_size: int = 64,
) -> dict:
    """Tatoeba accuracy or BUCC F1 straight from an encoder, per language."""
    import datasets

    datasets.disable_caching()  # never write cache files into inputs' folders

    from xstilts.formats import retrieval

    task = registry.get(task_name)
    model, tokenizer = retrieval.load_encoder(encoder)
    if layer is None:
        layer = retrieval.default_layer(model.config.num_hidden_layers)
    opts = {"pooling": pooling, "batch_size": batch_size, "max_length": task.max_length}
    prepared = datasets.load_from_disk(str(data_dir))
    results: dict[str, dict[str, dict]] = {}
    predictions_dir.mkdir(parents=True, exist_ok=True)
    for lang in task.languages:
        dev, test = (prepared.get(data.split_name(s, lang)) for s in ("validation", "test"))
        if task.name == "bucc":
            if dev is None:
                log.warning("bucc %s: no dev (sample) split to tune the threshold on", lang)
                continue
            test_corpus = data.bucc_corpus(test) if test is not None else None
            metrics, predictions = retrieval.evaluate_bucc(
                model, tokenizer, data.bucc_corpus(dev), test_corpus, layer, **opts
            )
            split = "test" if metrics.pop("split") == "test" else "validation"
            runs = [(split, metrics, predictions, len(test if test is not None else dev))]
        else:
            runs = []
            for split, rows in (("validation", dev), ("test", test)):
                if rows is not None:
                    metrics, predictions = retrieval.evaluate_tatoeba(
                        model, tokenizer, list(rows), layer, **opts
                    )
                    runs.append((split, metrics, predictions, len(rows)))
        for split, metrics, predictions, n in runs:
            results.setdefault(split, {})[lang] = {**metrics, "n": n}
            log.info("%s %s.%s: %s", task_name, split, lang, metrics)
            _write_predictions(predictions_dir, data.split_name(split, lang), predictions)
    return {
        "task": task_name,
        "format": task.format,
        "metrics": list(task.metrics),
        "results": results,
        "layer": layer,
        "pooling": pooling,
    }
