"""Retrieval metrics (hand-computed cases) and the Tatoeba/BUCC evaluation on real data slices."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts.formats.retrieval import (
    default_layer,
    embed,
    evaluate_bucc,
    evaluate_tatoeba,
    load_encoder,
)
from xstilts.metrics.retrieval import (
    best_threshold,
    bucc_scores,
    knn,
    margin_candidates,
    tatoeba_accuracy,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Cosines of 3 sources (rows) with 3 targets (columns), used by the hand-computed cases below.
COS = np.array(
    [
        [0.45, 0.25, 0.05],
        [0.40, 0.30, 0.10],
        [0.05, 0.10, 0.20],
    ]
)


def _vectors(cos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors with ``src[i] @ tgt[j] == cos[i, j]``: sources are basis vectors, each
    target is column j of ``cos`` plus a 4th coordinate that brings it to unit length."""
    n = len(cos)
    src = np.eye(n, n + 1)
    tgt = np.hstack([cos.T, np.sqrt(1 - (cos.T**2).sum(axis=1, keepdims=True))])
    return src.astype(np.float32), tgt.astype(np.float32)


def test_vectors_helper_reproduces_the_cosines():
    src, tgt = _vectors(COS)
    np.testing.assert_allclose(np.linalg.norm(tgt, axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(src @ tgt.T, COS, rtol=1e-6)


def test_margin_candidates_by_hand():
    # k = 2. Mean of the 2 nearest neighbours' cosines:
    #   sources: s0 (.45+.25)/2 = .35,  s1 (.40+.30)/2 = .35,  s2 (.20+.10)/2 = .15
    #   targets: t0 (.45+.40)/2 = .425, t1 (.30+.25)/2 = .275, t2 (.20+.10)/2 = .15
    # Margins cos / ((m_s + m_t)/2) over each side's 2 nearest neighbours:
    #   s0: t0 .45/.3875 = 1.1613, t1 .25/.3125 = 0.8     -> forward s0-t0
    #   s1: t0 .40/.3875 = 1.0323, t1 .30/.3125 = 0.96    -> forward s1-t0
    #   s2: t2 .20/.15   = 1.3333, t1 .10/.2125 = 0.4706  -> forward s2-t2
    #   t0: s0 1.1613, s1 1.0323            -> backward s0-t0
    #   t1: s1 0.96,   s0 0.8               -> backward s1-t1 (found only backward)
    #   t2: s2 1.3333, s1 .10/.25 = 0.4     -> backward s2-t2
    # Union by score: s2-t2 1.3333, s0-t0 1.1613, s1-t0 1.0323, s1-t1 0.96.
    # One-to-one: s1-t0 is dropped (t0 already taken by s0), s1-t1 is kept.
    src, tgt = _vectors(COS)
    got = margin_candidates(src, tgt, k=2)
    expected = [(0.2 / 0.15, 2, 2), (0.45 / 0.3875, 0, 0), (0.3 / 0.3125, 1, 1)]
    assert [(i, j) for _, i, j in got] == [(i, j) for _, i, j in expected]
    assert [s for s, _, _ in got] == pytest.approx([s for s, _, _ in expected], rel=1e-5)


def test_margin_candidates_k_changes_scores():
    # With k = 3 every mean covers all three cosines, so the s2-t2 margin differs from k = 2.
    src, tgt = _vectors(COS)
    top = margin_candidates(src, tgt, k=3)[0]
    m_s2, m_t2 = (0.05 + 0.10 + 0.20) / 3, (0.05 + 0.10 + 0.20) / 3
    assert top[1:] == (2, 2)
    assert top[0] == pytest.approx(0.2 / ((m_s2 + m_t2) / 2), rel=1e-5)


def test_tatoeba_accuracy_by_hand():
    # Nearest targets: s0 -> t0 (.45, right), s1 -> t0 (.40, wrong), s2 -> t2 (.20, right): 2/3.
    src, tgt = _vectors(COS)
    assert tatoeba_accuracy(src, tgt) == pytest.approx(200 / 3)


def test_tatoeba_accuracy_rejects_misaligned_inputs():
    src, tgt = _vectors(COS)
    with pytest.raises(ValueError):
        tatoeba_accuracy(src, tgt[:2])


def test_knn_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 16)).astype(np.float32)
    y = rng.normal(size=(80, 16)).astype(np.float32)
    sims, idx = knn(x, y, 5)
    products = x @ y.T
    expected = np.argsort(-products, axis=1)[:, :5]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(sims, np.take_along_axis(products, expected, 1), rtol=1e-5)


def test_knn_caps_k_at_the_number_of_targets():
    sims, idx = knn(np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32)[:2], 4)
    assert sims.shape == idx.shape == (3, 2)


def test_best_threshold_by_hand():
    candidates = [(1.4, "a", "A"), (1.2, "b", "B"), (1.1, "c", "C"), (0.9, "d", "D")]
    gold = {("a", "A"), ("c", "C"), ("x", "X")}
    # Cut after n candidates (tp, precision, recall, F1):
    #   1: 1, 1, 1/3, 0.5;  2: 1, 1/2, 1/3, 0.4;  3: 2, 2/3, 2/3, 2/3;  4: 2, 1/2, 2/3, 4/7.
    # Best is 3: threshold midway between 1.1 and 0.9.
    threshold, f1, precision, recall = best_threshold(candidates, gold)
    assert threshold == pytest.approx(1.0)
    assert (f1, precision, recall) == pytest.approx((200 / 3, 200 / 3, 200 / 3))


def test_best_threshold_does_not_split_ties():
    # Cutting between the two 1.0s would give F1 100, but no threshold can do that:
    # keep both (P 1/2, R 1, F1 2/3) with the threshold midway between 1.0 and 0.5.
    candidates = [(1.0, "a", "A"), (1.0, "b", "B"), (0.5, "c", "C")]
    threshold, f1, _, _ = best_threshold(candidates, {("a", "A")})
    assert threshold == pytest.approx(0.75)
    assert f1 == pytest.approx(200 / 3)


def test_best_threshold_keeping_everything_uses_the_lowest_score():
    candidates = [(1.0, "b", "B"), (2.0, "a", "A")]
    assert best_threshold(candidates, {("a", "A"), ("b", "B")}) == (1.0, 100.0, 100.0, 100.0)


def test_best_threshold_rejects_no_candidates():
    with pytest.raises(ValueError):
        best_threshold([], {("a", "A")})


def test_bucc_scores_by_hand():
    # Threshold 1.0 keeps p-P (gold) and q-Q (score exactly 1.0, not gold); r-R (gold) is missed:
    # precision 1/2, recall 1/2, F1 1/2.
    candidates = [(1.3, "p", "P"), (1.0, "q", "Q"), (0.99, "r", "R")]
    scores = bucc_scores(candidates, {("p", "P"), ("r", "R")}, 1.0)
    assert scores == {"precision": 50.0, "recall": 50.0, "f1": 50.0, "threshold": 1.0}


def test_bucc_scores_nothing_predicted():
    scores = bucc_scores([(0.5, "p", "P")], {("p", "P")}, 1.0)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 0.0


@pytest.mark.parametrize(("layers", "expected"), [(24, 14), (12, 7), (2, 1)])
def test_default_layer(layers, expected):
    assert default_layer(layers) == expected


# --- encoder and real data -------------------------------------------------------------------

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data slices missing: {DATA}")


def _tatoeba(lang3: str) -> list[dict[str, str]]:
    from xstilts.loaders.tatoeba import load_tatoeba

    return load_tatoeba(DATA / "tatoeba", lang3)


def _bucc() -> dict:
    from xstilts.loaders.bucc import load_bucc

    stem = DATA / "bucc2018" / "zh-en.dev"
    return load_bucc(f"{stem}.zh", f"{stem}.en", f"{stem}.gold")


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """A tiny random XLM-R saved to disk and loaded back with ``load_encoder``."""
    from xstilts.demo_model import build_model, train_tokenizer

    if not DATA.is_dir():
        pytest.skip(f"real data slices missing: {DATA}")
    texts = [
        p[side] for lang in ("deu", "cmn") for p in _tatoeba(lang) for side in ("source", "target")
    ]
    bucc = _bucc()
    texts += [s["text"] for side in ("source", "target") for s in bucc[side]]
    tokenizer = train_tokenizer(texts, vocab_size=4000)
    torch.manual_seed(0)
    architecture = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    }
    path = tmp_path_factory.mktemp("encoder")
    build_model(tokenizer, architecture).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return load_encoder(str(path))


def test_load_encoder_gives_a_bare_encoder_in_eval_mode(encoder):
    model, _ = encoder
    assert not model.training
    assert model.config.num_hidden_layers == 2
    assert not hasattr(model, "lm_head")


def test_embed_is_batch_and_order_independent(encoder):
    model, tokenizer = encoder
    sentences = [
        "a much longer sentence than the others, with many words in it",
        "short",
        "mid size",
    ]
    together = embed(model, tokenizer, sentences, layer=1, batch_size=2)
    alone = np.vstack([embed(model, tokenizer, [s], layer=1) for s in sentences])
    assert together.dtype == np.float32 and together.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_embed_pools_the_requested_layer(encoder):
    model, tokenizer = encoder
    sentence = "Tom und Maria singen."
    batch = tokenizer([sentence], return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch, output_hidden_states=True).hidden_states
    for layer in (0, 2):
        mean = hidden[layer][0].mean(dim=0)
        cls = hidden[layer][0, 0]
        for pooling, vector in (("mean", mean), ("cls", cls)):
            got = embed(model, tokenizer, [sentence], layer=layer, pooling=pooling)[0]
            np.testing.assert_allclose(got, (vector / vector.norm()).numpy(), atol=1e-5)
    with pytest.raises(ValueError):
        embed(model, tokenizer, [sentence], layer=1, pooling="max")


@needs_data
@pytest.mark.parametrize("lang3", ["deu", "cmn"])
def test_evaluate_tatoeba_real_data(encoder, lang3):
    model, tokenizer = encoder
    pairs = _tatoeba(lang3)
    metrics, predictions = evaluate_tatoeba(model, tokenizer, pairs, layer=1)
    assert 0 <= metrics["accuracy"] <= 100
    assert len(predictions) == len(pairs) == 200
    assert all(0 <= p["prediction"] < len(pairs) for p in predictions)
    assert [p["gold"] for p in predictions] == list(range(len(pairs)))
    correct = sum(p["prediction"] == p["gold"] for p in predictions)
    assert metrics["accuracy"] == pytest.approx(100 * correct / len(pairs))


@needs_data
def test_evaluate_tatoeba_oracle(encoder):
    model, tokenizer = encoder
    pairs = [{**p, "target": p["source"]} for p in _tatoeba("deu")]
    metrics, _ = evaluate_tatoeba(model, tokenizer, pairs, layer=1)
    assert metrics["accuracy"] == 100.0


@needs_data
def test_evaluate_bucc_real_data(encoder):
    model, tokenizer = encoder
    dev = _bucc()
    metrics, predictions = evaluate_bucc(model, tokenizer, dev, None, layer=1)
    assert metrics["split"] == "dev"
    for key in ("f1", "precision", "recall"):
        assert math.isfinite(metrics[key]) and 0 <= metrics[key] <= 100
    assert math.isfinite(metrics["threshold"])
    # One-to-one: at most one candidate per sentence, and at least one per side's best match.
    assert len({p["source_id"] for p in predictions}) == len(predictions) <= len(dev["source"])
    assert len({p["target_id"] for p in predictions}) == len(predictions)
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True)
    assert [p["predicted"] for p in predictions] == [s >= metrics["threshold"] for s in scores]
    gold = set(dev["gold"])
    assert all(p["gold"] == ((p["source_id"], p["target_id"]) in gold) for p in predictions)


@needs_data
def test_evaluate_bucc_oracle_and_test_split(encoder):
    model, tokenizer = encoder
    english = _bucc()["target"]
    mirror = {
        "source": english,
        "target": [{"id": f"copy-{s['id']}", "text": s["text"]} for s in english],
        "gold": [(s["id"], f"copy-{s['id']}") for s in english],
    }
    metrics, predictions = evaluate_bucc(model, tokenizer, mirror, None, layer=1)
    assert (metrics["f1"], metrics["split"]) == (100.0, "dev")
    # The oracle's threshold applied to a real test split.
    metrics, predictions = evaluate_bucc(model, tokenizer, mirror, _bucc(), layer=1)
    assert metrics["split"] == "test"
    assert 0 <= metrics["f1"] <= 100
    assert all(p["predicted"] == (p["score"] >= metrics["threshold"]) for p in predictions)
