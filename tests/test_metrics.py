"""Tests for xstilts.metrics: hand-computed cases, and seqeval as an oracle for tagging."""

import dataclasses
import logging
import random
import warnings

import numpy as np
import pytest
from seqeval.metrics import accuracy_score as seqeval_accuracy
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.metrics import precision_score as seqeval_precision
from seqeval.metrics import recall_score as seqeval_recall
from seqeval.metrics.sequence_labeling import get_entities as seqeval_get_entities

from xstilts import registry
from xstilts.formats import tagging as tagging_format
from xstilts.metrics.classification import accuracy, f1_binary
from xstilts.metrics.qa import (
    exact_match,
    f1,
    mlqa_scores,
    normalize_answer_mlqa,
    normalize_answer_squad,
    squad_scores,
    squad_v2_scores,
)
from xstilts.metrics.tagging import (
    SCHEMES,
    entity_f1,
    get_entities,
    repair_iob2,
    token_accuracy,
)
from xstilts.registry import UPOS_LABELS

approx = pytest.approx

# --------------------------------------------------------------------------- classification


def test_accuracy_hand_case():
    # matches at positions 0 and 2 -> 2/4 = 50%
    assert accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == approx(50.0)
    assert accuracy(["a", "b"], ["a", "b"]) == approx(100.0)


def test_f1_binary_hand_case():
    # tp = {0, 4}, fp = {1}, fn = {2}: 2*2 / (2*2 + 1 + 1) = 4/6 = 66.667%
    assert f1_binary([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]) == approx(400 / 6)
    # positive="dup": tp = {0}, fp = {}, fn = {1}: 2 / (2 + 0 + 1) = 66.667%
    assert f1_binary(["dup", "no", "no"], ["dup", "dup", "no"], positive="dup") == approx(200 / 3)
    # no positive anywhere -> 0 (scikit-learn's zero_division default)
    assert f1_binary([0, 0], [0, 0]) == 0.0


@pytest.mark.parametrize("metric", [accuracy, f1_binary])
def test_classification_rejects_bad_input(metric):
    with pytest.raises(ValueError, match="differ in length"):
        metric([1, 0], [1])
    with pytest.raises(ValueError, match="empty"):
        metric([], [])


# --------------------------------------------------------------------------------- tagging


def _seqeval(predictions, references):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "f1": 100 * seqeval_f1(references, predictions),
            "precision": 100 * seqeval_precision(references, predictions),
            "recall": 100 * seqeval_recall(references, predictions),
        }


def _seqeval_entities(tags):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return seqeval_get_entities(list(tags))


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 1), ("LOC", 3, 3)]),
        # I- after O starts a chunk (not strict mode)
        (["O", "I-PER", "I-PER"], [("PER", 1, 2)]),
        # I-LOC after B-PER: type change ends PER and starts LOC
        (["B-PER", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 1)]),
        # S- always ends a chunk; E- after S- starts a new one
        (["S-PER", "E-PER"], [("PER", 0, 0), ("PER", 1, 1)]),
        # bare POS tags: prefix tag[0], type tag[1:]; "X" has type "_" like the final "O",
        # so it never ends and is not reported
        (["NOUN", "NOUN", "VERB", "X"], [("OUN", 0, 1), ("ERB", 2, 2)]),
        # multi-hyphen types keep everything after the first hyphen
        (["B-A-B", "I-A-B"], [("A-B", 0, 1)]),
    ],
)
def test_get_entities_hand_cases(tags, expected):
    assert get_entities(tags) == expected
    assert _seqeval_entities(tags) == expected


def test_entity_f1_seqeval_docstring_case():
    # sentences are joined with an "O" after each, so sentence 2 starts at offset 8.
    # gold: MISC(2,3) MISC(4,4) PER(8,9); pred: MISC(2,3) MISC(4,5) PER(8,9)
    # tp = 2, P = 2/3, R = 2/3, F1 = 2/3 -> 66.667%
    references = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "O", "O"], ["B-PER", "I-PER", "O"]]
    predictions = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    scores = entity_f1(predictions, references)
    assert scores == approx({"f1": 200 / 3, "precision": 200 / 3, "recall": 200 / 3})
    assert scores == approx(_seqeval(predictions, references))


def test_entity_f1_iob2_reads_bare_pos_tags_as_seqeval_1x():
    # What the "iob2" reading (seqeval 1.x) makes of bare POS tags, and why UD-POS does not use
    # it: gold DET NOUN NOUN -> ET(0,0) OUN(1,2); pred DET NOUN VERB -> ET(0,0) OUN(1,1) ERB(2,2)
    # tp = 1, P = 1/3, R = 1/2, F1 = 2*(1/6) / (5/6) = 2/5 -> 40%
    references = [["DET", "NOUN", "NOUN"]]
    predictions = [["DET", "NOUN", "VERB"]]
    scores = entity_f1(predictions, references)
    assert scores == approx({"f1": 40.0, "precision": 100 / 3, "recall": 50.0})
    assert scores == approx(_seqeval(predictions, references))


def test_full_tag_entities_hand_case():
    # seqeval 0.0.12 (XTREME 2020, jiant): prefix tag[0], type the full tag. A run of one tag is
    # one span; SCONJ and SYM start with "S", a single-token chunk, so each token is its own span.
    tags = ["NOUN", "NOUN", "VERB", "SCONJ", "SCONJ", "INTJ", "INTJ", "X", "CCONJ"]
    expected = [
        ("NOUN", 0, 1),
        ("VERB", 2, 2),
        ("SCONJ", 3, 3),
        ("SCONJ", 4, 4),
        ("INTJ", 5, 6),
        ("X", 7, 7),
        ("CCONJ", 8, 8),
    ]
    assert get_entities(tags, "full_tag") == expected


def test_full_tag_keeps_cconj_and_sconj_apart():
    # gold CCONJ NOUN, pred SCONJ NOUN. Full tags: {CCONJ(0,0), NOUN(1,1)} vs
    # {SCONJ(0,0), NOUN(1,1)}: tp 1, P = R = F1 = 1/2. Read as seqeval 1.x, both are type
    # "CONJ" and the prediction would score 100.
    references, predictions = [["CCONJ", "NOUN"]], [["SCONJ", "NOUN"]]
    scores = entity_f1(predictions, references, "full_tag")
    assert scores == approx({"f1": 50.0, "precision": 50.0, "recall": 50.0})
    assert entity_f1(predictions, references, "iob2")["f1"] == 100.0
    assert _seqeval(predictions, references)["f1"] == 100.0


def test_full_tag_runs_are_one_span_by_hand():
    # gold NOUN NOUN VERB -> NOUN(0,1) VERB(2,2); pred NOUN VERB VERB -> NOUN(0,0) VERB(1,2):
    # no span matches, F1 0, although 2 of 3 tags are right. The next sentence starts after an
    # "O": gold ADJ | ADJ -> two spans ADJ(4,4), ADJ(6,6), both predicted: tp 2 of 4 and 4.
    references = [["NOUN", "NOUN", "VERB"], ["ADJ"], ["ADJ"]]
    predictions = [["NOUN", "VERB", "VERB"], ["ADJ"], ["ADJ"]]
    assert entity_f1(predictions[:1], references[:1], "full_tag")["f1"] == 0.0
    assert entity_f1(predictions, references, "full_tag") == approx(
        {"f1": 50.0, "precision": 50.0, "recall": 50.0}
    )


def _as_seqeval_1x(sentences):
    """Tags rewritten so seqeval 1.x reads seqeval 0.0.12's prefix and type: ``p-type``."""
    return [[f"{t[0]}-{t.split('-')[-1]}" for t in sentence] for sentence in sentences]


_POS_POOL = [*UPOS_LABELS, "O", "B-PER", "I-PER", "I-LOC", "B-A-B"]


def test_full_tag_matches_seqeval_0012_reading_on_random_sequences():
    # seqeval 1.x on tags rewritten to 0.0.12's (prefix, full type) is an oracle for "full_tag".
    rng = random.Random(1)
    for _ in range(300):
        references = [
            [rng.choice(_POS_POOL) for _ in range(rng.randint(0, 8))]
            for _ in range(rng.randint(1, 5))
        ]
        predictions = [
            [tag if rng.random() < 0.6 else rng.choice(_POS_POOL) for tag in sentence]
            for sentence in references
        ]
        expected = _seqeval(_as_seqeval_1x(predictions), _as_seqeval_1x(references))
        assert entity_f1(predictions, references, "full_tag") == approx(expected)


def test_tag_schemes_are_checked_and_named_by_the_registry():
    with pytest.raises(ValueError, match="unknown tag scheme 'bio'"):
        get_entities(["O"], "bio")
    assert registry.get("udpos").tag_scheme == "full_tag"
    assert registry.get("panx").tag_scheme == "iob2"
    for task in registry.TASKS.values():
        if task.format == "tagging" and task.role == "target":
            assert task.tag_scheme in SCHEMES, task.name


def _tagging_score(task, gold, predicted):
    """formats.tagging.score on one sentence whose words are single sub-words."""
    ids = [task.labels.index(t) for t in predicted]
    logits = np.zeros((1, len(gold) + 2, task.num_labels))
    logits[0, np.arange(1, len(gold) + 1), ids] = 1.0
    features = {"labels": [[-100, *(task.labels.index(t) for t in gold), -100]]}
    return tagging_format.score(logits, {"id": ["0"], "tags": [gold]}, features, task, "en")


def test_tagging_score_uses_the_registry_scheme():
    metrics, _ = _tagging_score(registry.get("udpos"), ["CCONJ", "NOUN"], ["SCONJ", "NOUN"])
    assert metrics["f1"] == approx(50.0)
    # PAN-X: the stray I-PER is repaired to B-PER when scored and matches the gold entity
    # (IOB2); the saved prediction stays as the model made it.
    metrics, predictions = _tagging_score(registry.get("panx"), ["B-PER", "O"], ["I-PER", "O"])
    assert metrics["f1"] == 100.0 and predictions[0]["prediction"] == ["I-PER", "O"]
    unschemed = dataclasses.replace(registry.get("udpos"), tag_scheme=None)
    with pytest.raises(ValueError, match="no tag_scheme"):
        _tagging_score(unschemed, ["NOUN"], ["NOUN"])


def test_entity_f1_no_entities_is_zero():
    assert entity_f1([["O", "O"]], [["O", "O"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


_TAG_POOL = [
    "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-PER", "S-LOC", "E-LOC", "S-PER",
    "B-A-B", "I-A-B", "NOUN", "VERB", "X", "PUNCT", "ADJ", "ADP", "PROPN", "PRON",
    ".", "B", "I", "OTHER",
]  # fmt: skip


def test_entity_f1_matches_seqeval_on_random_sequences():
    rng = random.Random(0)
    for _ in range(300):
        references = [
            [rng.choice(_TAG_POOL) for _ in range(rng.randint(0, 8))]
            for _ in range(rng.randint(1, 5))
        ]
        predictions = [
            [tag if rng.random() < 0.5 else rng.choice(_TAG_POOL) for tag in sentence]
            for sentence in references
        ]
        assert entity_f1(predictions, references) == approx(_seqeval(predictions, references))
        for sentence in references:
            assert get_entities(sentence) == _seqeval_entities(sentence)


def test_entity_f1_rejects_mismatched_sentences():
    with pytest.raises(ValueError, match="sentence 1"):
        entity_f1([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentences"):
        entity_f1([["O"]], [["O"], ["O"]])


def test_token_accuracy():
    # 2 of 3 tokens match -> 66.667%
    predictions = [["O", "B-LOC"], ["I-PER"]]
    references = [["O", "B-PER"], ["I-PER"]]
    assert token_accuracy(predictions, references) == approx(200 / 3)
    assert token_accuracy(predictions, references) == approx(
        100 * seqeval_accuracy(references, predictions)
    )
    with pytest.raises(ValueError, match="sentence 0"):
        token_accuracy([["O"]], [["O", "O"]])


def test_repair_iob2_hand_case():
    tags = ["I-PER", "I-PER", "O", "I-LOC", "B-PER", "I-LOC", "I-LOC", "B-A-B", "I-A-B"]
    expected = ["B-PER", "I-PER", "O", "B-LOC", "B-PER", "B-LOC", "I-LOC", "B-A-B", "I-A-B"]
    assert repair_iob2(tags) == expected
    assert repair_iob2(expected) == expected


def test_repair_iob2_keeps_default_mode_entities():
    # with only B-/I-/O tags, seqeval's default mode already reads a stray I-X as a new
    # chunk, so repairing must not change the entities, and must leave no stray I-X
    rng = random.Random(0)
    pool = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for _ in range(300):
        tags = [rng.choice(pool) for _ in range(rng.randint(0, 10))]
        repaired = repair_iob2(tags)
        assert get_entities(repaired) == get_entities(tags)
        for prev, tag in zip(["O", *repaired], [*repaired, "O"], strict=True):
            if tag.startswith("I-"):
                assert prev in ("B-" + tag[2:], tag)


# -------------------------------------------------------------------------------- SQuAD


def test_normalize_answer_squad():
    # lower -> drop ASCII punctuation -> articles to " " -> collapse whitespace
    assert normalize_answer_squad("The  Quick, brown fox!") == "quick brown fox"
    assert normalize_answer_squad("An apple a day") == "apple day"
    assert normalize_answer_squad("theatre") == "theatre"  # \b keeps words containing "the"
    assert normalize_answer_squad("«Hola»") == "«hola»"  # only ASCII punctuation is removed


def test_squad_pair_metrics():
    # pred [cat, sat], gold [cat, sat, down]: P = 1, R = 2/3, F1 = 2*(2/3)/(5/3) = 0.8
    assert f1("the cat sat", "a cat sat down") == approx(0.8)
    assert exact_match("The cat sat.", "cat sat") == 1.0
    # v1.1: F1 is 0 whenever no token is shared, even if both normalise to ""
    assert f1("the", "a") == 0.0
    assert exact_match("the", "a") == 1.0


def test_squad_scores_gold_as_prediction():
    references = {"q1": ["Denver Broncos", "Broncos"], "q2": ["Santa Clara, California"]}
    predictions = {qid: answers[0] for qid, answers in references.items()}
    assert squad_scores(predictions, references) == approx({"exact_match": 100.0, "f1": 100.0})


def test_squad_scores_wrong_and_missing_answers(caplog):
    references = {
        "q1": ["Denver Broncos", "Broncos"],
        "q2": ["Santa Clara, California"],
        "q3": ["1964"],
    }
    # q1 "the Broncos" -> "broncos": EM 1, F1 1 (max over golds)
    # q2 [santa, clara] vs [santa, clara, california]: EM 0, F1 = 2*(1*2/3)/(5/3) = 0.8
    # q3 missing: 0 / 0
    # EM = 1/3 = 33.333%, F1 = (1 + 0.8 + 0)/3 = 60%
    predictions = {"q1": "the Broncos", "q2": "Santa Clara"}
    with caplog.at_level(logging.WARNING, logger="xstilts.metrics.qa"):
        scores = squad_scores(predictions, references)
    assert scores == approx({"exact_match": 100 / 3, "f1": 60.0})
    assert "1 of 3 questions have no prediction" in caplog.text


def test_squad_scores_rejects_question_without_gold():
    with pytest.raises(ValueError, match="'q1' has no gold answers"):
        squad_scores({"q1": "x"}, {"q1": []})
    with pytest.raises(ValueError, match="empty"):
        squad_scores({}, {})


def test_squad_v2_scores_hand_case():
    references = {"a": ["Paris"], "b": [], "c": ["the", "Lyon"]}
    predictions = {"a": "paris", "b": "", "c": "Lyon city"}
    # a: EM 1, F1 1
    # b: unanswerable, gold [""]; pred "" -> EM 1, F1 int([] == []) = 1
    # c: gold "the" normalises to "" and is dropped -> [lyon]; pred [lyon, city]:
    #    EM 0, F1 = 2*(1/2*1)/(1/2+1) = 2/3
    # all: EM 2/3 = 66.667%, F1 (1 + 1 + 2/3)/3 = 8/9 = 88.889%
    # HasAns {a, c}: EM 1/2 = 50%, F1 (1 + 2/3)/2 = 83.333%; NoAns {b}: 100% / 100%
    assert squad_v2_scores(predictions, references) == approx(
        {
            "exact_match": 200 / 3,
            "f1": 800 / 9,
            "total": 3,
            "HasAns_exact_match": 50.0,
            "HasAns_f1": 500 / 6,
            "HasAns_total": 2,
            "NoAns_exact_match": 100.0,
            "NoAns_f1": 100.0,
            "NoAns_total": 1,
        }
    )


def test_squad_v2_differs_from_v1_on_empty_answers():
    # pred "" vs gold "the": both normalise to "" -> v2 F1 = int([] == []) = 1, v1.1 F1 = 0
    assert squad_v2_scores({"q": ""}, {"q": ["the"]})["f1"] == approx(100.0)
    assert squad_scores({"q": ""}, {"q": ["the"]}) == approx({"exact_match": 100.0, "f1": 0.0})
    # answering an unanswerable question: EM 0, F1 int([something] == []) = 0; no HasAns keys
    scores = squad_v2_scores({"q": "something"}, {"q": []})
    assert scores == approx(
        {
            "exact_match": 0.0,
            "f1": 0.0,
            "total": 1,
            "NoAns_exact_match": 0.0,
            "NoAns_f1": 0.0,
            "NoAns_total": 1,
        }
    )


def test_squad_v2_rejects_missing_predictions():
    with pytest.raises(ValueError, match="1 questions have no prediction"):
        squad_v2_scores({"a": "x"}, {"a": ["x"], "b": []})


# --------------------------------------------------------------------------------- MLQA


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        # every "ال" becomes " ", so the definite article prefix disappears
        ("الكتاب", "ar", "كتاب"),
        ("الكتاب الجديد", "ar", "كتاب جديد"),
        ("مال", "ar", "م"),  # ... even inside a word, as in MLQA's script
        ("الكتاب", "en", "الكتاب"),  # other languages keep it
        ("của tôi", "vi", "tôi"),
        ("Những người", "vi", "người"),
        # zh: every CJK character is a token, latin runs stay words; "。" is punctuation
        ("北京大学", "zh", "北 京 大 学"),
        ("iPhone手机。", "zh", "iphone 手 机"),
        ("中国 the", "zh", "中 国 the"),  # no article removal for zh
        ("«La casa»", "es", "casa"),
        ("Die Katze", "de", "katze"),
        ("भारत।", "hi", "भारत"),  # DEVANAGARI DANDA (category Po) is removed
        ("The “answer” — yes.", "en", "answer yes"),
        ("$5 + 3", "en", "5 3"),  # "$" and "+" are symbols (Sc, Sm) but ASCII punctuation
    ],
)
def test_normalize_answer_mlqa(text, lang, expected):
    assert normalize_answer_mlqa(text, lang) == expected


def test_normalize_answer_mlqa_rejects_unknown_language():
    with pytest.raises(ValueError, match="'fr'"):
        normalize_answer_mlqa("le chat", "fr")
    with pytest.raises(ValueError, match="'fr'"):
        mlqa_scores({"q": "x"}, {"q": ["x"]}, "fr")


def test_mlqa_scores_zh_mixed_segmentation():
    # pred [北, 京] vs gold [北, 京, 大, 学]: shared 2, P = 2/2, R = 2/4,
    # F1 = 2*(1*1/2)/(1 + 1/2) = 2/3 -> 66.667%, EM 0
    assert mlqa_scores({"q": "北京"}, {"q": ["北京大学"]}, "zh") == approx(
        {"exact_match": 0.0, "f1": 200 / 3}
    )


def test_mlqa_scores_other_languages():
    # ar: "الكتاب" -> "كتاب" matches exactly
    assert mlqa_scores({"q": "الكتاب"}, {"q": ["كتاب"]}, "ar") == approx(
        {"exact_match": 100.0, "f1": 100.0}
    )
    # ar: [كتاب, جديد] vs [كتاب]: P = 1/2, R = 1, F1 = 2/3
    assert mlqa_scores({"q": "الكتاب الجديد"}, {"q": ["كتاب"]}, "ar") == approx(
        {"exact_match": 0.0, "f1": 200 / 3}
    )
    # vi: "cái bàn" -> "bàn"; hi: "भारत।" -> "भारत"; q3 (es) "«Madrid»" -> "madrid"
    # two questions: q1 exact, q2 missing -> EM = F1 = 1/2 = 50%
    assert mlqa_scores({"q1": "cái bàn"}, {"q1": ["bàn"], "q2": ["ghế"]}, "vi") == approx(
        {"exact_match": 50.0, "f1": 50.0}
    )
    assert mlqa_scores({"q": "भारत।"}, {"q": ["भारत"]}, "hi") == approx(
        {"exact_match": 100.0, "f1": 100.0}
    )
    # the same pair under SQuAD normalisation keeps "«»", so it does not match
    assert mlqa_scores({"q": "«Madrid»"}, {"q": ["Madrid"]}, "es")["exact_match"] == 100.0
    assert squad_scores({"q": "«Madrid»"}, {"q": ["Madrid"]})["exact_match"] == 0.0
