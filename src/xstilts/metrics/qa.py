"""Extractive-QA metrics following the official SQuAD v1.1, SQuAD v2.0 and MLQA scripts.

* SQuAD v1.1 (``evaluate-v1.1.py``, used by XTREME for XQuAD and TyDiQA-GoldP):
  normalise (lowercase, drop ASCII punctuation, drop English articles, collapse
  whitespace), exact match, and bag-of-tokens F1 that is 0 whenever no token is shared
  (so also when either side normalises to nothing). Each question takes the maximum over
  its gold answers; the corpus score is the mean over all reference questions x 100, and
  a question without a prediction scores 0 (the script prints a message; we log one).
* SQuAD v2.0 (``evaluate-v2.0.py``): same normalisation; gold answers that normalise to
  "" are dropped and an unanswerable question's gold becomes ``[""]``; F1 is
  ``int(pred_tokens == gold_tokens)`` when either side has no tokens.
* MLQA (``mlqa_evaluation_v1.py``): lowercase, drop every Unicode punctuation character
  (category P*) and ``string.punctuation``, drop language-specific articles, then
  tokenise on whitespace, or for ``zh`` with mixed segmentation (each CJK character in
  U+4E00-U+9FA5 is a token). Scoring as in SQuAD v1.1.
"""

import logging
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

logger = logging.getLogger(__name__)

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_EN_ARTICLES = r"\b(a|an|the)\b"
_MLQA_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": re.compile(_EN_ARTICLES),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    # MLQA's pattern verbatim: "^" after text can never match, so every "ال" is replaced.
    "ar": re.compile(r"\sال^|ال"),
    "hi": None,
    "zh": None,
}
_SQUAD_ARTICLES = _MLQA_ARTICLES["en"]
_CJK = re.compile("[\u4e00-\u9fa5]")


def normalize_answer_squad(s: str) -> str:
    """SQuAD v1.1/v2.0 ``normalize_answer``."""
    text = "".join(ch for ch in s.lower() if ch not in _ASCII_PUNCTUATION)
    return " ".join(_SQUAD_ARTICLES.sub(" ", text).split())


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P") or ch in _ASCII_PUNCTUATION


def _mixed_segmentation(text: str) -> list[str]:
    # MLQA also isolates punctuation here, but normalisation has removed it already.
    tokens: list[str] = []
    run: list[str] = []
    for ch in text:
        if _CJK.match(ch):
            tokens += "".join(run).split()
            run = []
            tokens.append(ch)
        else:
            run.append(ch)
    return tokens + "".join(run).split()


def normalize_answer_mlqa(s: str, lang: str) -> str:
    """MLQA ``normalize_answer`` for ``lang`` in en, es, de, ar, hi, vi, zh."""
    if lang not in _MLQA_ARTICLES:
        raise ValueError(f"MLQA normalisation is undefined for language {lang!r}")
    text = "".join(ch for ch in s.lower() if not _is_punctuation(ch))
    articles = _MLQA_ARTICLES[lang]
    if articles is not None:
        text = articles.sub(" ", text)
    tokens = _mixed_segmentation(text) if lang == "zh" else text.split()
    return " ".join(tokens)


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    """SQuAD v1.1 / MLQA token F1: 0 when no token is shared."""
    shared = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(prediction_tokens)
    recall = shared / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, ground_truth: str) -> float:
    """SQuAD v1.1 exact match of one pair: 1.0 or 0.0."""
    return float(normalize_answer_squad(prediction) == normalize_answer_squad(ground_truth))


def f1(prediction: str, ground_truth: str) -> float:
    """SQuAD v1.1 token F1 of one pair, in [0, 1]."""
    return _token_f1(
        normalize_answer_squad(prediction).split(), normalize_answer_squad(ground_truth).split()
    )


def _v1_corpus_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    normalize: Callable[[str], str],
) -> dict[str, float]:
    """Max over gold answers, mean over every reference question (missing ones score 0)."""
    if not references:
        raise ValueError("cannot score an empty set of questions")
    missing = [qid for qid in references if qid not in predictions]
    if missing:
        logger.warning(
            "%d of %d questions have no prediction and score 0 (first: %r)",
            len(missing),
            len(references),
            missing[0],
        )
    total_em = total_f1 = 0.0
    for qid, answers in references.items():
        if not answers:
            raise ValueError(f"question {qid!r} has no gold answers")
        if qid not in predictions:
            continue
        prediction = normalize(predictions[qid])
        golds = [normalize(answer) for answer in answers]
        total_em += max(float(prediction == gold) for gold in golds)
        total_f1 += max(_token_f1(prediction.split(), gold.split()) for gold in golds)
    return {
        "exact_match": 100.0 * total_em / len(references),
        "f1": 100.0 * total_f1 / len(references),
    }


def squad_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """SQuAD v1.1 corpus ``exact_match`` and ``f1`` as percentages."""
    return _v1_corpus_scores(predictions, references, normalize_answer_squad)


def mlqa_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]], lang: str
) -> dict[str, float]:
    """MLQA corpus ``exact_match`` and ``f1`` as percentages for context language ``lang``."""
    if lang not in _MLQA_ARTICLES:
        raise ValueError(f"MLQA normalisation is undefined for language {lang!r}")
    return _v1_corpus_scores(predictions, references, lambda s: normalize_answer_mlqa(s, lang))


def _v2_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    if not prediction_tokens or not gold_tokens:
        return float(prediction_tokens == gold_tokens)
    return _token_f1(prediction_tokens, gold_tokens)


def squad_v2_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """SQuAD v2.0 scores without a no-answer threshold, as percentages.

    An empty reference list marks an unanswerable question. Returns ``exact_match``,
    ``f1`` and ``total``, plus ``HasAns_*`` / ``NoAns_*`` (``exact_match``, ``f1``,
    ``total``) for each kind of question present. Every question needs a prediction:
    the official script fails on missing ones, so we raise ``ValueError``.
    """
    if not references:
        raise ValueError("cannot score an empty set of questions")
    missing = [qid for qid in references if qid not in predictions]
    if missing:
        raise ValueError(f"{len(missing)} questions have no prediction (first: {missing[0]!r})")
    groups: dict[str, list[tuple[float, float]]] = {"HasAns": [], "NoAns": []}
    for qid, answers in references.items():
        golds = [norm for norm in map(normalize_answer_squad, answers) if norm] or [""]
        prediction = normalize_answer_squad(predictions[qid])
        em = max(float(prediction == gold) for gold in golds)
        f1_score = max(_v2_f1(prediction.split(), gold.split()) for gold in golds)
        groups["HasAns" if answers else "NoAns"].append((em, f1_score))

    def summary(scores: list[tuple[float, float]], prefix: str) -> dict[str, float]:
        return {
            f"{prefix}exact_match": 100.0 * sum(em for em, _ in scores) / len(scores),
            f"{prefix}f1": 100.0 * sum(f for _, f in scores) / len(scores),
            f"{prefix}total": len(scores),
        }

    result = summary(groups["HasAns"] + groups["NoAns"], "")
    for name, scores in groups.items():
        if scores:
            result |= summary(scores, f"{name}_")
    return result
