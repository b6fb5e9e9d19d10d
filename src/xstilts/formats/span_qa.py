"""Extractive span QA: SQuAD v1.1/v2.0 (intermediate), XQuAD, MLQA, TyDiQA-GoldP (targets).

Records: ``{"id", "title", "context", "question", "answers": {"text": [...], "answer_start":
[...]}}``; an unanswerable SQuAD v2.0 question has empty answer lists.

Contexts are split into overlapping windows (``max_length`` tokens, ``doc_stride`` overlap), so an
example yields one or more features. The model predicts start/end logits per token; post-processing
picks the best span over all windows of an example and maps it back to context characters. The
``[CLS]`` token (index 0, first in XLM-R and BERT) stands for "no answer in this window".
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

import numpy as np

from xstilts.metrics.qa import mlqa_scores, squad_scores, squad_v2_scores

DOC_STRIDE = 128
MAX_QUERY_LENGTH = 64
N_BEST = 20
MAX_ANSWER_LENGTH = 30
CLS_INDEX = 0

# No validation metric: the driver selects checkpoints on the evaluation loss.
selection_metric = None


def model_kwargs(task) -> dict:
    """Two outputs per token (start, end), whatever labels the encoder's config carries."""
    return {"num_labels": 2}


def _truncate_questions(questions: list[str], tokenizer, max_query_length: int) -> list[str]:
    """Questions cut (at a token boundary) to at most ``max_query_length`` tokens."""
    questions = [q.lstrip() for q in questions]
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    return [
        q[: offsets[max_query_length - 1][1]] if len(offsets) > max_query_length else q
        for q, offsets in zip(questions, enc["offset_mapping"], strict=True)
    ]


def _trim(context: str, start: int, end: int) -> tuple[int, int]:
    """Character span without surrounding whitespace (Metaspace tokens include their space)."""
    while start < end and context[start].isspace():
        start += 1
    while end > start and context[end - 1].isspace():
        end -= 1
    return start, end


def featurize(
    dataset,
    tokenizer,
    task,
    max_length: int,
    train: bool,
    *,
    doc_stride: int = DOC_STRIDE,
    max_query_length: int = MAX_QUERY_LENGTH,
):
    """Overlapping question+context windows, unpadded (the collator pads each batch).

    Train features: ``input_ids``, ``attention_mask``, ``start_positions``, ``end_positions``
    (both ``CLS_INDEX`` when the first gold answer is missing or not fully inside the window).
    Evaluation features: ``input_ids``, ``attention_mask``, ``example_id`` and ``offset_mapping``
    (character spans in the context; ``None`` for question and special tokens). Drop
    ``example_id`` and ``offset_mapping`` before calling the model. Windows shorter than the
    official 384 (smoke runs) shrink the stride to fit: it must stay below the context room.
    """
    doc_stride = min(doc_stride, (max_length - max_query_length) // 2)

    def encode(batch):
        enc = tokenizer(
            _truncate_questions(batch["question"], tokenizer, max_query_length),
            batch["context"],
            truncation="only_second",
            max_length=max_length,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        out = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        columns = defaultdict(list)
        for i, example in enumerate(enc["overflow_to_sample_mapping"]):
            context = batch["context"][example]
            sequence_ids = enc.sequence_ids(i)
            offsets = [
                _trim(context, *span) if seq == 1 else None
                for span, seq in zip(enc["offset_mapping"][i], sequence_ids, strict=True)
            ]
            if not train:
                columns["example_id"].append(batch["id"][example])
                columns["offset_mapping"].append(offsets)
                continue
            start, end = _answer_positions(batch["answers"][example], offsets, sequence_ids)
            columns["start_positions"].append(start)
            columns["end_positions"].append(end)
        return out | columns

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


def _answer_positions(answers: dict, offsets: list, sequence_ids: list) -> tuple[int, int]:
    """Token positions of the first gold answer in one window, or ``CLS_INDEX`` twice."""
    if not answers["text"]:
        return CLS_INDEX, CLS_INDEX
    start_char = answers["answer_start"][0]
    end_char = start_char + len(answers["text"][0])
    first = sequence_ids.index(1)
    last = len(sequence_ids) - 1 - sequence_ids[::-1].index(1)
    window = offsets[first : last + 1]
    if window[0][0] > start_char or window[-1][1] < end_char:
        return CLS_INDEX, CLS_INDEX
    # Last token starting at or before the answer; first token from there ending at or after it
    # (a prepended "▁" can share the first character's offsets, hence the search from ``start``).
    start = bisect_right([s for s, _ in window], start_char) - 1
    end = bisect_left([e for _, e in window], end_char, lo=start)
    return first + start, first + end


def collator(tokenizer, pad_to_multiple_of: int | None = None):
    """Dynamic padding; works for train features and for eval features once the driver (or
    ``Trainer(remove_unused_columns=True)``) has dropped ``example_id`` and ``offset_mapping``."""
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)


def _feature_spans(
    start_logits: np.ndarray, end_logits: np.ndarray, offsets: list, context: str
) -> list[dict]:
    """Up to ``N_BEST`` x ``N_BEST`` valid candidate spans of one window."""
    length = len(offsets)
    context_mask = np.array([o is not None for o in offsets])
    start = np.where(context_mask, start_logits[:length], -np.inf)
    end = np.where(context_mask, end_logits[:length], -np.inf)
    starts = np.argsort(start)[::-1][:N_BEST]
    ends = np.argsort(end)[::-1][:N_BEST]
    s, e = starts[:, None], ends[None, :]
    scores = start[s] + end[e]
    valid = (e >= s) & (e - s < MAX_ANSWER_LENGTH) & np.isfinite(scores)
    spans = []
    for i, j in zip(*np.nonzero(valid), strict=True):
        char_start, char_end = offsets[starts[i]][0], offsets[ends[j]][1]
        if char_end > char_start:
            spans.append(
                {
                    "text": context[char_start:char_end],
                    "score": float(scores[i, j]),
                    "start": char_start,
                    "end": char_end,
                }
            )
    return spans


def predictions(logits, examples, features, task, *, null_threshold: float = 0.0) -> list[dict]:
    """The predicted answer, gold answers and n-best spans of every example of one split.

    ``logits`` is ``(start_logits, end_logits)`` on ``features`` (the evaluation features of
    ``examples``; padding positions are ignored). For tasks with unanswerable questions the null
    score is the lowest ``[CLS]`` start+end score over an example's windows, and "" is predicted
    when it exceeds the best span's score by more than ``null_threshold``.
    """
    if len(set(examples["id"])) != len(examples):
        raise ValueError("example ids must be unique: features are matched to examples by id")
    start_logits, end_logits = (np.asarray(x) for x in logits)
    by_example = defaultdict(list)
    for i, example_id in enumerate(features["example_id"]):
        by_example[example_id].append(i)
    offset_mapping = list(features["offset_mapping"])
    null = task.null_answers  # unanswerable questions (SQuAD v2.0)

    rows = []
    for example_id, context, answers in zip(
        examples["id"], examples["context"], examples["answers"], strict=True
    ):
        windows = by_example[example_id]
        spans = {}  # (start, end) -> best-scoring candidate: overlapping windows repeat spans
        for i in windows:
            for span in _feature_spans(start_logits[i], end_logits[i], offset_mapping[i], context):
                key = span["start"], span["end"]
                if key not in spans or span["score"] > spans[key]["score"]:
                    spans[key] = span
        nbest = sorted(spans.values(), key=lambda span: span["score"], reverse=True)[:N_BEST]
        text = nbest[0]["text"] if nbest else ""
        if null:
            null_score = min(
                float(start_logits[i, CLS_INDEX] + end_logits[i, CLS_INDEX]) for i in windows
            )
            if not nbest or null_score - nbest[0]["score"] > null_threshold:
                text = ""
            nbest = sorted(
                nbest + [{"text": "", "score": null_score, "start": -1, "end": -1}],
                key=lambda span: span["score"],
                reverse=True,
            )[:N_BEST]
        rows.append(
            {"id": example_id, "prediction": text, "gold": list(answers["text"]), "nbest": nbest}
        )
    return rows


def metrics(rows: list[dict], task, lang: str) -> dict:
    """SQuAD (v2 for tasks with unanswerable questions, MLQA's for language-aware tasks) scores
    of saved predictions."""
    predicted = {r["id"]: r["prediction"] for r in rows}
    references = {r["id"]: r["gold"] for r in rows}
    if task.null_answers:
        return squad_v2_scores(predicted, references)
    if task.normalise_by_language:
        return mlqa_scores(predicted, references, lang)
    return squad_scores(predicted, references)


def score(
    logits, examples, features, task, lang: str, *, null_threshold: float = 0.0
) -> tuple[dict, list[dict]]:
    """Metrics and per-example predictions of one evaluation split (see :func:`predictions`)."""
    rows = predictions(logits, examples, features, task, null_threshold=null_threshold)
    return metrics(rows, task, lang), rows
