"""Span QA format on real XQuAD: windowing, answer positions, post-processing, a Trainer run."""

from __future__ import annotations

import dataclasses
import json
import math
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from xstilts import demo_model, evaluate, features, registry, synthetic
from xstilts.formats import span_qa

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad"
LANGS = ("en", "zh", "ar")
ARCHITECTURE = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
XQUAD = registry.get("xquad")

pytestmark = pytest.mark.skipif(
    not all((DATA / f"xquad.{lang}.json").exists() for lang in LANGS),
    reason=f"real XQuAD files xquad.{{{','.join(LANGS)}}}.json not found under {DATA}",
)


def _read_xquad(lang: str) -> list[dict]:
    data = json.loads((DATA / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
    return [
        {
            "id": qa["id"],
            "title": article["title"],
            "context": paragraph["context"],
            "question": qa["question"],
            "answers": {
                "text": [a["text"] for a in qa["answers"]],
                "answer_start": [a["answer_start"] for a in qa["answers"]],
            },
        }
        for article in data
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


@pytest.fixture(scope="module")
def records() -> dict[str, list[dict]]:
    return {lang: _read_xquad(lang) for lang in LANGS}


@pytest.fixture(scope="module")
def tokenizer(records):
    contexts = sorted({r["context"] for rows in records.values() for r in rows})
    return demo_model.train_tokenizer(list(synthetic.corpus(list(LANGS), 100, 0)) + contexts, 2000)


def _dataset(rows: list[dict]):
    import datasets

    return datasets.Dataset.from_list(rows)


def _answer_chars(record: dict) -> tuple[int, int]:
    start = record["answers"]["answer_start"][0]
    return start, start + len(record["answers"]["text"][0])


def _answer_tokens(record: dict, tokenizer) -> tuple[int, bool]:
    """Number of context tokens the gold answer overlaps; whether it starts and ends on token
    boundaries. (The demo tokenizer's training is not deterministic: tests adapt to it.)"""
    context = record["context"]
    enc = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
    spans = [span_qa._trim(context, *span) for span in enc["offset_mapping"]]
    start, end = _answer_chars(record)
    n_tokens = sum(s < end and e > start for s, e in spans)
    return n_tokens, start in {s for s, _ in spans} and end in {e for _, e in spans}


def _recoverable(record: dict, tokenizer) -> bool:
    """Whether post-processing can return exactly the gold answer (token-aligned, not too long)."""
    n_tokens, aligned = _answer_tokens(record, tokenizer)
    return aligned and n_tokens <= span_qa.MAX_ANSWER_LENGTH


def _oracle_logits(train_features, high: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Start/end logits peaking at the gold positions, padded with -100 like Trainer.predict."""
    width = max(len(ids) for ids in train_features["input_ids"])
    start = np.full((len(train_features), width), -100.0)
    end = np.full_like(start, -100.0)
    for i, (ids, s, e) in enumerate(
        zip(
            train_features["input_ids"],
            train_features["start_positions"],
            train_features["end_positions"],
            strict=True,
        )
    ):
        start[i, : len(ids)] = end[i, : len(ids)] = 0.0
        start[i, s] = end[i, e] = high
    return start, end


def _mid_token_answer(rows: list[dict], tokenizer) -> dict:
    """A record whose answer, cut by one character at each end, starts and ends inside tokens."""
    for record in rows:
        context = record["context"]
        start, end = _answer_chars(record)
        enc = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
        spans = [span_qa._trim(context, *span) for span in enc["offset_mapping"]]
        if any(s == start and e - s > 1 for s, e in spans) and any(
            e == end and e - s > 1 and s > start for s, e in spans
        ):
            text = context[start + 1 : end - 1]
            return dict(record, id="mid", answers={"text": [text], "answer_start": [start + 1]})
    raise AssertionError("no answer with multi-character first and last tokens")


def test_windows_offsets_and_answer_positions(records, tokenizer):
    zh = [dict(r, id=f"zh-{r['id']}") for r in records["zh"][:20]]  # XQuAD shares ids
    rows = records["en"][:20] + zh
    long_question = dict(rows[0], id="long", question=" ".join([rows[0]["question"]] * 20))
    dataset = _dataset(rows + [long_question, _mid_token_answer(records["en"], tokenizer)])
    kwargs = {"max_length": 96, "doc_stride": 32, "max_query_length": 16}
    train = span_qa.featurize(dataset, tokenizer, XQUAD, train=True, **kwargs)
    evaluation = span_qa.featurize(dataset, tokenizer, XQUAD, train=False, **kwargs)
    assert set(train.column_names) == {
        "input_ids",
        "attention_mask",
        "start_positions",
        "end_positions",
    }
    assert set(evaluation.column_names) == {
        "input_ids",
        "attention_mask",
        "example_id",
        "offset_mapping",
    }
    assert train["input_ids"] == evaluation["input_ids"]
    by_id = {r["id"]: r for r in dataset}
    windows = {}
    found = set()
    for ids, offsets, example_id, start, end in zip(
        evaluation["input_ids"],
        evaluation["offset_mapping"],
        evaluation["example_id"],
        train["start_positions"],
        train["end_positions"],
        strict=True,
    ):
        record = by_id[example_id]
        context = record["context"]
        assert len(ids) == len(offsets) <= kwargs["max_length"]
        # <s> question </s> </s> context </s>: only the context has offsets.
        question = tokenizer(
            record["question"].lstrip(), add_special_tokens=False, truncation=True, max_length=16
        )["input_ids"]
        n_question = ids.index(tokenizer.sep_token_id) - 1
        assert n_question <= kwargs["max_query_length"]
        assert ids[1 : 1 + n_question] == question[:n_question]
        assert offsets[: n_question + 3] == [None] * (n_question + 3)
        assert offsets[-1] is None
        assert all(o is not None for o in offsets[n_question + 3 : -1])
        windows.setdefault(example_id, []).append(
            (ids[n_question + 3 : -1], offsets[n_question + 3 : -1])
        )
        for token, (s, e) in zip(
            tokenizer.convert_ids_to_tokens(ids[n_question + 3 : -1]),
            offsets[n_question + 3 : -1],
            strict=True,
        ):
            assert 0 <= s <= e <= len(context)
            if token != tokenizer.unk_token:
                # NFKC may expand a character over several tokens ("½" -> "1⁄2").
                assert token.lstrip("▁") in unicodedata.normalize("NFKC", context[s:e])
        answer_start, answer_end = _answer_chars(record)
        context_offsets = offsets[n_question + 3 : -1]
        inside = context_offsets[0][0] <= answer_start and answer_end <= context_offsets[-1][1]
        assert ((start, end) != (0, 0)) == inside
        if inside:
            found.add(example_id)
            assert n_question + 3 <= start <= end < len(ids) - 1
            text = context[offsets[start][0] : offsets[end][1]]
            gold = record["answers"]["text"][0]
            assert gold in text
            if _answer_tokens(record, tokenizer)[1]:
                assert text == gold
    stride = kwargs["doc_stride"]  # an answer of at most `stride` tokens fits in some window
    assert "mid" in found
    assert found >= {i for i, r in by_id.items() if _answer_tokens(r, tokenizer)[0] <= stride}
    assert max(len(w) for w in windows.values()) >= 3
    for example_windows in windows.values():  # consecutive windows share `stride` tokens
        for (ids_a, offsets_a), (ids_b, offsets_b) in zip(
            example_windows[:-1], example_windows[1:], strict=True
        ):
            assert ids_a[-stride:] == ids_b[:stride]
            assert offsets_a[-stride:] == offsets_b[:stride]
            assert offsets_a[0][0] < offsets_b[0][0]


@pytest.mark.parametrize("lang", LANGS)
def test_oracle_logits_recover_gold_answers(records, tokenizer, lang):
    rows = [r for r in records[lang] if _recoverable(r, tokenizer)]
    assert len(rows) > 0.5 * len(records[lang])
    dataset = _dataset(rows)
    kwargs = {"max_length": 192, "doc_stride": 64}
    train = span_qa.featurize(dataset, tokenizer, XQUAD, train=True, **kwargs)
    evaluation = span_qa.featurize(dataset, tokenizer, XQUAD, train=False, **kwargs)
    assert len(evaluation) > len(dataset)  # some contexts need several windows
    metrics, predictions = span_qa.score(_oracle_logits(train), dataset, evaluation, XQUAD, lang)
    assert metrics == {"exact_match": 100.0, "f1": 100.0}
    assert [p["id"] for p in predictions] == dataset["id"]
    for p, r in zip(predictions, rows, strict=True):
        assert p["prediction"] == p["gold"][0] == r["answers"]["text"][0]
        assert 0 < len(p["nbest"]) <= span_qa.N_BEST
        assert p["nbest"][0]["text"] == p["prediction"]
        assert r["context"][p["nbest"][0]["start"] : p["nbest"][0]["end"]] == p["prediction"]
        assert len({(n["start"], n["end"]) for n in p["nbest"]}) == len(p["nbest"])
        assert [n["score"] for n in p["nbest"]] == sorted(
            (n["score"] for n in p["nbest"]), reverse=True
        )
    # MLQA's language-aware scoring: a prediction one character short keeps partial F1 in Chinese.
    metrics, _ = span_qa.score(
        _oracle_logits(train), dataset, evaluation, registry.get("mlqa"), lang
    )
    assert metrics == {"exact_match": 100.0, "f1": 100.0}
    if lang == "zh":
        cut = _dataset([dict(r, answers={"text": [r["answers"]["text"][0] + "X"]}) for r in rows])
        for name, f1_is_partial in (("mlqa", True), ("xquad", False)):
            task = registry.get(name)
            metrics, _ = span_qa.score(_oracle_logits(train), cut, evaluation, task, lang)
            assert metrics["exact_match"] == 0.0
            assert (metrics["f1"] > 50.0) == f1_is_partial


def test_trainer_train_predict_score(records, tokenizer, tmp_path):
    import torch
    from transformers import Trainer, TrainingArguments, XLMRobertaForQuestionAnswering

    torch.manual_seed(0)
    config = demo_model.build_model(tokenizer, ARCHITECTURE).config
    model = XLMRobertaForQuestionAnswering(config)
    zh = [dict(r, id=f"zh-{r['id']}") for r in records["zh"][:16]]  # XQuAD shares ids
    dataset = _dataset(records["en"][:16] + zh)
    train = span_qa.featurize(dataset, tokenizer, XQUAD, 128, True, doc_stride=32)
    evaluation = span_qa.featurize(dataset, tokenizer, XQUAD, 128, False, doc_stride=32)
    args = TrainingArguments(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to=[],
        max_steps=3,
        per_device_train_batch_size=8,
        per_device_eval_batch_size=16,
        learning_rate=1e-3,
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=train, data_collator=span_qa.collator(tokenizer)
    )
    assert math.isfinite(trainer.train().training_loss)
    output = trainer.predict(evaluation)
    start, end = output.predictions
    assert start.shape == end.shape == (len(evaluation), max(map(len, evaluation["input_ids"])))
    # the evaluation job's own loop (batches sorted by length) gives the Trainer's logits
    lengths = [features._n_tokens(x) for x in evaluation["input_ids"]]
    ours = evaluate.predict(
        model, evaluation.add_column("length", lengths), span_qa.collator(tokenizer), 5
    )
    assert len(ours) == 2
    for a, b in zip(ours, output.predictions, strict=True):
        assert a.shape == b.shape
        for row_a, row_b, n in zip(a, b, lengths, strict=True):
            np.testing.assert_allclose(row_a[:n], row_b[:n], rtol=1e-4, atol=1e-5)
    metrics, predictions = span_qa.score(output.predictions, dataset, evaluation, XQUAD, "en")
    assert set(metrics) == {"exact_match", "f1"}
    assert all(0.0 <= v <= 100.0 for v in metrics.values())
    assert [p["id"] for p in predictions] == dataset["id"]
    for p, r in zip(predictions, dataset, strict=True):
        assert p["prediction"] and p["prediction"] in r["context"]


def test_span_constraints(records, tokenizer):
    record = records["en"][0]
    dataset = _dataset([record])
    evaluation = span_qa.featurize(dataset, tokenizer, XQUAD, 384, False)
    offsets = evaluation[0]["offset_mapping"]
    first = next(i for i, o in enumerate(offsets) if o is not None)
    start = np.zeros((len(evaluation), len(offsets) + 5))
    end = np.zeros_like(start)
    start[0, len(offsets) :] = end[0, len(offsets) :] = 100.0  # padding
    start[0, 1] = end[0, 2] = 100.0  # question tokens
    p = first + 5
    start[0, p] = 10.0
    end[0, p + span_qa.MAX_ANSWER_LENGTH] = 9.0  # one token too long
    end[0, p - 1] = 8.0  # ends before it starts
    end[0, p + span_qa.MAX_ANSWER_LENGTH - 1] = 7.0
    _, predictions = span_qa.score((start, end), dataset, evaluation, XQUAD, "en")
    last = p + span_qa.MAX_ANSWER_LENGTH - 1
    assert predictions[0]["prediction"] == record["context"][offsets[p][0] : offsets[last][1]]
    assert predictions[0]["nbest"][0]["score"] == 17.0


def test_squad_v2_null_answer(records, tokenizer):
    answerable, unanswerable = [r for r in records["en"] if _recoverable(r, tokenizer)][:2]
    unanswerable = dict(unanswerable, answers={"text": [], "answer_start": []})
    dataset = _dataset([answerable, unanswerable])
    squad_v2 = registry.get("squad_v2")
    kwargs = {"max_length": 128, "doc_stride": 32}
    train = span_qa.featurize(dataset, tokenizer, squad_v2, train=True, **kwargs)
    evaluation = span_qa.featurize(dataset, tokenizer, squad_v2, train=False, **kwargs)
    null_rows = [i for i, e in enumerate(evaluation["example_id"]) if e == unanswerable["id"]]
    assert len(null_rows) > 1
    assert all(train[i]["start_positions"] == train[i]["end_positions"] == 0 for i in null_rows)
    start, end = _oracle_logits(train, high=5.0)
    for i in null_rows:  # a plausible span that the [CLS] logits dominate
        first = next(j for j, o in enumerate(evaluation[i]["offset_mapping"]) if o is not None)
        start[i, first + 2] = end[i, first + 3] = 2.0
    for i in null_rows[1:]:  # the null score is the lowest over the windows
        start[i, 0] = end[i, 0] = 50.0

    metrics, predictions = span_qa.score((start, end), dataset, evaluation, squad_v2, "en")
    assert [p["prediction"] for p in predictions] == [answerable["answers"]["text"][0], ""]
    assert predictions[1]["nbest"][0] == {"text": "", "score": 10.0, "start": -1, "end": -1}
    assert predictions[1]["nbest"][1]["score"] == 4.0
    assert metrics["NoAns_exact_match"] == metrics["exact_match"] == metrics["f1"] == 100.0

    # The threshold trades null answers for spans; tasks can declare null answers directly.
    custom = dataclasses.replace(XQUAD, null_answers=True)
    _, predictions = span_qa.score((start, end), dataset, evaluation, custom, "en")
    assert predictions[1]["prediction"] == ""
    _, predictions = span_qa.score(
        (start, end), dataset, evaluation, custom, "en", null_threshold=6.5
    )
    assert predictions[1]["prediction"] != ""
