"""XTREME-R's new targets: mAP@20 (LAReQA, Mewsli-X) and XCOPA accuracy on hand-computed cases,
each number also checked against google-research/xtreme's own functions
(``third_party/utils_lareqa.py::average_precision_at_k``, ``mean_avg_prec_at_k``,
``third_party/utils_mewslix.py::evaluate``, ``evaluate.py::accuracy``), and the three targets
run end to end through the workflow."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import snakemake, tiny_study_config

from xstilts import read_local, registry
from xstilts.formats import dual_encoder, multiple_choice
from xstilts.loaders import DataFormatError, load_copa_jsonl, load_siqa_jsonl
from xstilts.loaders import lareqa as dlareqa
from xstilts.metrics.ranking import average_precision_at_k, mean_average_precision, rank_by_score


# --- mAP@k ---
@pytest.mark.parametrize(
    ("relevant", "ranking", "k", "expected"),
    [
        # hits at ranks 1 and 3: (1/1 + 2/3) / 2 = 5/6 (XTREME: 0.8333)
        ([2, 5], [5, 1, 2, 7], None, 5 / 6),
        # k = 2 keeps [5, 1]: 1/1, divided by min(2 relevant, k=2) = 1/2
        ([2, 5], [5, 1, 2, 7], 2, 0.5),
        # three relevant, hits at ranks 1, 3, 4: (1 + 2/3 + 3/4) / 3 = 29/36 (XTREME: 0.80556)
        ([0, 1, 2], [2, 9, 1, 0], 20, 29 / 36),
        # a repeated item counts once: 1/1 over one relevant
        ([1], [1, 1, 3], 20, 1.0),
        # nothing relevant within the top k = 3
        ([4, 6, 8], list(range(10)), 3, 0.0),
        # the relevant item at rank 21 is outside the top 20
        (["e"], [f"x{i}" for i in range(20)] + ["e"], 20, 0.0),
    ],
)
def test_average_precision_hand_cases(relevant, ranking, k, expected):
    assert average_precision_at_k(relevant, ranking, k) == pytest.approx(expected)


def test_mewslix_map_is_mean_reciprocal_rank_of_one_gold_entity():
    # m1: gold at rank 2 -> 1/2; m2: rank 1 -> 1; m3: not predicted -> 0. Mean 1.5/3 = 50%
    # (utils_mewslix.evaluate gives 0.5; XTREME reports it x 100)
    gold = {"m1": ["E1"], "m2": ["E2"], "m3": ["E3"]}
    predictions = {"m1": ["E9", "E1"], "m2": ["E2", "E1"]}
    assert mean_average_precision(gold, predictions) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="at least one relevant"):
        average_precision_at_k([], ["a"])


def test_ties_are_ranked_as_xtreme_ranks_them():
    # numpy's argsort(scores)[::-1]: highest first, among equal scores the later index first
    assert rank_by_score([0.5, 0.9, 0.5, 0.1, 0.9]) == [4, 1, 2, 0, 3]


def test_lareqa_pooled_map_hand_case():
    # Two questions about item "a" (en, de) and one about "b" (en); candidates: a's answer in en
    # (c0) and de (c2), b's answer in en (c1), and a distractor c3. The same case through
    # utils_lareqa.mean_avg_prec_at_k prints 0.7222 (= 13/18).
    candidates = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.95, 0.0]])
    ids = ["c0", "c1", "c2", "c3"]
    queries = {
        "en": [{"id": "a-en", "gold": ["c0", "c2"]}, {"id": "b-en", "gold": ["c1"]}],
        "de": [{"id": "a-de", "gold": ["c0", "c2"]}],
    }
    vectors = {"en": np.array([[1.0, 0.0], [0.0, 1.0]]), "de": np.array([[1.0, 0.0]])}
    metrics, predictions = dual_encoder.score_rankings(queries, vectors, ids, candidates)
    # q=(1,0) scores 0.9, 0.2, 0.5, 0.95 -> ranking c3, c0, c2, c1: hits at 2, 3 -> (1/2 + 2/3)/2
    a = (1 / 2 + 2 / 3) / 2
    # q=(0,1) scores 0.1, 0.8, 0.5, 0.0 -> c1 first: AP 1
    assert metrics["en"]["map@20"] == pytest.approx(100 * (a + 1) / 2)
    assert metrics["de"]["map@20"] == pytest.approx(100 * a)
    # the pooled mAP over all three questions, as XTREME computes it: 13/18
    pooled = (2 * a + 1) / 3
    assert pooled == pytest.approx(13 / 18)
    assert predictions["en"][0]["prediction"] == ["c3", "c0", "c2", "c1"]
    assert predictions["en"][0]["ap"] == pytest.approx(a)


# --- XCOPA ---
def test_xcopa_accuracy_hand_case():
    # 5 examples, 2 alternatives; argmax picks the first of equal logits (np.argmax, as
    # run_xcopa.py); predictions 1, 0, 0, 1, 0 vs gold 1, 0, 1, 1, 1 -> 3/5 = 60%
    # (evaluate.py accuracy: correct / len(predictions) * 100)
    logits = np.array([[0.1, 0.7], [2.0, -1.0], [0.3, 0.3], [-0.2, 0.4], [1.0, 0.0]])
    examples = {"id": list("abcde"), "label": [1, 0, 1, 1, 1]}
    task = registry.get("xcopa")
    metrics, predictions = multiple_choice.score(logits, examples, None, task, "et")
    assert metrics == {"accuracy": pytest.approx(60.0)}
    assert [p["prediction"] for p in predictions] == [1, 0, 0, 1, 0]


def test_copa_and_siqa_records_are_xtreme_rs_inputs(tmp_path):
    copa = tmp_path / "val.et.jsonl"
    row = {"premise": "Mees kukkus.", "choice1": "A", "choice2": "B", "question": "cause"}
    copa.write_text(json.dumps({**row, "label": 1, "idx": 7}) + "\n")
    (record,) = load_copa_jsonl(copa)
    assert record == {
        "id": "7",
        "context": "Mees kukkus. What was the cause?",  # run_xcopa.py: premise + question
        "question": "",
        "choices": ["A", "B"],
        "label": 1,
    }
    # the hub adapter builds the same record from cambridgeltl/xcopa's columns
    (source,) = registry.get("xcopa").hub
    assert source.columns.record({**row, "label": 1, "idx": 7, "changed": False}, 0, {}) == record
    siqa = tmp_path / "train.jsonl"
    siqa.write_text(
        json.dumps(
            {"context": "C.", "question": "Q?", "answerA": "a", "answerB": "b", "answerC": "c"}
        )
        + "\n"
    )
    with pytest.raises(DataFormatError, match="train-labels.lst"):
        load_siqa_jsonl(siqa)
    (tmp_path / "train-labels.lst").write_text("3\n")
    (record,) = load_siqa_jsonl(siqa)
    assert (record["context"], record["choices"], record["label"]) == ("C. Q?", ["a", "b", "c"], 2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**row, "question": "why"}) + "\n")
    with pytest.raises(DataFormatError, match="bad.jsonl:1"):
        load_copa_jsonl(bad)


# --- the workflow: XCOPA (SIQa, then COPA), LAReQA and Mewsli-X on XTREME-R ---
@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("xtreme-r")
    config = tiny_study_config(benchmark="xtreme-r")
    config["grid"].update(intermediate=["none"], targets=["xcopa", "lareqa", "mewslix"])
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, configfile="tiny.yaml", timeout=1800)
    return workdir


def test_new_targets_run_and_are_scored_on_xtreme_r(study):
    results = study / "results" / "tiny" / "tiny"
    for target, metric in (("xcopa", "accuracy"), ("lareqa", "map@20"), ("mewslix", "map@20")):
        m = json.loads((results / "none" / target / "seed1" / "metrics.json").read_text())
        assert set(m["results"]["test"]) == set(registry.get(target).languages)
        for lang, values in m["results"]["test"].items():
            assert 0.0 <= values[metric] <= 100.0, (target, lang)
    # XCOPA's model was trained on SIQa first (the stage's log exists), then on COPA
    assert (study / "logs/tiny/train_before_target/tiny/none/xcopa/seed1/siqa.log").is_file()
    # LAReQA ranks the pooled candidates of all 11 languages: gold ids span every language
    rows = [
        json.loads(line) for line in open(results / "none/lareqa/seed1/predictions/test.de.jsonl")
    ]
    assert {g.split("-")[0] for g in rows[0]["gold"]} == set(registry.get("lareqa").languages)
    assert all(len(r["prediction"]) == 20 for r in rows)
    scores = (results / "report" / "tables" / "xtreme_scores.md").read_text()
    assert "xtreme-r scores" in scores and "overall: no xnli" in scores
    # the SIQa stage's model is gone (temp()); the chain still verifies, naming it
    stage = "results/tiny/tiny/none/xcopa/seed1/before/siqa/model"
    assert not (study / stage).exists()
    out = subprocess.run(
        [sys.executable, "-m", "xstilts", "verify", "results"], cwd=study, capture_output=True
    )
    assert out.returncode == 0, out.stdout.decode()[-2000:]
    out = subprocess.run(
        [sys.executable, "-m", "xstilts", "explain", "results/tiny/tiny/transfer_matrix.csv"]
        + ["--row", "none", "--col", "xcopa"],
        cwd=study,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "temporary model, deleted" in out.stdout, out.stdout[-2000:]


# --- LAReQA's files ---
def test_sentence_breaks_follow_xtremes_rules():
    text = 'Dr. Smith went home. "Why?" he asked (twice). In 1990 it rained.[1] U.S. law applies.'
    spans = dlareqa.infer_sentence_breaks(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Smith went home.",
        '"Why?" he asked (twice).',
        "In 1990 it rained.[1]",
        "U.S. law applies.",
    ]


def _xquad_r(path: Path, lang: str, questions: list[tuple[str, str, str]]) -> None:
    """One XQuAD-R file: one paragraph of two sentences; questions (id, text, answer)."""
    context = f"First {lang} sentence. Second {lang} sentence."
    breaks = dlareqa.infer_sentence_breaks(context)
    qas = [
        {"id": i, "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
        for i, q, a in questions
    ]
    paragraph = {"context": context, "sentence_breaks": breaks, "qas": qas}
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [paragraph]}]}))


def test_xquad_r_queries_find_their_answer_in_every_language(tmp_path):
    for lang in ("en", "de"):
        (tmp_path / "lareqa" / "xquad-r").mkdir(parents=True, exist_ok=True)
        _xquad_r(
            tmp_path / "lareqa" / "xquad-r" / f"{lang}.json",
            lang,
            [("q1", f"which {lang}?", "Second"), ("q2", f"what {lang}?", "First")],
        )
    task = registry.get("lareqa")
    spec = {"root": str(tmp_path), "files": {}, "loader": None}
    rows = read_local.load_local(dataclasses.replace(task, languages=("en", "de")), spec)
    assert sorted(rows) == ["candidates.de", "candidates.en", "test.de", "test.en"]
    # candidate text: the sentence, then its paragraph (as XTREME-R encodes it)
    assert rows["candidates.en"][1] == {
        "id": "en_1_1",
        "text": "Second en sentence.First en sentence. Second en sentence.",
    }
    q1 = next(q for q in rows["test.de"] if q["id"] == "q1_de")
    assert q1["gold"] == ["de_1_1", "en_1_1"]  # the answer sentence in each language
    assert q1["candidate"].startswith("Second de sentence.")


# --- Mewsli-X's files ---
_TEXT = "Intro here. The verdict for Smith {x} came\nback today. Last one."


def _context(lang: str) -> dict:
    ends = [11, _TEXT.index(" Last"), len(_TEXT)]
    starts = [0, 12, _TEXT.index("Last")]
    spans = [{"start": s, "end": e} for s, e in zip(starts, ends, strict=True)]
    return {"language": lang, "text": _TEXT, "sentence_spans": spans, "document_id": "d"}


def _mention(example_id: str, entity_id: str) -> dict:
    s = _TEXT.index("Smith")
    return {
        "example_id": example_id,
        "mention_span": {"start": s, "end": s + 5, "text": "Smith"},
        "entity_id": entity_id,
    }


def _entity(entity_id: str, description: str) -> dict:
    spans = [{"start": 0, "end": len(description)}]
    return {
        "entity_id": entity_id,
        "title": "T",
        "description": description,
        "sentence_spans": spans,
    }


def test_mewslix_texts_are_xtreme_rs_baseline_inputs():
    from xstilts.loaders.mewslix import entity_text, mention_text

    # utils_mewslix.preprocess_mention on the same case gives exactly this string
    assert mention_text(_context("en"), _mention("e", "Q")["mention_span"]) == (
        "Smith: The verdict for { Smith } (x) came back today."
    )
    entity = {**_entity("Q1", "Smith is a name.\nIt is common.  Really.")}
    entity["sentence_spans"] = [
        {"start": 0, "end": 16},
        {"start": 17, "end": 30},
        {"start": 32, "end": 39},
    ]
    assert entity_text(entity) == "Smith is a name. It is common. Really."


def test_mewslix_local_files_link_mentions_to_the_entity_pool(tmp_path):
    root = tmp_path / "mewslix"
    (root / "wikinews_mentions").mkdir(parents=True)
    (root / "wikinews_labels").mkdir()

    def jsonl(path, rows):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    jsonl(root / "candidate_set_entities.jsonl", [_entity("Q1", "A."), _entity("Q2", "B.")])
    pair = {"contextual_mention": {"context": _context("en"), "mention": _mention("p1", "Q2")}}
    jsonl(root / "wikipedia_pairs-train.jsonl", [{**pair, "entity": _entity("Q2", "B.")}])
    for split in ("dev", "test"):
        blank = "" if split == "test" else "Q1"  # XTREME blanks the test labels
        jsonl(
            root / "wikinews_mentions" / f"{split}-de.jsonl",
            [{"context": _context("de"), "mentions": [_mention(f"{split}1", blank)]}],
        )
    task = dataclasses.replace(registry.get("mewslix"), languages=("de",))
    spec = {"root": str(tmp_path), "files": {}, "loader": None}
    with pytest.raises(DataFormatError, match="test1 has no entity id"):
        read_local.load_local(task, spec)
    (root / "wikinews_labels" / "test-de.json").write_text(json.dumps({"test1": ["Q2"]}))
    rows = read_local.load_local(task, spec)
    assert rows["candidates.all"] == [{"id": "Q1", "text": "A."}, {"id": "Q2", "text": "B."}]
    assert rows["train.en"][0]["candidate"] == "B."
    assert rows["test.de"][0]["gold"] == ["Q2"]
    assert rows["validation.de"][0] == {
        "id": "dev1",
        "query": "Smith: The verdict for { Smith } (x) came back today.",
        "candidate": "A.",  # the gold entity's text: a pair for checkpoint selection
        "gold": ["Q1"],
    }


def test_squad_pairs_from_the_real_slice(shared_data):
    path = shared_data / "squad" / "dev-v1.1.json"
    pairs = {p["id"]: p for p in dlareqa.load_squad_sentences(path)}
    qas = [
        (qa, paragraph["context"])
        for article in json.loads(path.read_text())["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]
    assert len(pairs) >= 0.95 * len(qas)  # few answers straddle a sentence break
    for qa, context in qas:
        if qa["id"] in pairs:
            candidate = pairs[qa["id"]]["candidate"]
            sentence = candidate[: len(candidate) - len(context.replace("\n", ""))]
            assert candidate.endswith(context.replace("\n", "")) and sentence
            start = qa["answers"][0]["answer_start"]  # the answer starts in its sentence
            assert any(i <= start < i + len(sentence) for i in _occurrences(context, sentence)), (
                qa["id"],
                sentence,
            )


def _occurrences(text: str, part: str) -> list[int]:
    return [i for i in range(len(text)) if text.startswith(part, i)]
