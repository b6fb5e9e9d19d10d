"""Retrieval metrics (hand-computed cases) and the Tatoeba/BUCC evaluation on real data slices."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts import registry
from xstilts.formats.retrieval import (
    bucc_corpus,
    bucc_rows,
    default_layer,
    embed_ids,
    featurize,
    language_metrics,
    load_encoder,
    predict_bucc,
    predict_tatoeba,
)
from xstilts.metrics.retrieval import (
    best_threshold,
    bucc_mine,
    bucc_scores,
    knn,
    margin_candidates,
    tatoeba_accuracy,
    tatoeba_search,
    unique_ids,
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


def _rows(cos: np.ndarray) -> np.ndarray:
    """The source rows, then the target rows, of :func:`_vectors`."""
    return np.vstack(_vectors(cos))


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


def test_margin_candidates_leave_out_scores_not_above_zero():
    # k = 1, cosines s0-t0 .6, s1-t0 .5, s0-t1 -.5, s1-t1 -.3. Means: s0 .6, s1 .5, t0 .6,
    # t1 -.3. Forward s0-t0 .6/.6 = 1, s1-t0 .5/.55; backward t0-s0 1, t1-s1 -.3/.1 = -3.
    # One-to-one keeps s0-t0 and s1-t1, but -3 is not above LASER's mining threshold 0.
    src, tgt = _vectors(np.array([[0.6, -0.5], [0.5, -0.3]]))
    got = margin_candidates(src, tgt, k=1)
    assert [(i, j) for _, i, j in got] == [(0, 0)]
    assert got[0][0] == pytest.approx(1.0, rel=1e-5)


def test_tatoeba_searches_from_english_by_hand():
    # XTREME indexes the non-English side (rows of COS) and queries with each English sentence
    # (columns): t0 -> s0 (.45), t1 -> s1 (.30), t2 -> s2 (.20): all right, 100%.
    # The other direction, each non-English row querying the English columns, finds
    # s0 -> t0, s1 -> t0 (.40 > .30, wrong), s2 -> t2: 2/3. The two disagree; XTREME's is the first.
    other, english = _vectors(COS)
    found = tatoeba_search(other, english)
    assert found.tolist() == [0, 1, 2]
    assert tatoeba_accuracy(found) == 100.0
    reverse = tatoeba_search(english, other)  # what the project computed before
    assert reverse.tolist() == [0, 0, 2]
    assert tatoeba_accuracy(reverse) == pytest.approx(200 / 3)


def test_tatoeba_search_rejects_misaligned_inputs():
    other, english = _vectors(COS)
    with pytest.raises(ValueError):
        tatoeba_search(other, english[:2])


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


# Cosines of distinct source texts A, B, C (rows) with target texts X, Y, Z (columns); the
# source sentences repeat A, so it stands for two ids.
REPEAT_COS = np.array(
    [
        [0.60, 0.50, 0.10],
        [0.20, 0.42, 0.30],
        [0.10, 0.20, 0.50],
    ]
)
REPEAT_SOURCE = [
    {"id": "s1", "text": "A"},
    {"id": "s2", "text": "B"},
    {"id": "s3", "text": "C"},
    {"id": "s4", "text": "A"},
]
REPEAT_TARGET = [{"id": "tx", "text": "X"}, {"id": "ty", "text": "Y"}, {"id": "tz", "text": "Z"}]


def test_bucc_mine_merges_repeated_sentences_by_hand():
    # k = 2 over the distinct texts (A once). Means of the 2 nearest neighbours' cosines:
    #   sources A (.60+.50)/2 = .55, B (.42+.30)/2 = .36, C (.50+.20)/2 = .35
    #   targets X (.60+.20)/2 = .40, Y (.50+.42)/2 = .46, Z (.50+.30)/2 = .40
    # Forward best margins: A-X .60/.475 = 1.2632 (A-Y .50/.505 = .9901),
    #   B-Y .42/.41 = 1.0244 (B-Z .30/.38 = .7895), C-Z .50/.375 = 1.3333 (C-Y .20/.405).
    # Backward: X -> A, Y -> B (1.0244 > A's .9901), Z -> C.
    # One-to-one by score: C-Z, A-X, B-Y. A is the text of s1 and s4, so A-X is dropped.
    # Had A been searched twice, Y's mean would be (.50+.50)/2 = .50 and B-Y .42/.43 = .9767.
    vectors = dict(zip("ABCXYZ", _rows(REPEAT_COS), strict=True))
    calls = []

    def encode(texts):
        calls.append(texts)
        return np.vstack([vectors[t.strip()] for t in texts])

    candidates, dropped = bucc_mine(REPEAT_SOURCE, REPEAT_TARGET, encode, k=2)
    assert calls == [["A", "B", "C"], ["X", "Y", "Z"]]
    assert [(i, j) for _, i, j in candidates] == [("s3", "tz"), ("s2", "ty")]
    assert [s for s, _, _ in candidates] == pytest.approx([0.5 / 0.375, 0.42 / 0.41], rel=1e-5)
    assert dropped == 1


def test_bucc_mine_maps_texts_back_by_their_stripped_form():
    # "Z" and "Z " are two texts for the search (LASER unifies exact lines) with one vector (the
    # encoder strips), but one text for XTREME's id map, so a pair with either is dropped.
    # k = 2, sources A, B, C once. Means: A .55, B .36, C (.50+.50)/2 = .50; X .40, Y .46,
    # Z and "Z " .40. Best: A-X .60/.475, C-Z .50/.45 (C-"Z " ties, and loses one-to-one),
    # B-Y .42/.41. C-Z is dropped.
    target = [*REPEAT_TARGET, {"id": "tz2", "text": "Z "}]
    vectors = dict(zip("ABCXYZ", _rows(REPEAT_COS), strict=True))
    candidates, dropped = bucc_mine(
        REPEAT_SOURCE[:3], target, lambda texts: np.vstack([vectors[t.strip()] for t in texts]), 2
    )
    assert [(i, j) for _, i, j in candidates] == [("s1", "tx"), ("s2", "ty")]
    assert [s for s, _, _ in candidates] == pytest.approx([0.6 / 0.475, 0.42 / 0.41], rel=1e-5)
    assert dropped == 1


def test_bucc_mine_checks_the_encoder_rows():
    with pytest.raises(ValueError, match="source: 1 vectors for 3 texts"):
        bucc_mine(REPEAT_SOURCE, REPEAT_TARGET, lambda texts: np.eye(1, 4, dtype=np.float32))


def test_unique_ids_keeps_only_texts_of_one_sentence():
    assert unique_ids(["a", " b", "a", "c"], [1, 2, 3, 4]) == {"b": 2, "c": 4}


def test_best_threshold_by_hand():
    candidates = [(1.4, "a", "A"), (1.2, "b", "B"), (1.1, "c", "C"), (0.9, "d", "D")]
    gold = {("a", "A"), ("c", "C"), ("x", "X")}
    # Cut after n candidates (tp, precision, recall, F1):
    #   1: 1, 1, 1/3, 0.5;  2: 1, 1/2, 1/3, 0.4;  3: 2, 2/3, 2/3, 2/3;  4: 2, 1/2, 2/3, 4/7.
    # Best is 3: threshold midway between 1.1 and 0.9.
    threshold = best_threshold(candidates, gold)
    assert threshold == pytest.approx(1.0)
    scores = bucc_scores(candidates, gold, threshold)
    assert (scores["f1"], scores["precision"], scores["recall"]) == pytest.approx((200 / 3,) * 3)


def test_best_threshold_cuts_inside_ties_as_xtreme_does():
    # XTREME cuts after every candidate: after the first 1.0 (gold) F1 is 1, the best, so the
    # threshold is (1.0 + 1.0) / 2 = 1.0 and score >= 1.0 keeps both tied candidates (dev F1
    # 2/3). The old rule (cuts only between distinct scores) chose 0.75 instead, which a test
    # candidate at 0.9 tells apart.
    candidates = [(1.0, "a", "A"), (1.0, "b", "B"), (0.5, "c", "C")]
    threshold = best_threshold(candidates, {("a", "A")})
    assert threshold == 1.0
    assert bucc_scores(candidates, {("a", "A")}, threshold)["f1"] == pytest.approx(200 / 3)
    test = [(1.0, "p", "P"), (0.9, "q", "Q")]
    assert bucc_scores(test, {("p", "P"), ("q", "Q")}, threshold)["recall"] == 50.0
    # Ties keep their given (mining) order: with the gold pair second, the first cut has no
    # correct pair and the best cut is after both 1.0s, midway to 0.5.
    swapped = [candidates[1], candidates[0], candidates[2]]
    assert best_threshold(swapped, {("a", "A")}) == pytest.approx(0.75)


def test_best_threshold_keeping_everything_uses_the_lowest_score():
    # The best cut is after the last candidate, where XTREME's bucc_optimize reads past the end
    # of its list and fails; the project keeps everything with the lowest score.
    candidates = [(1.0, "b", "B"), (2.0, "a", "A")]
    assert best_threshold(candidates, {("a", "A"), ("b", "B")}) == 1.0


def test_best_threshold_without_a_gold_candidate_is_zero():
    # As in XTREME: no cut has a correct pair, the threshold stays 0 and keeps every candidate.
    candidates = [(1.2, "a", "A"), (0.8, "b", "B")]
    assert best_threshold(candidates, {("x", "X")}) == 0.0


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


def _embed(model, tokenizer, sentences: list[str], **kwargs):
    """``sentences`` tokenised (as the tokenise job caches them) and embedded."""
    return embed_ids(model, tokenizer, tokenizer(sentences)["input_ids"], **kwargs)


def test_embed_is_batch_and_order_independent(encoder):
    model, tokenizer = encoder
    sentences = [
        "a much longer sentence than the others, with many words in it",
        "short",
        "mid size",
    ]
    together = _embed(model, tokenizer, sentences, layer=1, batch_size=2)
    alone = np.vstack([_embed(model, tokenizer, [s], layer=1) for s in sentences])
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
            got = _embed(model, tokenizer, [sentence], layer=layer, pooling=pooling)[0]
            np.testing.assert_allclose(got, (vector / vector.norm()).numpy(), atol=1e-5)
    with pytest.raises(ValueError):
        _embed(model, tokenizer, [sentence], layer=1, pooling="max")


def _tokenised(tokenizer, task: str, rows: list[dict]) -> list[dict]:
    """``rows`` as the tokenise job caches them (:func:`featurize`)."""
    import datasets

    t = registry.get(task)
    return list(featurize(datasets.Dataset.from_list(rows), tokenizer, t, t.max_length, False))


def _tatoeba_rows(tokenizer, pairs):
    return _tokenised(tokenizer, "tatoeba", pairs)


def _bucc_split(tokenizer, corpus: dict) -> dict:
    return bucc_corpus(_tokenised(tokenizer, "bucc", bucc_rows(corpus)))


def test_cached_ids_embed_as_the_sentences_do(encoder):
    model, tokenizer = encoder
    pairs = [{"id": "1", "source": "Tom und Maria singen.", "target": "Tom and Mary sing."}]
    (row,) = _tatoeba_rows(tokenizer, pairs)
    assert row["input_ids"] == tokenizer(pairs[0]["source"])["input_ids"]
    from_ids = embed_ids(model, tokenizer, [row["target_input_ids"]], layer=1)
    np.testing.assert_allclose(from_ids, _embed(model, tokenizer, [pairs[0]["target"]], layer=1))


def _score(task: str, splits: dict[str, list[dict]]) -> dict[str, dict]:
    """The light scorer on rows round-tripped through JSON, as ``xstilts score`` reads them."""
    import json

    rows = {s: [json.loads(json.dumps(r)) for r in rs] for s, rs in splits.items()}
    return language_metrics(registry.get(task), "xx", rows)


@needs_data
@pytest.mark.parametrize("lang3", ["deu", "cmn"])
def test_tatoeba_predictions_real_data(encoder, lang3):
    model, tokenizer = encoder
    pairs = _tatoeba(lang3)
    predictions = predict_tatoeba(model, tokenizer, _tatoeba_rows(tokenizer, pairs), layer=1)
    assert len(predictions) == len(pairs) == 200
    assert all(0 <= p["prediction"] < len(pairs) for p in predictions)
    assert [p["gold"] for p in predictions] == list(range(len(pairs)))
    correct = sum(p["prediction"] == p["gold"] for p in predictions)
    accuracy = _score("tatoeba", {"test": predictions})["test"]["accuracy"]
    assert accuracy == pytest.approx(100 * correct / len(pairs))
    found = np.array([p["prediction"] for p in predictions])
    assert accuracy == pytest.approx(tatoeba_accuracy(found))


@needs_data
def test_tatoeba_oracle(encoder):
    model, tokenizer = encoder
    pairs = [{**p, "target": p["source"]} for p in _tatoeba("deu")]
    predictions = predict_tatoeba(model, tokenizer, _tatoeba_rows(tokenizer, pairs), layer=1)
    assert _score("tatoeba", {"test": predictions})["test"]["accuracy"] == 100.0


@needs_data
def test_bucc_predictions_real_data(encoder):
    model, tokenizer = encoder
    dev = _bucc()
    rows = predict_bucc(model, tokenizer, _bucc_split(tokenizer, dev), layer=1)
    mined = [r for r in rows if r["score"] is not None]
    # One-to-one: at most one candidate per sentence; best first; then the unmined gold pairs.
    assert len({p["source_id"] for p in mined}) == len(mined) <= len(dev["source"])
    assert len({p["target_id"] for p in mined}) == len(mined)
    assert rows[: len(mined)] == mined
    scores = [p["score"] for p in mined]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    gold = {tuple(g) for g in dev["gold"]}
    assert all(p["gold"] == ((p["source_id"], p["target_id"]) in gold) for p in mined)
    assert {(r["source_id"], r["target_id"]) for r in rows if r["gold"]} == gold
    # The sample repeats one Chinese sentence (two ids): it is searched once, never mapped back.
    counts = Counter(s["text"] for s in dev["source"])
    repeated = {s["id"] for s in dev["source"] if counts[s["text"]] > 1}
    assert len(repeated) == 2
    assert not repeated & {p["source_id"] for p in mined}
    # Scored from the rows: the dev split's own threshold, as computed on the candidates.
    metrics = _score("bucc", {"validation": rows, "test": rows})["test"]
    candidates = [(r["score"], r["source_id"], r["target_id"]) for r in mined]
    threshold = best_threshold(candidates, gold)
    assert metrics == bucc_scores(candidates, gold, threshold)
    for key in ("f1", "precision", "recall"):
        assert math.isfinite(metrics[key]) and 0 <= metrics[key] <= 100


@needs_data
def test_bucc_oracle_threshold_applied_to_a_real_test_split(encoder):
    model, tokenizer = encoder
    english = _bucc()["target"]
    mirror = {
        "source": english,
        "target": [{"id": f"copy-{s['id']}", "text": s["text"]} for s in english],
        "gold": [(s["id"], f"copy-{s['id']}") for s in english],
    }
    oracle = predict_bucc(model, tokenizer, _bucc_split(tokenizer, mirror), layer=1)
    assert _score("bucc", {"validation": oracle, "test": oracle})["test"]["f1"] == 100.0
    test = predict_bucc(model, tokenizer, _bucc_split(tokenizer, _bucc()), layer=1)
    metrics = _score("bucc", {"validation": oracle, "test": test})["test"]
    dev_candidates = [(r["score"], r["source_id"], r["target_id"]) for r in oracle if r["score"]]
    assert metrics["threshold"] == best_threshold(
        dev_candidates, {tuple(g) for g in mirror["gold"]}
    )
    assert 0 <= metrics["f1"] <= 100
    with pytest.raises(ValueError, match="bucc xx: no validation predictions"):
        _score("bucc", {"test": test})


def test_faiss_build_reports_the_simd_kernels_it_runs():
    """The loaded faiss runs vector kernels where the CPU has them (not the generic build); the
    retrieval job's manifest records this (its summary's ``faiss``)."""
    from pathlib import Path

    from xstilts.formats import retrieval

    build = retrieval.faiss_build()
    import faiss

    assert build["version"] == faiss.__version__
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    if "avx2" in flags:
        assert build["simd"].startswith(("AVX2", "AVX512")), build
