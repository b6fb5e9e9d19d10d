"""Sentence retrieval straight from an encoder (no fine-tuning): Tatoeba and BUCC 2018.

A sentence is represented by pooling one hidden layer (``hidden_states[layer]``, 0 being the
embedding output): the mean over the tokens the attention mask keeps (special tokens included),
or the first token (``"cls"``), then L2-normalised. Tatoeba retrieves, for each English sentence,
the nearest non-English sentence; BUCC mines ratio-margin pairs over the distinct texts (see
``xstilts.metrics.retrieval``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from xstilts.metrics.retrieval import (
    best_threshold,
    bucc_mine,
    bucc_scores,
    tatoeba_accuracy,
    tatoeba_search,
)

log = logging.getLogger(__name__)

POOLINGS = ("mean", "cls")


def bucc_rows(corpus: dict) -> list[dict]:
    """A BUCC corpus (``source``, ``target``, ``gold`` pairs) as one row per sentence."""
    gold: dict[str, list[str]] = {}
    for src, tgt in corpus["gold"]:
        gold.setdefault(src, []).append(tgt)
    return [
        {"id": s["id"], "text": s["text"], "side": "source", "gold": gold.get(s["id"], [])}
        for s in corpus["source"]
    ] + [{"id": t["id"], "text": t["text"], "side": "target", "gold": []} for t in corpus["target"]]


def bucc_corpus(rows) -> dict:
    """The inverse of :func:`bucc_rows` (sentences keep their ``input_ids`` once tokenised)."""
    rows = list(rows)
    keep = ("id", "text", "input_ids")

    def side(name):
        return [{k: r[k] for k in keep if k in r} for r in rows if r["side"] == name]

    return {
        "source": side("source"),
        "target": side("target"),
        "gold": [(r["id"], g) for r in rows if r["side"] == "source" for g in r["gold"]],
    }


def default_layer(num_hidden_layers: int) -> int:
    """Layer 14 of 24 (XLM-R Large), scaled to the encoder's depth."""
    return round(num_hidden_layers * 14 / 24)


def trained_pooling(folder: str | Path) -> str | None:
    """How a sentence-transformers model was trained to pool (``modules.json`` and its Pooling
    module's ``config.json``): "mean" or "cls"; None where the folder does not say."""
    modules = Path(folder) / "modules.json"
    if not modules.is_file():
        return None
    pools = [m for m in json.loads(modules.read_text()) if m.get("type", "").endswith("Pooling")]
    if not pools:
        return None
    config = Path(folder) / pools[0]["path"] / "config.json"
    if not config.is_file():
        raise ValueError(f"{modules} names a Pooling module at {config}, which is missing")
    modes = {k for k, v in json.loads(config.read_text()).items() if k.startswith("pooling_mode")}
    modes = {k for k in modes if json.loads(config.read_text())[k]}
    found = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
    if len(modes) != 1 or not modes <= set(found):
        raise ValueError(
            f"{config}: pooling {sorted(modes)} is not one of {POOLINGS}; set the config key "
            "retrieval.pooling (and the model's retrieval_layer) to embed it another way"
        )
    return found[modes.pop()]


def choose(folder: str | Path, layer: int | None, pooling: str | None, depth: int):
    """``(layer, pooling, why)``: the config's where set; else the way a sentence-transformers
    model was trained (its last layer, its pooling); else layer 14/24 of the depth, mean."""
    trained = trained_pooling(folder) if Path(folder).is_dir() else None
    if trained is None:
        why = "default (14/24 of the depth, mean pooling)"
        return (default_layer(depth) if layer is None else layer), pooling or "mean", why
    why = f"as trained (sentence-transformers {trained} pooling of the last layer)"
    if layer is not None or pooling is not None:
        why = "config (the model was trained to pool its last layer, " + trained + ")"
    return (depth if layer is None else layer), pooling or trained, why


def load_encoder(path_or_hub_id: str):
    """``(model, tokenizer)`` of a bare encoder in eval mode (task heads are dropped)."""
    import torch
    from transformers import AutoModel

    from xstilts import tokenizer as tokenizers

    # fp32 whatever dtype the checkpoint was saved in (mdeberta-v3-base's is fp16)
    model = AutoModel.from_pretrained(path_or_hub_id, dtype=torch.float32)
    tokenizer = tokenizers.load(path_or_hub_id)
    return model.eval(), tokenizer


def featurize(dataset, tokenizer, task, max_length: int, train: bool):
    """The token ids of every sentence, beside its text (tokenised once per model, not once
    per retrieval job): BUCC rows get ``input_ids``; Tatoeba pairs ``input_ids`` (the
    non-English ``source``) and ``target_input_ids`` (English)."""

    def ids(texts):
        return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]

    if "side" in dataset.column_names:  # BUCC: one row per sentence
        return dataset.map(lambda b: {"input_ids": ids(b["text"])}, batched=True)
    return dataset.map(
        lambda b: {"input_ids": ids(b["source"]), "target_input_ids": ids(b["target"])},
        batched=True,
    )


def embed_ids(
    model,
    tokenizer,
    encoded: list[list[int]],
    layer: int,
    pooling: str = "mean",
    batch_size: int = 64,
) -> np.ndarray:
    """L2-normalised ``(len(encoded), hidden)`` float32 sentence vectors, in input order.

    Sentences are batched by token length (each batch padded to its own longest) and the rows
    put back in the original order. The encoder runs where :func:`xstilts.device.select` says
    (the job's GPU, bf16 autocast where supported).
    """
    import torch

    from xstilts import device

    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    place = device.select()
    model = place.model(model).eval()
    out = np.zeros((len(encoded), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode(), place.autocast():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer.pad(
                {"input_ids": [encoded[i] for i in rows]},
                pad_to_multiple_of=place.pad_multiple,
                return_tensors="pt",
            )
            batch = place.batch(dict(batch))
            mask = batch["attention_mask"]
            hidden = model(
                input_ids=batch["input_ids"], attention_mask=mask, output_hidden_states=True
            ).hidden_states[layer]
            hidden = hidden.float()  # pool in fp32 whatever the autocast precision
            if pooling == "mean":
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
            else:
                pooled = hidden[:, 0]
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
            out[rows] = pooled.cpu().numpy()
    return out


def predict_tatoeba(
    model,
    tokenizer,
    pairs: list[dict[str, str]],
    layer: int,
    pooling: str = "mean",
    batch_size: int = 64,
) -> list[dict[str, Any]]:
    """Per pair (featurized: see :func:`featurize`), the index of the non-English line its
    English line retrieves among all non-English lines (``prediction``) and its own index
    (``gold``)."""
    kwargs = {"pooling": pooling, "batch_size": batch_size}
    other = embed_ids(model, tokenizer, [p["input_ids"] for p in pairs], layer, **kwargs)
    english = embed_ids(model, tokenizer, [p["target_input_ids"] for p in pairs], layer, **kwargs)
    found = tatoeba_search(other, english)
    return [{"id": p["id"], "prediction": int(found[i]), "gold": i} for i, p in enumerate(pairs)]


def _mine(model, tokenizer, split: dict[str, Any], layer: int, k: int, **kwargs) -> list:
    """Margin candidates ``(score, source_id, target_id)`` of one BUCC split, best first.

    Each distinct text is embedded once (from its cached token ids); pairs whose text several
    sentences share are dropped, as XTREME drops them, with a warning giving their number.
    """
    ids = {s["text"]: s["input_ids"] for side in ("source", "target") for s in split[side]}
    candidates, dropped = bucc_mine(
        split["source"],
        split["target"],
        lambda texts: embed_ids(model, tokenizer, [ids[t] for t in texts], layer, **kwargs),
        k,
    )
    if dropped:
        log.warning(
            "BUCC: %d mined pairs dropped: their text belongs to several sentences", dropped
        )
    return candidates


def predict_bucc(
    model,
    tokenizer,
    split: dict[str, Any],
    layer: int,
    k: int = 4,
    pooling: str = "mean",
    batch_size: int = 64,
) -> list[dict[str, Any]]:
    """Every mined candidate of one BUCC split (featurized sentences: see :func:`featurize`),
    best first, with its margin ``score`` and whether it is gold; then every gold pair no
    candidate found (``score`` None). Scoring (:func:`language_metrics`) picks the threshold
    from these rows alone."""
    kwargs = {"pooling": pooling, "batch_size": batch_size}
    gold = {tuple(pair) for pair in split["gold"]}
    candidates = _mine(model, tokenizer, split, layer, k, **kwargs)
    rows = [
        {"source_id": src, "target_id": tgt, "score": score, "gold": (src, tgt) in gold}
        for score, src, tgt in candidates
    ]
    found = {(src, tgt) for _, src, tgt in candidates}
    rows += [
        {"source_id": src, "target_id": tgt, "score": None, "gold": True}
        for src, tgt in sorted(gold - found)
    ]
    return rows


def faiss_build() -> dict:
    """The faiss build the search ran on: version, and the SIMD kernels it runs. faiss-cpu wheels
    from 1.12 on are one library that picks its kernels at run time (dynamic dispatch: AVX2,
    AVX512...); their loader still tries the older per-ISA modules first and logs "Could not load
    library with AVX2 support" before loading that one library, the fastest one the wheel has."""
    import sys

    import faiss

    config = getattr(faiss, "SIMDConfig", None)
    if config is not None and config.has_dynamic_dispatch():
        return {"version": faiss.__version__, "simd": config.get_level_name(), "dispatch": True}
    loaded = [
        m for m in ("avx512_spr", "avx512", "avx2", "sve") if f"faiss.swigfaiss_{m}" in sys.modules
    ]
    simd = loaded[0].upper() if loaded else "generic"
    return {"version": faiss.__version__, "simd": simd, "dispatch": False}


# --- scoring from the saved rows (no model, no torch, no faiss) ---
def metrics(rows: list[dict], task, lang: str) -> dict[str, float]:
    """Tatoeba accuracy (%) of one split's rows."""
    if not rows:
        raise ValueError(f"{task.name} {lang}: no predictions to score")
    gold = [r["gold"] for r in rows]
    return {"accuracy": tatoeba_accuracy([r["prediction"] for r in rows], gold)}


def _candidates(rows: list[dict]) -> list[tuple]:
    return [(r["score"], r["source_id"], r["target_id"]) for r in rows if r["score"] is not None]


def _gold(rows: list[dict]) -> set[tuple]:
    return {(r["source_id"], r["target_id"]) for r in rows if r["gold"]}


def language_metrics(task, lang: str, splits: dict[str, list[dict]]) -> dict[str, dict]:
    """``{split: metrics}`` of one language. BUCC: the test split's precision, recall and F1
    (%) at the threshold that maximises F1 on the dev (validation) split; never a dev score in
    place of the test score. Tatoeba: accuracy per split."""
    if not task.mined_pairs:
        return {split: metrics(rows, task, lang) for split, rows in splits.items()}
    missing = [s for s in ("validation", "test") if s not in splits]
    if missing:
        raise ValueError(f"{task.name} {lang}: no {' or '.join(missing)} predictions to score")
    dev, test = splits["validation"], splits["test"]
    threshold = best_threshold(_candidates(dev), _gold(dev))
    return {"test": bucc_scores(_candidates(test), _gold(test), threshold)}
